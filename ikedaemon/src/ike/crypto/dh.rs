//! IKEv2 key exchange (Transform Type 4): the [`DhGroup`] registry and the
//! [`KeyExchange`] type that owns one ephemeral private key, its KE payload
//! public value and the RFC 6989 / RFC 8031 checks on the peer's value.
//!
//! The arithmetic is done by OpenSSL; the per-family code lives in
//! `dh_modp` (RFC 3526 groups), `dh_ecp` (RFC 5903 groups) and
//! `dh_montgomery` (RFC 8031 X25519 / X448).

use std::fmt;
use std::str::FromStr;

use openssl::bn::{BigNum, BigNumRef};
use zeroize::Zeroizing;

use super::dh_ecp::EcpKey;
use super::dh_modp::ModpKey;
use super::dh_montgomery::MontgomeryKey;
use super::error::CryptoError;

/// A key exchange method of IANA "Transform Type 4 - Key Exchange Method
/// Transform IDs" that this daemon implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhGroup {
    /// 2048-bit MODP group (RFC 3526 §3), id 14.
    Modp2048,
    /// 3072-bit MODP group (RFC 3526 §4), id 15.
    Modp3072,
    /// 4096-bit MODP group (RFC 3526 §5), id 16.
    Modp4096,
    /// 6144-bit MODP group (RFC 3526 §6), id 17.
    Modp6144,
    /// 8192-bit MODP group (RFC 3526 §7), id 18.
    Modp8192,
    /// 256-bit random ECP group, NIST P-256 (RFC 5903), id 19.
    Ecp256,
    /// 384-bit random ECP group, NIST P-384 (RFC 5903), id 20.
    Ecp384,
    /// 521-bit random ECP group, NIST P-521 (RFC 5903), id 21.
    Ecp521,
    /// Curve25519 / X25519 (RFC 8031), id 31.
    Curve25519,
    /// Curve448 / X448 (RFC 8031), id 32.
    Curve448,
}

/// The arithmetic family of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupFamily {
    Modp,
    Ecp,
    Montgomery,
}

impl DhGroup {
    /// Every group, in id order.
    pub const ALL: [DhGroup; 10] = [
        DhGroup::Modp2048,
        DhGroup::Modp3072,
        DhGroup::Modp4096,
        DhGroup::Modp6144,
        DhGroup::Modp8192,
        DhGroup::Ecp256,
        DhGroup::Ecp384,
        DhGroup::Ecp521,
        DhGroup::Curve25519,
        DhGroup::Curve448,
    ];

    /// The group with IANA Transform Type 4 id `id`, if implemented.
    pub fn from_id(id: u16) -> Option<Self> {
        DhGroup::ALL.into_iter().find(|g| g.id() == id)
    }

    /// The IANA Transform Type 4 id.
    pub fn id(self) -> u16 {
        match self {
            DhGroup::Modp2048 => 14,
            DhGroup::Modp3072 => 15,
            DhGroup::Modp4096 => 16,
            DhGroup::Modp6144 => 17,
            DhGroup::Modp8192 => 18,
            DhGroup::Ecp256 => 19,
            DhGroup::Ecp384 => 20,
            DhGroup::Ecp521 => 21,
            DhGroup::Curve25519 => 31,
            DhGroup::Curve448 => 32,
        }
    }

