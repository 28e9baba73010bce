//! IKEv2 pseudo-random functions (Transform Type 2) and prf+ (RFC 7296
//! §2.13).
//!
//! Owns [`PrfAlg`], the one-shot [`prf`] / [`prf_parts`], [`prf_plus`], and
//! the HMAC primitive shared with the integrity transforms. The AES-based
//! PRFs take keys of any length: AES-XCBC-PRF-128 as RFC 4434 §2 says (a
//! shorter key is padded on the right with zero bits, a longer one is first
//! reduced with AES-XCBC-PRF-128 under the all-zero key) and AES-CMAC-PRF-128
//! as RFC 4615 §3 says (any key that is not exactly 128 bits, shorter or
//! longer, is replaced by AES-CMAC under the all-zero key).

use openssl::hash::{Hasher, MessageDigest};
use zeroize::Zeroizing;

use super::CryptoError;
use super::xcbc::{AES_BLOCK, aes_cmac, aes_xcbc_mac};

/// A negotiated IKEv2 PRF (IANA "Transform Type 2 - Pseudorandom Function
/// Transform IDs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrfAlg {
    /// PRF_HMAC_SHA1 (2), RFC 2104.
    HmacSha1,
    /// PRF_AES128_XCBC (4), RFC 4434.
    Aes128Xcbc,
    /// PRF_HMAC_SHA2_256 (5), RFC 4868.
    HmacSha256,
    /// PRF_HMAC_SHA2_384 (6), RFC 4868.
    HmacSha384,
    /// PRF_HMAC_SHA2_512 (7), RFC 4868.
    HmacSha512,
    /// PRF_AES128_CMAC (8), RFC 4615.
    Aes128Cmac,
}

impl PrfAlg {
    /// Every PRF this suite implements.
    pub const ALL: [PrfAlg; 6] = [
        PrfAlg::HmacSha1,
        PrfAlg::Aes128Xcbc,
        PrfAlg::HmacSha256,
        PrfAlg::HmacSha384,
        PrfAlg::HmacSha512,
        PrfAlg::Aes128Cmac,
    ];

    /// The PRF for an IANA transform id, or `None` if not implemented.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// The IANA transform id.
    pub fn id(self) -> u16 {
        match self {
            PrfAlg::HmacSha1 => 2,
            PrfAlg::Aes128Xcbc => 4,
            PrfAlg::HmacSha256 => 5,
            PrfAlg::HmacSha384 => 6,
            PrfAlg::HmacSha512 => 7,
            PrfAlg::Aes128Cmac => 8,
        }
    }

    /// The strongSwan proposal keyword, e.g. `prfsha256`.
    pub fn name(self) -> &'static str {
        match self {
            PrfAlg::HmacSha1 => "prfsha1",
            PrfAlg::Aes128Xcbc => "prfaesxcbc",
            PrfAlg::HmacSha256 => "prfsha256",
            PrfAlg::HmacSha384 => "prfsha384",
            PrfAlg::HmacSha512 => "prfsha512",
            PrfAlg::Aes128Cmac => "prfaescmac",
        }
    }

    /// Length of one PRF output block, in bytes.
    pub fn output_len(self) -> usize {
        match self {
            PrfAlg::HmacSha1 => 20,
            PrfAlg::Aes128Xcbc | PrfAlg::Aes128Cmac => AES_BLOCK,
            PrfAlg::HmacSha256 => 32,
            PrfAlg::HmacSha384 => 48,
            PrfAlg::HmacSha512 => 64,
        }
    }

    /// The preferred key length in bytes (RFC 7296 §2.13: the length of
    /// SK_d, SK_pi and SK_pr). Equal to [`Self::output_len`] for every PRF here.
    pub fn preferred_key_len(self) -> usize {
        self.output_len()
    }

    /// True for the PRFs whose underlying MAC takes a fixed-length key
    /// (AES-XCBC, AES-CMAC); RFC 7296 §2.14 then builds the SKEYSEED key from
    /// the first half-key bits of Ni and of Nr.
    pub fn has_fixed_key_len(self) -> bool {
        matches!(self, PrfAlg::Aes128Xcbc | PrfAlg::Aes128Cmac)
    }

    fn digest(self) -> Option<MessageDigest> {
        match self {
            PrfAlg::HmacSha1 => Some(MessageDigest::sha1()),
            PrfAlg::HmacSha256 => Some(MessageDigest::sha256()),
            PrfAlg::HmacSha384 => Some(MessageDigest::sha384()),
            PrfAlg::HmacSha512 => Some(MessageDigest::sha512()),
            PrfAlg::Aes128Xcbc | PrfAlg::Aes128Cmac => None,
        }
    }
}

