//! IKEv2 AUTH payload signatures: producing and checking the Authentication
//! Data for RSA Digital Signature (method 1, RFC 7296 §2.15), ECDSA with
//! SHA-256/384/512 on P-256/384/521 (methods 9–11, RFC 4754) and the
//! Digital Signature method (14, RFC 7427, with EdDSA per RFC 8420), plus
//! the choice of a scheme from our key and the peer's
//! SIGNATURE_HASH_ALGORITHMS.

use std::fmt;

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, PKeyRef};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};

use super::error::CryptoError;
pub use super::sig_algid::{HashAlg, SigAlg};
pub use super::sig_keys::{EcCurve, KeyKind, PrivateKey, PublicKey};

use crate::ike::wire::AuthMethod;

// The signature Auth Methods, as raw numbers for this layer; the wire
// registry (`AuthMethod`) is their one definition.
/// Auth Method 1: RSA Digital Signature (PKCS#1 v1.5, SHA-1).
pub const AUTH_RSA_DIGITAL_SIGNATURE: u8 = AuthMethod::RSA_SIG.0;
/// Auth Method 9: ECDSA with SHA-256 on the P-256 curve.
pub const AUTH_ECDSA_SHA256_P256: u8 = AuthMethod::ECDSA_SHA256_P256.0;
/// Auth Method 10: ECDSA with SHA-384 on the P-384 curve.
pub const AUTH_ECDSA_SHA384_P384: u8 = AuthMethod::ECDSA_SHA384_P384.0;
/// Auth Method 11: ECDSA with SHA-512 on the P-521 curve.
pub const AUTH_ECDSA_SHA512_P521: u8 = AuthMethod::ECDSA_SHA512_P521.0;
/// Auth Method 14: Digital Signature (RFC 7427).
pub const AUTH_DIGITAL_SIGNATURE: u8 = AuthMethod::DIGITAL_SIGNATURE.0;

/// How we sign one AUTH payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// Method 1: RSASSA-PKCS1-v1_5 with SHA-1 (DigestInfo encoded).
    RsaPkcs1Sha1,
    /// Method 9: ECDSA P-256 / SHA-256, signature r‖s (2 × 32 bytes).
    EcdsaP256Sha256,
    /// Method 10: ECDSA P-384 / SHA-384, signature r‖s (2 × 48 bytes).
    EcdsaP384Sha384,
    /// Method 11: ECDSA P-521 / SHA-512, signature r‖s (2 × 66 bytes).
    EcdsaP521Sha512,
    /// Method 14 with the given algorithm.
    DigitalSignature(SigAlg),
}

impl SignatureScheme {
    /// The Auth Method of the AUTH payload.
    pub fn auth_method(self) -> u8 {
        match self {
            SignatureScheme::RsaPkcs1Sha1 => AUTH_RSA_DIGITAL_SIGNATURE,
            SignatureScheme::EcdsaP256Sha256 => AUTH_ECDSA_SHA256_P256,
            SignatureScheme::EcdsaP384Sha384 => AUTH_ECDSA_SHA384_P384,
            SignatureScheme::EcdsaP521Sha512 => AUTH_ECDSA_SHA512_P521,
            SignatureScheme::DigitalSignature(_) => AUTH_DIGITAL_SIGNATURE,
        }
    }

    fn primitive(self) -> Primitive {
        match self {
            SignatureScheme::RsaPkcs1Sha1 => Primitive::RsaPkcs1(HashAlg::Sha1),
            SignatureScheme::EcdsaP256Sha256 => Primitive::EcdsaFixed(EcCurve::P256),
            SignatureScheme::EcdsaP384Sha384 => Primitive::EcdsaFixed(EcCurve::P384),
            SignatureScheme::EcdsaP521Sha512 => Primitive::EcdsaFixed(EcCurve::P521),
            SignatureScheme::DigitalSignature(alg) => Primitive::of(alg),
        }
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureScheme::RsaPkcs1Sha1 => f.write_str("rsa-sha1 (method 1)"),
            SignatureScheme::EcdsaP256Sha256 => f.write_str("ecdsa-p256-sha256 (method 9)"),
            SignatureScheme::EcdsaP384Sha384 => f.write_str("ecdsa-p384-sha384 (method 10)"),
            SignatureScheme::EcdsaP521Sha512 => f.write_str("ecdsa-p521-sha512 (method 11)"),
            SignatureScheme::DigitalSignature(alg) => write!(f, "{} (method 14)", alg.name()),
        }
    }
}

