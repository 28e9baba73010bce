//! The parent's check of an install request from the negotiator against
//! the loaded policy, before anything reaches the kernel: a compromised
//! negotiator must not be able to rewrite the SPD at will. The selector
//! check is the engine's own `ts::within` (one pure module for both
//! processes). Every refusal says what was refused and why.

use crate::config::{Mode as ConfigMode, Policy};
use crate::ike::crypto::encr::EncrSpec;
use crate::ike::crypto::integ::IntegAlg;
use crate::ike::engine::ChildSaKeys;
use crate::ike::engine::ts::within;
use crate::ike::proposal::{ProposalConfig, SaProtocol};
use crate::ike::wire::TsRange;

use super::selector::selectors;
use super::types::{Mode, Selector};

/// A request that passed: what the kernel gets.
#[derive(Debug)]
pub(crate) struct Checked {
    /// Cipher.
    pub(crate) encr: EncrSpec,
    /// Integrity (None with AEAD).
    pub(crate) integ: Option<IntegAlg>,
    /// ESN.
    pub(crate) esn: bool,
    /// Tunnel or transport.
    pub(crate) mode: Mode,
    /// Kernel selectors, local → remote.
    pub(crate) selectors: Vec<Selector>,
}

/// Checks `keys` against `policy` (the one it names). The inbound SPI's
/// provenance is checked by the caller, which holds the reservations.
pub(crate) fn check(keys: &ChildSaKeys, policy: &Policy) -> Result<Checked, String> {
    let refuse = |why: String| Err(format!("install refused for policy {}: {why}", policy.name));
    if !policy.remote.address.matches(keys.remote.ip()) {
        return refuse(format!(
            "peer address {} is not the policy's",
            keys.remote.ip()
        ));
    }
    if !policy.local.address.matches(keys.local.ip()) {
        return refuse(format!(
            "local address {} is not the policy's",
            keys.local.ip()
        ));
    }
    if keys.spi_out < 0x100 {
        return refuse(format!("outbound SPI {:08x} is reserved", keys.spi_out));
    }
    let transport = policy.mode == ConfigMode::Transport;
    if keys.transport != transport {
        return refuse(format!(
            "{} mode requested, the policy says {}",
            if keys.transport {
                "transport"
            } else {
                "tunnel"
            },
            if transport { "transport" } else { "tunnel" }
        ));
    }
    let (encr, integ, esn) = match algorithms(keys, policy) {
        Ok(x) => x,
        Err(e) => return refuse(e),
    };
    let want_encr = encr.keymat_len();
    let want_integ = integ.map_or(0, |i| i.key_len());
    for (dir, (e, i)) in [("inbound", &keys.keys_in), ("outbound", &keys.keys_out)] {
        if e.expose().len() != want_encr || i.expose().len() != want_integ {
            return refuse(format!(
                "{dir} key lengths {}+{} do not fit {} ({want_encr}+{want_integ})",
                e.expose().len(),
                i.expose().len(),
                keys.algorithms
            ));
        }
    }
    let allowed = |specs: &[crate::config::TrafficSelector], ip| -> Vec<TsRange> {
        specs.iter().map(|t| t.to_spec().resolve(ip)).collect()
    };
    let local_allowed = allowed(&policy.local_ts, keys.local.ip());
    let remote_allowed = allowed(&policy.remote_ts, keys.remote.ip());
    for (side, got, ok) in [
        ("local", &keys.local_ts, &local_allowed),
        ("remote", &keys.remote_ts, &remote_allowed),
    ] {
        if got.is_empty() {
            return refuse(format!("no {side} traffic selector"));
        }
        if let Some(bad) = got.iter().find(|g| !ok.iter().any(|a| within(g, a))) {
            return refuse(format!(
                "{side} traffic selector {bad} is outside the configured {}",
                crate::ike::engine::ts::join(ok)
            ));
        }
    }
    let selectors = match selectors(&keys.local_ts, &keys.remote_ts) {
        Ok(s) => s,
        Err(e) => return refuse(e),
    };
    Ok(Checked {
        encr,
        integ,
        esn,
        mode: if transport {
            Mode::Transport
        } else {
            Mode::Tunnel
        },
        selectors,
    })
}

