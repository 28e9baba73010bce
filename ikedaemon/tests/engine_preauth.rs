//! What an unauthenticated sender gets from a responder (issue 13): an
//! IKE_SA_INIT request that RFC 7296 §3.1 does not allow — initiator SPI
//! 0, a message ID other than 0, no Initiator flag — or one larger than
//! the limit is dropped unanswered and leaves no state; SKF fragments are
//! taken only when fragmentation was negotiated and only up to the message
//! size limit; an IKE SA whose parent request is never answered is dropped;
//! a cached response goes out again only for the request's own bytes, at
//! most every 500 ms and `retransmit_tries` times (no reflection of
//! spoofed headers).

#[path = "engine_common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use ikedaemon::ike::crypto::prf::PrfAlg;
use ikedaemon::ike::engine::*;
use ikedaemon::ike::wire::{Message, NotifyPayload, NotifyType, Payload};

/// `events` has a failure whose line says `text`.
fn assert_failed(events: &[Event], text: &str) {
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Failed { line, .. } if line.contains(text))),
        "no failure saying {text:?} in {events:?}"
    );
}

/// A change made to a request's bytes.
type Change = fn(&mut Vec<u8>);

/// a's first IKE_SA_INIT request, as b would receive it.
fn first_request(w: &mut World) -> Datagram {
    let mut out = w.a.engine.initiate("p", w.a.addr, Duration::ZERO);
    let d = out.send.remove(0);
    Datagram {
        local: w.b.addr,
        remote: w.a.addr,
        natt: false,
        bytes: d.bytes,
    }
}

#[test]
fn ike_sa_init_requests_that_break_section_3_1_are_dropped() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let good = first_request(&mut w);
    let variants: [(&str, Change); 3] = [
        ("initiator SPI 0", |b| b[..8].fill(0)),
        ("message ID 1", |b| {
            b[20..24].copy_from_slice(&1u32.to_be_bytes())
        }),
        ("no Initiator flag", |b| b[19] &= !0x08),
    ];
    for (what, change) in variants {
        let mut bad = good.clone();
        change(&mut bad.bytes);
        let before = w.b.engine.malformed();
        let out = w.b.engine.datagram(bad, Duration::ZERO);
        assert!(out.send.is_empty(), "{what}: answered");
        assert!(out.parent.is_empty() && out.events.is_empty(), "{what}");
        assert_eq!(w.b.engine.half_open(), 0, "{what}: state kept");
        assert_eq!(w.b.engine.malformed(), before + 1, "{what}: not counted");
    }
    let out = w.b.engine.datagram(good, Duration::ZERO);
    assert_eq!(out.send.len(), 1, "the original is answered");
    assert_eq!(w.b.engine.half_open(), 1);
}

#[test]
fn an_ike_sa_init_request_over_the_limit_is_dropped() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let good = first_request(&mut w);
    let mut m = Message::decode(&good.bytes).unwrap();
    // A large but well-formed request: padding in a private notify.
    m.payloads.push(Payload::Notify(NotifyPayload::new(
        NotifyType(40000),
        ikedaemon::ike::wire::NotifyData::Raw(vec![0; 12_000]),
    )));
    let big = Datagram {
        bytes: m.encode().unwrap(),
        ..good.clone()
    };
    let out = w.b.engine.datagram(big, Duration::ZERO);
    assert!(out.send.is_empty());
    assert_eq!(w.b.engine.half_open(), 0);
    assert_eq!(w.b.engine.malformed(), 1);
}

/// Two engines whose initiator sends a CERT of `cert_len` bytes (so its
/// IKE_AUTH goes in fragments of `frag` bytes) to a responder that takes
/// messages of up to `max_message` bytes.
fn fragmenting_pair(cert_len: usize, frag: usize, max_message: usize) -> World {
    let cfg = EngineConfig {
        fragment_size: Some(frag),
        max_message,
        ..EngineConfig::default()
    };
    let mut w = pair_with(cfg, |_| {});
    let mut pa = policy_a("aes128-sha256-x25519");
    pa.certs = vec![vec![0x30; cert_len]];
    w.a.engine.set_policies(vec![pa]);
    w
}

