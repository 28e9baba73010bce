//! Unit tests of `sign`: RFC 8032 EdDSA vectors, RSA / ECDSA artefacts made
//! with the openssl CLI, round trips for every scheme, tamper tests, hostile
//! AUTH data and the scheme choice.

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Builder, X509NameBuilder};

use super::test_vectors::*;
use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

fn rsa_key() -> PrivateKey {
    PrivateKey::from_pem(RSA_PEM.as_bytes()).expect("rsa key")
}

fn ec_key() -> PrivateKey {
    PrivateKey::from_pem(EC256_PEM.as_bytes()).expect("ec key")
}

/// Method-14 AUTH data for `alg` and a bare signature.
fn ds(alg: SigAlg, sig: &[u8]) -> Vec<u8> {
    let algid = alg.algorithm_identifier();
    let mut v = vec![algid.len() as u8];
    v.extend_from_slice(algid);
    v.extend_from_slice(sig);
    v
}

/// Flips one bit of the octets and of the signature part: both must fail.
fn assert_tamper_fails(method: u8, auth: &[u8], sig_offset: usize, key: &PublicKey, msg: &[u8]) {
    assert_eq!(verify(method, auth, key, msg), Ok(()), "baseline");
    let mut octets = msg.to_vec();
    if octets.is_empty() {
        octets.push(0);
    } else {
        octets[0] ^= 0x01;
    }
    assert_eq!(
        verify(method, auth, key, &octets),
        Err(CryptoError::BadSignature)
    );
    for pos in [
        sig_offset,
        auth.len() - 1,
        sig_offset + (auth.len() - sig_offset) / 2,
    ] {
        let mut bad = auth.to_vec();
        bad[pos] ^= 0x80;
        assert_eq!(
            verify(method, &bad, key, msg),
            Err(CryptoError::BadSignature),
            "flipped byte {pos}"
        );
    }
}

/// RFC 8032 §7.1 TEST 1 (empty message) and TEST 2 (one byte 0x72): the
/// deterministic Ed25519 signature is checked byte for byte (RFC 8420).
#[test]
fn rfc8032_ed25519() {
    let vectors = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac\
             c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e\
             458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ];
    for (secret, public, msg, sig) in vectors {
        // PKCS#8 PrivateKeyInfo for id-Ed25519 around the 32-byte seed.
        let der = [h("302e020100300506032b657004220420"), h(secret)].concat();
        let key = PrivateKey::from_der(&der).expect("key");
        assert_eq!(key.kind(), KeyKind::Ed25519);
        let msg = h(msg);
        let auth = sign(
            SignatureScheme::DigitalSignature(SigAlg::Ed25519),
            &key,
            &msg,
        )
        .expect("sign");
        assert_eq!(auth, ds(SigAlg::Ed25519, &h(sig)));
        assert_eq!(&auth[..8], &h("07300506032b6570")[..]);
        let peer = PublicKey::from_raw_eddsa(KeyKind::Ed25519, &h(public)).expect("pub");
        assert_eq!(
            key.public_key().expect("pub").to_spki_der().expect("spki"),
            peer.to_spki_der().expect("spki")
        );
        assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &auth, 8, &peer, &msg);
    }
}

/// RFC 8032 §7.4 "-----Blank" (Ed448, empty message, empty context).
#[test]
fn rfc8032_ed448() {
    let secret = h(
        "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3\
                    528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b",
    );
    let public = h(
        "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778\
                    edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
    );
    let sig = h(
        "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f\
                 2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a\
                 9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4db\
                 b61149f05a7363268c71d95808ff2e652600",
    );
    let der = [h("3047020100300506032b6571043b0439"), secret].concat();
    let key = PrivateKey::from_der(&der).expect("key");
    assert_eq!(key.kind(), KeyKind::Ed448);
    let auth = sign(SignatureScheme::DigitalSignature(SigAlg::Ed448), &key, b"").expect("sign");
    assert_eq!(auth, ds(SigAlg::Ed448, &sig));
    let peer = PublicKey::from_raw_eddsa(KeyKind::Ed448, &public).expect("pub");
    assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &auth, 8, &peer, b"");
}

