//! Every class of malformed input gives an `Err` that says which and where;
//! none panics.

use pfkey::ext::{Address, Sa};
use pfkey::{
    DecodeError, DecodeErrorKind, Dialect, ExtBody, ExtKind, Message, MessageType, SaState, SaType,
    SizeRule,
};

const D: Dialect = Dialect::Linux;

/// A valid GET message: header + SA + ADDRESS_DST (16 + 16 + 24 bytes).
fn valid() -> Vec<u8> {
    Message::new(MessageType::Get, SaType::Esp)
        .with(
            ExtKind::Sa,
            ExtBody::Sa(Sa {
                spi: 1,
                replay: 0,
                state: SaState::Mature,
                auth: 0,
                encrypt: 0,
                flags: 0,
            }),
        )
        .and_then(|m| {
            m.with(
                ExtKind::AddressDst,
                ExtBody::Address(Address::host("192.0.2.2:0".parse().unwrap(), D)),
            )
        })
        .unwrap()
        .encode(D)
        .unwrap()
}

fn set_len(b: &mut [u8]) {
    let units = (b.len() / 8) as u16;
    b[4..6].copy_from_slice(&units.to_ne_bytes());
}

fn err(b: &[u8]) -> DecodeError {
    Message::decode(b, D).expect_err("must be rejected")
}

#[test]
fn the_valid_base_decodes() {
    assert!(Message::decode(&valid(), D).is_ok());
}

#[test]
fn truncated_header() {
    let e = err(&valid()[..10]);
    assert_eq!(
        e,
        DecodeError {
            offset: 0,
            kind: DecodeErrorKind::Truncated {
                what: "sadb_msg header",
                needed: 16,
                available: 10
            }
        }
    );
    assert_eq!(
        e.to_string(),
        "PF_KEY decode error at byte 0: truncated sadb_msg header: needs 16 bytes, 10 left"
    );
}

#[test]
fn truncated_message_against_its_length_field() {
    let b = valid();
    let e = err(&b[..b.len() - 8]);
    assert_eq!(
        e,
        DecodeError {
            offset: 4,
            kind: DecodeErrorKind::MessageLength {
                declared: 56,
                actual: 48
            }
        }
    );
}

#[test]
fn misaligned_buffer() {
    let mut b = valid();
    b.push(0);
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 0,
            kind: DecodeErrorKind::Misaligned {
                what: "message",
                len: 57
            }
        }
    );
}

#[test]
fn bad_version() {
    let mut b = valid();
    b[0] = 1;
    assert_eq!(err(&b).kind, DecodeErrorKind::BadVersion(1));
}

#[test]
fn unknown_message_type() {
    let mut b = valid();
    b[1] = 99;
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 1,
            kind: DecodeErrorKind::UnknownMessageType(99)
        }
    );
    // OpenBSD's ADDFLOW number means X_PCHANGE on Linux, and 25 means nothing.
    b[1] = 25;
    assert_eq!(err(&b).kind, DecodeErrorKind::UnknownMessageType(25));
}

#[test]
fn extension_length_zero() {
    let mut b = valid();
    b[16..18].copy_from_slice(&0u16.to_ne_bytes());
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 16,
            kind: DecodeErrorKind::ZeroLength { ext_type: 1 }
        }
    );
}

#[test]
fn extension_length_past_the_end() {
    let mut b = valid();
    // ADDRESS_DST at 32 claims 4 units (32 bytes) but only 24 remain.
    b[32..34].copy_from_slice(&4u16.to_ne_bytes());
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 32,
            kind: DecodeErrorKind::LengthPastEnd {
                ext_type: 6,
                declared: 32,
                available: 24
            }
        }
    );
}

#[test]
fn extension_below_its_minimum_size() {
    let mut b = valid();
    b.truncate(32);
    b.extend_from_slice(&[1, 0, 6, 0, 0, 0, 0, 0]);
    b[32..34].copy_from_slice(&1u16.to_ne_bytes());
    set_len(&mut b);
    // An 8-byte ADDRESS_DST is below the layout's minimum.
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 32,
            kind: DecodeErrorKind::WrongSize {
                ext: "sadb_address",
                expected: SizeRule::AtLeast(24),
                actual: 8
            }
        }
    );
}

#[test]
fn duplicate_extension() {
    let mut b = valid();
    let sa = b[16..32].to_vec();
    b.extend_from_slice(&sa);
    set_len(&mut b);
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 56,
            kind: DecodeErrorKind::DuplicateExtension { ext_type: 1 }
        }
    );
}

#[test]
fn unknown_extension_type() {
    let mut b = valid();
    b[18..20].copy_from_slice(&77u16.to_ne_bytes());
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 16,
            kind: DecodeErrorKind::UnknownExtension { ext_type: 77 }
        }
    );
    // 31 is OpenBSD's UDPENCAP: unknown to Linux.
    b[18..20].copy_from_slice(&31u16.to_ne_bytes());
    assert_eq!(
        err(&b).kind,
        DecodeErrorKind::UnknownExtension { ext_type: 31 }
    );
}

#[test]
fn wrong_size_for_a_fixed_extension() {
    let mut b = valid();
    // Make the SA extension 3 units (24 bytes) by inserting 8 bytes.
    let tail = b.split_off(32);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&tail);
    b[16..18].copy_from_slice(&3u16.to_ne_bytes());
    set_len(&mut b);
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 16,
            kind: DecodeErrorKind::WrongSize {
                ext: "sadb_sa",
                expected: SizeRule::Exact(16),
                actual: 24
            }
        }
    );
}

#[test]
fn undefined_field_values() {
    let mut b = valid();
    b[25] = 9; // sadb_sa_state
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 25,
            kind: DecodeErrorKind::InvalidValue {
                field: "sadb_sa_state",
                value: 9
            }
        }
    );
    let mut b = valid();
    b[3] = 200; // sadb_msg_satype
    assert_eq!(
        err(&b).kind,
        DecodeErrorKind::InvalidValue {
            field: "sadb_msg_satype",
            value: 200
        }
    );
    let mut b = valid();
    b[40..42].copy_from_slice(&99u16.to_ne_bytes()); // sa_family of ADDRESS_DST
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 40,
            kind: DecodeErrorKind::InvalidValue {
                field: "sa_family",
                value: 99
            }
        }
    );
}

#[test]
fn key_longer_than_its_extension() {
    let key = Message::new(MessageType::Add, SaType::Esp)
        .with(
            ExtKind::KeyAuth,
            ExtBody::Key(pfkey::ext::Key::new(&[1, 2, 3, 4])),
        )
        .unwrap();
    let mut b = key.encode(D).unwrap();
    b[20..22].copy_from_slice(&512u16.to_ne_bytes()); // claim 512 key bits in 8 bytes
    assert_eq!(
        err(&b),
        DecodeError {
            offset: 24,
            kind: DecodeErrorKind::Truncated {
                what: "sadb_key bits",
                needed: 64,
                available: 8
            }
        }
    );
}

#[test]
fn every_prefix_and_every_single_byte_flip_is_an_error_or_a_message() {
    // Exhaustive small-scale check on top of the fuzzer: no panic anywhere.
    let b = valid();
    for d in Dialect::ALL {
        for n in 0..b.len() {
            let _ = Message::decode(&b[..n], d);
        }
        for i in 0..b.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut c = b.clone();
                c[i] = v;
                let _ = Message::decode(&c, d);
            }
        }
    }
}