    /// The strongSwan-style proposal keyword ("modp2048", "ecp256", "x25519").
    pub fn name(self) -> &'static str {
        match self {
            DhGroup::Modp2048 => "modp2048",
            DhGroup::Modp3072 => "modp3072",
            DhGroup::Modp4096 => "modp4096",
            DhGroup::Modp6144 => "modp6144",
            DhGroup::Modp8192 => "modp8192",
            DhGroup::Ecp256 => "ecp256",
            DhGroup::Ecp384 => "ecp384",
            DhGroup::Ecp521 => "ecp521",
            DhGroup::Curve25519 => "x25519",
            DhGroup::Curve448 => "x448",
        }
    }

    /// Parses a proposal keyword: every [`name`](Self::name) plus the aliases
    /// "curve25519" and "curve448" (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "curve25519" => Some(DhGroup::Curve25519),
            "curve448" => Some(DhGroup::Curve448),
            other => DhGroup::ALL.into_iter().find(|g| g.name() == other),
        }
    }

    /// Length in bytes of the Key Exchange Data of a KE payload for this
    /// group: len(p) for MODP, x‖y (2 × coordinate, no 0x04 prefix,
    /// RFC 5903 §7) for ECP, 32 / 56 for X25519 / X448.
    pub fn public_len(self) -> usize {
        match self {
            DhGroup::Modp2048 => 256,
            DhGroup::Modp3072 => 384,
            DhGroup::Modp4096 => 512,
            DhGroup::Modp6144 => 768,
            DhGroup::Modp8192 => 1024,
            DhGroup::Ecp256 => 64,
            DhGroup::Ecp384 => 96,
            DhGroup::Ecp521 => 132,
            DhGroup::Curve25519 => 32,
            DhGroup::Curve448 => 56,
        }
    }

    /// The error for a peer public value that fails a check.
    pub(crate) fn invalid_public(self, reason: &'static str) -> CryptoError {
        CryptoError::InvalidPublicValue {
            group: self.name(),
            reason,
        }
    }

    /// Fails unless `peer` has this group's public value length.
    pub(crate) fn check_public_len(self, peer: &[u8]) -> Result<(), CryptoError> {
        if peer.len() == self.public_len() {
            Ok(())
        } else {
            Err(self.invalid_public("wrong length"))
        }
    }

    /// Length in bytes of the shared secret g^ir: len(p) for MODP, the
    /// x coordinate for ECP, 32 / 56 for X25519 / X448.
    pub fn shared_secret_len(self) -> usize {
        match self.family() {
            GroupFamily::Ecp => self.public_len() / 2,
            GroupFamily::Modp | GroupFamily::Montgomery => self.public_len(),
        }
    }

    pub(crate) fn family(self) -> GroupFamily {
        match self {
            DhGroup::Modp2048
            | DhGroup::Modp3072
            | DhGroup::Modp4096
            | DhGroup::Modp6144
            | DhGroup::Modp8192 => GroupFamily::Modp,
            DhGroup::Ecp256 | DhGroup::Ecp384 | DhGroup::Ecp521 => GroupFamily::Ecp,
            DhGroup::Curve25519 | DhGroup::Curve448 => GroupFamily::Montgomery,
        }
    }
}

impl fmt::Display for DhGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DhGroup {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DhGroup::from_name(s)
            .ok_or_else(|| CryptoError::Unsupported(format!("key exchange method {s:?}")))
    }
}

/// The private half, held in OpenSSL objects (freed with cleansing by
/// OpenSSL; no copy of the private value is kept in Rust memory).
enum PrivateHalf {
    Modp(ModpKey),
    Ecp(EcpKey),
    Montgomery(MontgomeryKey),
}

/// One side of one key exchange: an ephemeral private key and the public
/// value that goes into the KE payload.
pub struct KeyExchange {
    group: DhGroup,
    private: PrivateHalf,
    public: Vec<u8>,
}

impl KeyExchange {
    /// Generates a fresh ephemeral key pair for `group`.
    pub fn generate(group: DhGroup) -> Result<Self, CryptoError> {
        let private = match group.family() {
            GroupFamily::Modp => PrivateHalf::Modp(ModpKey::generate(group)?),
            GroupFamily::Ecp => PrivateHalf::Ecp(EcpKey::generate(group)?),
            GroupFamily::Montgomery => PrivateHalf::Montgomery(MontgomeryKey::generate(group)?),
        };
        Self::finish(group, private)
    }

