//! A budget for answers sent before any state exists (INVALID_MAJOR_VERSION,
//! UNSUPPORTED_CRITICAL_PAYLOAD to an IKE_SA_INIT request): each goes to
//! an address nobody has proven, so a spoofer could aim them at a victim.
//! At most one per source address per second, and `GLOBAL_PER_SECOND` in
//! all; the table of sources is bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::io::Now;

/// Answers per second to all sources together.
pub const GLOBAL_PER_SECOND: u32 = 50;
/// Sources remembered at most (the oldest second's are dropped first).
const MAX_SOURCES: usize = 4096;

/// The budget.
#[derive(Debug, Default)]
pub struct AnswerBudget {
    second: Option<Now>,
    sent: u32,
    sources: HashMap<IpAddr, Now>,
}

impl AnswerBudget {
    /// Whether an answer to `source` may go out at `now` (and counts it).
    pub fn allow(&mut self, source: IpAddr, now: Now) -> bool {
        let second = Duration::from_secs(now.as_secs());
        if self.second != Some(second) {
            self.second = Some(second);
            self.sent = 0;
            self.sources
                .retain(|_, t| now.saturating_sub(*t) < Duration::from_secs(1));
        }
        if self.sent >= GLOBAL_PER_SECOND || self.sources.len() >= MAX_SOURCES {
            return false;
        }
        if self
            .sources
            .get(&source)
            .is_some_and(|t| now.saturating_sub(*t) < Duration::from_secs(1))
        {
            return false;
        }
        self.sources.insert(source, now);
        self.sent += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_source_per_second_and_a_global_cap() {
        let mut b = AnswerBudget::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Duration::from_millis(100);
        assert!(b.allow(a, t));
        assert!(!b.allow(a, t + Duration::from_millis(500)));
        assert!(b.allow(a, t + Duration::from_millis(1000)));
        let many = (0..200u32).filter(|i| {
            let ip: IpAddr = format!("198.51.100.{}", i % 250).parse().unwrap();
            b.allow(ip, Duration::from_millis(5_000 + u64::from(*i)))
        });
        assert_eq!(many.count(), GLOBAL_PER_SECOND as usize);
    }
}
