//! A real strongSwan 5.9.8 IKE_SA_INIT + IKE_AUTH exchange, captured with
//! its keys by tests/interop/capture-strongswan (fixtures under
//! tests/fixtures/strongswan/), decoded, decrypted and re-encoded with our
//! code:
//!
//! - every datagram decodes and re-encodes to the same bytes;
//! - our SKEYSEED and SK_* derivation gives the keys charon logged;
//! - the SK (and SKF) payloads decrypt, the inner payloads match charon's
//!   own log line for each message, and re-encoding them gives the same
//!   plaintext bytes;
//! - the AUTH payloads verify with our signed-octets construction.

mod common;

use common::Capture;
use ikedaemon::ike::crypto::auth_octets::{psk_verify, signed_octets};
use ikedaemon::ike::crypto::encr::{EncrAlg, EncrSpec};
use ikedaemon::ike::crypto::integ::IntegAlg;
use ikedaemon::ike::crypto::keys::{IkeKeys, skeyseed};
use ikedaemon::ike::crypto::prf::PrfAlg;
use ikedaemon::ike::crypto::sig_keys::PublicKey;
use ikedaemon::ike::crypto::sign::verify;
use ikedaemon::ike::crypto::sk::SkCipher;
use ikedaemon::ike::protect::{
    Reassembly, open_fragment, open_message, seal_fragments, seal_message,
};
use ikedaemon::ike::wire::{AuthMethod, Message, Payload, Writer, decode_chain, encode_chain};

/// The IKE message of a captured datagram (without the non-ESP marker).
fn ike_bytes(port: u16, datagram: &[u8]) -> &[u8] {
    if port == 4500 {
        assert_eq!(&datagram[..4], &[0, 0, 0, 0], "non-ESP marker");
        &datagram[4..]
    } else {
        datagram
    }
}

/// charon's "generating" line for the n-th generated message, without the
/// side prefix and verb: `IKE_AUTH request 1 [ ... ]`.
fn charon_generated(c: &Capture) -> Vec<String> {
    c.charon
        .iter()
        .filter_map(|l| l.split_once(" generating ").map(|(_, m)| m.to_string()))
        .filter(|m| !m.contains("EF("))
        .collect()
}

fn keys(c: &Capture, prf: PrfAlg, encr: EncrSpec, integ: Option<IntegAlg>) -> IkeKeys {
    let (ni, nr, g_ir) = (c.hex("ni"), c.hex("nr"), c.hex("g_ir"));
    let seed = skeyseed(prf, &ni, &nr, &g_ir).expect("skeyseed");
    assert_eq!(hex::encode(&*seed), c.get("skeyseed").unwrap(), "SKEYSEED");
    let spi = |k| <[u8; 8]>::try_from(c.hex(k).as_slice()).unwrap();
    let k = IkeKeys::derive(
        prf,
        &seed,
        &ni,
        &nr,
        &spi("spi_i"),
        &spi("spi_r"),
        encr,
        integ,
    )
    .expect("derive");
    for (name, v) in [
        ("sk_d", &k.sk_d),
        ("sk_ei", &k.sk_ei),
        ("sk_er", &k.sk_er),
        ("sk_pi", &k.sk_pi),
        ("sk_pr", &k.sk_pr),
    ] {
        assert_eq!(hex::encode(&***v), c.get(name).unwrap(), "{name}");
    }
    if integ.is_some() {
        assert_eq!(hex::encode(&*k.sk_ai), c.get("sk_ai").unwrap(), "sk_ai");
        assert_eq!(hex::encode(&*k.sk_ar), c.get("sk_ar").unwrap(), "sk_ar");
    }
    k
}

/// Re-encodes decrypted inner payloads; they must give the plaintext back.
fn assert_inner_reencodes(plain: &[u8], inner: &[Payload]) {
    let mut w = Writer::new();
    encode_chain(inner, &mut w);
    assert_eq!(
        hex::encode(w.finish().unwrap()),
        hex::encode(plain),
        "inner re-encoding"
    );
}

fn id_body(m: &Message, initiator: bool) -> Vec<u8> {
    m.payloads
        .iter()
        .find_map(|p| match (p, initiator) {
            (Payload::IdI(id), true) | (Payload::IdR(id), false) => Some(id.body()),
            _ => None,
        })
        .expect("ID payload")
}

fn auth(m: &Message) -> (AuthMethod, Vec<u8>) {
    m.payloads
        .iter()
        .find_map(|p| match p {
            Payload::Auth(a) => Some((a.method, a.data.clone())),
            _ => None,
        })
        .expect("AUTH payload")
}

