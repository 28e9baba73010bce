//! Two engines in one process, wired through memory with a fake clock and
//! a test "parent" that holds the PSKs (the engines never see them):
//! IKE_SA_INIT + IKE_AUTH both ways, NAT detection and the move to 4500,
//! INVALID_KE_PAYLOAD, a wrong PSK, no common proposal, lost and
//! duplicated packets, retransmission limits.

#[path = "engine_common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use ikedaemon::ike::crypto::prf::PrfAlg;
use ikedaemon::ike::engine::*;

#[test]
fn psk_ike_and_child_sa_both_ways() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.start();
    assert_established(&w);
    assert_eq!(World::children(&w.a.events)[0].algorithms, "aes128gcm16");
    assert!(!World::children(&w.a.events)[0].udp_encap);
    assert_eq!(w.sent, 4, "{:#?}", w.log);
    assert!(
        w.log[0].starts_with(
            "a->b IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(CHDLESS_SUP) N(HASH_ALG) ]"
        ),
        "{:#?}",
        w.log
    );
    assert_eq!(w.log[2], "a->b IKE_AUTH request 1 [ SK ]");
    // The other direction, with AEAD IKE and ECP.
    let mut w = pair(
        "aes256gcm16-prfsha384-ecp256",
        "aes256gcm16-prfsha384-ecp256",
    );
    w.prf = PrfAlg::HmacSha384;
    std::mem::swap(&mut w.a, &mut w.b);
    w.a.addr = addr("192.0.2.2:500");
    w.b.addr = addr("192.0.2.1:500");
    w.a_seen_as = w.a.addr;
    w.start();
    assert_established(&w);
}

#[test]
fn nat_detected_moves_to_4500_and_marks_udp_encapsulation() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.a_seen_as = addr("192.0.2.1:31000");
    w.start();
    assert_established(&w);
    assert!(World::children(&w.a.events)[0].udp_encap && World::children(&w.b.events)[0].udp_encap);
    // The initiator is the one behind the NAT: it keeps the mapping open
    // with a keepalive every 20 s on port 4500; the responder sends none.
    assert!(w.keepalives.is_empty());
    for _ in 0..7 {
        w.tick(Duration::from_secs(10));
    }
    assert_eq!(w.keepalives.len(), 3, "{:?}", w.keepalives);
    let (from_a, d) = &w.keepalives[0];
    assert!(from_a);
    assert!(d.natt);
    assert_eq!((d.local.port(), d.remote), (4500, addr("192.0.2.2:4500")));
    // Without a NAT nobody sends keepalives.
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.start();
    assert_established(&w);
    for _ in 0..7 {
        w.tick(Duration::from_secs(10));
    }
    assert!(w.keepalives.is_empty());
}

#[test]
fn childless_policies_set_up_the_ike_sa_alone_or_fail_clearly() {
    use ikedaemon::config::Childless;
    // prefer: the peer announces support, so IKE_AUTH carries no SA/TS.
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.a.engine.set_policies(vec![EnginePolicy {
        childless: Childless::Prefer,
        ..policy(
            "p",
            "192.0.2.2",
            "aes128-sha256-x25519",
            "198.51.100.0-198.51.100.255",
            "203.0.113.0-203.0.113.255",
        )
    }]);
    w.start();
    assert!(World::children(&w.a.events).is_empty() && World::children(&w.b.events).is_empty());
    assert_eq!(w.a.engine.summaries()[0].state, "ESTABLISHED");
    assert_eq!(w.b.engine.summaries()[0].state, "ESTABLISHED");
    let said = |e: &[Event], what: &str| {
        e.iter()
            .any(|e| matches!(e, Event::IkeEstablished { line, .. } if line.contains(what)))
    };
    assert!(
        said(
            &w.a.events,
            "IKE SA established without a CHILD SA (RFC 6023)"
        ),
        "{:?}",
        w.a.events
    );
    assert!(
        said(
            &w.b.events,
            "IKE SA established without a CHILD SA (RFC 6023)"
        ),
        "{:?}",
        w.b.events
    );
    // force against a peer with childless: never: it announces nothing,
    // so the initiator stops before IKE_AUTH with one line saying why.
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let mut pa = policy(
        "p",
        "192.0.2.2",
        "aes128-sha256-x25519",
        "198.51.100.0-198.51.100.255",
        "203.0.113.0-203.0.113.255",
    );
    pa.childless = Childless::Force;
    let mut pb = policy(
        "p",
        "192.0.2.1",
        "aes128-sha256-x25519",
        "203.0.113.0-203.0.113.255",
        "198.51.100.0-198.51.100.255",
    );
    pb.childless = Childless::Never;
    w.a.engine.set_policies(vec![pa.clone()]);
    w.b.engine.set_policies(vec![pb.clone()]);
    w.start();
    assert_eq!(w.sent, 2, "{:#?}", w.log);
    assert!(
        w.log[1].contains("IKE_SA_INIT response 0") && !w.log[1].contains("CHDLESS_SUP"),
        "{:#?}",
        w.log
    );
    assert!(
        w.a.events.iter().any(|e| matches!(e, Event::Failed { line, .. }
            if line.contains("policy \"p\" has childless: force, but the peer did not announce CHILDLESS_IKEV2_SUPPORTED"))),
        "{:?}",
        w.a.events
    );
    assert!(w.a.engine.is_empty());
    // prefer against never: falls back to a CHILD SA in IKE_AUTH.
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    pa.childless = Childless::Prefer;
    w.a.engine.set_policies(vec![pa]);
    w.b.engine.set_policies(vec![pb]);
    w.start();
    assert_established(&w);
}