#[test]
fn a_fragmented_ike_auth_over_the_limit_is_dropped_and_its_sa_expires() {
    // 30,000 bytes of CERT in 4,000-byte fragments; the responder takes
    // 20,000 (the same bound stops a 300 KiB message at its default 64 KiB).
    let mut w = fragmenting_pair(30_000, 4000, 20_000);
    w.start();
    assert!(
        w.log
            .iter()
            .any(|l| l.starts_with("a->b IKE_AUTH request 1 [ EF(1/")),
        "{:#?}",
        w.log
    );
    assert!(
        !w.log.iter().any(|l| l.starts_with("b->a IKE_AUTH")),
        "{:#?}",
        w.log
    );
    assert!(w.b.engine.malformed() >= 1);
    assert!(
        !w.b.events
            .iter()
            .any(|e| matches!(e, Event::IkeEstablished { .. })),
        "established"
    );
    // Nothing waits: the half-open SA goes when its time is up.
    assert_eq!(w.b.engine.len(), 1);
    for _ in 0..12 {
        w.tick(Duration::from_secs(10));
    }
    assert_eq!(w.b.engine.len(), 0);
    assert_eq!(w.b.engine.half_open(), 0);

    // The same exchange within the limit completes.
    let mut w = fragmenting_pair(30_000, 4000, 65536);
    w.start();
    assert_established(&w);
}

/// Runs the first two exchanges by hand: `strip` takes the fragmentation
/// notify out of a's IKE_SA_INIT request (so b never agrees to fragments)
/// while a is told b supports them. Returns b's outputs for a's IKE_AUTH.
fn ike_auth_fragments_at_b(strip: bool) -> (Fragments, Vec<Outputs>) {
    let mut w = fragmenting_pair(3000, 1280, 65536);
    let now = Duration::ZERO;
    let mut req = first_request(&mut w);
    if strip {
        let mut m = Message::decode(&req.bytes).unwrap();
        m.payloads.retain(|p| {
            !matches!(p, Payload::Notify(n) if n.kind == NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
        });
        req.bytes = m.encode().unwrap();
    }
    let out = w.b.engine.datagram(req, now);
    let mut resp = Message::decode(&out.send[0].bytes).unwrap();
    if strip {
        resp.payloads.push(Payload::Notify(NotifyPayload::flag(
            NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
        )));
    }
    let to_a = Datagram {
        local: w.a.addr,
        remote: w.b.addr,
        natt: false,
        bytes: resp.encode().unwrap(),
    };
    let mut out = w.a.engine.datagram(to_a, now);
    for r in std::mem::take(&mut out.parent) {
        let ans = w.a.parent.answer(r, PrfAlg::HmacSha256);
        out.send.extend(w.a.engine.parent_answer(ans, now).send);
    }
    assert!(out.send.len() > 1, "a fragments its IKE_AUTH");
    let sent: Vec<Datagram> = out
        .send
        .into_iter()
        .map(|d| Datagram {
            local: w.b.addr,
            remote: w.a.addr,
            natt: d.natt,
            bytes: d.bytes,
        })
        .collect();
    let at_b = sent
        .iter()
        .map(|d| w.b.engine.datagram(d.clone(), now))
        .collect();
    (
        Fragments {
            w,
            ike_auth_from_a: sent,
        },
        at_b,
    )
}

/// b's one request to its parent for a's (negotiated, fragmented)
/// IKE_AUTH, not answered yet.
fn authenticate_at_b() -> (Fragments, ParentRequest) {
    let (w, at_b) = ike_auth_fragments_at_b(false);
    let mut asked: Vec<ParentRequest> = at_b.into_iter().flat_map(|o| o.parent).collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    (w, asked.remove(0))
}

/// The two engines after `ike_auth_fragments_at_b`, and a's IKE_AUTH
/// datagrams as b received them.
struct Fragments {
    w: World,
    ike_auth_from_a: Vec<Datagram>,
}

impl std::ops::Deref for Fragments {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

impl std::ops::DerefMut for Fragments {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.w
    }
}

#[test]
fn fragments_without_negotiated_fragmentation_are_dropped() {
    let (w, at_b) = ike_auth_fragments_at_b(true);
    assert!(
        at_b.iter()
            .all(|o| o.parent.is_empty() && o.send.is_empty())
    );
    assert!(w.b.engine.malformed() >= 1);
    // Negotiated, the same fragments reach the parent as one request.
    let (_, at_b) = ike_auth_fragments_at_b(false);
    let asked: usize = at_b.iter().map(|o| o.parent.len()).sum();
    assert_eq!(asked, 1);
}

#[test]
fn an_ike_sa_whose_parent_never_answers_is_dropped() {
    let (mut w, at_b) = ike_auth_fragments_at_b(false);
    assert_eq!(at_b.iter().map(|o| o.parent.len()).sum::<usize>(), 1);
    // The answer never comes (lost, or the request could not be sent).
    assert_eq!(w.b.engine.len(), 1);
    let deadline = w.b.engine.next_deadline().expect("a deadline");
    assert!(deadline <= Duration::from_secs(30), "{deadline:?}");
    let out = w.b.engine.timeout(Duration::from_secs(31));
    assert_eq!(w.b.engine.len(), 0);
    assert_failed(&out.events, "the parent did not answer within 30s");
}

#[test]
fn a_request_that_cannot_reach_the_parent_ends_the_exchange_at_once() {
    let (mut w, req) = authenticate_at_b();
    // What the negotiator does when the IPC send fails.
    let answer = req.refused("the parent could not be asked: message too large".into());
    let out = w.b.engine.parent_answer(answer, Duration::ZERO);
    assert_eq!(w.b.engine.len(), 0, "the IKE SA is gone");
    assert_eq!(out.send.len(), 1, "the peer is told");
    assert_failed(&out.events, "the parent could not be asked");
}

/// b's answer to a's first IKE_SA_INIT request, as a would receive it,
/// after `change`.
fn answer_to_a(w: &mut World, change: impl FnOnce(&mut Message)) -> Datagram {
    let req = first_request(w);
    let mut out = w.b.engine.datagram(req, Duration::ZERO);
    let mut m = Message::decode(&out.send.remove(0).bytes).unwrap();
    change(&mut m);
    Datagram {
        local: w.a.addr,
        remote: w.b.addr,
        natt: false,
        bytes: m.encode().unwrap(),
    }
}

#[test]
fn a_responder_nonce_outside_16_to_256_bytes_is_refused() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let d = answer_to_a(&mut w, |m| {
        for p in &mut m.payloads {
            if let Payload::Nonce(n) = p {
                n.truncate(8);
            }
        }
    });
    let out = w.a.engine.datagram(d, Duration::ZERO);
    assert!(out.parent.is_empty() && out.send.is_empty());
    assert_failed(&out.events, "a nonce of 8 bytes");
    assert_eq!(w.a.engine.len(), 0);
}