/// PKCS#1 v1.5 is deterministic: our AUTH data must equal the CLI output.
#[test]
fn rsa_pkcs1_matches_openssl_cli() {
    let key = rsa_key();
    assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
    let peer = key.public_key().expect("pub");

    let auth = sign(
        SignatureScheme::DigitalSignature(SigAlg::RsaPkcs1Sha256),
        &key,
        MSG,
    )
    .expect("sign");
    assert_eq!(auth, ds(SigAlg::RsaPkcs1Sha256, &h(RSA_SHA256_SIG)));
    assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &auth, 16, &peer, MSG);

    let auth = sign(SignatureScheme::RsaPkcs1Sha1, &key, MSG).expect("sign");
    assert_eq!(auth, h(RSA_SHA1_SIG));
    assert_tamper_fails(AUTH_RSA_DIGITAL_SIGNATURE, &auth, 0, &peer, MSG);
}

#[test]
fn rsa_pss_cli_signature_verifies_and_round_trips() {
    let key = rsa_key();
    let peer = key.public_key().expect("pub");
    let auth = ds(SigAlg::RsaPssSha256, &h(RSA_PSS_SHA256_SIG));
    assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &auth, 68, &peer, MSG);
    // The CLI's PSS signature is not a PKCS#1 v1.5 one and vice versa.
    let as_pkcs1 = ds(SigAlg::RsaPkcs1Sha256, &h(RSA_PSS_SHA256_SIG));
    assert_eq!(
        verify(AUTH_DIGITAL_SIGNATURE, &as_pkcs1, &peer, MSG),
        Err(CryptoError::BadSignature)
    );
    for alg in [
        SigAlg::RsaPssSha256,
        SigAlg::RsaPssSha384,
        SigAlg::RsaPssSha512,
    ] {
        let scheme = SignatureScheme::DigitalSignature(alg);
        let a = sign(scheme, &key, MSG).expect("sign");
        let b = sign(scheme, &key, MSG).expect("sign");
        assert_ne!(a, b, "PSS is randomized");
        let off = 1 + alg.algorithm_identifier().len();
        assert_eq!(a.len(), off + 256);
        assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &a, off, &peer, MSG);
    }
}

#[test]
fn ecdsa_cli_signature_verifies_in_both_encodings() {
    let key = ec_key();
    assert_eq!(key.kind(), KeyKind::Ec(EcCurve::P256));
    let peer = key.public_key().expect("pub");
    let der = h(EC256_SHA256_SIG);
    // Method 14: the DER Ecdsa-Sig-Value as produced by the CLI.
    let auth = ds(SigAlg::EcdsaSha256, &der);
    assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &auth, 13, &peer, MSG);
    // Method 9: the same signature as r‖s (RFC 4754).
    let fixed = ecdsa_der_to_fixed(&der, EcCurve::P256).expect("r||s");
    assert_eq!(fixed.len(), 64);
    assert_eq!(&fixed[..32], &der[5..37]); // r without its 0x00 sign byte
    assert_tamper_fails(AUTH_ECDSA_SHA256_P256, &fixed, 0, &peer, MSG);
    // Wrong lengths are bad signatures, not panics.
    for n in [0, 1, 63, 65, 128] {
        let v = vec![1u8; n];
        assert_eq!(
            verify(AUTH_ECDSA_SHA256_P256, &v, &peer, MSG),
            Err(CryptoError::BadSignature)
        );
    }
    // r = 0 / s = 0.
    assert_eq!(
        verify(AUTH_ECDSA_SHA256_P256, &[0u8; 64], &peer, MSG),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn every_scheme_round_trips() {
    let cases = [
        (
            KeyKind::Ec(EcCurve::P256),
            SignatureScheme::EcdsaP256Sha256,
            64,
        ),
        (
            KeyKind::Ec(EcCurve::P384),
            SignatureScheme::EcdsaP384Sha384,
            96,
        ),
        (
            KeyKind::Ec(EcCurve::P521),
            SignatureScheme::EcdsaP521Sha512,
            132,
        ),
    ];
    for (kind, scheme, len) in cases {
        let key = PrivateKey::generate(kind).expect("key");
        let peer = key.public_key().expect("pub");
        let auth = sign(scheme, &key, MSG).expect("sign");
        assert_eq!(auth.len(), len, "{scheme}");
        assert_tamper_fails(scheme.auth_method(), &auth, 0, &peer, MSG);
        // Any ECDSA hash under method 14, whatever the curve.
        for alg in [
            SigAlg::EcdsaSha256,
            SigAlg::EcdsaSha384,
            SigAlg::EcdsaSha512,
        ] {
            let auth = sign(SignatureScheme::DigitalSignature(alg), &key, MSG).expect("sign");
            assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &auth, 13, &peer, MSG);
        }
    }
    let key = rsa_key();
    let peer = key.public_key().expect("pub");
    for alg in [SigAlg::RsaPkcs1Sha384, SigAlg::RsaPkcs1Sha512] {
        let auth = sign(SignatureScheme::DigitalSignature(alg), &key, MSG).expect("sign");
        assert_tamper_fails(AUTH_DIGITAL_SIGNATURE, &auth, 16, &peer, MSG);
    }
}

