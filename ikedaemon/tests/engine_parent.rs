//! The engine's requests to the parent: one per exchange carrying the
//! CHILD SA to install with the verdict, inbound SPIs from the parent's
//! kernel backend, a kernel that refuses the CHILD SA on either side,
//! stale answers dropped by request id, and the cap on requests of one
//! peer address waiting for the parent.

#[path = "engine_common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use ikedaemon::ike::crypto::prf::PrfAlg;
use ikedaemon::ike::engine::*;

fn failed(events: &[Event], what: &str) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::Failed { line, .. } if line.contains(what)))
}

#[test]
fn the_child_sa_is_installed_by_the_parent_with_the_verdict_under_its_spis() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.start();
    assert_established(&w);
    let (ca, cb) = (
        &World::children(&w.a.events)[0],
        &World::children(&w.b.events)[0],
    );
    // The initiator's inbound SPI was reserved by its parent with Sign,
    // the responder's allocated by its parent at install.
    assert_eq!(w.a.parent.installed, vec![(ca.ike, ca.spi_in)]);
    assert_eq!(w.b.parent.installed, vec![(cb.ike, cb.spi_in)]);
    assert_eq!(ca.spi_in, 0x1000_0001);
    assert_eq!(cb.spi_in, 0x2000_0001);
    assert_eq!((ca.local, ca.remote), (w.a.addr, w.b.addr));
}

#[test]
fn the_responders_kernel_refusing_the_child_sa_leaves_the_ike_sa_up() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.b.parent.refuse_install = true;
    w.start();
    assert_eq!(w.a.engine.summaries()[0].state, "ESTABLISHED");
    assert_eq!(w.b.engine.summaries()[0].state, "ESTABLISHED");
    assert!(World::children(&w.a.events).is_empty());
    assert!(failed(&w.a.events, "no CHILD SA: NO_PROPOSAL_CHOSEN"));
    assert!(failed(
        &w.b.events,
        "CHILD SA refused: NO_PROPOSAL_CHOSEN: the kernel refused it: Protocol not supported"
    ));
}

#[test]
fn the_initiators_kernel_refusing_the_child_sa_deletes_the_responders_half() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.a.parent.refuse_install = true;
    w.start();
    assert!(failed(&w.a.events, "our kernel refused CHILD SA p"));
    // The responder installed its half, then the DELETE removed it.
    assert_eq!(World::children(&w.b.events).len(), 1);
    assert!(
        w.b.events.iter().any(
            |e| matches!(e, Event::ChildDeleted { reason, .. } if *reason == "deleted by the peer")
        ),
        "{:?}\n{:#?}",
        w.b.events,
        w.log
    );
    assert!(
        w.log
            .iter()
            .any(|l| l == "a->b INFORMATIONAL request 2 [ SK ]")
    );
    assert_eq!(w.a.engine.summaries()[0].state, "ESTABLISHED");
    assert_eq!(w.b.engine.summaries()[0].state, "ESTABLISHED");
}

/// The peer's view of our datagram (no NAT).
fn to_peer(d: Datagram) -> Datagram {
    Datagram {
        local: d.remote,
        remote: d.local,
        natt: d.natt,
        bytes: d.bytes,
    }
}

#[test]
fn stale_and_repeated_parent_answers_are_dropped_by_request_id() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let now = Duration::ZERO;
    let out = w.a.engine.initiate("p", w.a.addr, now);
    let init = to_peer(out.send[0].clone());
    let out = w.b.engine.datagram(init, now);
    let resp = to_peer(out.send[0].clone());
    let out = w.a.engine.datagram(resp, now);
    let [ParentRequest::Sign { sa, request, .. }] = out.parent.as_slice() else {
        panic!("{:?}", out.parent)
    };
    let (sa, request) = (*sa, *request);
    let mut answer = |request| {
        w.a.parent.answer(
            ParentRequest::Sign {
                sa,
                request,
                reserve_spi: true,
                local: "192.0.2.1:500".parse().unwrap(),
                remote: "192.0.2.2:500".parse().unwrap(),
                policy: "p".into(),
                octets: vec![1],
                peer_hashes: Vec::new(),
                prf: 0,
            },
            PrfAlg::HmacSha256,
        )
    };
    let wrong = answer(request + 7);
    let right = answer(request);
    let out = w.a.engine.parent_answer(wrong, now);
    assert!(out.send.is_empty() && out.events.is_empty(), "{out:?}");
    let out = w.a.engine.parent_answer(right.clone(), now);
    assert_eq!(out.send.len(), 1, "IKE_AUTH goes out");
    let again = w.a.engine.parent_answer(right, now);
    assert!(
        again.send.is_empty() && again.events.is_empty(),
        "{again:?}"
    );
}