#[test]
fn a_responder_that_keeps_demanding_cookies_is_given_up() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let cookie = |w: &mut World| {
        answer_to_a(w, |m| {
            m.header.spi_r = 0;
            m.payloads = vec![Payload::Notify(NotifyPayload::new(
                NotifyType::COOKIE,
                ikedaemon::ike::wire::NotifyData::Cookie(vec![7; 16]),
            ))];
        })
    };
    // The first request and three retries; the fourth COOKIE ends it.
    let d = cookie(&mut w);
    let mut sent = 0;
    let mut last = Outputs::default();
    for _ in 0..4 {
        last = w.a.engine.datagram(d.clone(), Duration::ZERO);
        sent += last.send.len();
    }
    assert_eq!(sent, 3, "three retries with the cookie");
    assert_failed(&last.events, "IKE_SA_INIT sent 4 times");
    assert_eq!(w.a.engine.len(), 0);
}

#[test]
fn a_bare_header_with_a_half_open_spi_reflects_nothing() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let req = first_request(&mut w);
    let at = |ms: u64| Duration::from_millis(ms);
    assert_eq!(w.b.engine.datagram(req.clone(), at(0)).send.len(), 1);
    // 28 bytes: the initiator's SPI, IKE_SA_INIT, Initiator flag, from
    // the initiator's (spoofable) address.
    let mut bare = Datagram {
        bytes: req.bytes[..28].to_vec(),
        ..req.clone()
    };
    bare.bytes[16] = 0; // no payload follows
    bare.bytes[24..28].copy_from_slice(&28u32.to_be_bytes());
    for ms in [600, 1200, 1800] {
        let out = w.b.engine.datagram(bare.clone(), at(ms));
        assert!(out.send.is_empty(), "bare header at {ms} ms");
    }
    // The real retransmission is answered, but not more often than every
    // 500 ms, and at most retransmit_tries (5) times.
    let mut resent = Vec::new();
    for ms in (2000..6000).step_by(100) {
        if !w.b.engine.datagram(req.clone(), at(ms)).send.is_empty() {
            resent.push(ms);
        }
    }
    assert_eq!(resent, [2000, 2500, 3000, 3500, 4000]);
}