#[test]
fn psk_aes128_sha256_x25519_exchange() {
    let c = Capture::load("strongswan/psk-aes128-sha256-x25519.txt");
    assert_eq!(c.messages.len(), 4);
    let charon = charon_generated(&c);
    let encr = EncrSpec::new(EncrAlg::AesCbc, Some(128)).unwrap();
    let integ = Some(IntegAlg::HmacSha256_128);
    let prf = PrfAlg::HmacSha256;
    let k = keys(&c, prf, encr, integ);
    let (i_to_r, _) = k.sk_ciphers(encr, integ, true).unwrap();
    let (r_to_i, _) = k.sk_ciphers(encr, integ, false).unwrap();

    let mut opened = Vec::new();
    for (n, (i2r, port, datagram)) in c.messages.iter().enumerate() {
        let bytes = ike_bytes(*port, datagram);
        let outer = Message::decode(bytes).unwrap_or_else(|e| panic!("message {n}: {e}"));
        assert_eq!(outer.encode().unwrap(), bytes, "message {n} re-encoding");
        let m = if matches!(outer.payloads.last(), Some(Payload::Encrypted(_))) {
            let cipher = if *i2r { &i_to_r } else { &r_to_i };
            let (m, _) = open_message(bytes, &outer, cipher).expect("open");
            // The plaintext is what the inner payloads re-encode to.
            let Some(Payload::Encrypted(sk)) = outer.payloads.last() else {
                unreachable!()
            };
            let plain = cipher
                .open(&bytes[..bytes.len() - sk.data.len()], &sk.data)
                .unwrap();
            assert_inner_reencodes(&plain, &decode_chain(sk.first_inner, &plain, 0).unwrap());
            // Sealing the same payloads under the same IV gives the captured
            // datagram back up to the last cipher block: same lengths
            // (minimal padding), same ciphertext. Only the last block and
            // the ICV differ, because charon fills the padding with random
            // bytes where we write zeros (RFC 7296 §3.14 leaves the pad
            // contents to the sender).
            let iv = &sk.data[..cipher.iv_len()];
            let again = seal_message(&m.header, &m.payloads, cipher, iv).expect("seal");
            assert_eq!(again.len(), bytes.len(), "message {n} sealed length");
            let same = bytes.len() - cipher.icv_len() - 16;
            assert_eq!(
                hex::encode(&again[..same]),
                hex::encode(&bytes[..same]),
                "message {n} re-sealing"
            );
            assert_ne!(
                &again[same..],
                &bytes[same..],
                "charon's padding is not zero"
            );
            assert_eq!(
                open_message(&again, &Message::decode(&again).unwrap(), cipher)
                    .unwrap()
                    .0,
                m
            );
            m
        } else {
            outer
        };
        assert_eq!(m.to_string(), charon[n], "message {n} summary");
        opened.push((bytes.to_vec(), m));
    }

    // AUTH: initiator's signs IKE_SA_INIT request | Nr | prf(SK_pi, IDi'),
    // responder's IKE_SA_INIT response | Ni | prf(SK_pr, IDr').
    let psk = c.get("psk").unwrap().as_bytes();
    let (ni, nr) = (c.hex("ni"), c.hex("nr"));
    for (init_msg, auth_msg, nonce, sk_p, initiator) in
        [(0, 2, &nr, &k.sk_pi, true), (1, 3, &ni, &k.sk_pr, false)]
    {
        let (method, data) = auth(&opened[auth_msg].1);
        assert_eq!(method, AuthMethod::SHARED_KEY_MIC);
        let octets = signed_octets(
            &opened[init_msg].0,
            nonce,
            prf,
            sk_p,
            &id_body(&opened[auth_msg].1, initiator),
        )
        .unwrap();
        psk_verify(prf, psk, &octets, &data).expect("PSK AUTH verifies");
        assert!(psk_verify(prf, b"wrong", &octets, &data).is_err());
    }
}