#[test]
fn ike_auth_requests_of_one_peer_waiting_for_the_parent_are_capped() {
    let cfg = EngineConfig {
        max_parent_requests_per_peer: 1,
        ..EngineConfig::default()
    };
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.b.engine.set_limits(cfg);
    // Two initiators at the same address (a second engine with another
    // seed), each with a finished IKE_SA_INIT and its IKE_AUTH request.
    let mut a2 = Engine::new(
        EngineConfig::default(),
        vec![policy(
            "p",
            "192.0.2.2",
            "aes128-sha256-x25519",
            "198.51.100.0-198.51.100.255",
            "203.0.113.0-203.0.113.255",
        )],
        Box::new(SeededRng::new(9)),
    );
    let now = Duration::ZERO;
    let mut auth_requests = Vec::new();
    for e in [&mut w.a.engine, &mut a2] {
        let local: SocketAddr = "192.0.2.1:500".parse().unwrap();
        let out = e.initiate("p", local, now);
        let out_b = w.b.engine.datagram(to_peer(out.send[0].clone()), now);
        let out = e.datagram(to_peer(out_b.send[0].clone()), now);
        let ans = w.a.parent.answer(out.parent[0].clone(), PrfAlg::HmacSha256);
        let out = e.parent_answer(ans, now);
        auth_requests.push(to_peer(out.send[0].clone()));
    }
    let first = w.b.engine.datagram(auth_requests[0].clone(), now);
    assert_eq!(first.parent.len(), 1, "the first goes to the parent");
    // Its retransmission while the parent works is absorbed.
    let again = w.b.engine.datagram(auth_requests[0].clone(), now);
    assert!(
        again.parent.is_empty() && again.send.is_empty(),
        "{again:?}"
    );
    let second = w.b.engine.datagram(auth_requests[1].clone(), now);
    assert!(
        second.parent.is_empty() && second.send.is_empty(),
        "the second waits: {second:?}"
    );
    // Once the first is answered, the retransmitted second gets through.
    let ans =
        w.b.parent
            .answer(first.parent[0].clone(), PrfAlg::HmacSha256);
    let done = w.b.engine.parent_answer(ans, now);
    assert_eq!(done.send.len(), 1, "IKE_AUTH response to the first");
    let retry = w.b.engine.datagram(auth_requests[1].clone(), now);
    assert_eq!(retry.parent.len(), 1, "{retry:?}");
}

#[test]
fn the_responder_narrows_traffic_selectors_to_its_policy() {
    let mut w = World::new(
        policy(
            "p",
            "192.0.2.2",
            "aes128-sha256-x25519",
            "198.51.100.0-198.51.100.255",
            "203.0.113.0-203.0.113.255",
        ),
        policy(
            "p",
            "192.0.2.1",
            "aes128-sha256-x25519",
            "203.0.113.128-203.0.113.255",
            "198.51.100.0-198.51.100.127",
        ),
        "k",
        "k",
        PrfAlg::HmacSha256,
    );
    w.start();
    assert_established(&w);
    let c = &World::children(&w.a.events)[0];
    // RFC 7296 §2.9: the answer is the intersection, within what the
    // initiator asked for; the initiator accepts and installs that.
    assert_eq!(
        ikedaemon::ike::engine::ts::join(&c.local_ts),
        "198.51.100.0/25"
    );
    assert_eq!(
        ikedaemon::ike::engine::ts::join(&c.remote_ts),
        "203.0.113.128/25"
    );
}

#[test]
fn a_responder_forgets_a_natted_initiator_completely_when_its_sa_goes() {
    // The initiator behind a NAT moves to 4500 in IKE_AUTH; after the
    // responder deletes the SA, the same initiator (same SPI, as a
    // restarted peer with the same random state would have) is not
    // mistaken for a retransmission of the old IKE_SA_INIT.
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.a_seen_as = "192.0.2.1:31000".parse().unwrap();
    w.start();
    assert_established(&w);
    let (n, _) = w.b.engine.delete_all();
    assert_eq!(n, 1);
    let mut again = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    again.a_seen_as = w.a_seen_as;
    std::mem::swap(&mut again.b, &mut w.b);
    again.b.events.clear();
    again.start();
    assert_established(&again);
}

#[test]
fn hard_lifetimes_delete_the_child_sa_then_the_ike_sa_on_both_sides() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let mut pa = policy(
        "p",
        "192.0.2.2",
        "aes128-sha256-x25519",
        "198.51.100.0-198.51.100.255",
        "203.0.113.0-203.0.113.255",
    );
    pa.ike_expire = Some(Duration::from_secs(300));
    pa.child_expire = Some(Duration::from_secs(120));
    w.a.engine.set_policies(vec![pa]);
    w.start();
    assert_established(&w);
    let deleted = |e: &[Event], why: &str| {
        e.iter()
            .any(|e| matches!(e, Event::ChildDeleted { reason, .. } if *reason == why))
    };
    // Before the CHILD SA's lifetime nothing happens; at it, a deletes
    // it with an INFORMATIONAL DELETE and b removes its half.
    w.tick(Duration::from_secs(119));
    assert!(!deleted(&w.a.events, "deleted: its lifetime expired"));
    assert_eq!(w.a.engine.next_deadline(), Some(Duration::from_secs(120)));
    w.tick(Duration::from_secs(1));
    assert!(
        deleted(&w.a.events, "deleted: its lifetime expired"),
        "{:?}",
        w.a.events
    );
    assert!(
        deleted(&w.b.events, "deleted by the peer"),
        "{:?}",
        w.b.events
    );
    assert_eq!(w.a.engine.summaries()[0].state, "ESTABLISHED");
    // At the IKE SA's lifetime both forget it.
    w.tick(Duration::from_secs(180));
    assert!(
        w.a.engine.is_empty() && w.b.engine.is_empty(),
        "{:#?}",
        w.log
    );
    assert!(w.a.events.iter().any(
        |e| matches!(e, Event::IkeDeleted { reason, .. } if reason == "its lifetime expired")
    ));
}
