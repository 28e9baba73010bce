//! IKEv2 integrity algorithms (Transform Type 3): [`IntegAlg`] and the keyed
//! [`Integ`] that computes a truncated ICV and verifies one in constant time.

use zeroize::Zeroizing;

use super::CryptoError;
use super::prf::{PrfAlg, prf_parts};

/// A negotiated IKEv2 integrity algorithm (IANA "Transform Type 3 -
/// Integrity Algorithm Transform IDs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegAlg {
    /// AUTH_HMAC_SHA1_96 (2), RFC 2404.
    HmacSha1_96,
    /// AUTH_AES_XCBC_96 (5), RFC 3566.
    AesXcbc96,
    /// AUTH_AES_CMAC_96 (8), RFC 4494.
    AesCmac96,
    /// AUTH_HMAC_SHA2_256_128 (12), RFC 4868.
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192 (13), RFC 4868.
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256 (14), RFC 4868.
    HmacSha512_256,
}

impl IntegAlg {
    /// The PRF with the same hash or cipher. Keyed with exactly
    /// [`IntegAlg::key_len`] bytes it computes this MAC untruncated.
    pub fn prf(self) -> PrfAlg {
        match self {
            IntegAlg::HmacSha1_96 => PrfAlg::HmacSha1,
            IntegAlg::HmacSha256_128 => PrfAlg::HmacSha256,
            IntegAlg::HmacSha384_192 => PrfAlg::HmacSha384,
            IntegAlg::HmacSha512_256 => PrfAlg::HmacSha512,
            IntegAlg::AesXcbc96 => PrfAlg::Aes128Xcbc,
            IntegAlg::AesCmac96 => PrfAlg::Aes128Cmac,
        }
    }

    /// Every integrity algorithm this suite implements.
    pub const ALL: [IntegAlg; 6] = [
        IntegAlg::HmacSha1_96,
        IntegAlg::AesXcbc96,
        IntegAlg::AesCmac96,
        IntegAlg::HmacSha256_128,
        IntegAlg::HmacSha384_192,
        IntegAlg::HmacSha512_256,
    ];

    /// The algorithm for an IANA transform id, or `None` if not implemented.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// The IANA transform id.
    pub fn id(self) -> u16 {
        match self {
            IntegAlg::HmacSha1_96 => 2,
            IntegAlg::AesXcbc96 => 5,
            IntegAlg::AesCmac96 => 8,
            IntegAlg::HmacSha256_128 => 12,
            IntegAlg::HmacSha384_192 => 13,
            IntegAlg::HmacSha512_256 => 14,
        }
    }

    /// The strongSwan proposal keyword, e.g. `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            IntegAlg::HmacSha1_96 => "sha1",
            IntegAlg::AesXcbc96 => "aesxcbc",
            IntegAlg::AesCmac96 => "aescmac",
            IntegAlg::HmacSha256_128 => "sha256",
            IntegAlg::HmacSha384_192 => "sha384",
            IntegAlg::HmacSha512_256 => "sha512",
        }
    }

    /// Key length in bytes (the length of SK_ai / SK_ar).
    pub fn key_len(self) -> usize {
        match self {
            IntegAlg::HmacSha1_96 => 20,
            IntegAlg::AesXcbc96 | IntegAlg::AesCmac96 => 16,
            IntegAlg::HmacSha256_128 => 32,
            IntegAlg::HmacSha384_192 => 48,
            IntegAlg::HmacSha512_256 => 64,
        }
    }

    /// Length of the (truncated) integrity check value, in bytes.
    pub fn icv_len(self) -> usize {
        match self {
            IntegAlg::HmacSha1_96 | IntegAlg::AesXcbc96 | IntegAlg::AesCmac96 => 12,
            IntegAlg::HmacSha256_128 => 16,
            IntegAlg::HmacSha384_192 => 24,
            IntegAlg::HmacSha512_256 => 32,
        }
    }
}