#[test]
fn invalid_ke_payload_makes_the_initiator_retry_with_the_wanted_group() {
    let mut w = pair("aes128-sha256-x25519-ecp256", "aes128-sha256-ecp256");
    w.start();
    assert_established(&w);
    assert!(
        w.log.iter().any(|l| l.contains("N(INVAL_KE)")),
        "{:#?}",
        w.log
    );
}

#[test]
fn wrong_psk_fails_with_one_clear_line_and_no_sa() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.b.parent
        .psk
        .insert("p".into(), b"another secret".to_vec());
    w.start();
    assert!(World::children(&w.a.events).is_empty());
    let failed: Vec<&String> =
        w.b.events
            .iter()
            .filter_map(|e| match e {
                Event::Failed { line, .. } => Some(line),
                _ => None,
            })
            .collect();
    assert!(
        failed
            .iter()
            .any(|l| l.contains("AUTHENTICATION_FAILED") && l.contains("policy \"p\"")),
        "{failed:?}"
    );
    let failed_a: Vec<&String> =
        w.a.events
            .iter()
            .filter_map(|e| match e {
                Event::Failed { line, .. } => Some(line),
                _ => None,
            })
            .collect();
    assert!(
        failed_a
            .iter()
            .any(|l| l.contains("IKE_AUTH refused by the peer: AUTHENTICATION_FAILED")),
        "{failed_a:?}"
    );
    assert!(w.a.engine.is_empty() && w.b.engine.is_empty());
}

#[test]
fn no_common_proposal_is_explained() {
    let mut w = pair("aes128-sha1-modp2048", "aes256gcm16-prfsha384-x25519");
    w.start();
    let line =
        w.b.events
            .iter()
            .find_map(|e| match e {
                Event::Failed { line, .. } => Some(line.clone()),
                _ => None,
            })
            .unwrap();
    assert!(line.contains("NO_PROPOSAL_CHOSEN: peer offered aes128-sha1-prfsha1-modp2048, policy \"p\" accepts aes256gcm16-prfsha384-x25519 (no common encryption, PRF, DH group)"), "{line}");
    assert!(w.a.engine.is_empty() && w.b.engine.is_empty());
}

#[test]
fn lost_packets_are_retransmitted_and_duplicates_answered_from_the_cache() {
    // Lose the first IKE_SA_INIT response and the first IKE_AUTH response.
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.drop = vec![2, 5];
    w.start();
    assert!(World::children(&w.a.events).is_empty());
    assert_eq!(w.a.engine.next_deadline(), Some(Duration::from_secs(1)));
    w.tick(Duration::from_secs(1)); // IKE_SA_INIT again: answered from the responder's cache
    w.tick(Duration::from_secs(1)); // IKE_AUTH again: answered from the cache
    assert_established(&w);
    assert_eq!(
        w.b.engine.len(),
        1,
        "the repeated IKE_SA_INIT did not make a second SA"
    );
}

#[test]
fn a_silent_peer_is_given_up_after_the_retransmission_limit() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.drop = (1..100).collect();
    w.start();
    for _ in 0..10 {
        let next = w.a.engine.next_deadline();
        let Some(t) = next else { break };
        let by = t.saturating_sub(w.now);
        w.tick(by);
    }
    assert!(w.a.engine.is_empty());
    assert!(w.a.events.iter().any(|e| matches!(e, Event::Failed { line, .. } if line.contains("after 5 retransmissions, giving up"))));
    assert_eq!(w.sent, 6, "the request and 5 retransmissions");
}

