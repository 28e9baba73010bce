//! The responder's protection against floods of IKE_SA_INIT requests
//! (RFC 7296 §2.6, RFC 8019): stateless COOKIEs with a rotating secret,
//! per-peer and global limits on half-open SAs, and their expiry.
//!
//! A limit is never answered by silence alone: a spoofer can fill a
//! peer's slots (or the whole table) with the peer's address, but cannot
//! return the COOKIE sent to that address, so past any limit a request
//! must carry a valid COOKIE and then gets a slot of its own. Half-open
//! SAs that returned a COOKIE are counted apart from those that did not;
//! when the table is full, one that returned a COOKIE evicts the oldest
//! that did not (RFC 8019 §4), and under load half-open SAs live shorter.
//! IPv6 peers are counted per prefix (/64 by default): one host owns a
//! whole /64 and could otherwise fill the table alone.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::io::{Now, SaId};
use super::rng::Rng;

/// How often the COOKIE secret changes (the previous one stays valid).
const SECRET_LIFETIME: Duration = Duration::from_secs(300);
/// A half-open IKE SA is dropped after this long without IKE_AUTH.
pub(crate) const HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// ... and after this long when it was opened under load (RFC 8019 §4.3:
/// shorter retention frees the table faster; a real peer answers within
/// a round trip and one signature).
pub(crate) const HALF_OPEN_TIMEOUT_UNDER_LOAD: Duration = Duration::from_secs(10);
/// One log line per reason per this long at most (a flood must not flood
/// the log too).
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The limits, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Half-open SAs in total before every request needs a COOKIE.
    pub(crate) threshold: u32,
    /// Half-open SAs per peer (of each kind) before its requests need a
    /// COOKIE.
    pub(crate) per_peer: u32,
    /// Half-open SAs in total.
    pub(crate) global: u32,
    /// IPv6 peers are counted per prefix of this length.
    pub(crate) ipv6_prefix: u8,
}

/// Who a half-open SA is counted against: an IPv4 address or an IPv6
/// prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PeerKey(IpAddr);

impl PeerKey {
    fn of(ip: IpAddr, ipv6_prefix: u8) -> Self {
        match ip {
            IpAddr::V4(_) => Self(ip),
            IpAddr::V6(a) => {
                let bits = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                Self(IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask)))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct HalfOpen {
    key: PeerKey,
    /// It returned our COOKIE (its address is real).
    returned_cookie: bool,
    opened: Now,
    expires: Now,
}

/// Half-open accounting and the COOKIE secrets.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    /// Our SPI → its half-open record.
    half_open: HashMap<SaId, HalfOpen>,
    /// (peer, returned a COOKIE) → how many half-open SAs.
    per_peer: HashMap<(PeerKey, bool), u32>,
    /// (version, secret) now and before.
    secrets: Vec<(u8, [u8; 32])>,
    rotated_at: Option<Now>,
    /// Reason → when it was last logged, and how many since.
    logged: HashMap<&'static str, (Now, u64)>,
}

/// A request let in, and how it counts.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) struct Ticket {
    /// It returned a valid COOKIE.
    pub(crate) returned_cookie: bool,
    /// A half-open SA to drop first to make room for it.
    pub(crate) evict: Option<SaId>,
    /// It came while the table was loaded: a shorter half-open life.
    pub(crate) under_load: bool,
    key: PeerKey,
}

/// What to do with a new IKE_SA_INIT request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Go ahead.
    Yes(Ticket),
    /// Answer with this COOKIE and keep no state.
    Cookie(Vec<u8>),
    /// Drop it (a limit is reached even for peers that returned a
    /// COOKIE); the reason for the log.
    Drop(&'static str),
}

impl Guard {
    fn rotate(&mut self, now: Now, rng: &mut dyn Rng) {
        let due = self
            .rotated_at
            .is_none_or(|t| now.saturating_sub(t) >= SECRET_LIFETIME);
        if due {
            let version = self.secrets.first().map_or(0, |(v, _)| v.wrapping_add(1));
            let mut s = [0u8; 32];
            rng.fill(&mut s);
            self.secrets.insert(0, (version, s));
            self.secrets.truncate(2);
            self.rotated_at = Some(now);
        }
    }

    /// The COOKIE for a request: version ‖ SHA-256(secret ‖ Ni ‖ IPi ‖ SPIi)
    /// (the §2.6 suggestion), 17 bytes. Bound to the full address, not
    /// the prefix the peer is counted under.
    fn cookie(version: u8, secret: &[u8; 32], ni: &[u8], peer: SocketAddr, spi_i: u64) -> Vec<u8> {
        let mut h = openssl::sha::Sha256::new();
        h.update(secret);
        h.update(ni);
        match peer.ip() {
            IpAddr::V4(a) => h.update(&a.octets()),
            IpAddr::V6(a) => h.update(&a.octets()),
        }
        h.update(&spi_i.to_be_bytes());
        let mut out = vec![version];
        out.extend_from_slice(&h.finish()[..16]);
        out
    }

