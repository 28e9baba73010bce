//! Signing keys for IKEv2 AUTH: loading a [`PrivateKey`] from PEM or DER
//! (RSA, EC P-256/384/521, Ed25519, Ed448) and a [`PublicKey`] from an
//! X.509 certificate, a SubjectPublicKeyInfo (the RFC 7670 raw public key
//! form) or raw EdDSA bytes. The key material stays inside OpenSSL objects;
//! `Debug` shows only the key type.

use std::fmt;

use openssl::ec::EcGroup;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::X509;

use super::error::CryptoError;
use super::sig_algid::HashAlg;

/// The NIST curves usable for ECDSA AUTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcCurve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl EcCurve {
    /// "P-256", "P-384", "P-521".
    pub fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }

    /// Bytes of one coordinate / of r and s in the RFC 4754 encoding.
    pub fn coord_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
            EcCurve::P521 => 66,
        }
    }

    /// The hash RFC 4754 pairs with the curve.
    pub fn hash(self) -> HashAlg {
        match self {
            EcCurve::P256 => HashAlg::Sha256,
            EcCurve::P384 => HashAlg::Sha384,
            EcCurve::P521 => HashAlg::Sha512,
        }
    }

    fn nid(self) -> Nid {
        match self {
            EcCurve::P256 => Nid::X9_62_PRIME256V1,
            EcCurve::P384 => Nid::SECP384R1,
            EcCurve::P521 => Nid::SECP521R1,
        }
    }

    fn from_nid(nid: Nid) -> Option<Self> {
        [EcCurve::P256, EcCurve::P384, EcCurve::P521]
            .into_iter()
            .find(|c| c.nid() == nid)
    }
}

/// The type of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// RSA with the modulus size in bits.
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
    /// ECDSA on a NIST curve.
    Ec(EcCurve),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Rsa { bits } => write!(f, "RSA-{bits}"),
            KeyKind::Ec(c) => write!(f, "EC {}", c.name()),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Ed448 => f.write_str("Ed448"),
        }
    }
}

/// Classifies an OpenSSL key; anything but the supported kinds is an error.
fn classify<T: HasPublic>(pkey: &PKeyRef<T>) -> Result<KeyKind, CryptoError> {
    match pkey.id() {
        Id::RSA => Ok(KeyKind::Rsa { bits: pkey.bits() }),
        Id::EC => {
            let ec = pkey.ec_key()?;
            ec.group()
                .curve_name()
                .and_then(EcCurve::from_nid)
                .map(KeyKind::Ec)
                .ok_or_else(|| CryptoError::Unsupported("EC key on an unsupported curve".into()))
        }
        Id::ED25519 => Ok(KeyKind::Ed25519),
        Id::ED448 => Ok(KeyKind::Ed448),
        Id::RSA_PSS => Err(CryptoError::Unsupported(
            "RSASSA-PSS-restricted RSA keys (id-RSASSA-PSS)".into(),
        )),
        other => Err(CryptoError::Unsupported(format!(
            "key type {}",
            other.as_raw()
        ))),
    }
}

/// A private signing key.
pub struct PrivateKey {
    pkey: PKey<Private>,
    kind: KeyKind,
}