/// RSA padding policy for [`choose_scheme`] when the peer supports RFC 7427.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RsaPadding {
    /// RSASSA-PKCS1-v1_5 (the default; what most peers expect).
    #[default]
    Pkcs1v15,
    /// RSASSA-PSS (only when configured).
    Pss,
}

/// The signature primitive behind a scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Primitive {
    RsaPkcs1(HashAlg),
    RsaPss(HashAlg),
    /// ECDSA on any supported curve, DER Ecdsa-Sig-Value (method 14).
    EcdsaDer(HashAlg),
    /// ECDSA on exactly this curve with its RFC 4754 hash, r‖s.
    EcdsaFixed(EcCurve),
    EdDsa(KeyKind),
}

impl Primitive {
    fn of(alg: SigAlg) -> Self {
        match alg {
            SigAlg::RsaPkcs1Sha256 | SigAlg::RsaPkcs1Sha384 | SigAlg::RsaPkcs1Sha512 => {
                Primitive::RsaPkcs1(alg.hash())
            }
            SigAlg::RsaPssSha256 | SigAlg::RsaPssSha384 | SigAlg::RsaPssSha512 => {
                Primitive::RsaPss(alg.hash())
            }
            SigAlg::EcdsaSha256 | SigAlg::EcdsaSha384 | SigAlg::EcdsaSha512 => {
                Primitive::EcdsaDer(alg.hash())
            }
            SigAlg::Ed25519 => Primitive::EdDsa(KeyKind::Ed25519),
            SigAlg::Ed448 => Primitive::EdDsa(KeyKind::Ed448),
        }
    }

    fn fits(self, kind: KeyKind) -> bool {
        match (self, kind) {
            (Primitive::RsaPkcs1(_) | Primitive::RsaPss(_), KeyKind::Rsa { .. }) => true,
            (Primitive::EcdsaDer(_), KeyKind::Ec(_)) => true,
            (Primitive::EcdsaFixed(c), KeyKind::Ec(k)) => c == k,
            (Primitive::EdDsa(a), b) => a == b,
            _ => false,
        }
    }

    fn digest(self) -> Option<MessageDigest> {
        match self {
            Primitive::RsaPkcs1(h) | Primitive::RsaPss(h) | Primitive::EcdsaDer(h) => {
                h.message_digest()
            }
            Primitive::EcdsaFixed(c) => c.hash().message_digest(),
            Primitive::EdDsa(_) => None,
        }
    }

    fn pss_salt(self) -> Option<(MessageDigest, i32)> {
        match self {
            Primitive::RsaPss(h) => {
                let md = h.message_digest()?;
                Some((md, i32::try_from(h.output_len()).ok()?))
            }
            _ => None,
        }
    }
}

