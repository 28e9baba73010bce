//! The `none` backend: SAs and flows are kept in memory only, nothing is
//! installed. Soft and hard expiry are emulated from the lifetimes each SA
//! was given, so loopback tests see the same EXPIRE events a kernel sends.
//! No key is kept.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::Kernel;
use super::types::{Flow, KernelError, KernelEvent, Limits, Owned, SaKey, SaParams, Usage};

/// A recorded SA: when it was added and its limits.
#[derive(Debug)]
struct Recorded {
    added: Instant,
    limits: Limits,
    soft_sent: bool,
    larval: bool,
}

/// The in-memory "kernel".
#[derive(Debug, Default)]
pub(crate) struct NoKernel {
    sas: HashMap<SaKey, Recorded>,
    flows: Vec<Flow>,
    /// Tests: the next `events` reports lost events, as an overflowing
    /// kernel socket would.
    #[cfg(test)]
    pub(crate) lose_events: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn random_spi() -> u32 {
    let mut b = [0u8; 4];
    // A failure leaves zeros, which the caller's loop rejects.
    let _ = openssl::rand::rand_bytes(&mut b);
    u32::from_be_bytes(b)
}

/// How long a larval SA waits for its UPDATE (kernels use about 30 s).
const LARVAL: Duration = Duration::from_secs(60);

impl NoKernel {
    fn when(added: Instant, secs: u64) -> Option<Instant> {
        (secs > 0).then(|| added + Duration::from_secs(secs))
    }
}

impl Kernel for NoKernel {
    fn name(&self) -> &'static str {
        "none"
    }

    fn event_fd(&self) -> Option<RawFd> {
        None
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.sas
            .values()
            .filter_map(|r| {
                if r.larval {
                    return Some(r.added + LARVAL);
                }
                let soft = Self::when(r.added, r.limits.soft_secs).filter(|_| !r.soft_sent);
                let hard = Self::when(r.added, r.limits.hard_secs);
                soft.into_iter().chain(hard).min()
            })
            .min()
    }

    fn allocate_spi(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        _reqid: u32,
        _acquire_seq: u32,
    ) -> Result<u32, KernelError> {
        for _ in 0..16 {
            let spi = random_spi();
            let key = SaKey { src, dst, spi };
            // SPIs 1-255 are reserved by IANA (RFC 4303 §2.1), 0 is none.
            if spi >= 0x100 && !self.sas.keys().any(|k| k.spi == spi && k.dst == dst) {
                self.sas.insert(
                    key,
                    Recorded {
                        added: Instant::now(),
                        limits: Limits::default(),
                        soft_sent: false,
                        larval: true,
                    },
                );
                return Ok(spi);
            }
        }
        Err(KernelError::Io("no free inbound SPI".into()))
    }

    fn add_sa(&mut self, sa: &SaParams<'_>) -> Result<(), KernelError> {
        match self.sas.get(&sa.key) {
            Some(r) if !r.larval => return Err(KernelError::errno("add SA", libc::EEXIST)),
            _ => {}
        }
        self.sas.insert(
            sa.key,
            Recorded {
                added: Instant::now(),
                limits: sa.limits,
                soft_sent: false,
                larval: false,
            },
        );
        Ok(())
    }

    fn delete_sa(&mut self, key: &SaKey) -> Result<(), KernelError> {
        match self.sas.remove(key) {
            Some(_) => Ok(()),
            None => Err(KernelError::errno("delete SA", libc::ESRCH)),
        }
    }

    fn usage(&mut self, key: &SaKey) -> Result<Usage, KernelError> {
        match self.sas.get(key) {
            Some(_) => Ok(Usage::default()),
            None => Err(KernelError::errno("get SA", libc::ESRCH)),
        }
    }

    fn add_flow(&mut self, flow: &Flow) -> Result<(), KernelError> {
        self.flows
            .retain(|f| !(f.dir == flow.dir && f.selector == flow.selector));
        self.flows.push(*flow);
        Ok(())
    }

    fn delete_flow(&mut self, flow: &Flow) -> Result<(), KernelError> {
        let before = self.flows.len();
        self.flows
            .retain(|f| !(f.dir == flow.dir && f.selector == flow.selector));
        if self.flows.len() == before {
            return Err(KernelError::errno("delete flow", libc::ENOENT));
        }
        Ok(())
    }

    fn events(&mut self, now: Instant) -> Vec<KernelEvent> {
        let mut out = Vec::new();
        #[cfg(test)]
        if self
            .lose_events
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            out.push(KernelEvent::Lost);
        }
        let mut gone = Vec::new();
        for (key, r) in &mut self.sas {
            if r.larval {
                if now >= r.added + LARVAL {
                    gone.push(*key);
                }
                continue;
            }
            if Self::when(r.added, r.limits.hard_secs).is_some_and(|t| now >= t) {
                gone.push(*key);
                out.push(KernelEvent::Expire {
                    key: *key,
                    hard: true,
                });
            } else if !r.soft_sent
                && Self::when(r.added, r.limits.soft_secs).is_some_and(|t| now >= t)
            {
                r.soft_sent = true;
                out.push(KernelEvent::Expire {
                    key: *key,
                    hard: false,
                });
            }
        }
        for k in gone {
            self.sas.remove(&k);
        }
        out
    }

    fn owned(&mut self) -> Result<Owned, KernelError> {
        Ok(Owned {
            sas: self.sas.keys().copied().collect(),
            flows: self.flows.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ike::crypto::encr::{EncrAlg, EncrSpec};
    use crate::kernel::types::Mode;

    fn params(key: SaKey, inbound: bool, soft: u64, hard: u64) -> SaParams<'static> {
        SaParams {
            key,
            inbound,
            reqid: 0x4b49_0001,
            mode: Mode::Tunnel,
            encr: EncrSpec::new(EncrAlg::AesGcm16, Some(128)).unwrap(),
            integ: None,
            esn: false,
            replay_window: 32,
            encr_key: &[0; 20],
            integ_key: &[],
            limits: Limits {
                soft_secs: soft,
                hard_secs: hard,
                ..Limits::default()
            },
            encap: None,
            selector: None,
            acquire_seq: 0,
        }
    }

    #[test]
    fn an_sa_is_added_once_and_expiry_is_emulated() {
        let mut k = NoKernel::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let spi = k.allocate_spi(b, a, 1, 0).unwrap();
        let key = SaKey {
            src: b,
            dst: a,
            spi,
        };
        k.add_sa(&params(key, true, 10, 20)).unwrap();
        assert!(k.add_sa(&params(key, true, 10, 20)).is_err());
        let t0 = Instant::now();
        assert!(k.events(t0).is_empty());
        assert!(k.next_deadline().unwrap() <= t0 + Duration::from_secs(10));
        let soft = k.events(t0 + Duration::from_secs(11));
        assert_eq!(soft, [KernelEvent::Expire { key, hard: false }]);
        assert!(k.events(t0 + Duration::from_secs(12)).is_empty());
        let hard = k.events(t0 + Duration::from_secs(21));
        assert_eq!(hard, [KernelEvent::Expire { key, hard: true }]);
        assert!(k.owned().unwrap().sas.is_empty());
    }
}
