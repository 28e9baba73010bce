//! X25519 and X448 key exchange (RFC 7748, used in IKEv2 per RFC 8031):
//! raw 32 / 56 byte public values, a length-only check on the peer's value
//! and the RFC 8031 §2 rejection of an all-zero shared secret.

use openssl::derive::Deriver;
use openssl::pkey::{Id, PKey, Private};
use zeroize::Zeroizing;

use super::dh::DhGroup;
use super::error::CryptoError;

fn id(group: DhGroup) -> Result<Id, CryptoError> {
    match group {
        DhGroup::Curve25519 => Ok(Id::X25519),
        DhGroup::Curve448 => Ok(Id::X448),
        other => Err(CryptoError::Unsupported(format!(
            "{other} is not a Montgomery curve group"
        ))),
    }
}

/// An X25519 / X448 private key (inside OpenSSL) and its group.
pub(crate) struct MontgomeryKey {
    group: DhGroup,
    key: PKey<Private>,
}

impl MontgomeryKey {
    /// A fresh key pair.
    pub(crate) fn generate(group: DhGroup) -> Result<Self, CryptoError> {
        let key = match id(group)? {
            Id::X25519 => PKey::generate_x25519()?,
            _ => PKey::generate_x448()?,
        };
        Ok(MontgomeryKey { group, key })
    }

    /// A key pair from the raw RFC 7748 scalar (32 / 56 bytes).
    pub(crate) fn from_private(group: DhGroup, scalar: &[u8]) -> Result<Self, CryptoError> {
        let id = id(group)?;
        if scalar.len() != group.public_len() {
            return Err(CryptoError::KeyLength {
                alg: group.name(),
                got: scalar.len(),
                expected: group.public_len(),
            });
        }
        let key = PKey::private_key_from_raw_bytes(scalar, id)?;
        Ok(MontgomeryKey { group, key })
    }

    /// The raw public value (u coordinate, little-endian).
    pub(crate) fn public(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.key.raw_public_key()?)
    }

    /// X25519 / X448 with the peer's value; an all-zero result (peer sent a
    /// small-order point) is an error (RFC 8031 §2, RFC 7748 §6).
    pub(crate) fn shared_secret(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let group = self.group;
        let invalid = |reason| group.invalid_public(reason);
        let peer_key = PKey::public_key_from_raw_bytes(peer, id(group)?)
            .map_err(|_| invalid("not a valid public value"))?;
        let mut deriver = Deriver::new(&self.key)?;
        deriver
            .set_peer(&peer_key)
            .map_err(|_| invalid("not a valid public value"))?;
        // OpenSSL itself refuses to output the all-zero value; both that
        // refusal and an all-zero output are reported the same way.
        let secret = Zeroizing::new(
            deriver
                .derive_to_vec()
                .map_err(|_| invalid("all-zero shared secret (small-order point)"))?,
        );
        if secret.iter().fold(0u8, |acc, b| acc | b) == 0 {
            return Err(invalid("all-zero shared secret (small-order point)"));
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ike::crypto::dh::KeyExchange;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    fn check(group: DhGroup, a: &str, pub_a: &str, b: &str, pub_b: &str, shared: &str) {
        let ka = KeyExchange::from_private(group, &h(a)).expect("a");
        let kb = KeyExchange::from_private(group, &h(b)).expect("b");
        assert_eq!(ka.public(), &h(pub_a)[..], "{group} public a");
        assert_eq!(kb.public(), &h(pub_b)[..], "{group} public b");
        assert_eq!(*ka.shared_secret(&h(pub_b)).expect("a side"), h(shared));
        assert_eq!(*kb.shared_secret(&h(pub_a)).expect("b side"), h(shared));
    }

    /// RFC 7748 §6.1 (Alice / Bob), as in strongSwan
    /// src/libstrongswan/plugins/test_vectors/test_vectors/curve25519.c.
    #[test]
    fn rfc7748_x25519() {
        check(
            DhGroup::Curve25519,
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
        );
    }

    /// RFC 8031 Appendix A, as in strongSwan curve25519.c (`curve25519_2`).
    #[test]
    fn rfc8031_x25519() {
        check(
            DhGroup::Curve25519,
            "751fb4308655b476b6789b7325f9ea8cddd16a58533ff6d9e60009464a5f9d94",
            "48d5ddd4061257ba166fa3f9bbdb74f1a4e81c089384fa77f790709f0dfbc766",
            "0a54645253290d60ddadd0e030bacd9e5501efdc220755a1e978f1b839a05688",
            "0be7c1f5aad87d7e448662673298a443478b859745179eaf564c79c0ef6eee25",
            "c74950607a12327f3204d94b6825bfb068b7f8319a9e3708ed3d43ce8130c950",
        );
    }

    /// RFC 7748 §6.2 (Alice / Bob), as in strongSwan curve448.c.
    #[test]
    fn rfc7748_x448() {
        check(
            DhGroup::Curve448,
            "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28d\
             d9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
            "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c\
             22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
            "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d\
             6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
            "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b430\
             27d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
            "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282b\
             b60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
        );
    }

    /// Small-order X25519 points (libsodium's blocklist: 0, 1, the two
    /// order-8 points, p-1, p, p+1): every one must give an error.
    #[test]
    fn x25519_small_order_points_rejected() {
        let ours = KeyExchange::generate(DhGroup::Curve25519).expect("kx");
        let mut ones = "ff".repeat(31);
        ones.push_str("7f");
        let points = [
            "0000000000000000000000000000000000000000000000000000000000000000".to_string(),
            "0100000000000000000000000000000000000000000000000000000000000000".to_string(),
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800".to_string(),
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157".to_string(),
            format!("ec{}", &ones[2..]), // p - 1
            format!("ed{}", &ones[2..]), // p
            format!("ee{}", &ones[2..]), // p + 1
        ];
        for p in points {
            assert!(
                matches!(
                    ours.shared_secret(&h(&p)),
                    Err(CryptoError::InvalidPublicValue { .. })
                ),
                "accepted {p}"
            );
        }
    }

    /// X448 small-order points: u = 0, u = 1 and u = p-1 (RFC 7748 §5 / §7).
    #[test]
    fn x448_small_order_points_rejected() {
        let ours = KeyExchange::generate(DhGroup::Curve448).expect("kx");
        let zero = vec![0u8; 56];
        let mut one = vec![0u8; 56];
        one[0] = 1;
        // p = 2^448 - 2^224 - 1; p - 1 little-endian: fe, ff × 27, fe, ff × 27.
        let mut p_minus_1 = vec![0xffu8; 56];
        p_minus_1[0] = 0xfe;
        p_minus_1[28] = 0xfe;
        for p in [zero, one, p_minus_1] {
            assert!(
                matches!(
                    ours.shared_secret(&p),
                    Err(CryptoError::InvalidPublicValue { .. })
                ),
                "accepted {}",
                hex::encode(&p)
            );
        }
    }

    #[test]
    fn private_length_checked() {
        assert!(matches!(
            KeyExchange::from_private(DhGroup::Curve25519, &[1; 31]),
            Err(CryptoError::KeyLength { .. })
        ));
        assert!(KeyExchange::from_private(DhGroup::Curve448, &[1; 32]).is_err());
    }
}
