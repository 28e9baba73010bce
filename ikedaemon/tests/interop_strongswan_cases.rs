//! The three named strongSwan interop cases with ikedaemon in both roles,
//! across PSK, ECDSA and RSA certificates and the proposals
//! aes256-sha256-modp2048, aes128gcm16-prfsha256-x25519 and
//! aes256gcm16-prfsha384-ecp384 (interop_strongswan.rs has the first
//! cases with aes128gcm16-prfsha256-x25519):
//!
//! 1. childless IKE SAs against charon with kernel-netlink;
//! 2. a CHILD SA against charon with kernel-libipsec: INSTALLED, the same
//!    SPIs and traffic selectors on both sides, IKE on port 4500;
//! 3. charon's CHILD SA install fails (no ESP in this kernel): the IKE SA
//!    survives on both sides.
//!
//! What charon reports in `swanctl --list-sas --raw` is asserted, and
//! what ikedaemon reports in `ikectl --json show sa`.

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "interop_common/mod.rs"]
mod interop;

use common::Daemon;
use interop::{Charon, raw_field};

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Psk,
    Ecdsa,
    Rsa,
}

/// A swanctl connection `ikd` (CHILD `net`) for charon in namespace B.
fn charon_conn(auth: Auth, ike: &str, esp: &str, extra: &str) -> String {
    let (local, remote, secrets) = match auth {
        Auth::Psk => (
            "auth = psk\n            id = 192.0.2.2",
            "auth = psk\n             id = 192.0.2.1",
            "secrets {\n  ike-1 { secret = \"interop test secret\" }\n}\n",
        ),
        Auth::Ecdsa | Auth::Rsa => (
            "auth = pubkey\n            certs = responder.pem\n            id = responder.example",
            "auth = pubkey\n             id = initiator.example",
            "",
        ),
    };
    format!(
        "connections {{
  ikd {{
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    version = 2
    proposals = {ike}
{extra}    local {{ {local} }}
    remote {{ {remote} }}
    children {{
      net {{ local_ts = 203.0.113.1/32
            remote_ts = 198.51.100.1/32
            esp_proposals = {esp} }}
    }}
  }}
}}
{secrets}"
    )
}

/// Charon (with certificates made by the harness when asked) and an
/// ikedaemon in namespace A with the matching policy `site`.
fn start(
    auth: Auth,
    libipsec: bool,
    conn: &str,
    start: &str,
    policy_extra: &str,
) -> (Charon, Daemon) {
    let (a, b) = interop::pair();
    let cert = match auth {
        Auth::Psk => None,
        Auth::Ecdsa => Some("ecdsa"),
        Auth::Rsa => Some("rsa"),
    };
    let charon = Charon::start_with(&b, libipsec, cert, conn);
    let export = charon.dir.path().join("export");
    let d = Daemon::start_with(a, |chroot| match auth {
        Auth::Psk => interop::config(chroot, true, start, policy_extra),
        _ => {
            let files = interop::take_exports(&export, chroot.parent().unwrap());
            interop::cert_config(chroot, true, start, &files, policy_extra)
        }
    });
    (charon, d)
}

/// Charon's IKE SA line once it is ESTABLISHED (and, with `child`, its
/// CHILD SA INSTALLED); panics with both logs otherwise.
fn charon_sa(charon: &Charon, d: &Daemon, child: bool) -> String {
    interop::wait_for(20, || {
        let s = charon.list_sas();
        let up = s.contains("state=ESTABLISHED") && (!child || s.contains("state=INSTALLED"));
        up.then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "charon: {}\n{}\nikedaemon: {}",
            charon.list_sas(),
            charon.log(),
            d.log_text()
        )
    })
}

