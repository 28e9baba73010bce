//! One test per class of malformed input: the decoder's exact error, its
//! offset where it matters, and the notify the engine would answer with.

use ikedaemon::ike::wire::{
    ExchangeType, Header, Message, NotifyType, Payload, PayloadType, WireErrorKind,
};

fn header() -> Header {
    Header {
        spi_i: 0x0102030405060708,
        spi_r: 0,
        exchange: ExchangeType::IKE_SA_INIT,
        initiator: true,
        response: false,
        higher_version: false,
        message_id: 0,
    }
}

/// A message: header + raw payload chain bytes, first payload type `first`.
fn raw(first: u8, chain: &[u8]) -> Vec<u8> {
    let mut m = Message {
        header: header(),
        payloads: vec![],
    }
    .encode()
    .unwrap();
    m[16] = first;
    m.extend_from_slice(chain);
    let len = m.len() as u32;
    m[24..28].copy_from_slice(&len.to_be_bytes());
    m
}

/// A generic payload: next, flags, body.
fn pl(next: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![next, flags];
    v.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn err(bytes: &[u8]) -> ikedaemon::ike::wire::WireError {
    Message::decode(bytes).expect_err("must not decode")
}

#[test]
fn short_header_is_truncated() {
    let e = err(&[0u8; 27]);
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Truncated {
                what: "IKE header",
                needed: 28,
                available: 27
            }
        ),
        "{e}"
    );
    assert_eq!(e.notify(), Some(NotifyType::INVALID_SYNTAX));
}

#[test]
fn header_length_must_match_datagram() {
    let mut m = raw(0, &[]);
    m.push(0);
    let e = err(&m);
    assert_eq!(
        e.kind,
        WireErrorKind::MessageLength {
            declared: 28,
            actual: 29
        }
    );
}

#[test]
fn ikev1_and_future_major_versions_are_refused() {
    for v in [0x10u8, 0x30] {
        let mut m = raw(0, &[]);
        m[17] = v;
        let e = err(&m);
        assert_eq!(e.kind, WireErrorKind::MajorVersion(v >> 4));
        // IKEv1 is dropped silently; a higher version is answered.
        let answer = (v > 0x20).then_some(NotifyType::INVALID_MAJOR_VERSION);
        assert_eq!(e.notify(), answer);
    }
    // Minor version is ignored.
    let mut m = raw(0, &[]);
    m[17] = 0x21;
    assert!(Message::decode(&m).is_ok());
}

#[test]
fn payload_length_below_header_size() {
    let m = raw(40, &[0, 0, 0, 3]);
    let e = err(&m);
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Length {
                what: "payload",
                declared: 3,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset, 32);
}

#[test]
fn payload_length_past_end() {
    let mut chain = pl(0, 0, &[1; 16]);
    chain[3] = 40;
    let e = err(&raw(40, &chain));
    assert_eq!(
        e.kind,
        WireErrorKind::Length {
            what: "payload",
            declared: 40,
            available: 20
        }
    );
}

#[test]
fn unknown_critical_payload_names_its_type() {
    let chain = pl(0, 0x80, &[1, 2, 3]);
    let e = err(&raw(200, &chain));
    assert_eq!(e.kind, WireErrorKind::UnsupportedCritical(PayloadType(200)));
    assert_eq!(e.notify(), Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD));
    assert_eq!(e.notify_data(), vec![200]);
}

#[test]
fn unknown_noncritical_payload_is_kept_and_skipped() {
    let mut chain = pl(40, 0, &[9, 9]);
    chain.extend(pl(0, 0, &[7; 16]));
    let bytes = raw(200, &chain);
    let m = Message::decode(&bytes).expect("decode");
    assert!(
        matches!(&m.payloads[0], Payload::Unknown { kind: PayloadType(200), critical: false, data } if data == &[9, 9])
    );
    assert!(matches!(&m.payloads[1], Payload::Nonce(n) if n.len() == 16));
    assert_eq!(m.to_string(), "IKE_SA_INIT request 0 [ P(200) No ]");
    assert_eq!(m.encode().unwrap(), bytes);
}

#[test]
fn critical_bit_on_a_known_payload_is_ignored() {
    let bytes = raw(40, &pl(0, 0x80, &[7; 16]));
    let m = Message::decode(&bytes).expect("decode");
    assert!(matches!(&m.payloads[0], Payload::Nonce(_)));
}

#[test]
fn bytes_after_the_last_payload() {
    let mut chain = pl(0, 0, &[7; 16]);
    chain.extend([1, 2, 3]);
    let e = err(&raw(40, &chain));
    assert!(
        matches!(e.kind, WireErrorKind::TrailingBytes { count: 3, .. }),
        "{e}"
    );
}

#[test]
fn nothing_follows_an_encrypted_payload() {
    let mut chain = pl(40, 0, &[0; 32]); // SK whose next (first inner) is Nonce...
    chain.extend(pl(0, 0, &[7; 16])); // ...followed by a real payload
    let e = err(&raw(46, &chain));
    assert_eq!(
        e.kind,
        WireErrorKind::TrailingBytes {
            what: "message after the last payload",
            count: 20
        }
    );
    // An SK payload in the middle of a chain: the SK's Next Payload is the
    // first inner type, so anything after it cannot be reached.
    let e = err(&raw(46, &pl(0, 0, &[0; 32]))
        .into_iter()
        .chain(pl(0, 0, &[7; 16]))
        .collect::<Vec<_>>());
    assert!(matches!(e.kind, WireErrorKind::MessageLength { .. }), "{e}");
}