#[test]
fn ecdsa_aes256gcm16_prfsha384_ecp256_fragmented_exchange() {
    let c = Capture::load("strongswan/ecdsa-aes256gcm16-prfsha384-ecp256-frag.txt");
    let charon = charon_generated(&c);
    let encr = EncrSpec::new(EncrAlg::AesGcm16, Some(256)).unwrap();
    let prf = PrfAlg::HmacSha384;
    let k = keys(&c, prf, encr, None);
    let (i_to_r, _) = k.sk_ciphers(encr, None, true).unwrap();
    let (r_to_i, _) = k.sk_ciphers(encr, None, false).unwrap();

    let mut summaries = Vec::new();
    let mut messages: Vec<(Vec<u8>, Message)> = Vec::new();
    let mut reassembly: Option<Reassembly> = None;
    let (mut ivs, mut datagrams) = (Vec::new(), Vec::new());
    let mut fragments = 0;
    for (n, (i2r, port, datagram)) in c.messages.iter().enumerate() {
        let bytes = ike_bytes(*port, datagram);
        let outer = Message::decode(bytes).unwrap_or_else(|e| panic!("message {n}: {e}"));
        assert_eq!(outer.encode().unwrap(), bytes, "message {n} re-encoding");
        match outer.payloads.last() {
            Some(Payload::Fragment(_)) => {
                fragments += 1;
                let cipher: &SkCipher = if *i2r { &i_to_r } else { &r_to_i };
                let (f, plain) = open_fragment(bytes, &outer, cipher).expect("open fragment");
                let r = reassembly.get_or_insert_with(|| Reassembly::new(16, 65536));
                ivs.push(f.data[..cipher.iv_len()].to_vec());
                datagrams.push(bytes.to_vec());
                if let Some((inner, _)) = r.add(&f, plain).expect("reassemble") {
                    reassembly = None;
                    // Our fragmenter, given charon's size limit and IVs,
                    // produces exactly charon's fragments (AEAD: no padding
                    // to differ in).
                    let max = datagrams.iter().map(Vec::len).max().unwrap();
                    let mut next = std::mem::take(&mut ivs).into_iter();
                    let ours = seal_fragments(&outer.header, &inner, cipher, max, &mut || {
                        next.next().unwrap()
                    })
                    .expect("seal fragments");
                    assert_eq!(ours, std::mem::take(&mut datagrams), "re-sealed fragments");
                    let m = Message {
                        header: outer.header,
                        payloads: inner,
                    };
                    summaries.push(m.to_string());
                    messages.push((Vec::new(), m));
                }
            }
            _ => {
                summaries.push(outer.to_string());
                messages.push((bytes.to_vec(), outer));
            }
        }
    }
    assert_eq!(
        fragments, 6,
        "IKE_AUTH request and response in 3 fragments each"
    );
    assert_eq!(summaries, charon);

    // CERTREQ in the IKE_SA_INIT response names our CA by the SHA-1 of its
    // SubjectPublicKeyInfo (RFC 7296 §3.7).
    let pem = |f: &str| std::fs::read(common::fixture(&format!("strongswan/{f}"))).unwrap();
    let ca = PublicKey::from_certificate_pem(&pem("ca.pem")).unwrap();
    let ca_hash = openssl::sha::sha1(&ca.to_spki_der().unwrap());
    let certreq = messages[1].1.payloads.iter().find_map(|p| match p {
        Payload::CertReq(r) => Some(r.authorities().expect("whole hashes")),
        _ => None,
    });
    assert_eq!(certreq, Some(vec![ca_hash]));

    // Both AUTH payloads are RFC 7427 ECDSA signatures that verify with the
    // public key of the certificate sent next to them.
    let (ni, nr) = (c.hex("ni"), c.hex("nr"));
    for (init_msg, auth_msg, nonce, sk_p, initiator, file) in [
        (0, 2, &nr, &k.sk_pi, true, "initiator.pem"),
        (1, 3, &ni, &k.sk_pr, false, "responder.pem"),
    ] {
        let m = &messages[auth_msg].1;
        let cert = m
            .payloads
            .iter()
            .find_map(|p| match p {
                Payload::Cert(c) => Some(c.data.clone()),
                _ => None,
            })
            .expect("CERT payload");
        let x509 = openssl::x509::X509::from_pem(&pem(file)).unwrap();
        assert_eq!(cert, x509.to_der().unwrap(), "CERT payload is {file}");
        let key = PublicKey::from_certificate_der(&cert).unwrap();
        let (method, data) = auth(m);
        assert_eq!(method, AuthMethod::DIGITAL_SIGNATURE);
        let octets = signed_octets(
            &messages[init_msg].0,
            nonce,
            prf,
            sk_p,
            &id_body(m, initiator),
        )
        .unwrap();
        verify(method.0, &data, &key, &octets).expect("signature verifies");
        let mut bad = octets.clone();
        bad[30] ^= 1;
        assert!(verify(method.0, &data, &key, &bad).is_err());
    }
}