/// HMAC (RFC 2104) over the concatenation of `parts`; full-length output.
///
/// Written out over OpenSSL's digest (`Hasher`) instead of the crate's
/// `PKey::hmac` + `Signer`: on OpenSSL 3 that path builds a MAC provider
/// context per call and costs about 12 µs for a 100-byte input on the
/// build machines, against 1.8 µs here — and a handshake makes dozens of
/// PRF calls (prf+, AUTH, ICVs). The known-answer tests (RFC 2202,
/// RFC 4231, RFC 4868) pin the result.
pub(crate) fn hmac(
    md: MessageDigest,
    key: &[u8],
    parts: &[&[u8]],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let block = md.block_size();
    let mut k = Zeroizing::new(vec![0u8; block]);
    if key.len() > block {
        let digest = openssl::hash::hash(md, key)?;
        k.get_mut(..digest.len())
            .ok_or(CryptoError::Malformed("digest longer than its block"))?
            .copy_from_slice(&digest);
    } else if let Some(head) = k.get_mut(..key.len()) {
        head.copy_from_slice(key);
    }
    let pad = |x: u8| -> Zeroizing<Vec<u8>> { Zeroizing::new(k.iter().map(|b| b ^ x).collect()) };
    let mut inner = Hasher::new(md)?;
    inner.update(&pad(0x36))?;
    for p in parts {
        inner.update(p)?;
    }
    let inner = inner.finish()?;
    let mut outer = Hasher::new(md)?;
    outer.update(&pad(0x5c))?;
    outer.update(&inner)?;
    Ok(Zeroizing::new(outer.finish()?.to_vec()))
}

/// RFC 4434 §2: the 128-bit AES-XCBC key for a variable-length PRF key.
fn xcbc_prf_key(key: &[u8]) -> Result<Zeroizing<[u8; AES_BLOCK]>, CryptoError> {
    if key.len() > AES_BLOCK {
        return aes_xcbc_mac(&[0u8; AES_BLOCK], &[key]);
    }
    let mut k = Zeroizing::new([0u8; AES_BLOCK]);
    if let Some(head) = k.get_mut(..key.len()) {
        head.copy_from_slice(key);
    }
    Ok(k)
}

/// RFC 4615 §3: the 128-bit AES-CMAC key for a variable-length PRF key.
fn cmac_prf_key(key: &[u8]) -> Result<Zeroizing<[u8; AES_BLOCK]>, CryptoError> {
    if let Ok(k) = <[u8; AES_BLOCK]>::try_from(key) {
        return Ok(Zeroizing::new(k));
    }
    aes_cmac(&[0u8; AES_BLOCK], &[key])
}

/// `prf(key, data)`: one PRF output block (`alg.output_len()` bytes).
pub fn prf(alg: PrfAlg, key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    prf_parts(alg, key, &[data])
}

/// `prf(key, parts[0] ‖ parts[1] ‖ …)` without building the concatenation.
pub fn prf_parts(
    alg: PrfAlg,
    key: &[u8],
    parts: &[&[u8]],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if let Some(md) = alg.digest() {
        return hmac(md, key, parts);
    }
    let out = match alg {
        PrfAlg::Aes128Cmac => aes_cmac(&*cmac_prf_key(key)?, parts)?,
        _ => aes_xcbc_mac(&*xcbc_prf_key(key)?, parts)?,
    };
    Ok(Zeroizing::new(out.to_vec()))
}