#[test]
fn garbage_with_an_answered_message_id_reflects_nothing() {
    let (mut w, req) = authenticate_at_b();
    let ans = w.b.parent.answer(req, PrfAlg::HmacSha256);
    let out = w.b.engine.parent_answer(ans, Duration::ZERO);
    assert!(!out.send.is_empty(), "b answers IKE_AUTH");
    let first = w.ike_auth_from_a[0].clone();
    // Same SPIs and message ID, other bytes (a forged or corrupted SKF).
    let mut garbage = first.clone();
    let n = garbage.bytes.len();
    garbage.bytes[n - 1] ^= 0xff;
    let t = Duration::from_secs(1);
    assert!(w.b.engine.datagram(garbage, t).send.is_empty());
    // The real first fragment again: the whole answer again.
    assert_eq!(w.b.engine.datagram(first, t).send.len(), out.send.len());
}

#[test]
fn the_ike_sa_init_messages_are_let_go_once_established() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    // Before IKE_AUTH (its request lost), both sides hold them.
    w.drop = vec![3];
    let out = w.a.engine.initiate("p", w.a.addr, w.now);
    w.pump(true, out);
    assert!(w.a.engine.init_bytes() > 0 && w.b.engine.init_bytes() > 0);
    w.tick(Duration::from_secs(2));
    assert_established(&w);
    assert_eq!((w.a.engine.init_bytes(), w.b.engine.init_bytes()), (0, 0));
}

#[test]
fn an_ike_sa_init_request_with_an_unknown_critical_payload_is_answered_unsupported_critical() {
    let mut w = pair("aes128-sha256-x25519", "aes128-sha256-x25519");
    let good = first_request(&mut w);
    let mut m = Message::decode(&good.bytes).unwrap();
    m.payloads.push(Payload::Unknown {
        kind: ikedaemon::ike::wire::PayloadType(200),
        critical: true,
        data: vec![1, 2, 3],
    });
    let bad = Datagram {
        bytes: m.encode().unwrap(),
        ..good.clone()
    };
    let out = w.b.engine.datagram(bad.clone(), Duration::ZERO);
    assert_eq!(out.send.len(), 1);
    let answer = Message::decode(&out.send[0].bytes).unwrap();
    assert_eq!(
        answer.to_string(),
        "IKE_SA_INIT response 0 [ N(UNSUPP_CRIT) ]",
        "{answer:?}"
    );
    assert!(
        format!("{answer:?}").contains("PayloadType(200)"),
        "{answer:?}"
    );
    assert_eq!(w.b.engine.half_open(), 0, "no state");
    // Rate-limited: the same source gets nothing more within a second.
    let out = w.b.engine.datagram(bad, Duration::from_millis(100));
    assert!(out.send.is_empty());
}

#[test]
fn a_message_larger_than_one_sk_payload_goes_in_fragments_and_is_taken_within_the_limit() {
    // Three CERT payloads of 50,000 bytes: no single SK payload (at most
    // 65,535 bytes) holds them, fragments do.
    let mut w = fragmenting_pair(0, 4000, 200_000);
    let mut pa = policy_a("aes128-sha256-x25519");
    pa.certs = vec![vec![0x30; 50_000]; 3];
    w.a.engine.set_policies(vec![pa]);
    w.start();
    assert_established(&w);
    assert!(
        w.b.engine.fragments_reassembled() >= 38,
        "{}",
        w.b.engine.fragments_reassembled()
    );
}