    /// Builds the key pair from a given private value (known-answer tests,
    /// interop debugging). MODP: big-endian exponent x with 1 < x < p-1.
    /// ECP: big-endian scalar d with 0 < d < n. X25519 / X448: the raw
    /// 32 / 56 byte scalar (RFC 7748).
    pub fn from_private(group: DhGroup, private: &[u8]) -> Result<Self, CryptoError> {
        let private = match group.family() {
            GroupFamily::Modp => PrivateHalf::Modp(ModpKey::from_private(group, private)?),
            GroupFamily::Ecp => PrivateHalf::Ecp(EcpKey::from_private(group, private)?),
            GroupFamily::Montgomery => {
                PrivateHalf::Montgomery(MontgomeryKey::from_private(group, private)?)
            }
        };
        Self::finish(group, private)
    }

    fn finish(group: DhGroup, private: PrivateHalf) -> Result<Self, CryptoError> {
        let public = match &private {
            PrivateHalf::Modp(k) => k.public()?,
            PrivateHalf::Ecp(k) => k.public()?,
            PrivateHalf::Montgomery(k) => k.public()?,
        };
        if public.len() != group.public_len() {
            return Err(CryptoError::OpenSsl(format!(
                "{group}: public value is {} bytes, expected {}",
                public.len(),
                group.public_len()
            )));
        }
        Ok(KeyExchange {
            group,
            private,
            public,
        })
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// The Key Exchange Data for our KE payload
    /// ([`DhGroup::public_len`] bytes).
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// Checks the peer's Key Exchange Data and computes the shared secret
    /// g^ir ([`DhGroup::shared_secret_len`] bytes, left-padded with zeros
    /// for MODP, the x coordinate for ECP).
    ///
    /// Checks: MODP length == len(p) and 1 < y < p-1 (RFC 6989 §2.1, the
    /// whole check for the safe-prime RFC 3526 groups);
    /// ECP length, coordinates < p, point on the curve and not at infinity
    /// (RFC 6989 §2.3); X25519 / X448 length, then an all-zero result is
    /// rejected (RFC 8031 §2).
    pub fn shared_secret(&self, peer_public: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        // The one length check; the families rely on it.
        self.group.check_public_len(peer_public)?;
        let secret = match &self.private {
            PrivateHalf::Modp(k) => k.shared_secret(peer_public)?,
            PrivateHalf::Ecp(k) => k.shared_secret(peer_public)?,
            PrivateHalf::Montgomery(k) => k.shared_secret(peer_public)?,
        };
        if secret.len() != self.group.shared_secret_len() {
            return Err(CryptoError::OpenSsl(format!(
                "{}: shared secret is {} bytes, expected {}",
                self.group,
                secret.len(),
                self.group.shared_secret_len()
            )));
        }
        Ok(secret)
    }
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group)
            .field("public_len", &self.public.len())
            .finish_non_exhaustive()
    }
}

/// Copies `raw` into a zeroized buffer of `len` bytes, left-padded with
/// zeros, and wipes `raw`. Errors if `raw` is longer than `len`.
pub(crate) fn left_pad(
    raw: Vec<u8>,
    len: usize,
    group: DhGroup,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let raw = Zeroizing::new(raw);
    let Some(pad) = len.checked_sub(raw.len()) else {
        return Err(CryptoError::OpenSsl(format!(
            "{group}: shared secret longer than {len} bytes"
        )));
    };
    let mut out = Zeroizing::new(vec![0u8; len]);
    if let Some(dst) = out.get_mut(pad..) {
        dst.copy_from_slice(&raw);
    }
    Ok(out)
}

/// A private value as an OpenSSL `BigNum`, erased with `BN_clear` when
/// dropped (the `openssl` crate frees `BigNum`s with plain `BN_free`).
pub(crate) struct SecretBigNum(Option<BigNum>);

impl SecretBigNum {
    /// Big-endian bytes → number.
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        Ok(SecretBigNum(Some(BigNum::from_slice(bytes)?)))
    }

    /// The number (None only after `take`, which consumes `self`).
    pub(crate) fn get(&self) -> Result<&BigNumRef, CryptoError> {
        self.0
            .as_deref()
            .ok_or(CryptoError::Malformed("secret number already taken"))
    }

    /// Hands the number to OpenSSL, which then owns (and clears) it.
    pub(crate) fn take(mut self) -> Result<BigNum, CryptoError> {
        self.0
            .take()
            .ok_or(CryptoError::Malformed("secret number already taken"))
    }
}