/// Picks the scheme for our `key` given the hash algorithms the peer
/// announced in SIGNATURE_HASH_ALGORITHMS (empty: it sent none).
///
/// With announcements, method 14 is used: Ed25519 / Ed448 need Identity;
/// ECDSA takes its curve's hash if announced, else the strongest announced
/// SHA-2; RSA takes PKCS#1 v1.5 (or PSS per `rsa`) with the strongest
/// announced SHA-2. Without a usable announcement: method 1 for RSA,
/// 9 / 10 / 11 for ECDSA, and an error for EdDSA (RFC 8420 requires 14).
pub fn choose_scheme(
    key: &PrivateKey,
    peer_hashes: &[HashAlg],
    rsa: RsaPadding,
) -> Result<SignatureScheme, CryptoError> {
    let strongest = [HashAlg::Sha512, HashAlg::Sha384, HashAlg::Sha256]
        .into_iter()
        .find(|h| peer_hashes.contains(h));
    let ds = SignatureScheme::DigitalSignature;
    match key.kind() {
        KeyKind::Ed25519 | KeyKind::Ed448 => {
            if !peer_hashes.contains(&HashAlg::Identity) {
                return Err(CryptoError::Unsupported(format!(
                    "{} AUTH needs the peer to announce the Identity hash (RFC 8420)",
                    key.kind()
                )));
            }
            Ok(ds(if key.kind() == KeyKind::Ed25519 {
                SigAlg::Ed25519
            } else {
                SigAlg::Ed448
            }))
        }
        KeyKind::Ec(curve) => {
            let hash = if peer_hashes.contains(&curve.hash()) {
                Some(curve.hash())
            } else {
                strongest
            };
            Ok(match hash {
                Some(HashAlg::Sha256) => ds(SigAlg::EcdsaSha256),
                Some(HashAlg::Sha384) => ds(SigAlg::EcdsaSha384),
                Some(HashAlg::Sha512) => ds(SigAlg::EcdsaSha512),
                _ => match curve {
                    EcCurve::P256 => SignatureScheme::EcdsaP256Sha256,
                    EcCurve::P384 => SignatureScheme::EcdsaP384Sha384,
                    EcCurve::P521 => SignatureScheme::EcdsaP521Sha512,
                },
            })
        }
        KeyKind::Rsa { .. } => Ok(match (strongest, rsa) {
            (Some(HashAlg::Sha256), RsaPadding::Pkcs1v15) => ds(SigAlg::RsaPkcs1Sha256),
            (Some(HashAlg::Sha384), RsaPadding::Pkcs1v15) => ds(SigAlg::RsaPkcs1Sha384),
            (Some(HashAlg::Sha512), RsaPadding::Pkcs1v15) => ds(SigAlg::RsaPkcs1Sha512),
            (Some(HashAlg::Sha256), RsaPadding::Pss) => ds(SigAlg::RsaPssSha256),
            (Some(HashAlg::Sha384), RsaPadding::Pss) => ds(SigAlg::RsaPssSha384),
            (Some(HashAlg::Sha512), RsaPadding::Pss) => ds(SigAlg::RsaPssSha512),
            _ => SignatureScheme::RsaPkcs1Sha1,
        }),
    }
}

/// Sets the RSA padding a primitive needs (PSS with its salt and MGF1
/// digest, or PKCS#1 v1.5) on an OpenSSL `Signer` or `Verifier`: the two
/// types share these methods but no trait.
macro_rules! rsa_padding {
    ($ctx:expr, $prim:expr) => {
        if let Some((md, salt)) = $prim.pss_salt() {
            $ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
            $ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))?;
            $ctx.set_rsa_mgf1_md(md)?;
        } else if matches!($prim, Primitive::RsaPkcs1(_)) {
            $ctx.set_rsa_padding(Padding::PKCS1)?;
        }
    };
}

/// Signs the AUTH signed octets (RFC 7296 §2.15) and returns the
/// Authentication Data: the bare signature for methods 1 / 9 / 10 / 11, and
/// length ‖ AlgorithmIdentifier ‖ signature for method 14.
pub fn sign(
    scheme: SignatureScheme,
    key: &PrivateKey,
    signed_octets: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let prim = scheme.primitive();
    if !prim.fits(key.kind()) {
        return Err(CryptoError::Unsupported(format!(
            "{scheme} cannot sign with a {} key",
            key.kind()
        )));
    }
    let pkey = key.pkey();
    let mut signer = match prim.digest() {
        Some(md) => Signer::new(md, pkey)?,
        None => Signer::new_without_digest(pkey)?,
    };
    rsa_padding!(signer, prim);
    let sig = signer.sign_oneshot_to_vec(signed_octets)?;
    match scheme {
        SignatureScheme::DigitalSignature(alg) => {
            let algid = alg.algorithm_identifier();
            let len = u8::try_from(algid.len())
                .map_err(|_| CryptoError::Malformed("AlgorithmIdentifier too long"))?;
            let mut out = Vec::with_capacity(1 + algid.len() + sig.len());
            out.push(len);
            out.extend_from_slice(algid);
            out.extend_from_slice(&sig);
            Ok(out)
        }
        _ => match prim {
            Primitive::EcdsaFixed(curve) => ecdsa_der_to_fixed(&sig, curve),
            _ => Ok(sig),
        },
    }
}