/// Both sides agree on the IKE SA: SPIs and algorithms.
fn assert_same_ike_sa(line: &str, d: &Daemon, ours_algs: &str, dh: &str) -> serde_json::Value {
    let sas = interop::wait_for(5, || {
        let v = interop::show_sa_json(d);
        (v.as_array().is_some_and(|a| a.len() == 1) && v[0]["state"] == "ESTABLISHED").then_some(v)
    })
    .unwrap_or_else(|| panic!("{}\n{}", d.ikectl_ok(&["show", "sa"]), d.log_text()));
    let spis = format!(
        "{}:{}",
        raw_field(line, "initiator-spi").unwrap(),
        raw_field(line, "responder-spi").unwrap()
    );
    assert_eq!(sas[0]["spis"], spis.as_str(), "{line}");
    assert_eq!(sas[0]["algorithms"], ours_algs, "{sas}");
    assert_eq!(raw_field(line, "dh-group"), Some(dh), "{line}");
    sas
}

/// Case 2's checks: INSTALLED on charon, IKE on 4500 with UDP
/// encapsulation, and our CHILD SA is charon's mirrored.
fn assert_same_child_sa(line: &str, sas: &serde_json::Value, esp: &str) {
    assert_eq!(raw_field(line, "local-port"), Some("4500"), "{line}");
    assert_eq!(raw_field(line, "encap"), Some("yes"), "{line}");
    let c = &sas[0]["children"][0];
    assert_eq!(
        c["spi_in"],
        raw_field(line, "spi-out").unwrap(),
        "{sas}\n{line}"
    );
    assert_eq!(c["spi_out"], raw_field(line, "spi-in").unwrap());
    assert_eq!(c["algorithms"], esp);
    assert_eq!(c["mode"], "tunnel udp-encap");
    assert_eq!(c["local_ts"][0], "198.51.100.1/32");
    assert_eq!(c["remote_ts"][0], "203.0.113.1/32");
    assert!(
        line.contains("local-ts=[203.0.113.1/32] remote-ts=[198.51.100.1/32]"),
        "{line}"
    );
}

const MODP2048: &str = "    ike: [aes256-sha256-modp2048]\n    esp: [aes256-sha256]\n";
const ECP384: &str = "    ike: [aes256gcm16-prfsha384-ecp384]\n    esp: [aes256gcm16]\n";

/// Case 1, ikedaemon initiating: `childless: force`, PSK, MODP-2048.
#[test]
fn case1_ikedaemon_initiates_childless_psk_modp2048() {
    let conn = charon_conn(Auth::Psk, "aes256-sha256-modp2048", "aes256-sha256", "");
    let extra = format!("{MODP2048}    childless: force\n");
    let (charon, d) = start(Auth::Psk, false, &conn, "active", &extra);
    let line = charon_sa(&charon, &d, false);
    assert!(line.contains("child-sas {}"), "{line}");
    let sas = assert_same_ike_sa(&line, &d, "aes256-sha256-prfsha256-modp2048", "MODP_2048");
    assert_eq!(sas[0]["children"].as_array().unwrap().len(), 0, "{sas}");
    d.wait_log("IKE SA established without a CHILD SA (RFC 6023)");
}

/// Case 1, charon initiating (`childless = force`), RSA certificates,
/// ECP-384.
#[test]
fn case1_charon_initiates_childless_rsa_certificates_ecp384() {
    let conn = charon_conn(
        Auth::Rsa,
        "aes256gcm16-prfsha384-ecp384",
        "aes256gcm16",
        "    childless = force\n",
    );
    let (charon, d) = start(Auth::Rsa, false, &conn, "passive", ECP384);
    let out = charon.initiate_ike("ikd");
    assert!(out.contains("IKE_SA ikd[1] established"), "{out}");
    let line = charon_sa(&charon, &d, false);
    assert!(line.contains("child-sas {}"), "{line}");
    assert_eq!(raw_field(&line, "remote-id"), Some("initiator.example"));
    let sas = assert_same_ike_sa(&line, &d, "aes256gcm16-prfsha384-ecp384", "ECP_384");
    assert_eq!(sas[0]["peer_id"], "responder.example", "{sas}");
    let log = charon.log();
    assert!(
        log.contains("authentication of 'initiator.example' with RSA")
            && log.contains("successful"),
        "{log}"
    );
    d.wait_log("IKE SA established without a CHILD SA (RFC 6023)");
}

