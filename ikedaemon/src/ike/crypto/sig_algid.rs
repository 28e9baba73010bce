//! The signature algorithms of the IKEv2 Digital Signature authentication
//! method (RFC 7427): [`SigAlg`] with the exact DER AlgorithmIdentifier each
//! one sends, a strict minimal DER reader that maps a received
//! AlgorithmIdentifier back to a [`SigAlg`], and [`HashAlg`], the registry of
//! the SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4).

use openssl::hash::MessageDigest;

use super::error::CryptoError;

/// IANA "IKEv2 Hash Algorithms", as announced in SIGNATURE_HASH_ALGORITHMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-1 (1).
    Sha1,
    /// SHA2-256 (2).
    Sha256,
    /// SHA2-384 (3).
    Sha384,
    /// SHA2-512 (4).
    Sha512,
    /// Identity (5): the data is signed as is (PureEdDSA, RFC 8420).
    Identity,
}

impl HashAlg {
    /// Every hash algorithm, in id order.
    pub const ALL: [HashAlg; 5] = [
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
        HashAlg::Identity,
    ];

    /// The algorithm with IANA id `id`, if known.
    pub fn from_id(id: u16) -> Option<Self> {
        HashAlg::ALL.into_iter().find(|h| h.id() == id)
    }

    /// The IANA id.
    pub fn id(self) -> u16 {
        match self {
            HashAlg::Sha1 => 1,
            HashAlg::Sha256 => 2,
            HashAlg::Sha384 => 3,
            HashAlg::Sha512 => 4,
            HashAlg::Identity => 5,
        }
    }

    /// A lower-case name ("sha256", "identity").
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
            HashAlg::Identity => "identity",
        }
    }

    /// The OpenSSL digest (None for Identity).
    pub(crate) fn message_digest(self) -> Option<MessageDigest> {
        match self {
            HashAlg::Sha1 => Some(MessageDigest::sha1()),
            HashAlg::Sha256 => Some(MessageDigest::sha256()),
            HashAlg::Sha384 => Some(MessageDigest::sha384()),
            HashAlg::Sha512 => Some(MessageDigest::sha512()),
            HashAlg::Identity => None,
        }
    }

    /// Output length in bytes (0 for Identity).
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
            HashAlg::Identity => 0,
        }
    }
}

/// A signature algorithm usable under authentication method 14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigAlg {
    /// sha256WithRSAEncryption (RSASSA-PKCS1-v1_5).
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption.
    RsaPkcs1Sha512,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32, trailer 1.
    RsaPssSha256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48, trailer 1.
    RsaPssSha384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, salt 64, trailer 1.
    RsaPssSha512,
    /// ecdsa-with-SHA256 (signature is a DER Ecdsa-Sig-Value).
    EcdsaSha256,
    /// ecdsa-with-SHA384.
    EcdsaSha384,
    /// ecdsa-with-SHA512.
    EcdsaSha512,
    /// id-Ed25519, PureEdDSA (RFC 8420).
    Ed25519,
    /// id-Ed448, PureEdDSA (RFC 8420).
    Ed448,
}

const OID_SHA1_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

/// AlgorithmIdentifier DER sent for each algorithm. PKCS#1 v1.5 and ECDSA
/// are RFC 7427 Appendix A.1 / A.3 byte for byte; RSASSA-PSS is the A.4.3
/// structure in its DER form (the DEFAULT trailerField omitted, RFC 7427
/// errata), as strongSwan sends it; Ed25519 / Ed448 are RFC
/// 8420 §2 (parameters absent).
mod blob {
    pub(crate) const RSA_SHA256: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ];
    pub(crate) const RSA_SHA384: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
    ];
    pub(crate) const RSA_SHA512: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00,
    ];
    macro_rules! pss {
        ($h:expr, $salt:expr) => {
            &[
                0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
                0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                0x02, $h, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                0x03, 0x04, 0x02, $h, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, $salt,
            ]
        };
    }
    pub(crate) const PSS_SHA256: &[u8] = pss!(0x01, 0x20);
    pub(crate) const PSS_SHA384: &[u8] = pss!(0x02, 0x30);
    pub(crate) const PSS_SHA512: &[u8] = pss!(0x03, 0x40);
    pub(crate) const ECDSA_SHA256: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    pub(crate) const ECDSA_SHA384: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
    ];
    pub(crate) const ECDSA_SHA512: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
    ];
    pub(crate) const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
    pub(crate) const ED448: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71];
}