#[test]
fn key_type_mismatches() {
    let rsa = rsa_key();
    let ec = ec_key();
    let p384 = PrivateKey::generate(KeyKind::Ec(EcCurve::P384)).expect("key");
    // Signing with a scheme the key cannot do is refused.
    for (scheme, key) in [
        (SignatureScheme::EcdsaP256Sha256, &rsa),
        (SignatureScheme::EcdsaP256Sha256, &p384),
        (SignatureScheme::RsaPkcs1Sha1, &ec),
        (SignatureScheme::DigitalSignature(SigAlg::Ed25519), &ec),
        (SignatureScheme::DigitalSignature(SigAlg::RsaPssSha256), &ec),
    ] {
        assert!(
            matches!(sign(scheme, key, MSG), Err(CryptoError::Unsupported(_))),
            "{scheme}"
        );
    }
    // An AUTH payload whose algorithm does not fit the peer's key fails.
    let ec_auth = sign(SignatureScheme::EcdsaP256Sha256, &ec, MSG).expect("sign");
    let rsa_pub = rsa.public_key().expect("pub");
    let p384_pub = p384.public_key().expect("pub");
    assert_eq!(
        verify(AUTH_ECDSA_SHA256_P256, &ec_auth, &rsa_pub, MSG),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        verify(AUTH_ECDSA_SHA256_P256, &ec_auth, &p384_pub, MSG),
        Err(CryptoError::BadSignature)
    );
    let ds_ec = sign(
        SignatureScheme::DigitalSignature(SigAlg::EcdsaSha256),
        &ec,
        MSG,
    )
    .expect("sign");
    assert_eq!(
        verify(AUTH_DIGITAL_SIGNATURE, &ds_ec, &rsa_pub, MSG),
        Err(CryptoError::BadSignature)
    );
    // Method 1 data checked as method 14 (its first byte is no length).
    let m1 = h(RSA_SHA1_SIG);
    assert!(verify(AUTH_DIGITAL_SIGNATURE, &m1, &rsa_pub, MSG).is_err());
}