impl PrivateKey {
    /// Loads a PEM private key ("PRIVATE KEY" PKCS#8, "RSA PRIVATE KEY" or
    /// "EC PRIVATE KEY"). Encrypted keys are refused without prompting.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        // The callback answers any passphrase request with an empty
        // passphrase, so OpenSSL never prompts on a terminal.
        let pkey = PKey::private_key_from_pem_callback(pem, |_buf| Ok(0))
            .map_err(|_| CryptoError::Malformed("not a usable unencrypted PEM private key"))?;
        Self::new(pkey)
    }

    /// Loads a DER private key (unencrypted PKCS#8 or the traditional RSA /
    /// EC structures).
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pkey = PKey::private_key_from_der(der)
            .map_err(|_| CryptoError::Malformed("not a usable DER private key"))?;
        Self::new(pkey)
    }

    /// Loads PEM when the data starts with "-----BEGIN" (after whitespace),
    /// DER otherwise.
    pub fn load(data: &[u8]) -> Result<Self, CryptoError> {
        if is_pem(data) {
            Self::from_pem(data)
        } else {
            Self::from_der(data)
        }
    }

    /// Generates a fresh key of the given kind (RSA with 65537).
    pub fn generate(kind: KeyKind) -> Result<Self, CryptoError> {
        let pkey = match kind {
            KeyKind::Rsa { bits } => PKey::from_rsa(Rsa::generate(bits)?)?,
            KeyKind::Ec(curve) => {
                let group = EcGroup::from_curve_name(curve.nid())?;
                PKey::from_ec_key(openssl::ec::EcKey::generate(&group)?)?
            }
            KeyKind::Ed25519 => PKey::generate_ed25519()?,
            KeyKind::Ed448 => PKey::generate_ed448()?,
        };
        Self::new(pkey)
    }

    fn new(pkey: PKey<Private>) -> Result<Self, CryptoError> {
        let kind = classify(&pkey)?;
        Ok(PrivateKey { pkey, kind })
    }

    /// The key type.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, CryptoError> {
        let der = self.pkey.public_key_to_der()?;
        PublicKey::from_spki_der(&der)
    }

    pub(crate) fn pkey(&self) -> &PKeyRef<Private> {
        &self.pkey
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A peer's public signature verification key.
#[derive(Clone)]
pub struct PublicKey {
    pkey: PKey<Public>,
    kind: KeyKind,
}

impl PublicKey {
    /// The subject public key of a DER X.509 certificate (the CERT payload
    /// encoding 4). The certificate itself is not validated here.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, CryptoError> {
        let cert = X509::from_der(der)
            .map_err(|_| CryptoError::Malformed("not a DER X.509 certificate"))?;
        Self::new(cert.public_key()?)
    }

    /// The subject public key of a PEM X.509 certificate.
    pub fn from_certificate_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        let cert = X509::from_pem(pem)
            .map_err(|_| CryptoError::Malformed("not a PEM X.509 certificate"))?;
        Self::new(cert.public_key()?)
    }

    /// A DER SubjectPublicKeyInfo (the raw public key of RFC 7670, CERT
    /// encoding 15).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pkey = PKey::public_key_from_der(der)
            .map_err(|_| CryptoError::Malformed("not a DER SubjectPublicKeyInfo"))?;
        Self::new(pkey)
    }

    /// A raw Ed25519 (32 bytes) or Ed448 (57 bytes) public key (RFC 8032).
    pub fn from_raw_eddsa(kind: KeyKind, raw: &[u8]) -> Result<Self, CryptoError> {
        let (id, len) = match kind {
            KeyKind::Ed25519 => (Id::ED25519, 32),
            KeyKind::Ed448 => (Id::ED448, 57),
            other => {
                return Err(CryptoError::Unsupported(format!(
                    "raw public key of type {other}"
                )));
            }
        };
        if raw.len() != len {
            return Err(CryptoError::KeyLength {
                alg: if len == 32 { "Ed25519" } else { "Ed448" },
                got: raw.len(),
                expected: len,
            });
        }
        let pkey = PKey::public_key_from_raw_bytes(raw, id)
            .map_err(|_| CryptoError::Malformed("not a valid EdDSA public key"))?;
        Self::new(pkey)
    }

    fn new(pkey: PKey<Public>) -> Result<Self, CryptoError> {
        let kind = classify(&pkey)?;
        Ok(PublicKey { pkey, kind })
    }

    /// The key type.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.pkey.public_key_to_der()?)
    }

    pub(crate) fn pkey(&self) -> &PKeyRef<Public> {
        &self.pkey
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn is_pem(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    data.get(start..)
        .is_some_and(|rest| rest.starts_with(b"-----BEGIN"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_kinds_round_trip_through_pem_and_der() {
        for kind in [
            KeyKind::Ec(EcCurve::P256),
            KeyKind::Ec(EcCurve::P384),
            KeyKind::Ec(EcCurve::P521),
            KeyKind::Ed25519,
            KeyKind::Ed448,
        ] {
            let key = PrivateKey::generate(kind).expect("generate");
            assert_eq!(key.kind(), kind);
            let pem = key.pkey().private_key_to_pem_pkcs8().expect("pem");
            let der = key.pkey().private_key_to_der().expect("der");
            assert_eq!(PrivateKey::load(&pem).expect("pem").kind(), kind);
            assert_eq!(PrivateKey::load(&der).expect("der").kind(), kind);
            let public = key.public_key().expect("public");
            assert_eq!(public.kind(), kind);
            let spki = public.to_spki_der().expect("spki");
            assert_eq!(PublicKey::from_spki_der(&spki).expect("spki").kind(), kind);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        for data in [
            &b""[..],
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n",
            b"\x30\x03\x02\x01",
        ] {
            assert!(PrivateKey::load(data).is_err());
            assert!(PublicKey::from_spki_der(data).is_err());
            assert!(PublicKey::from_certificate_der(data).is_err());
        }
        assert!(matches!(
            PublicKey::from_raw_eddsa(KeyKind::Ed25519, &[0; 31]),
            Err(CryptoError::KeyLength { .. })
        ));
        assert!(PublicKey::from_raw_eddsa(KeyKind::Ec(EcCurve::P256), &[0; 32]).is_err());
    }

    #[test]
    fn unsupported_curve_refused() {
        let group = EcGroup::from_curve_name(Nid::SECP256K1).expect("k1");
        let key = openssl::ec::EcKey::generate(&group).expect("key");
        let der = PKey::from_ec_key(key)
            .expect("pkey")
            .private_key_to_der()
            .expect("der");
        assert!(matches!(
            PrivateKey::from_der(&der),
            Err(CryptoError::Unsupported(_))
        ));
    }

    #[test]
    fn debug_shows_kind_only() {
        let key = PrivateKey::generate(KeyKind::Ed25519).expect("key");
        let raw = key.pkey().raw_private_key().expect("raw");
        let dbg = format!("{key:?} {:?}", key.public_key().expect("public"));
        assert_eq!(
            dbg,
            "PrivateKey { kind: Ed25519, .. } PublicKey { kind: Ed25519, .. }"
        );
        assert!(!dbg.contains(&hex::encode(raw)));
        assert_eq!(KeyKind::Rsa { bits: 2048 }.to_string(), "RSA-2048");
        assert_eq!(KeyKind::Ec(EcCurve::P384).to_string(), "EC P-384");
    }
}