impl SigAlg {
    /// Every algorithm.
    pub const ALL: [SigAlg; 11] = [
        SigAlg::RsaPkcs1Sha256,
        SigAlg::RsaPkcs1Sha384,
        SigAlg::RsaPkcs1Sha512,
        SigAlg::RsaPssSha256,
        SigAlg::RsaPssSha384,
        SigAlg::RsaPssSha512,
        SigAlg::EcdsaSha256,
        SigAlg::EcdsaSha384,
        SigAlg::EcdsaSha512,
        SigAlg::Ed25519,
        SigAlg::Ed448,
    ];

    /// The DER AlgorithmIdentifier this daemon sends.
    pub fn algorithm_identifier(self) -> &'static [u8] {
        match self {
            SigAlg::RsaPkcs1Sha256 => blob::RSA_SHA256,
            SigAlg::RsaPkcs1Sha384 => blob::RSA_SHA384,
            SigAlg::RsaPkcs1Sha512 => blob::RSA_SHA512,
            SigAlg::RsaPssSha256 => blob::PSS_SHA256,
            SigAlg::RsaPssSha384 => blob::PSS_SHA384,
            SigAlg::RsaPssSha512 => blob::PSS_SHA512,
            SigAlg::EcdsaSha256 => blob::ECDSA_SHA256,
            SigAlg::EcdsaSha384 => blob::ECDSA_SHA384,
            SigAlg::EcdsaSha512 => blob::ECDSA_SHA512,
            SigAlg::Ed25519 => blob::ED25519,
            SigAlg::Ed448 => blob::ED448,
        }
    }

    /// The hash the algorithm signs with (Identity for EdDSA).
    pub fn hash(self) -> HashAlg {
        match self {
            SigAlg::RsaPkcs1Sha256 | SigAlg::RsaPssSha256 | SigAlg::EcdsaSha256 => HashAlg::Sha256,
            SigAlg::RsaPkcs1Sha384 | SigAlg::RsaPssSha384 | SigAlg::EcdsaSha384 => HashAlg::Sha384,
            SigAlg::RsaPkcs1Sha512 | SigAlg::RsaPssSha512 | SigAlg::EcdsaSha512 => HashAlg::Sha512,
            SigAlg::Ed25519 | SigAlg::Ed448 => HashAlg::Identity,
        }
    }

    /// A descriptive name ("sha256WithRSAEncryption", "rsassa-pss-sha256").
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::RsaPkcs1Sha256 => "sha256WithRSAEncryption",
            SigAlg::RsaPkcs1Sha384 => "sha384WithRSAEncryption",
            SigAlg::RsaPkcs1Sha512 => "sha512WithRSAEncryption",
            SigAlg::RsaPssSha256 => "rsassa-pss-sha256",
            SigAlg::RsaPssSha384 => "rsassa-pss-sha384",
            SigAlg::RsaPssSha512 => "rsassa-pss-sha512",
            SigAlg::EcdsaSha256 => "ecdsa-with-SHA256",
            SigAlg::EcdsaSha384 => "ecdsa-with-SHA384",
            SigAlg::EcdsaSha512 => "ecdsa-with-SHA512",
            SigAlg::Ed25519 => "ed25519",
            SigAlg::Ed448 => "ed448",
        }
    }

    /// Maps a received DER AlgorithmIdentifier (exactly the bytes of one
    /// SEQUENCE) to an algorithm. Accepts NULL or absent parameters for the
    /// PKCS#1 / ECDSA / hash identifiers, and an explicit or defaulted
    /// trailerField of 1 for RSASSA-PSS. Garbage is `Malformed`; valid DER
    /// naming anything else (SHA-1, other PSS parameters) is `Unsupported`.
    pub fn from_algorithm_identifier(der: &[u8]) -> Result<Self, CryptoError> {
        let (oid, params) = parse_algorithm_identifier(der)?;
        let null_or_absent = params.is_empty() || params == [0x05, 0x00];
        let simple = |alg: SigAlg, ok: bool| {
            if ok {
                Ok(alg)
            } else {
                Err(CryptoError::Malformed(
                    "unexpected AlgorithmIdentifier parameters",
                ))
            }
        };
        match oid {
            OID_SHA256_RSA => simple(SigAlg::RsaPkcs1Sha256, null_or_absent),
            OID_SHA384_RSA => simple(SigAlg::RsaPkcs1Sha384, null_or_absent),
            OID_SHA512_RSA => simple(SigAlg::RsaPkcs1Sha512, null_or_absent),
            OID_ECDSA_SHA256 => simple(SigAlg::EcdsaSha256, null_or_absent),
            OID_ECDSA_SHA384 => simple(SigAlg::EcdsaSha384, null_or_absent),
            OID_ECDSA_SHA512 => simple(SigAlg::EcdsaSha512, null_or_absent),
            OID_ED25519 => simple(SigAlg::Ed25519, params.is_empty()),
            OID_ED448 => simple(SigAlg::Ed448, params.is_empty()),
            OID_RSASSA_PSS => parse_pss_params(params),
            OID_SHA1_RSA => Err(CryptoError::Unsupported(
                "sha1WithRSAEncryption under the Digital Signature method".into(),
            )),
            other => Err(CryptoError::Unsupported(format!(
                "signature algorithm OID {}",
                oid_to_string(other)
            ))),
        }
    }
}

