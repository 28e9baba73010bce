//! Unit tests of `sig_algid`: the RFC 7427 Appendix A AlgorithmIdentifier
//! bytes, the DER reader on valid, alternative and hostile encodings, and
//! the SIGNATURE_HASH_ALGORITHMS registry.

use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace([' ', '\n'], "")).expect("hex")
}

/// RFC 7427 Appendix A, byte for byte.
#[test]
fn rfc7427_appendix_a_bytes() {
    // A.1.2 sha256WithRSAEncryption, A.1.3 sha384…, A.1.4 sha512…
    assert_eq!(
        SigAlg::RsaPkcs1Sha256.algorithm_identifier(),
        &h("300d06092a864886f70d01010b0500")[..]
    );
    assert_eq!(
        SigAlg::RsaPkcs1Sha384.algorithm_identifier(),
        &h("300d06092a864886f70d01010c0500")[..]
    );
    assert_eq!(
        SigAlg::RsaPkcs1Sha512.algorithm_identifier(),
        &h("300d06092a864886f70d01010d0500")[..]
    );
    // A.3.2 ecdsa-with-sha256, A.3.3 ecdsa-with-sha384, A.3.4 ecdsa-with-sha512
    assert_eq!(
        SigAlg::EcdsaSha256.algorithm_identifier(),
        &h("300a06082a8648ce3d040302")[..]
    );
    assert_eq!(
        SigAlg::EcdsaSha384.algorithm_identifier(),
        &h("300a06082a8648ce3d040303")[..]
    );
    assert_eq!(
        SigAlg::EcdsaSha512.algorithm_identifier(),
        &h("300a06082a8648ce3d040304")[..]
    );
    // A.4.3 RSASSA-PSS with SHA-256 as corrected by the RFC 7427 errata
    // (DER: DEFAULT trailerField omitted, lengths 0x41/0x34); the same bytes
    // are strongSwan's test_signature_params.c "errata" vector.
    assert_eq!(
        SigAlg::RsaPssSha256.algorithm_identifier(),
        &h("3041 06092a864886f70d01010a 3034
            a00f 300d 0609608648016503040201 0500
            a11c 301a 06092a864886f70d010108 300d 0609608648016503040201 0500
            a203 020120")[..]
    );
    // The same structure for SHA-384 / SHA-512 (strongSwan's SHA-512 vector).
    assert_eq!(
        SigAlg::RsaPssSha384.algorithm_identifier(),
        &h(
            "304106092a864886f70d01010a3034a00f300d06096086480165030402020500\
            a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130"
        )[..]
    );
    assert_eq!(
        SigAlg::RsaPssSha512.algorithm_identifier(),
        &h(
            "304106092a864886f70d01010a3034a00f300d06096086480165030402030500\
            a11c301a06092a864886f70d010108300d06096086480165030402030500a203020140"
        )[..]
    );
    // RFC 8420 §2: id-Ed25519 / id-Ed448, parameters absent.
    assert_eq!(
        SigAlg::Ed25519.algorithm_identifier(),
        &h("300506032b6570")[..]
    );
    assert_eq!(
        SigAlg::Ed448.algorithm_identifier(),
        &h("300506032b6571")[..]
    );
}

#[test]
fn every_blob_round_trips() {
    for alg in SigAlg::ALL {
        assert_eq!(
            SigAlg::from_algorithm_identifier(alg.algorithm_identifier()),
            Ok(alg),
            "{}",
            alg.name()
        );
        assert!(alg.algorithm_identifier().len() < 256);
    }
}

/// RFC 7427 A.4.3 as originally published (explicit trailerField 1, lengths
/// 0x46/0x39) is still understood as RSASSA-PSS with SHA-256.
#[test]
fn rfc7427_original_pss_listing_accepted() {
    let original = h(
        "304606092a864886f70d01010a3039a00f300d06096086480165030402010500\
                      a11c301a06092a864886f70d010108300d06096086480165030402010500\
                      a203020120a303020101",
    );
    assert_eq!(
        SigAlg::from_algorithm_identifier(&original),
        Ok(SigAlg::RsaPssSha256)
    );
}

#[test]
fn alternative_encodings_accepted() {
    // sha256WithRSAEncryption without the NULL.
    assert_eq!(
        SigAlg::from_algorithm_identifier(&h("300b06092a864886f70d01010b")),
        Ok(SigAlg::RsaPkcs1Sha256)
    );
    // ecdsa-with-SHA384 with a NULL.
    assert_eq!(
        SigAlg::from_algorithm_identifier(&h("300c06082a8648ce3d0403030500")),
        Ok(SigAlg::EcdsaSha384)
    );
    // PSS SHA-512 with absent hash parameters (RFC 4055 allows both).
    let absent = h(
        "303d 06092a864886f70d01010a 3030 a00d 300b 0609608648016503040203\
                    a11a 3018 06092a864886f70d010108 300b 0609608648016503040203\
                    a203020140",
    );
    assert_eq!(
        SigAlg::from_algorithm_identifier(&absent),
        Ok(SigAlg::RsaPssSha512)
    );
}

#[test]
fn unsupported_algorithms() {
    let unsupported = |der: &str| {
        assert!(
            matches!(
                SigAlg::from_algorithm_identifier(&h(der)),
                Err(CryptoError::Unsupported(_))
            ),
            "{der}"
        );
    };
    // RFC 7427 A.1.1 sha1WithRSAEncryption.
    unsupported("300d06092a864886f70d0101050500");
    // RFC 7427 A.4.1 RSASSA-PSS with empty parameters (= SHA-1 defaults).
    unsupported("300d06092a864886f70d01010a3000");
    // RFC 7427 A.4.2 RSASSA-PSS with explicit default (SHA-1) parameters.
    unsupported(
        "303e06092a864886f70d01010a3031a00b300906052b0e03021a0500a118301606092a864886f70d010108\
         300906052b0e03021a0500a203020114a303020101",
    );
    // dsa-with-sha1 (1.2.840.10040.4.3).
    unsupported("300906072a8648ce380403");
    // PSS SHA-256 with no salt (strongSwan's "no salt" vector).
    unsupported(
        "304106092a864886f70d01010a3034a00f300d06096086480165030402010500\
         a11c301a06092a864886f70d010108300d06096086480165030402010500a203020100",
    );
    // PSS SHA-256 with MGF1-SHA-512.
    unsupported(
        "304106092a864886f70d01010a3034a00f300d06096086480165030402010500\
         a11c301a06092a864886f70d010108300d06096086480165030402030500a203020120",
    );
}

#[test]
fn hostile_der_is_malformed_not_a_panic() {
    let good = SigAlg::RsaPssSha256.algorithm_identifier();
    // Every truncation and every single-byte extension.
    for n in 0..good.len() {
        assert!(
            SigAlg::from_algorithm_identifier(&good[..n]).is_err(),
            "{n}"
        );
    }
    let mut longer = good.to_vec();
    longer.push(0);
    assert!(SigAlg::from_algorithm_identifier(&longer).is_err());
    // Every single-byte corruption: an error or some algorithm, never a panic.
    for i in 0..good.len() {
        for v in [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x83, 0xff] {
            let mut bad = good.to_vec();
            bad[i] = v;
            let _ = SigAlg::from_algorithm_identifier(&bad);
        }
    }
    let malformed = |der: &str| {
        assert!(
            matches!(
                SigAlg::from_algorithm_identifier(&h(der)),
                Err(CryptoError::Malformed(_))
            ),
            "{der}"
        );
    };
    malformed(""); // empty
    malformed("30"); // no length
    malformed("3080060300"); // indefinite length
    malformed("30 8105 0603 2b6570"); // non-minimal long form
    malformed("300506032b657000"); // trailing byte
    malformed("3007 06032b6570 0500"); // Ed25519 with parameters
    malformed("3000"); // no OID
    malformed("3005 04032b6570"); // not an OID tag
    malformed("3009 06032b6570 0500 0500"); // two parameter elements
    malformed("3084ffffffff"); // length beyond the supported forms
    malformed("1f05"); // high tag number form
    // PSS: trailing byte, fields out of order, trailer 2, negative salt.
    malformed("3012 06092a864886f70d01010a 3005 a2030201 20 00");
    malformed("301706092a864886f70d01010a300aa303020101a203020120");
    malformed("301206092a864886f70d01010a3005a303020102");
    malformed("301206092a864886f70d01010a3005a2030201ff");
}

#[test]
fn oid_strings() {
    assert_eq!(oid_to_string(OID_SHA256_RSA), "1.2.840.113549.1.1.11");
    assert_eq!(oid_to_string(OID_ED448), "1.3.101.113");
    match SigAlg::from_algorithm_identifier(&h("300506032a0304")) {
        Err(CryptoError::Unsupported(msg)) => assert!(msg.contains("1.2.3.4"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(oid_to_string(&[0xff; 20]), "(oversized)");
}

/// IANA "IKEv2 Hash Algorithms" (RFC 7427 §7).
#[test]
fn hash_algorithm_registry() {
    let expected = [
        (1u16, "sha1", HashAlg::Sha1),
        (2, "sha256", HashAlg::Sha256),
        (3, "sha384", HashAlg::Sha384),
        (4, "sha512", HashAlg::Sha512),
        (5, "identity", HashAlg::Identity),
    ];
    for (id, name, alg) in expected {
        assert_eq!(HashAlg::from_id(id), Some(alg));
        assert_eq!(alg.id(), id);
        assert_eq!(alg.name(), name);
    }
    assert_eq!(HashAlg::from_id(0), None);
    assert_eq!(HashAlg::from_id(6), None);
    assert_eq!(SigAlg::Ed448.hash(), HashAlg::Identity);
    assert_eq!(SigAlg::RsaPssSha384.hash(), HashAlg::Sha384);
}
