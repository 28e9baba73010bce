//! Protected messages: SK seal/open for every cipher, SKF fragmentation
//! and reassembly (including the RFC 7383 §2.6 rules for a changed total),
//! and the errors for tampered or nested encrypted payloads.

use ikedaemon::ike::crypto::encr::{EncrAlg, EncrSpec};
use ikedaemon::ike::crypto::integ::{Integ, IntegAlg};
use ikedaemon::ike::crypto::sk::SkCipher;
use ikedaemon::ike::protect::{
    ProtectError, Reassembly, open_fragment, open_message, seal_fragments, seal_message,
};
use ikedaemon::ike::wire::*;

fn ciphers() -> Vec<SkCipher> {
    let mut out = Vec::new();
    for alg in EncrAlg::ALL {
        let encr = EncrSpec::new(alg, alg.has_key_len_attr().then_some(256)).unwrap();
        let sk_e = vec![0x42; encr.keymat_len()];
        if alg.is_aead() {
            out.push(SkCipher::new(encr, &sk_e, None).unwrap());
        } else {
            for i in IntegAlg::ALL {
                let integ = Integ::new(i, &vec![0x17; i.key_len()]).unwrap();
                out.push(SkCipher::new(encr, &sk_e, Some(integ)).unwrap());
            }
        }
    }
    out
}

fn header() -> Header {
    Header {
        spi_i: 0x1111,
        spi_r: 0x2222,
        exchange: ExchangeType::IKE_AUTH,
        initiator: true,
        response: false,
        higher_version: false,
        message_id: 1,
    }
}

fn inner(cert_len: usize) -> Vec<Payload> {
    vec![
        Payload::IdI(Identification::fqdn("initiator.example")),
        Payload::Cert(CertPayload {
            encoding: CertEncoding::X509_SIGNATURE,
            data: (0..cert_len).map(|i| i as u8).collect(),
        }),
        Payload::Auth(AuthPayload {
            method: AuthMethod::SHARED_KEY_MIC,
            data: vec![7; 32],
        }),
        Payload::Notify(NotifyPayload::flag(NotifyType::INITIAL_CONTACT)),
    ]
}

fn iv(c: &SkCipher, n: u8) -> Vec<u8> {
    vec![n; c.iv_len()]
}

#[test]
fn every_cipher_seals_and_opens_a_message() {
    for c in ciphers() {
        let bytes = seal_message(&header(), &inner(100), &c, &iv(&c, 1)).unwrap();
        let outer = Message::decode(&bytes).unwrap();
        assert_eq!(outer.to_string(), "IKE_AUTH request 1 [ SK ]");
        let (m, plain) = open_message(&bytes, &outer, &c).unwrap();
        assert_eq!(m.payloads, inner(100), "{c:?}");
        assert_eq!(
            m.to_string(),
            "IKE_AUTH request 1 [ IDi CERT AUTH N(INIT_CONTACT) ]"
        );
        let mut w = Writer::new();
        encode_chain(&inner(100), &mut w);
        assert_eq!(&plain[..], w.as_slice());
        // Any flipped bit after the SPIs is caught by the ICV or tag.
        for at in [17, 30, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            if let Ok(outer) = Message::decode(&bad) {
                assert!(
                    open_message(&bad, &outer, &c).is_err(),
                    "{c:?} flip at {at}"
                );
            }
        }
    }
}

#[test]
fn every_cipher_fragments_and_reassembles() {
    for c in ciphers() {
        for max in [120usize, 300, 577, 1280] {
            let mut n = 0u8;
            let frags = seal_fragments(&header(), &inner(900), &c, max, &mut || {
                n += 1;
                iv(&c, n)
            })
            .unwrap();
            assert!(frags.iter().all(|f| f.len() <= max), "{c:?} {max}");
            let mut r = Reassembly::new(64, 65536);
            let mut done = None;
            // Out of order, with a duplicate.
            let mut order: Vec<usize> = (0..frags.len()).rev().collect();
            order.insert(1, 0);
            for i in order {
                let outer = Message::decode(&frags[i]).unwrap();
                let (f, plain) = open_fragment(&frags[i], &outer, &c).unwrap();
                assert_eq!(usize::from(f.total), frags.len());
                if let Some(x) = r.add(&f, plain).unwrap() {
                    assert!(done.is_none(), "completed twice");
                    done = Some(x);
                }
            }
            assert_eq!(done.expect("complete").0, inner(900), "{c:?} {max}");
        }
    }
}

#[test]
fn fragment_size_too_small_for_the_cipher() {
    let c = &ciphers()[0];
    let e = seal_fragments(&header(), &inner(10), c, 40, &mut || iv(c, 0)).unwrap_err();
    assert_eq!(
        e,
        ProtectError::Fragmentation("fragment size too small for the cipher")
    );
}