/// prf+ (RFC 7296 §2.13): `T1 ‖ T2 ‖ …` truncated to `len` bytes, where
/// `T1 = prf(K, S ‖ 0x01)` and `Tn = prf(K, Tn-1 ‖ S ‖ n)`. More than 255
/// blocks cannot be produced and is an error.
pub fn prf_plus(
    alg: PrfAlg,
    key: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let blocks = len.div_ceil(alg.output_len());
    if blocks > 255 {
        return Err(CryptoError::Malformed("prf+ output longer than 255 blocks"));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(blocks * alg.output_len()));
    let mut prev = Zeroizing::new(Vec::new());
    for n in 1..=blocks {
        let counter = [u8::try_from(n).map_err(|_| CryptoError::Malformed("prf+ counter"))?];
        let t = prf_parts(alg, key, &[&prev, seed, &counter])?;
        out.extend_from_slice(&t);
        prev = t;
    }
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn check(alg: PrfAlg, key: &[u8], data: &[u8], want: &str) {
        let got = prf(alg, key, data).unwrap();
        assert_eq!(hex::encode(&*got), want, "{} key {}", alg.name(), key.len());
        assert_eq!(got.len(), alg.output_len());
    }

    const HASH_FIRST: &[u8] = b"Test Using Larger Than Block-Size Key - Hash Key First";

    #[test]
    fn ids_names_lengths() {
        for alg in PrfAlg::ALL {
            assert_eq!(PrfAlg::from_id(alg.id()), Some(alg));
            assert_eq!(alg.preferred_key_len(), alg.output_len());
        }
        assert_eq!(PrfAlg::from_id(1), None); // PRF_HMAC_MD5: not implemented
        assert_eq!(PrfAlg::from_id(3), None);
        assert_eq!(PrfAlg::from_id(9), None);
        assert_eq!(PrfAlg::from_id(5), Some(PrfAlg::HmacSha256));
        assert_eq!(PrfAlg::HmacSha256.name(), "prfsha256");
        assert_eq!(PrfAlg::Aes128Xcbc.name(), "prfaesxcbc");
        assert_eq!(PrfAlg::Aes128Cmac.name(), "prfaescmac");
        assert!(PrfAlg::Aes128Cmac.has_fixed_key_len());
        assert!(!PrfAlg::HmacSha1.has_fixed_key_len());
    }

    // RFC 2202 §3, as carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/sha1_hmac.c
    // (sha1_hmac_p1..p6).
    #[test]
    fn hmac_sha1_rfc2202() {
        let a = PrfAlg::HmacSha1;
        check(
            a,
            &[0x0b; 20],
            b"Hi There",
            "b617318655057264e28bc0b6fb378c8ef146be00",
        );
        check(
            a,
            b"Jefe",
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        );
        check(
            a,
            &[0xaa; 20],
            &[0xdd; 50],
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
        );
        let k25: Vec<u8> = (1..=25).collect();
        check(
            a,
            &k25,
            &[0xcd; 50],
            "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
        );
        check(
            a,
            &[0xaa; 80],
            HASH_FIRST,
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        );
        check(
            a,
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
        );
    }

    // RFC 4231 test cases 1, 3, 4, 6, 7 (the RFC 4868 PRF vectors), as carried
    // in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/sha2_hmac.c
    // (sha{256,384,512}_hmac_p1..p5).
    #[test]
    fn hmac_sha2_rfc4231() {
        let k25: Vec<u8> = (1..=25).collect();
        let long = b"This is a test using a larger than block-size key and a larger than \
block-size data. The key needs to be hashed before being used by the HMAC algorithm.";
        let cases: [(PrfAlg, [&str; 5]); 3] = [
            (
                PrfAlg::HmacSha256,
                [
                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
                    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                ],
            ),
            (
                PrfAlg::HmacSha384,
                [
                    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
                    "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
                    "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
                    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
                    "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
                ],
            ),
            (
                PrfAlg::HmacSha512,
                [
                    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
                    "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
                    "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
                    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
                    "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
                ],
            ),
        ];
        for (alg, want) in cases {
            check(alg, &[0x0b; 20], b"Hi There", want[0]);
            check(alg, &[0xaa; 20], &[0xdd; 50], want[1]);
            check(alg, &k25, &[0xcd; 50], want[2]);
            check(alg, &[0xaa; 131], HASH_FIRST, want[3]);
            check(alg, &[0xaa; 131], long, want[4]);
        }
    }

    // RFC 3566 §4.6 cases 1-5 (16-byte key) and RFC 4434 §4 (10- and 18-byte
    // keys), as carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/aes_xcbc.c
    // (aes_xcbc_p1..p7).
    #[test]
    fn aes_xcbc_prf_rfc4434() {
        let a = PrfAlg::Aes128Xcbc;
        let k16 = h("000102030405060708090a0b0c0d0e0f");
        let m: Vec<u8> = (0..32).collect();
        check(a, &k16, &m[..0], "75f0251d528ac01c4573dfd584d79f29");
        check(a, &k16, &m[..3], "5b376580ae2f19afe7219ceef172756f");
        check(a, &k16, &m[..16], "d2a246fa349b68a79998a4394ff7a263");
        check(a, &k16, &m[..20], "47f51b4564966215b8985c63055ed308");
        check(a, &k16, &m[..32], "f54f0ec8d2b9f3d36807734bd5283fd4");
        check(a, &k16[..10], &m[..20], "0fa087af7d866e7653434e602fdde835");
        check(
            a,
            &h("000102030405060708090a0b0c0d0e0fedcb"),
            &m[..20],
            "8cd3c93ae598a9803006ffb67c40e9e4",
        );
    }

    // RFC 4493 examples 1-4 and RFC 4615 §4 (18-, 16- and 10-byte keys), as
    // carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/aes_cmac.c
    // (aes_cmac_p1..p7). The 10-byte case pins that RFC 4615 runs short keys
    // through AES-CMAC too (it does not zero-pad them like RFC 4434).
    #[test]
    fn aes_cmac_prf_rfc4615() {
        let a = PrfAlg::Aes128Cmac;
        let k = h("2b7e151628aed2a6abf7158809cf4f3c");
        check(a, &k, b"", "bb1d6929e95937287fa37d129b756746");
        check(
            a,
            &k,
            &h("6bc1bee22e409f96e93d7e117393172a"),
            "070a16b46b4d4144f79bdd9dd04a287c",
        );
        let m: Vec<u8> = (0..20).collect();
        let k18 = h("000102030405060708090a0b0c0d0e0fedcb");
        check(a, &k18, &m, "84a348a4a45d235babfffc0d2b4da09a");
        check(a, &k18[..16], &m, "980ae87b5f4c9c5214f5b6a8455e4c2d");
        check(a, &k18[..10], &m, "290d9e112edb09ee141fcf64c0b72f3d");
    }

    #[test]
    fn hmac_empty_key_equals_zero_key() {
        for alg in [PrfAlg::HmacSha1, PrfAlg::HmacSha256] {
            let a = prf(alg, b"", b"data").unwrap();
            let b = prf(alg, &[0u8; 7], b"data").unwrap();
            assert_eq!(*a, *b);
        }
        // The AES PRFs take any key length too, the empty key included.
        assert_eq!(prf(PrfAlg::Aes128Xcbc, b"", b"x").unwrap().len(), 16);
        assert_eq!(prf(PrfAlg::Aes128Cmac, b"", b"x").unwrap().len(), 16);
    }

    #[test]
    fn prf_parts_equals_concatenation() {
        for alg in PrfAlg::ALL {
            let whole = prf(alg, b"key", b"abcdefghij").unwrap();
            let parts = prf_parts(alg, b"key", &[b"abc", b"", b"defghij"]).unwrap();
            assert_eq!(*whole, *parts, "{}", alg.name());
        }
    }

    #[test]
    fn prf_plus_structure_and_limits() {
        for alg in PrfAlg::ALL {
            let out = prf_plus(alg, b"K", b"seed", 3 * alg.output_len() + 5).unwrap();
            let t1 = prf(alg, b"K", b"seed\x01").unwrap();
            let mut in2 = t1.to_vec();
            in2.extend_from_slice(b"seed\x02");
            let t2 = prf(alg, b"K", &in2).unwrap();
            assert_eq!(&out[..t1.len()], &t1[..]);
            assert_eq!(&out[t1.len()..2 * t1.len()], &t2[..]);
            // Shorter requests are prefixes.
            let short = prf_plus(alg, b"K", b"seed", 7).unwrap();
            assert_eq!(&out[..7], &short[..]);
            assert!(prf_plus(alg, b"K", b"seed", 0).unwrap().is_empty());
            // 255 blocks is the maximum.
            let max = 255 * alg.output_len();
            assert_eq!(prf_plus(alg, b"K", b"s", max).unwrap().len(), max);
            assert!(matches!(
                prf_plus(alg, b"K", b"s", max + 1),
                Err(CryptoError::Malformed(_))
            ));
        }
    }
}