/// Reads one DER TLV: (tag, contents, rest). Only definite lengths up to
/// 0xffff in minimal form; single-byte tags.
fn read_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), CryptoError> {
    const BAD: CryptoError = CryptoError::Malformed("bad DER in AlgorithmIdentifier");
    let (&tag, rest) = input.split_first().ok_or(BAD)?;
    if tag & 0x1f == 0x1f {
        return Err(BAD);
    }
    let (&first, rest) = rest.split_first().ok_or(BAD)?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&b, rest) = rest.split_first().ok_or(BAD)?;
            if b < 0x80 {
                return Err(BAD);
            }
            (usize::from(b), rest)
        }
        0x82 => {
            let (bytes, rest) = rest.split_first_chunk::<2>().ok_or(BAD)?;
            let len = usize::from(u16::from_be_bytes(*bytes));
            if len < 0x100 {
                return Err(BAD);
            }
            (len, rest)
        }
        _ => return Err(BAD),
    };
    let (contents, rest) = rest.split_at_checked(len).ok_or(BAD)?;
    Ok((tag, contents, rest))
}

/// SEQUENCE { OID, parameters ANY OPTIONAL } → (OID contents, raw params).
fn parse_algorithm_identifier(der: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    const BAD: CryptoError = CryptoError::Malformed("not a DER AlgorithmIdentifier");
    let (tag, body, rest) = read_tlv(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(BAD);
    }
    let (tag, oid, params) = read_tlv(body)?;
    if tag != 0x06 || oid.is_empty() {
        return Err(BAD);
    }
    if !params.is_empty() {
        // Exactly one element of parameters.
        let (_, _, after) = read_tlv(params)?;
        if !after.is_empty() {
            return Err(BAD);
        }
    }
    Ok((oid, params))
}