#[test]
fn traffic_selectors_outside_the_policy_get_ts_unacceptable_but_the_ike_sa_stands() {
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
            "192.0.2.128-192.0.2.255",
            "10.0.0.0-10.0.0.255",
        ),
        "k",
        "k",
        PrfAlg::HmacSha256,
    );
    w.start();
    assert!(World::children(&w.a.events).is_empty());
    assert_eq!(w.a.engine.summaries()[0].state, "ESTABLISHED");
    let lines: Vec<String> =
        w.b.events
            .iter()
            .filter_map(|e| match e {
                Event::Failed { line, .. } => Some(line.clone()),
                _ => None,
            })
            .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("TS_UNACCEPTABLE") && l.contains("policy \"p\" allows")),
        "{lines:?}"
    );
    let a_lines: Vec<String> =
        w.a.events
            .iter()
            .filter_map(|e| match e {
                Event::Failed { line, .. } => Some(line.clone()),
                _ => None,
            })
            .collect();
    assert!(
        a_lines
            .iter()
            .any(|l| l.contains("no CHILD SA: TS_UNACCEPTABLE")),
        "{a_lines:?}"
    );
}

#[test]
fn delete_of_the_ike_sa_is_answered_and_both_sides_forget_it() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.start();
    assert_established(&w);
    let (n, out) = w.a.engine.delete_all();
    assert_eq!(n, 1);
    w.pump(true, out);
    assert!(w.a.engine.is_empty());
    assert!(w.b.engine.is_empty(), "{:#?}", w.log);
    assert!(
        w.log
            .iter()
            .any(|l| l.starts_with("a->b INFORMATIONAL request 2 [ SK ]")),
        "{:#?}",
        w.log
    );
    assert!(
        w.log
            .iter()
            .any(|l| l.starts_with("b->a INFORMATIONAL response 2 [ SK ]")),
        "{:#?}",
        w.log
    );
    assert!(
        w.b.events.iter().any(
            |e| matches!(e, Event::IkeDeleted { reason, .. } if reason == "deleted by the peer")
        )
    );
}

#[test]
fn large_ike_auth_messages_are_fragmented_and_reassembled_out_of_order() {
    let cfg = EngineConfig {
        fragment_size: Some(150),
        ..EngineConfig::default()
    };
    let mut w = World::with_config(
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
            "203.0.113.0-203.0.113.255",
            "198.51.100.0-198.51.100.255",
        ),
        "shared secret",
        "shared secret",
        PrfAlg::HmacSha256,
        cfg,
    );
    // Lose the first fragment of the IKE_AUTH request once: the rest are
    // kept until the retransmission completes the set.
    w.drop = vec![3];
    w.start();
    assert!(World::children(&w.a.events).is_empty());
    w.tick(Duration::from_secs(1));
    assert_established(&w);
    assert!(
        w.log
            .iter()
            .any(|l| l.contains("IKE_SA_INIT request 0") && l.contains("N(FRAG_SUP)")),
        "{:#?}",
        w.log
    );
    let frags = w.log.iter().filter(|l| l.contains("EF(")).count();
    assert!(frags >= 4, "{:#?}", w.log);
    assert!(w.b.engine.fragments_reassembled() >= 2 && w.a.engine.fragments_reassembled() >= 2);
    // Without the peer's support nothing is fragmented.
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.b.engine = Engine::new(
        EngineConfig {
            fragment_size: None,
            ..EngineConfig::default()
        },
        vec![policy(
            "p",
            "192.0.2.1",
            "aes128-sha256-x25519",
            "203.0.113.0-203.0.113.255",
            "198.51.100.0-198.51.100.255",
        )],
        Box::new(SeededRng::new(9)),
    );
    w.start();
    assert_established(&w);
    assert!(!w.log.iter().any(|l| l.contains("EF(")));
}

#[test]
fn responder_under_load_demands_a_cookie_and_the_initiator_returns_it() {
    let cfg = EngineConfig {
        cookie_threshold: 0,
        ..EngineConfig::default()
    };
    let mut w = pair_with(cfg, |_| {});
    w.start();
    assert_established(&w);
    assert!(
        w.log[1].starts_with("b->a IKE_SA_INIT response 0 [ N(COOKIE) ]"),
        "{:#?}",
        w.log
    );
    assert!(
        w.log[2].starts_with("a->b IKE_SA_INIT request 0 [ N(COOKIE) SA KE No"),
        "{:#?}",
        w.log
    );
}

