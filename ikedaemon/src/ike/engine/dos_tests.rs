//! Tests of the half-open guard: COOKIEs, per-peer and per-prefix limits,
//! eviction at a full table, rate-limited log lines.

use super::*;
use crate::ike::engine::rng::SeededRng;

const T0: Duration = Duration::ZERO;

fn limits(threshold: u32, per_peer: u32, global: u32) -> Limits {
    Limits {
        threshold,
        per_peer,
        global,
        ipv6_prefix: 64,
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Admits and opens; panics unless admitted.
fn open(g: &mut Guard, rng: &mut SeededRng, id: SaId, peer: SocketAddr, l: Limits) -> Ticket {
    let Admit::Yes(t) = g.admit(T0, rng, peer, id, b"nonce", None, l) else {
        panic!("request {id} from {peer} not admitted")
    };
    g.opened(id, t, T0);
    t
}

fn cookie_for(
    g: &mut Guard,
    rng: &mut SeededRng,
    peer: SocketAddr,
    spi: u64,
    l: Limits,
) -> Vec<u8> {
    match g.admit(T0, rng, peer, spi, b"nonce", None, l) {
        Admit::Cookie(c) => c,
        other => panic!("no cookie demanded: {other:?}"),
    }
}

#[test]
fn cookies_are_demanded_above_the_threshold_and_checked() {
    let mut g = Guard::default();
    let mut rng = SeededRng::new(7);
    let peer = addr("192.0.2.9:500");
    let l = limits(1, 10, 100);
    open(&mut g, &mut rng, 1, peer, l);
    let c = cookie_for(&mut g, &mut rng, peer, 2, l);
    let with = |g: &mut Guard, rng: &mut SeededRng, t, p, spi| {
        g.admit(t, rng, p, spi, b"nonce", Some(&c), l)
    };
    assert!(
        matches!(with(&mut g, &mut rng, T0, peer, 2), Admit::Yes(t) if t.returned_cookie && t.under_load)
    );
    // Bound to the SPI, the nonce and the address.
    assert!(matches!(
        with(&mut g, &mut rng, T0, peer, 3),
        Admit::Cookie(_)
    ));
    assert!(matches!(
        g.admit(T0, &mut rng, peer, 2, b"other", Some(&c), l),
        Admit::Cookie(_)
    ));
    assert!(matches!(
        with(&mut g, &mut rng, T0, addr("192.0.2.10:500"), 2),
        Admit::Cookie(_)
    ));
    // Still valid after one rotation, not after two.
    let t = SECRET_LIFETIME;
    let _ = g.admit(t, &mut rng, peer, 9, b"x", None, l);
    assert!(matches!(with(&mut g, &mut rng, t, peer, 2), Admit::Yes(_)));
    let _ = g.admit(t * 2, &mut rng, peer, 9, b"x", None, l);
    assert!(matches!(
        with(&mut g, &mut rng, t * 2, peer, 2),
        Admit::Cookie(_)
    ));
}

#[test]
fn a_spoofer_filling_a_peers_slots_gets_it_a_cookie_not_a_lockout() {
    let mut g = Guard::default();
    let mut rng = SeededRng::new(1);
    let victim = addr("192.0.2.9:500");
    let l = limits(100, 2, 50);
    // The spoofer's two requests with the victim's address.
    open(&mut g, &mut rng, 1, victim, l);
    open(&mut g, &mut rng, 2, victim, l);
    // The real peer is asked for a COOKIE, returns it and gets in.
    let c = cookie_for(&mut g, &mut rng, victim, 3, l);
    let Admit::Yes(t) = g.admit(T0, &mut rng, victim, 3, b"nonce", Some(&c), l) else {
        panic!("the real peer was refused")
    };
    assert!(t.returned_cookie && t.evict.is_none() && !t.under_load);
    g.opened(3, t, T0);
    // Peers that returned COOKIEs have their own per-peer limit.
    let c = cookie_for(&mut g, &mut rng, victim, 4, l);
    let Admit::Yes(t) = g.admit(T0, &mut rng, victim, 4, b"nonce", Some(&c), l) else {
        panic!("second proven request refused")
    };
    g.opened(4, t, T0);
    let c = cookie_for(&mut g, &mut rng, victim, 5, l);
    assert_eq!(
        g.admit(T0, &mut rng, victim, 5, b"nonce", Some(&c), l),
        Admit::Drop("this peer's half-open limit is reached")
    );
    // Another peer is untouched; closing frees the slot.
    open(&mut g, &mut rng, 6, addr("192.0.2.10:500"), l);
    g.closed(1);
    open(&mut g, &mut rng, 7, victim, l);
}

#[test]
fn ipv6_peers_count_per_prefix() {
    let mut g = Guard::default();
    let mut rng = SeededRng::new(2);
    let l = limits(100, 2, 50);
    open(&mut g, &mut rng, 1, addr("[2001:db8:1:1::1]:500"), l);
    open(&mut g, &mut rng, 2, addr("[2001:db8:1:1::2]:500"), l);
    // A third address in the same /64 shares its slots.
    cookie_for(&mut g, &mut rng, addr("[2001:db8:1:1:ffff::3]:500"), 3, l);
    // Another /64 does not.
    open(&mut g, &mut rng, 4, addr("[2001:db8:1:2::1]:500"), l);
    // Counted per address when configured so.
    let per_host = Limits {
        ipv6_prefix: 128,
        ..l
    };
    open(&mut g, &mut rng, 5, addr("[2001:db8:1:1::5]:500"), per_host);
}

#[test]
fn a_full_table_lets_a_proven_peer_evict_the_oldest_unproven() {
    let mut g = Guard::default();
    let mut rng = SeededRng::new(3);
    let l = limits(1000, 8, 3);
    for (id, p) in [
        (10, "192.0.2.1:500"),
        (11, "192.0.2.2:500"),
        (12, "192.0.2.3:500"),
    ] {
        let Admit::Yes(t) = g.admit(
            T0 + Duration::from_secs(id),
            &mut rng,
            addr(p),
            id,
            b"nonce",
            None,
            l,
        ) else {
            panic!("not admitted")
        };
        g.opened(id, t, Duration::from_secs(id));
    }
    let newcomer = addr("198.51.100.7:500");
    let c = cookie_for(&mut g, &mut rng, newcomer, 20, l);
    let Admit::Yes(t) = g.admit(T0, &mut rng, newcomer, 20, b"nonce", Some(&c), l) else {
        panic!("a peer that returned a COOKIE was refused at a full table")
    };
    assert_eq!(t.evict, Some(10));
    assert!(t.under_load);
    g.closed(10);
    g.opened(20, t, T0);
    assert_eq!(g.count(), 3);
    // Opened under load: the shorter half-open life.
    assert_eq!(
        g.expired(HALF_OPEN_TIMEOUT_UNDER_LOAD),
        vec![(20, HALF_OPEN_TIMEOUT_UNDER_LOAD)]
    );
    // A table full of proven SAs drops the next one.
    for (id, p) in [(21, "198.51.100.8:500"), (22, "198.51.100.9:500")] {
        let c = cookie_for(&mut g, &mut rng, addr(p), id, l);
        let Admit::Yes(t) = g.admit(T0, &mut rng, addr(p), id, b"nonce", Some(&c), l) else {
            panic!("not admitted")
        };
        if let Some(e) = t.evict {
            g.closed(e);
        }
        g.opened(id, t, T0);
    }
    let p = addr("198.51.100.10:500");
    let c = cookie_for(&mut g, &mut rng, p, 23, l);
    assert_eq!(
        g.admit(T0, &mut rng, p, 23, b"nonce", Some(&c), l),
        Admit::Drop("the half-open table is full")
    );
}

#[test]
fn limit_log_lines_are_rate_limited_and_count_the_rest() {
    let mut g = Guard::default();
    assert_eq!(g.log_line("full", T0).as_deref(), Some("full"));
    for s in 1..5 {
        assert_eq!(g.log_line("full", Duration::from_secs(s)), None);
    }
    assert_eq!(g.log_line("other", T0).as_deref(), Some("other"));
    assert_eq!(
        g.log_line("full", LOG_INTERVAL).as_deref(),
        Some("full (4 more since the last line)")
    );
}