#[test]
fn an_empty_inner_chain_still_makes_one_fragment() {
    let c = &ciphers()[0];
    let frags = seal_fragments(&header(), &[], c, 500, &mut || iv(c, 0)).unwrap();
    assert_eq!(frags.len(), 1);
    let outer = Message::decode(&frags[0]).unwrap();
    assert_eq!(outer.to_string(), "IKE_AUTH request 1 [ EF(1/1) ]");
    let (f, plain) = open_fragment(&frags[0], &outer, c).unwrap();
    let (payloads, _) = Reassembly::new(4, 65536)
        .add(&f, plain)
        .unwrap()
        .expect("complete");
    assert!(payloads.is_empty());
}

fn fragment(number: u16, total: u16, first: PayloadType) -> EncryptedFragment {
    EncryptedFragment {
        first_inner: first,
        number,
        total,
        data: vec![],
    }
}

#[test]
fn a_larger_total_restarts_reassembly_and_a_smaller_one_is_stale() {
    let nonce = |n: u8| {
        let mut w = Writer::new();
        encode_chain(&[Payload::Nonce(vec![n; 16])], &mut w);
        w.finish().unwrap()
    };
    let whole = nonce(1);
    let (a, b) = whole.split_at(10);
    let mut r = Reassembly::new(8, 65536);
    // First attempt: 2 fragments; only the first arrives.
    assert!(
        r.add(&fragment(1, 2, PayloadType::NONCE), a.to_vec())
            .unwrap()
            .is_none()
    );
    // The peer re-fragments smaller: 3 fragments; the old set is dropped.
    let (b1, b2) = b.split_at(5);
    assert!(
        r.add(&fragment(2, 3, PayloadType::NONE), b1.to_vec())
            .unwrap()
            .is_none()
    );
    // A late fragment of the 2-fragment set is stale.
    assert!(
        r.add(&fragment(2, 2, PayloadType::NONE), b.to_vec())
            .unwrap()
            .is_none()
    );
    assert!(
        r.add(&fragment(3, 3, PayloadType::NONE), b2.to_vec())
            .unwrap()
            .is_none()
    );
    let (payloads, bytes) = r
        .add(&fragment(1, 3, PayloadType::NONCE), a.to_vec())
        .unwrap()
        .unwrap();
    assert_eq!(payloads, vec![Payload::Nonce(vec![1; 16])]);
    assert_eq!(&bytes[..], &whole[..]);
    // Too many fragments announced.
    assert_eq!(
        Reassembly::new(8, 65536)
            .add(&fragment(1, 9, PayloadType::NONCE), vec![])
            .unwrap_err(),
        ProtectError::Fragmentation("more fragments announced than allowed")
    );
}

#[test]
fn an_encrypted_payload_inside_an_encrypted_payload_is_refused() {
    let c = &ciphers()[0];
    let nested = vec![Payload::Encrypted(EncryptedPayload {
        first_inner: PayloadType::NONCE,
        data: vec![0; 48],
    })];
    let bytes = seal_message(&header(), &nested, c, &iv(c, 3)).unwrap();
    let outer = Message::decode(&bytes).unwrap();
    match open_message(&bytes, &outer, c) {
        Err(ProtectError::Decode(e)) => {
            assert_eq!(e.notify(), Some(NotifyType::INVALID_SYNTAX));
            assert!(
                e.to_string()
                    .contains("Encrypted payload inside an Encrypted payload"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_id_body_covers_received_reserved_bytes() {
    // RFC 7296 §2.15: AUTH covers the ID payload body as received.
    let mut chain = vec![0u8, 0, 0, 12, 2, 0xaa, 0xbb, 0xcc];
    chain.extend(b"vpn.");
    let p = decode_chain(PayloadType::IDI, &chain, 0).unwrap();
    let Payload::IdI(id) = &p[0] else {
        panic!("IDi")
    };
    assert_eq!(id.body(), chain[4..].to_vec());
    assert_eq!(id.to_string(), "vpn.");
}

#[test]
fn open_without_an_encrypted_payload() {
    let c = &ciphers()[0];
    let m = Message {
        header: header(),
        payloads: vec![Payload::Nonce(vec![0; 16])],
    };
    let bytes = m.encode().unwrap();
    assert_eq!(
        open_message(&bytes, &m, c).unwrap_err(),
        ProtectError::NotProtected
    );
    assert_eq!(
        open_fragment(&bytes, &m, c).unwrap_err(),
        ProtectError::NotProtected
    );
}