#[test]
fn half_open_sas_expire_and_per_peer_limits_hold() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    // Every IKE_AUTH request is lost: the responder keeps a half-open SA.
    w.drop = (3..100).collect();
    w.start();
    assert_eq!(w.b.engine.half_open(), 1);
    w.tick(Duration::from_secs(31));
    assert_eq!(w.b.engine.half_open(), 0);
    assert!(w.b.events.iter().any(
        |e| matches!(e, Event::Failed { line, .. } if line.contains("half-open IKE SA dropped"))
    ));
    // The per-peer limit: past it, requests from that address are asked
    // for a COOKIE and get no state.
    let mut b = Engine::new(
        EngineConfig {
            max_half_open_per_peer: 2,
            ..EngineConfig::default()
        },
        vec![policy(
            "p",
            "192.0.2.1",
            "aes128-sha256-x25519",
            "203.0.113.0-203.0.113.255",
            "198.51.100.0-198.51.100.255",
        )],
        Box::new(SeededRng::new(5)),
    );
    let mut a = Engine::new(
        EngineConfig::default(),
        vec![policy(
            "p",
            "192.0.2.2",
            "aes128-sha256-x25519",
            "198.51.100.0-198.51.100.255",
            "203.0.113.0-203.0.113.255",
        )],
        Box::new(SeededRng::new(6)),
    );
    let mut answers = Vec::new();
    for _ in 0..3 {
        let out = a.initiate("p", addr("192.0.2.1:500"), Duration::ZERO);
        for d in out.send {
            let got = Datagram {
                local: d.remote,
                remote: d.local,
                natt: false,
                bytes: d.bytes,
            };
            for d in b.datagram(got, Duration::ZERO).send {
                let m = ikedaemon::ike::wire::Message::decode(&d.bytes).unwrap();
                answers.push(m.to_string().contains("N(COOKIE)"));
            }
        }
    }
    assert_eq!((answers, b.half_open()), (vec![false, false, true], 2));
}

#[test]
fn liveness_checks_keep_a_live_peer_and_delete_a_dead_one() {
    let mut pa = policy(
        "p",
        "192.0.2.2",
        "aes128-sha256-x25519",
        "198.51.100.0-198.51.100.255",
        "203.0.113.0-203.0.113.255",
    );
    pa.dpd = Some(Duration::from_secs(10));
    let pb = policy(
        "p",
        "192.0.2.1",
        "aes128-sha256-x25519",
        "203.0.113.0-203.0.113.255",
        "198.51.100.0-198.51.100.255",
    );
    let mut w = World::new(pa, pb, "k", "k", PrfAlg::HmacSha256);
    w.start();
    assert_established(&w);
    assert_eq!(w.a.engine.next_deadline(), Some(Duration::from_secs(10)));
    w.tick(Duration::from_secs(10));
    assert!(
        w.log
            .iter()
            .any(|l| l == "a->b INFORMATIONAL request 2 [ SK ]"),
        "{:#?}",
        w.log
    );
    assert!(
        w.log
            .iter()
            .any(|l| l == "b->a INFORMATIONAL response 2 [ SK ]"),
        "{:#?}",
        w.log
    );
    assert_eq!(w.a.engine.summaries()[0].state, "ESTABLISHED");
    // Now the peer is gone: the check goes unanswered, then retransmitted,
    // then the SA is deleted.
    let sent = w.sent;
    w.drop = (sent + 1..sent + 50).collect();
    for _ in 0..20 {
        let Some(t) = w.a.engine.next_deadline() else {
            break;
        };
        let by = t.saturating_sub(w.now);
        w.tick(by);
    }
    assert!(w.a.engine.is_empty());
    assert!(w.a.events.iter().any(
        |e| matches!(e, Event::Failed { line, .. } if line.contains("no answer to message 3"))
    ));
}

#[test]
fn initial_contact_from_a_restarted_peer_replaces_its_old_sa() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    w.start();
    assert_established(&w);
    let old = w.b.engine.summaries()[0].spis.clone();
    // The initiator restarts: new engine, no state; its first IKE_AUTH
    // carries INITIAL_CONTACT.
    w.a.engine = Engine::new(
        EngineConfig::default(),
        vec![policy(
            "p",
            "192.0.2.2",
            "aes128-sha256-x25519",
            "198.51.100.0-198.51.100.255",
            "203.0.113.0-203.0.113.255",
        )],
        Box::new(SeededRng::new(77)),
    );
    w.a.events.clear();
    w.b.events.clear();
    w.start();
    let sas = w.b.engine.summaries();
    assert_eq!(sas.len(), 1, "{sas:?}");
    assert_ne!(sas[0].spis, old);
    assert!(w.b.events.iter().any(
        |e| matches!(e, Event::IkeDeleted { reason, .. } if reason.contains("INITIAL_CONTACT"))
    ));
    assert!(
        w.b.events
            .iter()
            .any(|e| matches!(e, Event::ChildDeleted { .. }))
    );
}
