//! The `kernel: none` backend: inbound SPIs are allocated and the CHILD
//! SAs the negotiator asks for are recorded in the parent instead of
//! being installed in a kernel, so that `ikectl show sa` shows them under
//! their IKE SAs and a deleted one is removed as it would be from the
//! kernel. No keys are kept: they are zeroized as the request is dropped.

use std::time::{Duration, Instant};

use crate::control_proto::{ChildInfo, SaInfo};
use crate::ike::engine::ChildSaKeys;
use crate::log_info;

/// How long a reserved inbound SPI waits for its CHILD SA (a kernel's
/// larval SA lives about as long).
const RESERVATION: Duration = Duration::from_secs(60);

/// What is kept of a recorded CHILD SA: no keys.
#[derive(Debug)]
struct Recorded {
    /// The IKE SA it belongs to (our SPI).
    ike: u64,
    /// Policy.
    policy: String,
    /// Our inbound SPI.
    spi_in: u32,
    /// Outbound SPI.
    spi_out: u32,
    /// Algorithms.
    algorithms: String,
    /// Local selectors.
    local_ts: Vec<String>,
    /// Remote selectors.
    remote_ts: Vec<String>,
    /// UDP encapsulation.
    udp_encap: bool,
    /// Transport mode (else tunnel).
    transport: bool,
    /// When it was recorded.
    since: Instant,
    /// When its hard lifetime ends (the negotiator deletes it then).
    expires: Option<Instant>,
}

/// The CHILD SAs "installed" while no kernel backend is in use.
#[derive(Debug, Default)]
pub(crate) struct RecordedChildren {
    sas: Vec<Recorded>,
    /// Inbound SPIs handed out and not yet installed, with when.
    reserved: Vec<(u32, Instant)>,
}

fn random_spi() -> u32 {
    let mut b = [0u8; 4];
    // Failure leaves zeros; the caller retries and gives up cleanly.
    let _ = openssl::rand::rand_bytes(&mut b);
    u32::from_be_bytes(b)
}

impl RecordedChildren {
    fn in_use(&self, spi: u32) -> bool {
        // SPIs 1-255 are reserved by IANA (RFC 4303 §2.1), 0 is none.
        spi < 0x100
            || self.sas.iter().any(|r| r.spi_in == spi)
            || self.reserved.iter().any(|(s, _)| *s == spi)
    }

    /// A fresh inbound SPI, held for the CHILD SA to come.
    pub(crate) fn reserve(&mut self) -> Result<u32, String> {
        self.reserved.retain(|(_, at)| at.elapsed() < RESERVATION);
        for _ in 0..16 {
            let spi = random_spi();
            if !self.in_use(spi) {
                self.reserved.push((spi, Instant::now()));
                return Ok(spi);
            }
        }
        Err("no free inbound SPI".to_string())
    }

    /// Records a negotiated CHILD SA under its reserved inbound SPI, or a
    /// new one when it has none (`spi_in` 0); returns the SPI.
    pub(crate) fn install(
        &mut self,
        keys: ChildSaKeys,
        lifetime: Option<Duration>,
    ) -> Result<u32, String> {
        let spi_in = match keys.spi_in {
            0 => self.reserve()?,
            spi => spi,
        };
        self.reserved.retain(|(s, _)| *s != spi_in);
        if self.sas.iter().any(|r| r.spi_in == spi_in) {
            return Err(format!("inbound SPI {spi_in:08x} is in use"));
        }
        let child = Recorded {
            ike: keys.ike,
            policy: keys.policy.clone(),
            spi_in,
            spi_out: keys.spi_out,
            algorithms: keys.algorithms.clone(),
            local_ts: keys.local_ts.clone(),
            remote_ts: keys.remote_ts.clone(),
            udp_encap: keys.udp_encap,
            transport: keys.transport,
            since: Instant::now(),
            expires: lifetime.map(|d| Instant::now() + d),
        };
        log_info!(
            "CHILD SA {} {:08x}/{:08x} {} {} === {}{}: kernel backend none, not installed",
            child.policy,
            child.spi_in,
            child.spi_out,
            child.algorithms,
            child.local_ts.join(","),
            child.remote_ts.join(","),
            if child.udp_encap {
                " (UDP-encapsulated)"
            } else {
                ""
            }
        );
        self.sas.push(child);
        Ok(spi_in)
    }

