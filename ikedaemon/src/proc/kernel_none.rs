//! The `kernel: none` backend: the CHILD SAs the negotiator reports are
//! recorded in the parent instead of being installed in a kernel, so that
//! `ikectl show sa` shows them under their IKE SAs and a deleted one is
//! removed as it would be from the kernel. No keys are kept.

use std::time::Instant;

use crate::control_proto::{ChildInfo, SaInfo};
use crate::ipc::ChildSummary;

/// One recorded CHILD SA.
#[derive(Debug)]
struct Recorded {
    child: ChildSummary,
    since: Instant,
}

/// The CHILD SAs "installed" while no kernel backend is in use.
#[derive(Debug, Default)]
pub(crate) struct RecordedChildren {
    sas: Vec<Recorded>,
}

impl RecordedChildren {
    /// Records a negotiated CHILD SA.
    pub(crate) fn install(&mut self, child: ChildSummary) {
        self.sas.retain(|r| r.child.spi_in != child.spi_in);
        self.sas.push(Recorded {
            child,
            since: Instant::now(),
        });
    }

    /// Forgets the CHILD SA with our inbound SPI `spi_in`; false when
    /// there was none.
    pub(crate) fn remove(&mut self, spi_in: u32) -> bool {
        let before = self.sas.len();
        self.sas.retain(|r| r.child.spi_in != spi_in);
        self.sas.len() != before
    }

    /// How many are recorded.
    pub(crate) fn len(&self) -> usize {
        self.sas.len()
    }

    /// Puts each recorded CHILD SA under its IKE SA in a `show sa` answer.
    pub(crate) fn attach(&self, sas: &mut [SaInfo]) {
        for r in &self.sas {
            let ours = format!("{:016x}", r.child.ike);
            let Some(ike) = sas
                .iter_mut()
                .find(|s| s.spis.split(':').any(|half| half == ours))
            else {
                continue;
            };
            let c = &r.child;
            ike.children.push(ChildInfo {
                spi_in: format!("{:08x}", c.spi_in),
                spi_out: format!("{:08x}", c.spi_out),
                algorithms: c.algorithms.clone(),
                mode: format!(
                    "{}{}",
                    if c.transport { "transport" } else { "tunnel" },
                    if c.udp_encap { " udp-encap" } else { "" }
                ),
                local_ts: c.local_ts.clone(),
                remote_ts: c.remote_ts.clone(),
                installed: "recorded (kernel: none)".into(),
                age_secs: r.since.elapsed().as_secs(),
                bytes: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(ike: u64, spi_in: u32) -> ChildSummary {
        ChildSummary {
            ike,
            policy: "p".into(),
            spi_in,
            spi_out: spi_in + 1,
            algorithms: "aes128gcm16".into(),
            local_ts: vec!["198.51.100.0/24".into()],
            remote_ts: vec!["203.0.113.0/24".into()],
            udp_encap: true,
            transport: false,
        }
    }

    fn ike(spis: &str) -> SaInfo {
        SaInfo {
            policy: "p".into(),
            spis: spis.into(),
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
    fn children_go_under_their_ike_sa_by_either_spi_and_leave_when_removed() {
        let mut r = RecordedChildren::default();
        r.install(child(0xa, 0x100));
        r.install(child(0xb, 0x200));
        r.install(child(0xc, 0x300));
        let mut sas = [
            ike("000000000000000a:00000000000000ff"),
            ike("00000000000000ee:000000000000000b"),
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
}