/// An integrity algorithm bound to its key. `Debug` never shows the key.
#[derive(Clone)]
pub struct Integ {
    alg: IntegAlg,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Integ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integ")
            .field("alg", &self.alg)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Integ {
    /// Binds `alg` to `key`, which must be exactly `alg.key_len()` bytes.
    pub fn new(alg: IntegAlg, key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::KeyLength {
                alg: alg.name(),
                got: key.len(),
                expected: alg.key_len(),
            });
        }
        Ok(Integ {
            alg,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// The algorithm.
    pub fn alg(&self) -> IntegAlg {
        self.alg
    }

    /// The truncated ICV over the concatenation of `parts`.
    pub fn compute(&self, parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
        // The key has the MAC's exact length (`new`), so the PRF is the
        // MAC itself (RFC 4434/4615 leave such keys as they are).
        let full = prf_parts(self.alg.prf(), &self.key, parts)?;
        full.get(..self.alg.icv_len())
            .map(<[u8]>::to_vec)
            .ok_or(CryptoError::Malformed("MAC shorter than its ICV"))
    }

    /// Checks `icv` against the ICV over `parts` in constant time; a wrong
    /// length or value is [`CryptoError::IntegrityCheckFailed`].
    pub fn verify(&self, parts: &[&[u8]], icv: &[u8]) -> Result<(), CryptoError> {
        let want = self.compute(parts)?;
        if icv.len() == want.len() && openssl::memcmp::eq(&want, icv) {
            Ok(())
        } else {
            Err(CryptoError::IntegrityCheckFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn check(alg: IntegAlg, key: &[u8], data: &[u8], want: &str) {
        let integ = Integ::new(alg, key).unwrap();
        let icv = integ.compute(&[data]).unwrap();
        assert_eq!(hex::encode(&icv), want, "{}", alg.name());
        integ.verify(&[data], &icv).unwrap();
    }

    #[test]
    fn ids_names_lengths() {
        for alg in IntegAlg::ALL {
            assert_eq!(IntegAlg::from_id(alg.id()), Some(alg));
        }
        assert_eq!(IntegAlg::from_id(1), None); // AUTH_HMAC_MD5_96
        assert_eq!(IntegAlg::from_id(12), Some(IntegAlg::HmacSha256_128));
        assert_eq!(IntegAlg::HmacSha384_192.name(), "sha384");
        assert_eq!(IntegAlg::AesXcbc96.key_len(), 16);
        assert_eq!(IntegAlg::HmacSha512_256.icv_len(), 32);
    }

    // RFC 2202 via RFC 2404 (sha1_hmac_s1, s4) and RFC 4868 §2.7.2
    // (sha{256,384,512}_hmac_s1..s3), as carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/sha1_hmac.c and
    // sha2_hmac.c.
    #[test]
    fn hmac_vectors() {
        use IntegAlg::*;
        check(
            HmacSha1_96,
            &[0x0b; 20],
            b"Hi There",
            "b617318655057264e28bc0b6",
        );
        check(
            HmacSha1_96,
            &[0xaa; 20],
            &[0xdd; 50],
            "125d7342b9ac11cd91a39af4",
        );
        check(
            HmacSha256_128,
            &[0x0b; 32],
            b"Hi There",
            "198a607eb44bfbc69903a0f1cf2bbdc5",
        );
        check(
            HmacSha384_192,
            &[0x0b; 48],
            b"Hi There",
            "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973",
        );
        check(
            HmacSha512_256,
            &[0x0b; 64],
            b"Hi There",
            "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8",
        );
        let q = b"what do ya want for nothing?";
        check(
            HmacSha256_128,
            &b"Jefe".repeat(8),
            q,
            "167f928588c5cc2eef8e3093caa0e87c",
        );
        check(
            HmacSha384_192,
            &b"Jefe".repeat(12),
            q,
            "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d",
        );
        check(
            HmacSha512_256,
            &b"Jefe".repeat(16),
            q,
            "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454",
        );
        check(
            HmacSha256_128,
            &[0xaa; 32],
            &[0xdd; 50],
            "cdcb1220d1ecccea91e53aba3092f962",
        );
        check(
            HmacSha384_192,
            &[0xaa; 48],
            &[0xdd; 50],
            "809f439be00274321d4a538652164b53554a508184a0c316",
        );
        check(
            HmacSha512_256,
            &[0xaa; 64],
            &[0xdd; 50],
            "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8",
        );
    }

    // RFC 3566 §4.6 (aes_xcbc_s1..s5) and RFC 4494 §4 (aes_cmac_s1..s4), as
    // carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/aes_xcbc.c and
    // aes_cmac.c.
    #[test]
    fn aes_96_vectors() {
        let k = h("000102030405060708090a0b0c0d0e0f");
        let m: Vec<u8> = (0..32).collect();
        check(IntegAlg::AesXcbc96, &k, &m[..0], "75f0251d528ac01c4573dfd5");
        check(IntegAlg::AesXcbc96, &k, &m[..3], "5b376580ae2f19afe7219cee");
        check(
            IntegAlg::AesXcbc96,
            &k,
            &m[..16],
            "d2a246fa349b68a79998a439",
        );
        check(
            IntegAlg::AesXcbc96,
            &k,
            &m[..20],
            "47f51b4564966215b8985c63",
        );
        check(
            IntegAlg::AesXcbc96,
            &k,
            &m[..32],
            "f54f0ec8d2b9f3d36807734b",
        );
        let k = h("2b7e151628aed2a6abf7158809cf4f3c");
        let m = h(concat!(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
        ));
        check(IntegAlg::AesCmac96, &k, &m[..0], "bb1d6929e95937287fa37d12");
        check(
            IntegAlg::AesCmac96,
            &k,
            &m[..16],
            "070a16b46b4d4144f79bdd9d",
        );
        check(
            IntegAlg::AesCmac96,
            &k,
            &m[..40],
            "dfa66747de9ae63030ca3261",
        );
        check(
            IntegAlg::AesCmac96,
            &k,
            &m[..64],
            "51f0bebf7e3b9d92fc497417",
        );
    }

    #[test]
    fn verify_rejects_wrong_icv_and_length() {
        for alg in IntegAlg::ALL {
            let integ = Integ::new(alg, &vec![7u8; alg.key_len()]).unwrap();
            let mut icv = integ.compute(&[b"msg"]).unwrap();
            assert_eq!(icv.len(), alg.icv_len());
            assert_eq!(
                integ.verify(&[b"msg"], &icv[..icv.len() - 1]),
                Err(CryptoError::IntegrityCheckFailed)
            );
            assert_eq!(
                integ.verify(&[b"msg"], &[]),
                Err(CryptoError::IntegrityCheckFailed)
            );
            icv[0] ^= 1;
            assert_eq!(
                integ.verify(&[b"msg"], &icv),
                Err(CryptoError::IntegrityCheckFailed)
            );
        }
    }

    #[test]
    fn key_length_checked_and_debug_redacted() {
        assert!(matches!(
            Integ::new(IntegAlg::HmacSha256_128, &[1u8; 31]),
            Err(CryptoError::KeyLength {
                got: 31,
                expected: 32,
                ..
            })
        ));
        let integ = Integ::new(IntegAlg::HmacSha1_96, &[0xab; 20]).unwrap();
        let dbg = format!("{integ:?}");
        assert!(dbg.contains("<redacted>") && !dbg.contains("171") && !dbg.contains("ab"));
    }
}