impl Drop for SecretBigNum {
    fn drop(&mut self) {
        if let Some(bn) = self.0.as_mut() {
            bn.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_and_lengths() {
        let expected: [(u16, &str, usize); 10] = [
            (14, "modp2048", 256),
            (15, "modp3072", 384),
            (16, "modp4096", 512),
            (17, "modp6144", 768),
            (18, "modp8192", 1024),
            (19, "ecp256", 64),
            (20, "ecp384", 96),
            (21, "ecp521", 132),
            (31, "x25519", 32),
            (32, "x448", 56),
        ];
        for (id, name, len) in expected {
            let g = DhGroup::from_id(id).expect("known id");
            assert_eq!(g.id(), id);
            assert_eq!(g.name(), name);
            assert_eq!(g.to_string(), name);
            assert_eq!(g.public_len(), len);
            assert_eq!(DhGroup::from_name(name), Some(g));
            assert_eq!(name.parse::<DhGroup>(), Ok(g));
        }
        for id in [0u16, 1, 2, 5, 13, 22, 23, 24, 30, 33, 0xffff] {
            assert_eq!(DhGroup::from_id(id), None, "id {id}");
        }
    }

    #[test]
    fn name_aliases() {
        assert_eq!(DhGroup::from_name("curve25519"), Some(DhGroup::Curve25519));
        assert_eq!(DhGroup::from_name("Curve448"), Some(DhGroup::Curve448));
        assert_eq!(DhGroup::from_name("MODP2048"), Some(DhGroup::Modp2048));
        assert_eq!(DhGroup::from_name("modp1024"), None);
        assert!("ecp999".parse::<DhGroup>().is_err());
    }

    #[test]
    fn shared_secret_lengths() {
        assert_eq!(DhGroup::Modp3072.shared_secret_len(), 384);
        assert_eq!(DhGroup::Ecp256.shared_secret_len(), 32);
        assert_eq!(DhGroup::Ecp521.shared_secret_len(), 66);
        assert_eq!(DhGroup::Curve448.shared_secret_len(), 56);
    }

    #[test]
    fn every_group_agrees_with_itself() {
        for g in DhGroup::ALL {
            let a = KeyExchange::generate(g).expect("generate");
            let b = KeyExchange::generate(g).expect("generate");
            assert_eq!(a.public().len(), g.public_len(), "{g}");
            let s1 = a.shared_secret(b.public()).expect("a side");
            let s2 = b.shared_secret(a.public()).expect("b side");
            assert_eq!(s1.len(), g.shared_secret_len(), "{g}");
            assert_eq!(*s1, *s2, "{g}");
            assert_ne!(a.public(), b.public(), "{g}");
        }
    }

    #[test]
    fn wrong_length_rejected_for_every_group() {
        for g in DhGroup::ALL {
            let a = KeyExchange::generate(g).expect("generate");
            let mut long = a.public().to_vec();
            long.push(0);
            let short = &a.public()[1..];
            for bad in [&long[..], short, &[][..]] {
                assert!(
                    matches!(
                        a.shared_secret(bad),
                        Err(CryptoError::InvalidPublicValue { .. })
                    ),
                    "{g}, {} bytes",
                    bad.len()
                );
            }
        }
    }

    #[test]
    fn debug_has_no_key_material() {
        let kx = KeyExchange::from_private(DhGroup::Curve25519, &[0x42; 32]).expect("kx");
        let dbg = format!("{kx:?}");
        assert!(dbg.contains("Curve25519"), "{dbg}");
        assert!(!dbg.contains("42"), "{dbg}");
        assert!(!dbg.to_lowercase().contains("private:"), "{dbg}");
    }

    #[test]
    fn left_pad_pads_and_rejects_overlong() {
        let out = left_pad(vec![1, 2], 4, DhGroup::Modp2048).expect("pad");
        assert_eq!(*out, vec![0, 0, 1, 2]);
        assert!(left_pad(vec![1, 2, 3], 2, DhGroup::Modp2048).is_err());
    }
}
