//! MODP Diffie-Hellman over the RFC 3526 safe-prime groups 14–18
//! (generator 2): key generation, the RFC 6989 §2.1 range check on the
//! peer's value and the left-padded shared secret.
//!
//! The shared secret is derived through `EVP_PKEY_derive`, which returns the
//! value without its leading zero bytes (and with its true length); it is
//! padded back to len(p) here as RFC 7296 §2.14 requires. `Dh::compute_key`
//! of the `openssl` crate is deliberately not used: on OpenSSL 3 it returns a
//! len(p) buffer with the leading zeros moved to the end, which cannot be
//! undone.

use openssl::bn::{BigNum, BigNumRef};
use openssl::derive::Deriver;
use openssl::dh::Dh;
use openssl::pkey::{PKey, Private};
use zeroize::Zeroizing;

use super::dh::{DhGroup, SecretBigNum, left_pad};
use super::error::CryptoError;

/// The RFC 3526 prime of a MODP group.
pub(crate) fn prime(group: DhGroup) -> Result<BigNum, CryptoError> {
    let p = match group {
        DhGroup::Modp2048 => BigNum::get_rfc3526_prime_2048()?,
        DhGroup::Modp3072 => BigNum::get_rfc3526_prime_3072()?,
        DhGroup::Modp4096 => BigNum::get_rfc3526_prime_4096()?,
        DhGroup::Modp6144 => BigNum::get_rfc3526_prime_6144()?,
        DhGroup::Modp8192 => BigNum::get_rfc3526_prime_8192()?,
        other => {
            return Err(CryptoError::Unsupported(format!(
                "{other} is not a MODP group"
            )));
        }
    };
    Ok(p)
}

/// DH parameters with prime `p` and generator 2 (RFC 3526).
fn params(p: BigNum) -> Result<Dh<openssl::pkey::Params>, CryptoError> {
    Ok(Dh::from_pqg(p, None, BigNum::from_u32(2)?)?)
}

/// A MODP private key (inside OpenSSL) and its group.
pub(crate) struct ModpKey {
    group: DhGroup,
    key: PKey<Private>,
    public: Vec<u8>,
}

impl ModpKey {
    /// A fresh key pair; OpenSSL picks the exponent length for the
    /// recognised RFC 3526 group.
    pub(crate) fn generate(group: DhGroup) -> Result<Self, CryptoError> {
        let dh = params(prime(group)?)?.generate_key()?;
        Self::wrap(group, dh)
    }

    /// A key pair from the big-endian exponent `x`, 1 < x < p-1.
    pub(crate) fn from_private(group: DhGroup, x: &[u8]) -> Result<Self, CryptoError> {
        let p = prime(group)?;
        let x = SecretBigNum::from_slice(x)?;
        if !in_open_range(x.get()?, &p)? {
            return Err(CryptoError::Malformed(
                "MODP private value must satisfy 1 < x < p-1",
            ));
        }
        // DH_set0_key takes ownership; DH_free clears it.
        let dh = params(prime(group)?)?.set_private_key(x.take()?)?;
        Self::wrap(group, dh)
    }

    fn wrap(group: DhGroup, dh: Dh<Private>) -> Result<Self, CryptoError> {
        let public = dh
            .public_key()
            .to_vec_padded(len_i32(group.public_len())?)?;
        Ok(ModpKey {
            group,
            key: PKey::from_dh(dh)?,
            public,
        })
    }

    /// y = g^x mod p, left-padded to len(p).
    pub(crate) fn public(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.public.clone())
    }

    /// Checks 1 < y < p-1 and returns g^xy mod p, left-padded to len(p).
    ///
    /// The RFC 3526 primes are safe primes (p = 2q + 1), whose only small
    /// subgroup, {1, p-1}, the range check excludes: that is the whole
    /// RFC 6989 check for them (§2.1; the y^q = 1 test of §2.2 is for
    /// groups with small subgroups, such as RFC 5114's). OpenSSL's peer
    /// validation would add that test, a full-size modular exponentiation
    /// (about 1.5 ms for MODP-2048, as much as the key agreement itself),
    /// so it is switched off; OpenSSL's own range check still runs.
    pub(crate) fn shared_secret(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let group = self.group;
        let invalid = |reason| group.invalid_public(reason);
        let p = prime(group)?;
        let y = BigNum::from_slice(peer)?;
        if !in_open_range(&y, &p)? {
            return Err(invalid("not in the range 1 < y < p-1"));
        }
        let peer_dh = params(p)?.set_public_key(y)?;
        let peer_key = PKey::from_dh(peer_dh)?;
        let mut deriver = Deriver::new(&self.key)?;
        deriver
            .set_peer_ex(&peer_key, false)
            .map_err(|_| invalid("rejected by the OpenSSL public value check"))?;
        let raw = deriver.derive_to_vec()?;
        left_pad(raw, group.shared_secret_len(), group)
    }
}