#[test]
fn sa_without_proposals() {
    let e = err(&raw(33, &pl(0, 0, &[])));
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Count {
                what: "proposals in the SA payload",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn proposal_transform_count_mismatch() {
    // Proposal #1 IKE, says 2 transforms, holds 1 (ENCR 12).
    let transform = [0u8, 0, 0, 8, 1, 0, 0, 12];
    let mut prop = vec![0u8, 0, 0, 16, 1, 1, 0, 2];
    prop.extend(transform);
    let e = err(&raw(33, &pl(0, 0, &prop)));
    assert_eq!(
        e.kind,
        WireErrorKind::Count {
            what: "proposal's number of transforms",
            declared: 2,
            found: 1
        }
    );
}

#[test]
fn bad_last_substructure_marker() {
    let prop = [5u8, 0, 0, 8, 1, 1, 0, 0];
    let e = err(&raw(33, &pl(0, 0, &prop)));
    assert_eq!(
        e.kind,
        WireErrorKind::Invalid {
            what: "last substructure marker",
            value: 5
        }
    );
}

#[test]
fn proposal_marked_more_with_nothing_after_it() {
    let prop = [2u8, 0, 0, 8, 1, 1, 0, 0];
    let e = err(&raw(33, &pl(0, 0, &prop)));
    assert!(matches!(e.kind, WireErrorKind::Truncated { .. }), "{e}");
}

#[test]
fn key_length_attribute_in_tlv_form_is_kept_as_unknown() {
    // RFC 7296 §3.3.6: a transform we cannot understand is unacceptable,
    // the message is not malformed.
    let transform = [0u8, 0, 0, 14, 1, 0, 0, 12, 0x00, 0x0e, 0, 2, 1, 0];
    let mut prop = vec![0u8, 0, 0, 22, 1, 1, 0, 1];
    prop.extend(transform);
    let bytes = raw(33, &pl(0, 0, &prop));
    let m = Message::decode(&bytes).expect("decodes");
    let Payload::Sa(sa) = &m.payloads[0] else {
        panic!("SA")
    };
    assert_eq!(sa.proposals[0].transforms[0].key_length(), None);
    assert_eq!(m.encode().unwrap(), bytes);
}

#[test]
fn nat_detection_hash_of_wrong_length() {
    let mut body = vec![0u8, 0, 0x40, 0x04];
    body.extend([0; 19]);
    let e = err(&raw(41, &pl(0, 0, &body)));
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Length {
                what: "NAT detection hash",
                declared: 19,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.notify(), Some(NotifyType::INVALID_SYNTAX));
}

#[test]
fn cookie_longer_than_64_bytes() {
    let mut body = vec![0u8, 0, 0x40, 0x06];
    body.extend([1; 65]);
    let e = err(&raw(41, &pl(0, 0, &body)));
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Length {
                what: "COOKIE data",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn traffic_selector_count_mismatch() {
    let ts = [7u8, 0, 0, 16, 0, 0, 0xff, 0xff, 192, 0, 2, 1, 192, 0, 2, 1];
    let mut body = vec![2u8, 0, 0, 0];
    body.extend(ts);
    let e = err(&raw(44, &pl(0, 0, &body)));
    assert_eq!(
        e.kind,
        WireErrorKind::Count {
            what: "TS payload's number of selectors",
            declared: 2,
            found: 1
        }
    );
}

#[test]
fn ipv4_traffic_selector_of_ipv6_length() {
    let mut ts = vec![7u8, 0, 0, 40, 0, 0, 0xff, 0xff];
    ts.extend([0; 32]);
    let mut body = vec![1u8, 0, 0, 0];
    body.extend(ts);
    let e = err(&raw(44, &pl(0, 0, &body)));
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Length {
                what: "traffic selector for its type",
                declared: 40,
                available: 16
            }
        ),
        "{e}"
    );
}

#[test]
fn ipv4_id_of_wrong_length() {
    let e = err(&raw(35, &pl(0, 0, &[1, 0, 0, 0, 192, 0, 2])));
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Length {
                what: "ID data for its type",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn delete_spi_count_mismatch() {
    let e = err(&raw(42, &pl(0, 0, &[3, 4, 0, 2, 1, 2, 3, 4])));
    assert_eq!(
        e.kind,
        WireErrorKind::Count {
            what: "Delete payload's number of SPIs",
            declared: 2,
            found: 1
        }
    );
}

#[test]
fn fragment_number_zero_or_past_total() {
    for (n, t) in [(0u16, 1u16), (3, 2)] {
        let mut body = n.to_be_bytes().to_vec();
        body.extend(t.to_be_bytes());
        body.extend([0; 32]);
        let e = err(&raw(53, &pl(if n == 1 { 33 } else { 0 }, 0, &body)));
        assert_eq!(
            e.kind,
            WireErrorKind::Invalid {
                what: "SKF fragment number",
                value: u64::from(n)
            }
        );
    }
}

#[test]
fn non_first_fragment_with_a_next_payload() {
    let mut body = 2u16.to_be_bytes().to_vec();
    body.extend(2u16.to_be_bytes());
    body.extend([0; 32]);
    let e = err(&raw(53, &pl(33, 0, &body)));
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Invalid {
                what: "SKF next payload in a non-first fragment",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn truncated_notify_header() {
    let e = err(&raw(41, &pl(0, 0, &[0, 4])));
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Truncated {
                what: "Notify payload",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn errors_print_offset_and_cause() {
    let e = err(&raw(40, &[0, 0, 0, 3]));
    assert_eq!(
        e.to_string(),
        "IKE decode error at byte 32: payload length 3 is invalid (4 bytes available)"
    );
}