#[test]
fn hostile_auth_data_never_panics() {
    let rsa = rsa_key();
    let peer = rsa.public_key().expect("pub");
    let malformed = |data: &[u8]| {
        assert!(
            matches!(
                verify(AUTH_DIGITAL_SIGNATURE, data, &peer, MSG),
                Err(CryptoError::Malformed(_))
            ),
            "{}",
            hex::encode(data)
        );
    };
    malformed(&[]);
    malformed(&[15]); // length byte, nothing after it
    malformed(&[15, 0x30, 0x0d]); // shorter than announced
    malformed(&[0]); // empty AlgorithmIdentifier
    malformed(&[3, 0xde, 0xad, 0xbe, 0xef]); // garbage DER
    // Known structure, no signature.
    assert_eq!(
        verify(
            AUTH_DIGITAL_SIGNATURE,
            &ds(SigAlg::RsaPkcs1Sha256, &[]),
            &peer,
            MSG
        ),
        Err(CryptoError::BadSignature)
    );
    // sha1WithRSAEncryption under method 14, unknown methods.
    let sha1 = [
        &[15u8][..],
        &h("300d06092a864886f70d0101050500"),
        &h(RSA_SHA1_SIG),
    ]
    .concat();
    assert!(matches!(
        verify(AUTH_DIGITAL_SIGNATURE, &sha1, &peer, MSG),
        Err(CryptoError::Unsupported(_))
    ));
    for method in [0u8, 2, 3, 12, 13, 15, 255] {
        assert!(matches!(
            verify(method, &h(RSA_SHA1_SIG), &peer, MSG),
            Err(CryptoError::Unsupported(_))
        ));
    }
    // Every prefix and a sweep of corrupted length bytes / contents.
    let good = sign(
        SignatureScheme::DigitalSignature(SigAlg::RsaPssSha256),
        &rsa,
        MSG,
    )
    .expect("sign");
    for n in 0..good.len() {
        assert!(verify(AUTH_DIGITAL_SIGNATURE, &good[..n], &peer, MSG).is_err());
    }
    for first in 0..=255u8 {
        let mut bad = good.clone();
        bad[0] = first;
        let r = verify(AUTH_DIGITAL_SIGNATURE, &bad, &peer, MSG);
        assert_eq!(r.is_ok(), first == good[0], "length byte {first}");
    }
    for i in 1..70 {
        let mut bad = good.clone();
        bad[i] ^= 0xff;
        assert!(verify(AUTH_DIGITAL_SIGNATURE, &bad, &peer, MSG).is_err());
    }
    for method in [1u8, 9, 10, 11, 14] {
        for data in [&[][..], &[0][..], &[0xff; 300][..]] {
            assert!(verify(method, data, &peer, MSG).is_err());
        }
    }
}

#[test]
fn certificate_public_key_verifies() {
    let key = rsa_key();
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "ikedaemon test")
        .expect("cn");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("version");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(&name).expect("issuer");
    b.set_pubkey(key.pkey()).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("t"))
        .expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(1).expect("t"))
        .expect("na");
    b.sign(key.pkey(), MessageDigest::sha256()).expect("sign");
    let cert = b.build();
    let peer = PublicKey::from_certificate_der(&cert.to_der().expect("der")).expect("cert");
    assert_eq!(peer.kind(), KeyKind::Rsa { bits: 2048 });
    let peer_pem = PublicKey::from_certificate_pem(&cert.to_pem().expect("pem")).expect("pem");
    let auth = ds(SigAlg::RsaPkcs1Sha256, &h(RSA_SHA256_SIG));
    assert_eq!(verify(AUTH_DIGITAL_SIGNATURE, &auth, &peer, MSG), Ok(()));
    assert_eq!(
        verify(AUTH_DIGITAL_SIGNATURE, &auth, &peer_pem, MSG),
        Ok(())
    );
    let spki = peer.to_spki_der().expect("spki");
    let raw = PublicKey::from_spki_der(&spki).expect("spki");
    assert_eq!(verify(AUTH_DIGITAL_SIGNATURE, &auth, &raw, MSG), Ok(()));
}