    /// Forgets the CHILD SA with our inbound SPI `spi_in`; false when
    /// there was none.
    pub(crate) fn remove(&mut self, spi_in: u32) -> bool {
        let before = self.sas.len();
        self.sas.retain(|r| r.spi_in != spi_in);
        self.sas.len() != before
    }

    /// How many are recorded.
    pub(crate) fn len(&self) -> usize {
        self.sas.len()
    }

    /// Puts each recorded CHILD SA under its IKE SA in a `show sa` answer.
    pub(crate) fn attach(&self, sas: &mut [SaInfo]) {
        for r in &self.sas {
            let Some(ike) = sas.iter_mut().find(|s| s.id == r.ike) else {
                continue;
            };
            ike.children.push(ChildInfo {
                spi_in: format!("{:08x}", r.spi_in),
                spi_out: format!("{:08x}", r.spi_out),
                algorithms: r.algorithms.clone(),
                mode: format!(
                    "{}{}",
                    if r.transport { "transport" } else { "tunnel" },
                    if r.udp_encap { " udp-encap" } else { "" }
                ),
                local_ts: r.local_ts.clone(),
                remote_ts: r.remote_ts.clone(),
                installed: "recorded (kernel: none)".into(),
                age_secs: r.since.elapsed().as_secs(),
                expires_in: r
                    .expires
                    .map(|t| t.saturating_duration_since(Instant::now()).as_secs()),
                bytes: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(ike: u64, spi_in: u32) -> ChildSaKeys {
        ChildSaKeys {
            ike,
            local: "192.0.2.1:4500".parse().unwrap(),
            remote: "192.0.2.2:4500".parse().unwrap(),
            policy: "p".into(),
            spi_in,
            spi_out: spi_in + 1,
            algorithms: "aes128gcm16".into(),
            keys_in: (vec![1; 20].into(), Vec::new().into()),
            keys_out: (vec![2; 20].into(), Vec::new().into()),
            local_ts: vec!["198.51.100.0/24".into()],
            remote_ts: vec!["203.0.113.0/24".into()],
            transport: false,
            udp_encap: true,
        }
    }

    fn ike(spis: &str, id: u64) -> SaInfo {
        SaInfo {
            policy: "p".into(),
            spis: spis.into(),
            id,
            peer: "192.0.2.2:500".into(),
            state: "ESTABLISHED".into(),
            algorithms: String::new(),
            rekey_in: None,
            expires_in: None,
            peer_id: String::new(),
            age_secs: 0,
            children: Vec::new(),
        }
    }

    #[test]
    fn children_go_under_their_ike_sa_by_our_spi_and_leave_when_removed() {
        let mut r = RecordedChildren::default();
        assert_eq!(r.install(child(0xa, 0x100), None), Ok(0x100));
        assert_eq!(r.install(child(0xb, 0x200), None), Ok(0x200));
        assert_eq!(r.install(child(0xc, 0x300), None), Ok(0x300));
        assert!(
            r.install(child(0xd, 0x300), None)
                .unwrap_err()
                .contains("in use")
        );
        let mut sas = [
            ike("000000000000000a:00000000000000ff", 0xa),
            ike("00000000000000ee:000000000000000b", 0xb),
        ];
        r.attach(&mut sas);
        assert_eq!(sas[0].children.len(), 1);
        assert_eq!(sas[0].children[0].spi_in, "00000100");
        assert_eq!(sas[0].children[0].mode, "tunnel udp-encap");
        assert_eq!(sas[1].children[0].spi_out, "00000201");
        assert!(r.remove(0x100));
        assert!(!r.remove(0x100));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn spis_are_reserved_then_installed_or_allocated_on_install() {
        let mut r = RecordedChildren::default();
        let a = r.reserve().unwrap();
        let b = r.reserve().unwrap();
        assert!(a >= 0x100 && b >= 0x100 && a != b);
        assert_eq!(r.install(child(1, a), None), Ok(a));
        assert!(r.reserved.iter().all(|(s, _)| *s != a));
        // The responder's CHILD SA comes with SPI 0: one is allocated.
        let c = r.install(child(2, 0), None).unwrap();
        assert!(c >= 0x100 && c != a && c != b);
        assert_eq!(r.len(), 2);
    }
}