/// Case 2, charon initiating with ECDSA certificates and ECP-384: the CHILD
/// SA is INSTALLED in libipsec and mirrors ours.
#[test]
fn case2_charon_initiates_ecdsa_certificates_ecp384_child_installed() {
    let conn = charon_conn(
        Auth::Ecdsa,
        "aes256gcm16-prfsha384-ecp384",
        "aes256gcm16",
        "",
    );
    let (charon, d) = start(Auth::Ecdsa, true, &conn, "passive", ECP384);
    let out = charon.initiate_child("net");
    assert!(out.contains("CHILD_SA net{1} established"), "{out}");
    let line = charon_sa(&charon, &d, true);
    let sas = assert_same_ike_sa(&line, &d, "aes256gcm16-prfsha384-ecp384", "ECP_384");
    assert_same_child_sa(&line, &sas, "aes256gcm16");
    assert!(
        charon
            .log()
            .contains("authentication of 'initiator.example' with ECDSA")
    );
}

/// Case 2, ikedaemon initiating with RSA certificates and MODP-2048.
#[test]
fn case2_ikedaemon_initiates_rsa_certificates_modp2048_child_installed() {
    let conn = charon_conn(Auth::Rsa, "aes256-sha256-modp2048", "aes256-sha256", "");
    let (charon, d) = start(Auth::Rsa, true, &conn, "active", MODP2048);
    let line = charon_sa(&charon, &d, true);
    let sas = assert_same_ike_sa(&line, &d, "aes256-sha256-prfsha256-modp2048", "MODP_2048");
    assert_same_child_sa(&line, &sas, "aes256-sha256");
    assert_eq!(raw_field(&line, "remote-id"), Some("initiator.example"));
}

/// Case 3, charon initiating (PSK, MODP-2048): we install our half,
/// charon's kernel refuses its half; the IKE SA stays up on both sides.
#[test]
fn case3_charon_initiates_child_install_fails_ike_sa_survives() {
    let conn = charon_conn(Auth::Psk, "aes256-sha256-modp2048", "aes256-sha256", "");
    let (charon, d) = start(Auth::Psk, false, &conn, "passive", MODP2048);
    let (ok, out) = charon.try_initiate_child("net");
    assert!(!ok, "{out}");
    assert!(out.contains("IKE_SA ikd[1] established"), "{out}");
    assert!(out.contains("sending DELETE for ESP CHILD_SA"), "{out}");
    let line = charon_sa(&charon, &d, false);
    assert!(line.contains("child-sas {}"), "{line}");
    assert!(
        charon
            .log()
            .contains("failed to establish CHILD_SA, keeping IKE_SA"),
        "{}",
        charon.log()
    );
    let sas = assert_same_ike_sa(&line, &d, "aes256-sha256-prfsha256-modp2048", "MODP_2048");
    // charon deletes the CHILD SA it could not install: ours goes too,
    // and the log says so.
    let gone = interop::wait_for(10, || {
        let v = interop::show_sa_json(&d);
        v[0]["children"]
            .as_array()
            .is_some_and(|c| c.is_empty())
            .then_some(v)
    });
    assert!(gone.is_some(), "{sas}\n{}\n{}", d.log_text(), charon.log());
    // charon's DELETE names its inbound SPI, our outbound one.
    let log = charon.log();
    let theirs = log
        .split("sending DELETE for ESP CHILD_SA with SPI ")
        .nth(1)
        .and_then(|t| t.get(..8))
        .unwrap()
        .to_string();
    let ours = d.log_text();
    let spi_in = ours
        .split(&format!("/{theirs} aes256-sha256"))
        .next()
        .and_then(|t| t.get(t.len().saturating_sub(8)..))
        .unwrap()
        .to_string();
    d.wait_log(&format!("CHILD SA {spi_in} deleted by the peer"));
    assert_eq!(interop::show_sa_json(&d)[0]["state"], "ESTABLISHED");
}