/// True when 1 < v < p-1.
fn in_open_range(v: &BigNumRef, p: &BigNumRef) -> Result<bool, CryptoError> {
    let one = BigNum::from_u32(1)?;
    let mut p_minus_1 = BigNum::new()?;
    p_minus_1.checked_sub(p, &one)?;
    Ok(v.ucmp(&one).is_gt() && !v.is_negative() && v.ucmp(&p_minus_1).is_lt())
}

fn len_i32(len: usize) -> Result<i32, CryptoError> {
    i32::try_from(len).map_err(|_| CryptoError::Malformed("length out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ike::crypto::dh::KeyExchange;

    const MODP: [DhGroup; 5] = [
        DhGroup::Modp2048,
        DhGroup::Modp3072,
        DhGroup::Modp4096,
        DhGroup::Modp6144,
        DhGroup::Modp8192,
    ];

    fn p_bytes(group: DhGroup) -> Vec<u8> {
        prime(group)
            .expect("prime")
            .to_vec_padded(group.public_len() as i32)
            .expect("pad")
    }

    fn be(value: u32, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        v[len - 4..].copy_from_slice(&value.to_be_bytes());
        v
    }

    #[test]
    fn prime_lengths_match_public_len() {
        for g in MODP {
            let p = prime(g).expect("prime");
            assert_eq!(p.num_bytes() as usize, g.public_len(), "{g}");
            // RFC 3526 primes start and end with 64 one bits.
            let bytes = p.to_vec();
            assert!(bytes[..8].iter().all(|&b| b == 0xff), "{g}");
            assert!(bytes[bytes.len() - 8..].iter().all(|&b| b == 0xff), "{g}");
        }
        assert!(prime(DhGroup::Ecp256).is_err());
    }

    /// RFC 6989 §2.1 negative tests: y = 0, 1, p-1, p, p+1 and all-ones.
    #[test]
    fn rfc6989_out_of_range_values_rejected() {
        for g in MODP {
            let kx = KeyExchange::generate(g).expect("generate");
            let len = g.public_len();
            let p = p_bytes(g);
            let mut p_minus_1 = p.clone();
            *p_minus_1.last_mut().expect("non-empty") -= 1;
            let mut p_plus_1 = p.clone();
            *p_plus_1.last_mut().expect("non-empty") = 0; // p ends in 0xff
            let mut carry_idx = len - 2;
            while p_plus_1[carry_idx] == 0xff {
                p_plus_1[carry_idx] = 0;
                carry_idx -= 1;
            }
            p_plus_1[carry_idx] += 1;
            let all_ones = vec![0xff; len];
            for (what, bad) in [
                ("0", be(0, len)),
                ("1", be(1, len)),
                ("p-1", p_minus_1),
                ("p", p.clone()),
                ("p+1", p_plus_1),
                ("2^n-1", all_ones),
            ] {
                assert!(
                    matches!(
                        kx.shared_secret(&bad),
                        Err(CryptoError::InvalidPublicValue { .. })
                    ),
                    "{g}: y = {what} accepted"
                );
            }
            // y = 2 = g is in range and accepted.
            assert!(kx.shared_secret(&be(2, len)).is_ok(), "{g}: y = 2");
            // y = p-2 is in range but outside the order-q subgroup; for a
            // safe prime RFC 6989 §2.1 asks only for the range check (the
            // value can reveal at most one bit of an ephemeral exponent).
            let mut p_minus_2 = p.clone();
            *p_minus_2.last_mut().expect("non-empty") -= 2;
            assert!(kx.shared_secret(&p_minus_2).is_ok(), "{g}: y = p-2");
        }
    }

    #[test]
    fn private_value_range_checked() {
        let len = DhGroup::Modp2048.public_len();
        for bad in [be(0, len), be(1, len), p_bytes(DhGroup::Modp2048)] {
            assert!(KeyExchange::from_private(DhGroup::Modp2048, &bad).is_err());
        }
        assert!(KeyExchange::from_private(DhGroup::Modp2048, &[2]).is_ok());
    }

    /// A shared secret whose top byte is zero must still be len(p) bytes.
    /// The peer is fixed (x = 0x1234567); our private value is searched
    /// deterministically from 2 upwards until g^xy mod p has a zero top byte.
    #[test]
    fn leading_zero_shared_secret_is_padded() {
        let g = DhGroup::Modp2048;
        let peer = KeyExchange::from_private(g, &0x0123_4567u32.to_be_bytes()).expect("peer");
        let mut found = None;
        for x in 2u32..20_000 {
            let ours = KeyExchange::from_private(g, &x.to_be_bytes()).expect("ours");
            let s = ours.shared_secret(peer.public()).expect("secret");
            assert_eq!(s.len(), 256, "x = {x}");
            if s[0] == 0 {
                found = Some((x, ours, s));
                break;
            }
        }
        let (x, ours, s) = found.expect("a leading-zero secret within the search range");
        assert_eq!(s.len(), g.public_len(), "x = {x}");
        assert_eq!(s[0], 0, "x = {x}");
        // Both sides agree on the padded value.
        let theirs = peer.shared_secret(ours.public()).expect("peer side");
        assert_eq!(*theirs, *s);
    }
}