/// Splits method-14 Authentication Data into (algorithm, signature).
pub fn parse_digital_signature(auth_data: &[u8]) -> Result<(SigAlg, &[u8]), CryptoError> {
    let (&len, rest) = auth_data
        .split_first()
        .ok_or(CryptoError::Malformed("empty AUTH data"))?;
    let (algid, sig) = rest
        .split_at_checked(usize::from(len))
        .ok_or(CryptoError::Malformed(
            "AUTH data shorter than its AlgorithmIdentifier length",
        ))?;
    let alg = SigAlg::from_algorithm_identifier(algid)?;
    Ok((alg, sig))
}

/// Verifies the peer's Authentication Data for `auth_method` over the
/// signed octets with the peer's key. Unknown methods and algorithms are
/// `Unsupported`, unparsable method-14 prefixes `Malformed`; a signature
/// that does not verify, or that names an algorithm not matching the key
/// type (e.g. ECDSA with an RSA certificate), is `BadSignature`.
pub fn verify(
    auth_method: u8,
    auth_data: &[u8],
    key: &PublicKey,
    signed_octets: &[u8],
) -> Result<(), CryptoError> {
    let (prim, sig) = match auth_method {
        AUTH_RSA_DIGITAL_SIGNATURE => (Primitive::RsaPkcs1(HashAlg::Sha1), auth_data),
        AUTH_ECDSA_SHA256_P256 => (Primitive::EcdsaFixed(EcCurve::P256), auth_data),
        AUTH_ECDSA_SHA384_P384 => (Primitive::EcdsaFixed(EcCurve::P384), auth_data),
        AUTH_ECDSA_SHA512_P521 => (Primitive::EcdsaFixed(EcCurve::P521), auth_data),
        AUTH_DIGITAL_SIGNATURE => {
            let (alg, sig) = parse_digital_signature(auth_data)?;
            (Primitive::of(alg), sig)
        }
        other => {
            return Err(CryptoError::Unsupported(format!(
                "AUTH method {other} is not a signature method"
            )));
        }
    };
    if !prim.fits(key.kind()) || sig.is_empty() {
        return Err(CryptoError::BadSignature);
    }
    let der;
    let sig = match prim {
        Primitive::EcdsaFixed(curve) => {
            der = ecdsa_fixed_to_der(sig, curve)?;
            &der[..]
        }
        _ => sig,
    };
    match verify_raw(prim, key.pkey(), sig, signed_octets) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(CryptoError::BadSignature),
    }
}

fn verify_raw<T: HasPublic>(
    prim: Primitive,
    pkey: &PKeyRef<T>,
    sig: &[u8],
    data: &[u8],
) -> Result<bool, CryptoError> {
    let mut verifier = match prim.digest() {
        Some(md) => Verifier::new(md, pkey)?,
        None => Verifier::new_without_digest(pkey)?,
    };
    rsa_padding!(verifier, prim);
    Ok(verifier.verify_oneshot(sig, data)?)
}

/// DER Ecdsa-Sig-Value → r‖s, each left-padded to the curve's size.
fn ecdsa_der_to_fixed(der: &[u8], curve: EcCurve) -> Result<Vec<u8>, CryptoError> {
    let sig = EcdsaSig::from_der(der)?;
    let n = i32::try_from(curve.coord_len())
        .map_err(|_| CryptoError::Malformed("length out of range"))?;
    let mut out = sig.r().to_vec_padded(n)?;
    out.extend_from_slice(&sig.s().to_vec_padded(n)?);
    Ok(out)
}

/// r‖s (RFC 4754) → DER Ecdsa-Sig-Value; a wrong length is `BadSignature`.
fn ecdsa_fixed_to_der(fixed: &[u8], curve: EcCurve) -> Result<Vec<u8>, CryptoError> {
    if fixed.len() != 2 * curve.coord_len() {
        return Err(CryptoError::BadSignature);
    }
    let (r, s) = fixed.split_at(curve.coord_len());
    let sig = EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
    Ok(sig.to_der()?)
}

#[cfg(test)]
#[path = "sign_test_vectors.rs"]
mod test_vectors;

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
