//! The responder's protection against floods of IKE_SA_INIT requests
//! (RFC 7296 §2.6, RFC 8019 §4): stateless COOKIEs with a rotating secret
//! once the half-open IKE SAs pass a threshold, per-peer and global limits
//! on half-open SAs, and their expiry.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::io::{Now, SaId};
use super::rng::Rng;

/// How often the COOKIE secret changes (the previous one stays valid).
const SECRET_LIFETIME: Duration = Duration::from_secs(300);
/// A half-open IKE SA is dropped after this long without IKE_AUTH.
pub(crate) const HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Half-open accounting and the COOKIE secrets.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    /// Our SPI → (peer address, expiry).
    half_open: HashMap<SaId, (IpAddr, Now)>,
    per_peer: HashMap<IpAddr, u32>,
    /// (version, secret) now and before.
    secrets: Vec<(u8, [u8; 32])>,
    rotated_at: Option<Now>,
}

/// What to do with a new IKE_SA_INIT request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Go ahead.
    Yes,
    /// Answer with this COOKIE and keep no state.
    Cookie(Vec<u8>),
    /// Drop it (a limit is reached); the reason for the log.
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
    /// (the §2.6 suggestion), 17 bytes.
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
        limits: (u32, u32, u32),
    ) -> Admit {
        let (threshold, per_peer, global) = limits;
        let total = u32::try_from(self.half_open.len()).unwrap_or(u32::MAX);
        if total >= global {
            return Admit::Drop("the global half-open limit is reached");
        }
        if self.per_peer.get(&peer.ip()).copied().unwrap_or(0) >= per_peer {
            return Admit::Drop("this peer's half-open limit is reached");
        }
        if total < threshold {
            return Admit::Yes;
        }
        self.rotate(now, rng);
        let valid = cookie.is_some_and(|c| {
            self.secrets.iter().any(|(v, s)| {
                let want = Self::cookie(*v, s, ni, peer, spi_i);
                // Constant time: no timing tells how much of a guess was right.
                c.first() == Some(v) && want.len() == c.len() && openssl::memcmp::eq(&want, c)
            })
        });
        if valid {
            return Admit::Yes;
        }
        let (v, s) = self.secrets[0];
        Admit::Cookie(Self::cookie(v, &s, ni, peer, spi_i))
    }

    /// Counts a new half-open SA.
    pub(crate) fn opened(&mut self, id: SaId, peer: IpAddr, now: Now) {
        self.half_open.insert(id, (peer, now + HALF_OPEN_TIMEOUT));
        *self.per_peer.entry(peer).or_insert(0) += 1;
    }

    /// The SA is no longer half-open (authenticated, or gone).
    pub(crate) fn closed(&mut self, id: SaId) {
        if let Some((peer, _)) = self.half_open.remove(&id)
            && let Some(n) = self.per_peer.get_mut(&peer)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&peer);
            }
        }
    }

    /// Half-open SAs whose time is up.
    pub(crate) fn expired(&self, now: Now) -> Vec<SaId> {
        self.half_open
            .iter()
            .filter(|(_, (_, t))| *t <= now)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The earliest expiry.
    pub(crate) fn next_expiry(&self) -> Option<Now> {
        self.half_open.values().map(|(_, t)| *t).min()
    }

    /// How many are half-open.
    pub(crate) fn count(&self) -> usize {
        self.half_open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ike::engine::rng::SeededRng;

    #[test]
    fn cookies_are_demanded_above_the_threshold_and_checked() {
        let mut g = Guard::default();
        let mut rng = SeededRng::new(7);
        let peer: SocketAddr = "192.0.2.9:500".parse().unwrap();
        let limits = (1, 10, 100);
        assert_eq!(
            g.admit(Duration::ZERO, &mut rng, peer, 1, b"nonce", None, limits),
            Admit::Yes
        );
        g.opened(1, peer.ip(), Duration::ZERO);
        let Admit::Cookie(c) = g.admit(Duration::ZERO, &mut rng, peer, 2, b"nonce", None, limits)
        else {
            panic!("no cookie demanded")
        };
        assert_eq!(
            g.admit(
                Duration::ZERO,
                &mut rng,
                peer,
                2,
                b"nonce",
                Some(&c),
                limits
            ),
            Admit::Yes
        );
        // Bound to the SPI, the nonce and the address.
        assert!(matches!(
            g.admit(
                Duration::ZERO,
                &mut rng,
                peer,
                3,
                b"nonce",
                Some(&c),
                limits
            ),
            Admit::Cookie(_)
        ));
        let other: SocketAddr = "192.0.2.10:500".parse().unwrap();
        assert!(matches!(
            g.admit(
                Duration::ZERO,
                &mut rng,
                other,
                2,
                b"nonce",
                Some(&c),
                limits
            ),
            Admit::Cookie(_)
        ));
        // Still valid after one rotation, not after two.
        let t = SECRET_LIFETIME;
        let _ = g.admit(t, &mut rng, peer, 9, b"x", None, limits);
        assert_eq!(
            g.admit(t, &mut rng, peer, 2, b"nonce", Some(&c), limits),
            Admit::Yes
        );
        let _ = g.admit(t * 2, &mut rng, peer, 9, b"x", None, limits);
        assert!(matches!(
            g.admit(t * 2, &mut rng, peer, 2, b"nonce", Some(&c), limits),
            Admit::Cookie(_)
        ));
    }

    #[test]
    fn limits_drop_and_closing_frees_a_slot() {
        let mut g = Guard::default();
        let mut rng = SeededRng::new(1);
        let peer: SocketAddr = "192.0.2.9:500".parse().unwrap();
        let limits = (100, 2, 3);
        for id in 1..=2 {
            assert_eq!(
                g.admit(Duration::ZERO, &mut rng, peer, id, b"n", None, limits),
                Admit::Yes
            );
            g.opened(id, peer.ip(), Duration::ZERO);
        }
        assert_eq!(
            g.admit(Duration::ZERO, &mut rng, peer, 3, b"n", None, limits),
            Admit::Drop("this peer's half-open limit is reached")
        );
        g.closed(1);
        assert_eq!(
            g.admit(Duration::ZERO, &mut rng, peer, 3, b"n", None, limits),
            Admit::Yes
        );
        assert_eq!(g.expired(HALF_OPEN_TIMEOUT), vec![2]);
    }
}
