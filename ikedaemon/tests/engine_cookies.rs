//! A responder's half-open limits are no lockout (issue 13, M2): when a
//! spoofer fills a peer's half-open slots with the peer's address, or the
//! whole table from many addresses, the real peer is asked for a COOKIE,
//! returns it and connects; a spoofer, which never sees the COOKIE, gets
//! no further state; every limit hit is explained by a (rate-limited) log
//! line.

#[path = "engine_common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use ikedaemon::ike::engine::*;

static SEED: AtomicU64 = AtomicU64::new(1000);

/// Sends `n` IKE_SA_INIT requests to b as if from `from`, each with a new
/// SPI; the answers go to `from`, which the spoofer never sees. Returns
/// how many were answered with a COOKIE.
fn spoof_inits(w: &mut World, from: &[SocketAddr], n: usize) -> usize {
    let mut spoofer = Engine::new(
        EngineConfig::default(),
        vec![policy_a("aes128-sha256-x25519")],
        // A new seed per call: new SPIs, not retransmissions.
        Box::new(SeededRng::new(SEED.fetch_add(1, Ordering::Relaxed))),
    );
    let mut cookies = 0;
    for i in 0..n {
        let out = spoofer.initiate("p", from[i % from.len()], w.now);
        for d in out.send {
            let got = Datagram {
                local: w.b.addr,
                remote: from[i % from.len()],
                natt: false,
                bytes: d.bytes,
            };
            let answer = w.b.engine.datagram(got, w.now);
            w.b.events.extend(answer.events);
            cookies += answer
                .send
                .iter()
                .filter(|d| {
                    ikedaemon::ike::wire::Message::decode(&d.bytes)
                        .is_ok_and(|m| m.to_string().contains("N(COOKIE)"))
                })
                .count();
        }
    }
    cookies
}

/// a and b have their CHILD SA (b has spoofed half-open SAs besides).
fn assert_connected(w: &World) {
    let (ca, cb) = (World::children(&w.a.events), World::children(&w.b.events));
    assert_eq!((ca.len(), cb.len()), (1, 1), "{:#?}", w.log);
    assert_eq!((ca[0].spi_in, ca[0].spi_out), (cb[0].spi_out, cb[0].spi_in));
}

/// b's log lines that contain `text`.
fn lines_at_b(w: &World, text: &str) -> usize {
    w.b.events
        .iter()
        .filter(|e| match e {
            Event::Failed { line, .. } | Event::Info { line, .. } => line.contains(text),
            _ => false,
        })
        .count()
}

#[test]
fn spoofed_requests_with_a_peers_address_do_not_lock_it_out() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let victim = w.a.addr;
    // Eight spoofed requests fill the victim's half-open slots; more get
    // COOKIEs (which go to the victim) and no state.
    assert_eq!(spoof_inits(&mut w, &[victim], 8), 0);
    assert_eq!(w.b.engine.half_open(), 8);
    assert_eq!(spoof_inits(&mut w, &[victim], 20), 20);
    assert_eq!(w.b.engine.half_open(), 8);
    // The real peer is asked for the COOKIE, returns it and connects.
    w.start();
    assert_connected(&w);
    assert!(w.log[1].contains("N(COOKIE)"), "{:#?}", w.log);
    // One log line said why, not 21.
    assert_eq!(lines_at_b(&w, "COOKIEs demanded"), 1, "{:#?}", w.b.events);
}

#[test]
fn a_table_full_of_spoofed_sas_makes_room_for_a_peer_that_returns_a_cookie() {
    let cfg = EngineConfig {
        max_half_open: 16,
        cookie_threshold: 1000,
        ..EngineConfig::default()
    };
    let mut w = pair_with(cfg, |pb| pb.remote = RemoteMatch::Any);
    let sources: Vec<SocketAddr> = (10..26)
        .map(|i| addr(&format!("198.51.100.{i}:500")))
        .collect();
    assert_eq!(spoof_inits(&mut w, &sources, 16), 0);
    assert_eq!(w.b.engine.half_open(), 16);
    // Full: newcomers are asked for COOKIEs, spoofers cannot return them.
    assert_eq!(spoof_inits(&mut w, &sources, 32), 32);
    assert_eq!(w.b.engine.half_open(), 16);
    w.start();
    assert_connected(&w);
    assert_eq!(w.b.engine.half_open(), 15, "one spoofed SA evicted");
    // The evicted and the remaining spoofed SAs go after their timeout.
    w.tick(Duration::from_secs(31));
    assert_eq!(w.b.engine.half_open(), 0);
}

#[test]
fn half_open_sas_opened_under_load_expire_sooner() {
    let cfg = EngineConfig {
        cookie_threshold: 0,
        ..EngineConfig::default()
    };
    let mut w = pair_with(cfg, |_| {});
    // The IKE_AUTH request is lost every time: the SA stays half-open.
    w.drop = (5..100).collect();
    w.start();
    assert_eq!(w.b.engine.half_open(), 1);
    w.tick(Duration::from_secs(11));
    assert_eq!(w.b.engine.half_open(), 0);
    assert_eq!(
        lines_at_b(&w, "no IKE_AUTH within 10s"),
        1,
        "{:#?}",
        w.b.events
    );
}
