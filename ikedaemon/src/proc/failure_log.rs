//! Rate limit for the negotiator's failure lines, per peer address
//! (issue 13, Low): a peer — or a spoofer using its address — that fails
//! negotiation after negotiation gets `PER_WINDOW` lines per `WINDOW`,
//! then one line saying how many were left out (the log and `ikectl
//! monitor` see the same lines).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::ike::engine::Now;

/// Failure lines per source per window.
pub(crate) const PER_WINDOW: u32 = 5;
/// The window.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Sources tracked at most; past that, all others share one budget.
const MAX_SOURCES: usize = 4096;

/// The peer address a failure line is about: the `peer ADDR` of an IKE
/// SA's tag or the `from ADDR` of a message dropped before one exists.
pub(crate) fn source_of(line: &str) -> Option<IpAddr> {
    ["peer ", "from "].iter().find_map(|key| {
        let rest = &line[line.find(key)? + key.len()..];
        let word = rest.split(' ').next()?;
        word.strip_suffix(':').unwrap_or(word).parse().ok()
    })
}

#[derive(Debug, Default)]
struct Window {
    start: Now,
    logged: u32,
    suppressed: u64,
}

/// The limiter.
#[derive(Debug, Default)]
pub(crate) struct FailureLog {
    sources: HashMap<Option<IpAddr>, Window>,
}

impl FailureLog {
    /// What to log for a failure `line` at `now`: the line (with a note of
    /// what was left out before it), or nothing.
    pub(crate) fn admit(&mut self, line: &str, now: Now) -> Option<String> {
        let mut key = source_of(line);
        if !self.sources.contains_key(&key) && self.sources.len() >= MAX_SOURCES {
            self.sources
                .retain(|_, w| now.saturating_sub(w.start) < WINDOW);
            if self.sources.len() >= MAX_SOURCES {
                key = None;
            }
        }
        let w = self.sources.entry(key).or_insert(Window {
            start: now,
            ..Window::default()
        });
        let mut note = String::new();
        if now.saturating_sub(w.start) >= WINDOW {
            if w.suppressed > 0 {
                note = format!(
                    " ({} more failures from {} in the last {}s were not logged)",
                    w.suppressed,
                    key.map_or("other peers".to_string(), |a| a.to_string()),
                    WINDOW.as_secs()
                );
            }
            *w = Window {
                start: now,
                ..Window::default()
            };
        }
        if w.logged >= PER_WINDOW {
            w.suppressed += 1;
            return None;
        }
        w.logged += 1;
        Some(format!("{line}{note}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_read_from_the_tag_or_the_message() {
        assert_eq!(
            source_of("ike 00:11 peer 192.0.2.9: AUTHENTICATION_FAILED"),
            Some("192.0.2.9".parse().unwrap())
        );
        assert_eq!(
            source_of("ike 00:11 peer 2001:db8::1: no proposal"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            source_of("IKE_SA_INIT from 198.51.100.7 dropped: full"),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(source_of("cannot initiate: no policy"), None);
    }

    #[test]
    fn a_noisy_source_is_cut_after_five_lines_a_minute_others_are_not() {
        let mut f = FailureLog::default();
        let line = "ike 1:2 peer 192.0.2.9: AUTHENTICATION_FAILED";
        let t = Duration::from_secs(1);
        let logged = (0..20).filter(|_| f.admit(line, t).is_some()).count();
        assert_eq!(logged, PER_WINDOW as usize);
        assert!(f.admit("ike 1:2 peer 192.0.2.10: x", t).is_some());
        let next = f.admit(line, t + WINDOW).unwrap();
        assert!(
            next.ends_with("(15 more failures from 192.0.2.9 in the last 60s were not logged)"),
            "{next}"
        );
    }
}