/// The negotiated algorithms, which must be one choice out of one of the
/// policy's ESP proposals.
fn algorithms(
    keys: &ChildSaKeys,
    policy: &Policy,
) -> Result<(EncrSpec, Option<IntegAlg>, bool), String> {
    let got = ProposalConfig::parse(&keys.algorithms, SaProtocol::Esp)
        .map_err(|e| format!("algorithms {:?}: {e}", keys.algorithms))?;
    let (Some(&encr), [], [esn]) = (got.encr.first(), &got.encr[1..], got.esn.as_slice()) else {
        return Err(format!(
            "algorithms {:?} are not one choice",
            keys.algorithms
        ));
    };
    if got.integ.len() > 1 || got.ke.len() > 1 {
        return Err(format!(
            "algorithms {:?} are not one choice",
            keys.algorithms
        ));
    }
    let integ = got.integ.first().copied();
    let fits = policy.esp.iter().any(|p| {
        p.encr.contains(&encr)
            && integ.is_none_or(|i| p.integ.contains(&i))
            && (integ.is_some() || p.integ.is_empty())
            && p.esn.contains(esn)
            && got.ke.iter().all(|g| p.ke.contains(g))
    });
    if !fits {
        return Err(format!(
            "algorithms {} are not in the configured ESP proposals ({})",
            keys.algorithms,
            policy
                .esp
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((encr, integ, *esn))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
policies:
  - name: site
    local: {address: 192.0.2.1}
    remote: {address: 192.0.2.2}
    auth: {psk: x}
    esp: [aes128gcm16, aes256-sha384]
    local_ts: [198.51.100.0/24]
    remote_ts: [203.0.113.0/24]
";

    fn policy() -> Policy {
        let c = crate::config::parse(CONFIG, "t.conf").unwrap();
        c.policies[0].clone()
    }

    fn ts(a: &str, b: &str) -> TsRange {
        TsRange::between(a.parse().unwrap(), b.parse().unwrap())
    }

    fn keys() -> ChildSaKeys {
        ChildSaKeys {
            ike: 1,
            local: "192.0.2.1:500".parse().unwrap(),
            remote: "192.0.2.2:500".parse().unwrap(),
            policy: "site".into(),
            spi_in: 0x1000,
            spi_out: 0x2000,
            algorithms: "aes128gcm16".into(),
            keys_in: (vec![1; 20].into(), Vec::new().into()),
            keys_out: (vec![2; 20].into(), Vec::new().into()),
            local_ts: vec![ts("198.51.100.0", "198.51.100.255")],
            remote_ts: vec![ts("203.0.113.7", "203.0.113.7")],
            transport: false,
            udp_encap: false,
        }
    }

    fn refused(k: ChildSaKeys) -> String {
        check(&k, &policy()).unwrap_err()
    }

    #[test]
    fn a_request_within_the_policy_passes() {
        let c = check(&keys(), &policy()).unwrap();
        assert_eq!(c.mode, Mode::Tunnel);
        assert_eq!(
            c.selectors[0].to_string(),
            "198.51.100.0/24 === 203.0.113.7/32"
        );
        let mut cbc = keys();
        cbc.algorithms = "aes256-sha384".into();
        cbc.keys_in = (vec![1; 32].into(), vec![3; 48].into());
        cbc.keys_out = (vec![2; 32].into(), vec![4; 48].into());
        let c = check(&cbc, &policy()).unwrap();
        assert_eq!(c.integ, Some(IntegAlg::HmacSha384_192));
    }

    #[test]
    fn each_refusal_class_names_its_reason() {
        let mut k = keys();
        k.remote = "192.0.2.9:500".parse().unwrap();
        assert!(refused(k).contains("peer address 192.0.2.9 is not the policy's"));
        let mut k = keys();
        k.local = "192.0.2.8:500".parse().unwrap();
        assert!(refused(k).contains("local address 192.0.2.8"));
        let mut k = keys();
        k.spi_out = 7;
        assert!(refused(k).contains("outbound SPI 00000007 is reserved"));
        let mut k = keys();
        k.transport = true;
        assert!(refused(k).contains("transport mode requested, the policy says tunnel"));
        let mut k = keys();
        k.algorithms = "aes256gcm16".into();
        assert!(
            refused(k).contains("not in the configured ESP proposals (aes128gcm16, aes256-sha384")
        );
        let mut k = keys();
        k.algorithms = "rot13".into();
        assert!(refused(k).contains("algorithms \"rot13\""));
        let mut k = keys();
        k.keys_out = (vec![2; 16].into(), Vec::new().into());
        assert!(refused(k).contains("outbound key lengths 16+0 do not fit aes128gcm16 (20+0)"));
        let mut k = keys();
        k.remote_ts = vec![ts("203.0.113.0", "203.0.114.0")];
        assert!(refused(k).contains("remote traffic selector 203.0.113.0..203.0.114.0 is outside the configured 203.0.113.0/24"));
        let mut k = keys();
        k.local_ts = vec![ts("0.0.0.0", "255.255.255.255")];
        assert!(refused(k).contains("local traffic selector 0.0.0.0/0 is outside"));
        let mut k = keys();
        k.local_ts.clear();
        assert!(refused(k).contains("no local traffic selector"));
        let mut k = keys();
        k.remote_ts[0].ip_protocol = 6;
        k.remote_ts[0].start_port = 80;
        k.remote_ts[0].end_port = 90;
        assert!(refused(k).contains("port range 80-90"));
        assert!(refused(keys_with_policy_name()).contains("policy site"));
    }

    fn keys_with_policy_name() -> ChildSaKeys {
        let mut k = keys();
        k.spi_out = 0;
        k
    }
}
