//! What an unauthenticated sender gets from a responder (issue 13): an
//! IKE_SA_INIT request that RFC 7296 §3.1 does not allow — initiator SPI
//! 0, a message ID other than 0, no Initiator flag — is dropped unanswered
//! and leaves no state; the well-formed original is answered.

#[path = "engine_common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use ikedaemon::ike::engine::*;

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
