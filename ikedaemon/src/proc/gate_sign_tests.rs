//! The gate in front of key custody: only our own IKE_SA_INIT octets, only
//! for SPIs the parent issued, twice at most, within a global budget.

use std::time::{Duration, Instant};

use super::*;
use crate::ike::engine::rng::SeededRng;
use crate::ike::proposal::{ProposalConfig, SaProtocol};
use crate::ike::wire::{KePayload, SaPayload};

const SHA256: u16 = 5;

/// Our IKE_SA_INIT message as `role` for IKE SA `sa`, then a nonce of
/// `nonce` bytes and a 32-byte PRF output.
pub(crate) fn octets(sa: SaId, role: Role, nonce: usize) -> Vec<u8> {
    let initiator = role == Role::Initiator;
    let header = Header {
        spi_i: if initiator { sa } else { 0x5151 },
        spi_r: if initiator { 0 } else { sa },
        exchange: ExchangeType::IKE_SA_INIT,
        initiator,
        response: !initiator,
        higher_version: false,
        message_id: 0,
    };
    let m = Message {
        header,
        payloads: vec![
            Payload::Sa(SaPayload {
                proposals: vec![
                    ProposalConfig::parse("aes128-sha256-x25519", SaProtocol::Ike)
                        .unwrap()
                        .to_wire(1, Vec::new()),
                ],
            }),
            Payload::Ke(KePayload {
                group: 31,
                data: vec![9; 32],
            }),
            Payload::Nonce(vec![7; 32]),
        ],
    };
    let mut o = m.encode().unwrap();
    o.extend(std::iter::repeat_n(0x4e, nonce));
    o.extend([0x50; 32]);
    o
}

fn issued() -> (Signing, Vec<SaId>) {
    let mut s = Signing::default();
    let ids = s.issue(&mut SeededRng::new(3));
    (s, ids)
}

#[test]
fn only_our_init_octets_are_signed() {
    let (mut s, ids) = issued();
    let now = Instant::now();
    let sa = ids[0];
    let cases: [(&str, Vec<u8>, Role); 6] = [
        ("arbitrary octets", vec![0x42; 200], Role::Initiator),
        (
            "the responder's message as initiator",
            octets(sa, Role::Responder, 32),
            Role::Initiator,
        ),
        (
            "another SA's message",
            octets(ids[1], Role::Initiator, 32),
            Role::Initiator,
        ),
        (
            "a 15-byte nonce",
            octets(sa, Role::Initiator, 15),
            Role::Initiator,
        ),
        (
            "a 257-byte nonce",
            octets(sa, Role::Initiator, 257),
            Role::Initiator,
        ),
        (
            "no nonce or PRF output",
            octets(sa, Role::Initiator, 0)[..100].to_vec(),
            Role::Initiator,
        ),
    ];
    for (what, o, role) in cases {
        let e = s.may_sign(sa, role, &o, SHA256, now).unwrap_err();
        assert!(e.starts_with("AUTH refused for IKE SA"), "{what}: {e}");
    }
    let mut wrong = octets(sa, Role::Initiator, 32);
    wrong[18] = 35; // IKE_AUTH
    assert!(
        s.may_sign(sa, Role::Initiator, &wrong, SHA256, now)
            .is_err()
    );
    s.may_sign(
        sa,
        Role::Initiator,
        &octets(sa, Role::Initiator, 32),
        SHA256,
        now,
    )
    .unwrap();
    s.may_sign(
        ids[1],
        Role::Responder,
        &octets(ids[1], Role::Responder, 256),
        SHA256,
        now,
    )
    .unwrap();
}

#[test]
fn an_id_the_parent_did_not_issue_or_that_retired_gets_nothing_and_two_at_most() {
    let (mut s, ids) = issued();
    let now = Instant::now();
    assert_eq!(ids.len(), SPI_BATCH);
    let e = s
        .may_sign(
            0x1234,
            Role::Initiator,
            &octets(0x1234, Role::Initiator, 32),
            SHA256,
            now,
        )
        .unwrap_err();
    assert!(e.contains("not an SPI the parent issued"), "{e}");
    let sa = ids[5];
    let o = octets(sa, Role::Initiator, 32);
    for _ in 0..MAX_SIGNS_PER_ID {
        s.may_sign(sa, Role::Initiator, &o, SHA256, now).unwrap();
    }
    let e = s
        .may_sign(sa, Role::Initiator, &o, SHA256, now)
        .unwrap_err();
    assert!(e.contains("had its 2 AUTH computations"), "{e}");
    let other = ids[6];
    s.retire(other);
    assert!(
        s.may_sign(
            other,
            Role::Initiator,
            &octets(other, Role::Initiator, 32),
            SHA256,
            now
        )
        .is_err()
    );
}

#[test]
fn unused_ids_are_capped() {
    let mut s = Signing::default();
    let mut rng = SeededRng::new(4);
    let mut total = 0;
    for _ in 0..100 {
        total += s.issue(&mut rng).len();
    }
    assert_eq!(total, MAX_UNSIGNED);
    // Retiring some (their IKE SAs went) makes room again.
    let some: Vec<SaId> = s.issued.keys().take(10).copied().collect();
    for sa in some {
        s.retire(sa);
    }
    assert_eq!(s.issue(&mut rng).len(), 10);
}

#[test]
fn a_global_budget_bounds_auth_computations() {
    let mut s = Signing::default();
    let mut rng = SeededRng::new(5);
    let mut ids = Vec::new();
    while ids.len() < 1200 {
        ids.extend(s.issue(&mut rng));
        // Use them so more are issued.
        for sa in ids.iter().skip(ids.len().saturating_sub(SPI_BATCH)) {
            s.issued.insert(*sa, 1);
        }
    }
    for sa in &ids {
        s.issued.insert(*sa, 0);
    }
    // How many of `ids` get an AUTH at `at`.
    let signed = |s: &mut Signing, ids: &[SaId], at: Instant| {
        ids.iter()
            .filter(|sa| {
                let o = octets(**sa, Role::Initiator, 32);
                s.may_sign(**sa, Role::Initiator, &o, SHA256, at).is_ok()
            })
            .count()
    };
    let now = Instant::now();
    let ok = signed(&mut s, &ids, now);
    assert_eq!(ok, SIGN_BURST as usize);
    // Refilled at SIGN_RATE per second.
    let later = now + Duration::from_millis(100);
    let refilled = signed(&mut s, &ids[ok..], later);
    assert_eq!(refilled, 50);
}
