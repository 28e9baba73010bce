//! Decode/encode of the byte arrays of OpenBSD's public-domain iked parser
//! regress test (regress/sbin/iked/parser/test_parser_fuzz.c, carried into
//! tests/fixtures/openbsd-parser.txt with a note per block).
//!
//! Every message iked's parser accepts must decode here too, and re-encode
//! to the same bytes — except three arrays that are malformed in the
//! source itself (see the fixture's notes), for which the exact error is
//! asserted.

mod common;

use ikedaemon::ike::wire::{Message, NotifyData, NotifyType, Payload, PayloadType, WireErrorKind};

fn message(name: &str) -> Vec<u8> {
    common::blocks("openbsd-parser.txt")
        .into_iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no block {name}"))
        .bytes
}

#[test]
fn every_wellformed_message_decodes_and_reencodes_byte_for_byte() {
    let good = [
        "message_generic_header",
        "message_skf_1of1",
        "message_sa",
        "message_sa_xform",
        "message_ke",
        "message_nonce",
        "message_idi",
        "message_certreq",
        "message_auth",
        "message_delete",
        "message_vendor",
        "message_tsi",
        "message_tsr",
        "message_cp",
        "message_valid_packet",
    ];
    for name in good {
        let bytes = message(name);
        let m = Message::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = m.encode().expect("encode");
        assert_eq!(
            hex::encode(&again),
            hex::encode(&bytes),
            "{name} re-encoding"
        );
    }
}

#[test]
fn valid_ike_sa_init_has_the_expected_payloads() {
    let m = Message::decode(&message("message_valid_packet")).expect("decode");
    assert_eq!(
        m.to_string(),
        "IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) ]"
    );
    assert_eq!(m.header.spi_i, 0xdeadbeefcafe0001);
    assert!(m.header.initiator && !m.header.response);
    let Payload::Sa(sa) = &m.payloads[0] else {
        panic!("first payload is not SA")
    };
    assert_eq!(
        sa.proposals[0].to_string(),
        "IKE:sha256/aes192/modp2048/prfsha256/prfsha1/prfmd5"
    );
    let Payload::Ke(ke) = &m.payloads[1] else {
        panic!("second payload is not KE")
    };
    assert_eq!((ke.group, ke.data.len()), (14, 256));
    let natd = m
        .notify(NotifyType::NAT_DETECTION_SOURCE_IP)
        .expect("NATD_S");
    assert!(matches!(natd.data, NotifyData::NatDetection(h) if h[0] == 0xc7));
}

#[test]
fn fragment_message_keeps_its_ciphertext_and_first_inner_type() {
    let m = Message::decode(&message("message_skf_1of1")).expect("decode");
    let Payload::Fragment(f) = &m.payloads[0] else {
        panic!("not SKF")
    };
    assert_eq!((f.number, f.total, f.first_inner), (1, 1, PayloadType::SA));
    assert_eq!(m.to_string(), "IKE_SA_INIT request 0 [ EF(1/1) ]");
}

#[test]
fn cert_array_longer_than_its_length_field_is_trailing_bytes() {
    // cert_pld says 272 bytes but the array has 280 (rows duplicated in the
    // C source): 8 bytes follow the last payload.
    let e = Message::decode(&message("message_cert")).unwrap_err();
    assert_eq!(e.offset, 300);
    assert!(
        matches!(e.kind, WireErrorKind::TrailingBytes { count: 8, .. }),
        "{e}"
    );
}

#[test]
fn unchained_second_notify_is_trailing_bytes() {
    // notify_pld's first Notify says "no next payload".
    let e = Message::decode(&message("message_notify")).unwrap_err();
    assert!(
        matches!(e.kind, WireErrorKind::TrailingBytes { count: 28, .. }),
        "{e}"
    );
}

#[test]
fn eap_message_whose_length_disagrees_with_its_payload_is_rejected() {
    // The second EAP payload carries 8 bytes of EAP message whose own
    // length field says 5 (RFC 7296 §3.16: the payload holds one message).
    let e = Message::decode(&message("message_eap")).unwrap_err();
    assert!(
        matches!(
            e.kind,
            WireErrorKind::Length {
                what: "EAP message",
                declared: 5,
                available: 8
            }
        ),
        "{e}"
    );
}