    fn cookie_is_valid(&self, c: &[u8], ni: &[u8], peer: SocketAddr, spi_i: u64) -> bool {
        self.secrets.iter().any(|(v, s)| {
            let want = Self::cookie(*v, s, ni, peer, spi_i);
            // Constant time: no timing tells how much of a guess was right.
            c.first() == Some(v) && want.len() == c.len() && openssl::memcmp::eq(&want, c)
        })
    }

    fn counted(&self, key: PeerKey, returned_cookie: bool) -> u32 {
        self.per_peer
            .get(&(key, returned_cookie))
            .copied()
            .unwrap_or(0)
    }

    /// The oldest half-open SA that never returned a COOKIE.
    fn oldest_unproven(&self) -> Option<SaId> {
        self.half_open
            .iter()
            .filter(|(_, h)| !h.returned_cookie)
            .min_by_key(|(id, h)| (h.opened, **id))
            .map(|(id, _)| *id)
    }

    /// Decides about a new request from `peer`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn admit(
        &mut self,
        now: Now,
        rng: &mut dyn Rng,
        peer: SocketAddr,
        spi_i: u64,
        ni: &[u8],
        cookie: Option<&[u8]>,
        limits: Limits,
    ) -> Admit {
        let total = u32::try_from(self.half_open.len()).unwrap_or(u32::MAX);
        let key = PeerKey::of(peer.ip(), limits.ipv6_prefix);
        let loaded = total >= limits.threshold.min(limits.global);
        if !loaded && self.counted(key, false) < limits.per_peer {
            return Admit::Yes(Ticket {
                returned_cookie: false,
                evict: None,
                under_load: false,
                key,
            });
        }
        self.rotate(now, rng);
        if !cookie.is_some_and(|c| self.cookie_is_valid(c, ni, peer, spi_i)) {
            let (v, s) = self.secrets[0];
            return Admit::Cookie(Self::cookie(v, &s, ni, peer, spi_i));
        }
        if self.counted(key, true) >= limits.per_peer {
            return Admit::Drop("this peer's half-open limit is reached");
        }
        let evict = if total >= limits.global {
            match self.oldest_unproven() {
                Some(id) => Some(id),
                None => return Admit::Drop("the half-open table is full"),
            }
        } else {
            None
        };
        Admit::Yes(Ticket {
            returned_cookie: true,
            evict,
            under_load: loaded,
            key,
        })
    }

    /// Counts a new half-open SA let in with `ticket`.
    pub(crate) fn opened(&mut self, id: SaId, ticket: Ticket, now: Now) {
        let life = if ticket.under_load {
            HALF_OPEN_TIMEOUT_UNDER_LOAD
        } else {
            HALF_OPEN_TIMEOUT
        };
        let entry = HalfOpen {
            key: ticket.key,
            returned_cookie: ticket.returned_cookie,
            opened: now,
            expires: now + life,
        };
        if let Some(old) = self.half_open.insert(id, entry) {
            self.uncount(old);
        }
        *self
            .per_peer
            .entry((ticket.key, ticket.returned_cookie))
            .or_insert(0) += 1;
    }

    fn uncount(&mut self, h: HalfOpen) {
        let k = (h.key, h.returned_cookie);
        if let Some(n) = self.per_peer.get_mut(&k) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&k);
            }
        }
    }

    /// The SA is no longer half-open (authenticated, or gone).
    pub(crate) fn closed(&mut self, id: SaId) {
        if let Some(h) = self.half_open.remove(&id) {
            self.uncount(h);
        }
    }

    /// Half-open SAs whose time is up, with how long they had.
    pub(crate) fn expired(&self, now: Now) -> Vec<(SaId, Duration)> {
        self.half_open
            .iter()
            .filter(|(_, h)| h.expires <= now)
            .map(|(id, h)| (*id, h.expires.saturating_sub(h.opened)))
            .collect()
    }

    /// The earliest expiry.
    pub(crate) fn next_expiry(&self) -> Option<Now> {
        self.half_open.values().map(|h| h.expires).min()
    }

    /// How many are half-open.
    pub(crate) fn count(&self) -> usize {
        self.half_open.len()
    }

    /// A log line for `reason`, at most one per `LOG_INTERVAL`, saying
    /// how many were not logged since the last.
    pub(crate) fn log_line(&mut self, reason: &'static str, now: Now) -> Option<String> {
        let (last, quiet) = self.logged.entry(reason).or_insert((now, 0));
        if *quiet > 0 && now.saturating_sub(*last) < LOG_INTERVAL {
            *quiet += 1;
            return None;
        }
        let line = match quiet.saturating_sub(1) {
            0 => reason.to_string(),
            n => format!("{reason} ({n} more since the last line)"),
        };
        *last = now;
        *quiet = 1;
        Some(line)
    }
}

#[cfg(test)]
#[path = "dos_tests.rs"]
mod tests;