/// A hash AlgorithmIdentifier (NULL or absent parameters) → HashAlg.
fn parse_hash_alg(der: &[u8]) -> Result<HashAlg, CryptoError> {
    let (oid, params) = parse_algorithm_identifier(der)?;
    if !(params.is_empty() || params == [0x05, 0x00]) {
        return Err(CryptoError::Malformed("unexpected hash parameters"));
    }
    match oid {
        OID_SHA1 => Ok(HashAlg::Sha1),
        OID_SHA256 => Ok(HashAlg::Sha256),
        OID_SHA384 => Ok(HashAlg::Sha384),
        OID_SHA512 => Ok(HashAlg::Sha512),
        other => Err(CryptoError::Unsupported(format!(
            "RSASSA-PSS hash OID {}",
            oid_to_string(other)
        ))),
    }
}

/// A small non-negative DER INTEGER (at most 2 content bytes).
fn parse_small_int(der: &[u8]) -> Result<u16, CryptoError> {
    const BAD: CryptoError = CryptoError::Malformed("bad INTEGER in RSASSA-PSS parameters");
    let (tag, v, rest) = read_tlv(der)?;
    if tag != 0x02 || !rest.is_empty() {
        return Err(BAD);
    }
    match v {
        [b] if *b < 0x80 => Ok(u16::from(*b)),
        [0, b] if *b >= 0x80 => Ok(u16::from(*b)),
        [a, b] if *a != 0 && *a < 0x80 => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(BAD),
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1); only hash == MGF1 hash ∈ SHA-2,
/// salt == hash length and trailer 1 map to a [`SigAlg`].
fn parse_pss_params(params: &[u8]) -> Result<SigAlg, CryptoError> {
    const BAD: CryptoError = CryptoError::Malformed("bad RSASSA-PSS parameters");
    let (tag, mut body, rest) = read_tlv(params)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(BAD);
    }
    let (mut hash, mut mgf_hash, mut salt, mut trailer) = (HashAlg::Sha1, HashAlg::Sha1, 20, 1);
    let mut last_tag = None;
    while !body.is_empty() {
        let (tag, inner, rest) = read_tlv(body)?;
        body = rest;
        if last_tag.is_some_and(|t| tag <= t) {
            return Err(BAD);
        }
        last_tag = Some(tag);
        match tag {
            0xa0 => hash = parse_hash_alg(inner)?,
            0xa1 => {
                let (oid, mgf_params) = parse_algorithm_identifier(inner)?;
                if oid != OID_MGF1 {
                    return Err(CryptoError::Unsupported(
                        "RSASSA-PSS mask generation function other than MGF1".into(),
                    ));
                }
                mgf_hash = parse_hash_alg(mgf_params)?;
            }
            0xa2 => salt = parse_small_int(inner)?,
            0xa3 => trailer = parse_small_int(inner)?,
            _ => return Err(BAD),
        }
    }
    if trailer != 1 {
        return Err(BAD);
    }
    let alg = match hash {
        HashAlg::Sha256 => SigAlg::RsaPssSha256,
        HashAlg::Sha384 => SigAlg::RsaPssSha384,
        HashAlg::Sha512 => SigAlg::RsaPssSha512,
        other => {
            return Err(CryptoError::Unsupported(format!(
                "RSASSA-PSS with {}",
                other.name()
            )));
        }
    };
    if mgf_hash != hash || usize::from(salt) != hash.output_len() {
        return Err(CryptoError::Unsupported(format!(
            "RSASSA-PSS with {} but MGF1-{} and a {salt}-byte salt",
            hash.name(),
            mgf_hash.name()
        )));
    }
    Ok(alg)
}

/// Dotted form of an OID's contents, for error messages.
fn oid_to_string(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in oid {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
        if acc > u64::MAX >> 8 {
            return "(oversized)".into();
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
#[path = "sig_algid_tests.rs"]
mod tests;