#[test]
fn scheme_choice() {
    use HashAlg::*;
    use SignatureScheme::{DigitalSignature as Ds, *};
    let rsa = rsa_key();
    let ec = ec_key();
    let p384 = PrivateKey::generate(KeyKind::Ec(EcCurve::P384)).expect("key");
    let p521 = PrivateKey::generate(KeyKind::Ec(EcCurve::P521)).expect("key");
    let ed = PrivateKey::generate(KeyKind::Ed25519).expect("key");
    let ed448 = PrivateKey::generate(KeyKind::Ed448).expect("key");
    let pk = RsaPadding::Pkcs1v15;
    let all = [Sha1, Sha256, Sha384, Sha512, Identity];
    let choose = |k: &PrivateKey, peer: &[HashAlg], rsa: RsaPadding| {
        choose_scheme(k, peer, rsa).expect("scheme")
    };
    // No notify: the legacy methods.
    assert_eq!(choose(&rsa, &[], pk), RsaPkcs1Sha1);
    assert_eq!(choose(&rsa, &[], RsaPadding::Pss), RsaPkcs1Sha1);
    assert_eq!(choose(&ec, &[], pk), EcdsaP256Sha256);
    assert_eq!(choose(&p384, &[], pk), EcdsaP384Sha384);
    assert_eq!(choose(&p521, &[Sha1], pk), EcdsaP521Sha512);
    assert!(choose_scheme(&ed, &[], pk).is_err());
    assert!(choose_scheme(&ed448, &[Sha256, Sha512], pk).is_err());
    // With the notify: method 14.
    assert_eq!(choose(&rsa, &all, pk), Ds(SigAlg::RsaPkcs1Sha512));
    assert_eq!(
        choose(&rsa, &[Sha256, Sha384], pk),
        Ds(SigAlg::RsaPkcs1Sha384)
    );
    assert_eq!(
        choose(&rsa, &[Sha256], RsaPadding::Pss),
        Ds(SigAlg::RsaPssSha256)
    );
    assert_eq!(choose(&rsa, &[Sha1, Identity], pk), RsaPkcs1Sha1);
    assert_eq!(choose(&ec, &all, pk), Ds(SigAlg::EcdsaSha256));
    assert_eq!(choose(&p384, &all, pk), Ds(SigAlg::EcdsaSha384));
    assert_eq!(choose(&p521, &all, pk), Ds(SigAlg::EcdsaSha512));
    assert_eq!(choose(&ec, &[Sha384, Sha512], pk), Ds(SigAlg::EcdsaSha512));
    assert_eq!(choose(&ec, &[Identity], pk), EcdsaP256Sha256);
    assert_eq!(choose(&ed, &[Identity], pk), Ds(SigAlg::Ed25519));
    assert_eq!(choose(&ed448, &all, pk), Ds(SigAlg::Ed448));
    // Whatever is chosen can sign and verify.
    for key in [&rsa, &ec, &p384, &p521, &ed, &ed448] {
        for peer in [&all[..], &[Sha256][..], &[][..]] {
            let Ok(scheme) = choose_scheme(key, peer, pk) else {
                continue;
            };
            let auth = sign(scheme, key, MSG).expect("sign");
            let pubkey = key.public_key().expect("pub");
            assert_eq!(verify(scheme.auth_method(), &auth, &pubkey, MSG), Ok(()));
        }
    }
}

#[test]
fn scheme_metadata() {
    assert_eq!(SignatureScheme::RsaPkcs1Sha1.auth_method(), 1);
    assert_eq!(SignatureScheme::EcdsaP256Sha256.auth_method(), 9);
    assert_eq!(SignatureScheme::EcdsaP384Sha384.auth_method(), 10);
    assert_eq!(SignatureScheme::EcdsaP521Sha512.auth_method(), 11);
    let ds = SignatureScheme::DigitalSignature(SigAlg::Ed448);
    assert_eq!(ds.auth_method(), 14);
    assert_eq!(ds.to_string(), "ed448 (method 14)");
    assert_eq!(RsaPadding::default(), RsaPadding::Pkcs1v15);
    let parsed = parse_digital_signature(&[7, 0x30, 5, 6, 3, 0x2b, 0x65, 0x70, 0xaa]);
    assert_eq!(parsed, Ok((SigAlg::Ed25519, &[0xaa][..])));
}

/// The RSA test key also loads from its traditional PKCS#1 PEM / DER forms
/// and the P-256 key from PKCS#8, with identical signatures.
#[test]
fn traditional_and_pkcs8_forms_load() {
    let key = rsa_key();
    let rsa = key.pkey().rsa().expect("rsa");
    let pem = rsa.private_key_to_pem().expect("pem");
    assert!(pem.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
    let der = rsa.private_key_to_der().expect("der");
    let scheme = SignatureScheme::DigitalSignature(SigAlg::RsaPkcs1Sha256);
    for loaded in [PrivateKey::load(&pem), PrivateKey::load(&der)] {
        let loaded = loaded.expect("load");
        assert_eq!(
            sign(scheme, &loaded, MSG).expect("sign"),
            sign(scheme, &key, MSG).expect("sign")
        );
    }
    let ec = ec_key();
    let pkcs8 = ec.pkey().private_key_to_pem_pkcs8().expect("pkcs8");
    let again = PrivateKey::load(&pkcs8).expect("load");
    assert_eq!(again.kind(), KeyKind::Ec(EcCurve::P256));
    let auth = sign(SignatureScheme::EcdsaP256Sha256, &again, MSG).expect("sign");
    assert_eq!(
        verify(
            AUTH_ECDSA_SHA256_P256,
            &auth,
            &ec.public_key().expect("pub"),
            MSG
        ),
        Ok(())
    );
}
