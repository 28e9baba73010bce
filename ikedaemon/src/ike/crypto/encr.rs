//! IKEv2 encryption algorithms (Transform Type 1): [`EncrAlg`] and the
//! negotiated [`EncrSpec`] (algorithm + Key Length attribute) with every
//! length the SK payload and key derivation need. The cipher operations are
//! in `cipher`, the SK payload in `sk`.

use openssl::cipher::{Cipher, CipherRef};

use super::CryptoError;

/// A negotiated IKEv2 encryption algorithm (IANA "Transform Type 1 -
/// Encryption Algorithm Transform IDs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncrAlg {
    /// ENCR_AES_CBC (12), RFC 3602; needs an integrity transform.
    AesCbc,
    /// ENCR_AES_CCM_8 (14), RFC 5282.
    AesCcm8,
    /// ENCR_AES_CCM_12 (15), RFC 5282.
    AesCcm12,
    /// ENCR_AES_CCM_16 (16), RFC 5282.
    AesCcm16,
    /// ENCR_AES_GCM_8 (18), RFC 5282.
    AesGcm8,
    /// ENCR_AES_GCM_12 (19), RFC 5282.
    AesGcm12,
    /// ENCR_AES_GCM_16 (20), RFC 5282.
    AesGcm16,
    /// ENCR_CHACHA20_POLY1305 (28), RFC 7634.
    ChaCha20Poly1305,
}

impl EncrAlg {
    /// Every encryption algorithm this suite implements.
    pub const ALL: [EncrAlg; 8] = [
        EncrAlg::AesCbc,
        EncrAlg::AesCcm8,
        EncrAlg::AesCcm12,
        EncrAlg::AesCcm16,
        EncrAlg::AesGcm8,
        EncrAlg::AesGcm12,
        EncrAlg::AesGcm16,
        EncrAlg::ChaCha20Poly1305,
    ];

    /// The algorithm for an IANA transform id, or `None` if not implemented.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// The IANA transform id.
    pub fn id(self) -> u16 {
        match self {
            EncrAlg::AesCbc => 12,
            EncrAlg::AesCcm8 => 14,
            EncrAlg::AesCcm12 => 15,
            EncrAlg::AesCcm16 => 16,
            EncrAlg::AesGcm8 => 18,
            EncrAlg::AesGcm12 => 19,
            EncrAlg::AesGcm16 => 20,
            EncrAlg::ChaCha20Poly1305 => 28,
        }
    }

    /// True for the combined-mode (AEAD) algorithms, which take no separate
    /// integrity transform and no SK_a keys.
    pub fn is_aead(self) -> bool {
        self != EncrAlg::AesCbc
    }

    /// True if the transform carries a Key Length attribute (all AES modes).
    pub fn has_key_len_attr(self) -> bool {
        self != EncrAlg::ChaCha20Poly1305
    }

    /// The alignment the padded plaintext must reach: the AES block (16) for
    /// CBC; 1 for the counter-based AEADs, for which IKEv2 requires no
    /// padding (RFC 5282 §3, RFC 7634 §3; the RFC 7634 Appendix B
    /// IKEv2 example carries a 12-byte payload with Pad Length 0).
    pub fn block_size(self) -> usize {
        if self == EncrAlg::AesCbc { 16 } else { 1 }
    }

    /// Length of the explicit IV carried in the SK payload.
    pub fn iv_len(self) -> usize {
        if self == EncrAlg::AesCbc { 16 } else { 8 }
    }

    /// Length of the salt taken from the end of SK_e (RFC 5282 §7.1: GCM 4,
    /// CCM 3; RFC 7634 §2: ChaCha20-Poly1305 4); 0 for CBC.
    pub fn salt_len(self) -> usize {
        match self {
            EncrAlg::AesCbc => 0,
            EncrAlg::AesCcm8 | EncrAlg::AesCcm12 | EncrAlg::AesCcm16 => 3,
            EncrAlg::AesGcm8 | EncrAlg::AesGcm12 | EncrAlg::AesGcm16 => 4,
            EncrAlg::ChaCha20Poly1305 => 4,
        }
    }

    /// Length of the AEAD tag, which is the SK payload's ICV; 0 for CBC
    /// (whose ICV comes from the integrity transform).
    pub fn icv_len(self) -> usize {
        match self {
            EncrAlg::AesCbc => 0,
            EncrAlg::AesCcm8 | EncrAlg::AesGcm8 => 8,
            EncrAlg::AesCcm12 | EncrAlg::AesGcm12 => 12,
            EncrAlg::AesCcm16 | EncrAlg::AesGcm16 | EncrAlg::ChaCha20Poly1305 => 16,
        }
    }

    pub(crate) fn is_ccm(self) -> bool {
        matches!(
            self,
            EncrAlg::AesCcm8 | EncrAlg::AesCcm12 | EncrAlg::AesCcm16
        )
    }
}

/// An encryption transform as negotiated: algorithm plus key size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncrSpec {
    alg: EncrAlg,
    key_bits: u16,
}

impl EncrSpec {
    /// The integrity key length this transform needs with `integ`: 0 for
    /// an AEAD, which takes none; a CBC cipher needs one (RFC 7296 §3.3.3,
    /// RFC 5282 §8).
    pub fn integ_key_len(
        self,
        integ: Option<super::integ::IntegAlg>,
    ) -> Result<usize, CryptoError> {
        match (self.is_aead(), integ) {
            (true, None) => Ok(0),
            (false, Some(i)) => Ok(i.key_len()),
            (true, Some(i)) => Err(CryptoError::Unsupported(format!(
                "{} with integrity transform {}",
                self.name(),
                i.name()
            ))),
            (false, None) => Err(CryptoError::Unsupported(format!(
                "{} without an integrity transform",
                self.name()
            ))),
        }
    }

    /// Builds a spec from the algorithm and the transform's Key Length
    /// attribute: AES modes need `Some(128 | 192 | 256)`, ChaCha20-Poly1305
    /// takes no attribute (`None`; its key is always 256 bits).
    pub fn new(alg: EncrAlg, key_len_attr: Option<u16>) -> Result<Self, CryptoError> {
        let key_bits = match (alg.has_key_len_attr(), key_len_attr) {
            (true, Some(bits @ (128 | 192 | 256))) => bits,
            (false, None) => 256,
            (_, attr) => {
                return Err(CryptoError::Unsupported(format!(
                    "transform {} with key length attribute {attr:?}",
                    alg.id()
                )));
            }
        };
        Ok(EncrSpec { alg, key_bits })
    }

    /// Parses a transform (id + optional Key Length attribute); `None` if this
    /// suite does not implement it.
    pub fn from_transform(id: u16, key_len_attr: Option<u16>) -> Option<Self> {
        EncrAlg::from_id(id).and_then(|alg| Self::new(alg, key_len_attr).ok())
    }

    /// The algorithm.
    pub fn alg(self) -> EncrAlg {
        self.alg
    }

    /// The cipher key size in bits (128/192/256).
    pub fn key_bits(self) -> u16 {
        self.key_bits
    }

    /// The Key Length attribute to put into a proposal, if the transform has one.
    pub fn key_len_attr(self) -> Option<u16> {
        self.alg.has_key_len_attr().then_some(self.key_bits)
    }

    /// The cipher key length in bytes (without salt).
    pub fn key_len(self) -> usize {
        usize::from(self.key_bits / 8)
    }

    /// The length of SK_e (and of each ESP encryption key taken from KEYMAT):
    /// the cipher key followed by the salt.
    pub fn keymat_len(self) -> usize {
        self.key_len() + self.alg.salt_len()
    }

    /// The strongSwan proposal keyword, e.g. `aes128`, `aes256gcm16`,
    /// `aes128ccm8`, `chacha20poly1305`.
    pub fn name(self) -> &'static str {
        const NAMES: [[&str; 3]; 7] = [
            ["aes128", "aes192", "aes256"],
            ["aes128ccm8", "aes192ccm8", "aes256ccm8"],
            ["aes128ccm12", "aes192ccm12", "aes256ccm12"],
            ["aes128ccm16", "aes192ccm16", "aes256ccm16"],
            ["aes128gcm8", "aes192gcm8", "aes256gcm8"],
            ["aes128gcm12", "aes192gcm12", "aes256gcm12"],
            ["aes128gcm16", "aes192gcm16", "aes256gcm16"],
        ];
        let row = match self.alg {
            EncrAlg::AesCbc => 0,
            EncrAlg::AesCcm8 => 1,
            EncrAlg::AesCcm12 => 2,
            EncrAlg::AesCcm16 => 3,
            EncrAlg::AesGcm8 => 4,
            EncrAlg::AesGcm12 => 5,
            EncrAlg::AesGcm16 => 6,
            EncrAlg::ChaCha20Poly1305 => return "chacha20poly1305",
        };
        let col = match self.key_bits {
            128 => 0,
            192 => 1,
            _ => 2,
        };
        NAMES
            .get(row)
            .and_then(|r| r.get(col))
            .copied()
            .unwrap_or("?")
    }

    /// See [`EncrAlg::is_aead`].
    pub fn is_aead(self) -> bool {
        self.alg.is_aead()
    }

    /// See [`EncrAlg::block_size`].
    pub fn block_size(self) -> usize {
        self.alg.block_size()
    }

    /// See [`EncrAlg::iv_len`].
    pub fn iv_len(self) -> usize {
        self.alg.iv_len()
    }

    /// See [`EncrAlg::salt_len`].
    pub fn salt_len(self) -> usize {
        self.alg.salt_len()
    }

    /// See [`EncrAlg::icv_len`].
    pub fn icv_len(self) -> usize {
        self.alg.icv_len()
    }

    pub(crate) fn openssl_cipher(self) -> &'static CipherRef {
        match (self.alg, self.key_bits) {
            (EncrAlg::ChaCha20Poly1305, _) => Cipher::chacha20_poly1305(),
            (EncrAlg::AesCbc, 128) => Cipher::aes_128_cbc(),
            (EncrAlg::AesCbc, 192) => Cipher::aes_192_cbc(),
            (EncrAlg::AesCbc, _) => Cipher::aes_256_cbc(),
            (a, 128) if a.is_ccm() => Cipher::aes_128_ccm(),
            (a, 192) if a.is_ccm() => Cipher::aes_192_ccm(),
            (a, _) if a.is_ccm() => Cipher::aes_256_ccm(),
            (_, 128) => Cipher::aes_128_gcm(),
            (_, 192) => Cipher::aes_192_gcm(),
            (_, _) => Cipher::aes_256_gcm(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_and_lengths() {
        for alg in EncrAlg::ALL {
            assert_eq!(EncrAlg::from_id(alg.id()), Some(alg));
        }
        assert_eq!(EncrAlg::from_id(3), None); // ENCR_3DES
        assert_eq!(EncrAlg::from_id(13), None); // ENCR_AES_CTR
        let s = |id, attr| EncrSpec::from_transform(id, attr).unwrap();
        assert_eq!(s(12, Some(128)).name(), "aes128");
        assert_eq!(s(12, Some(256)).name(), "aes256");
        assert_eq!(s(20, Some(256)).name(), "aes256gcm16");
        assert_eq!(s(18, Some(192)).name(), "aes192gcm8");
        assert_eq!(s(14, Some(128)).name(), "aes128ccm8");
        assert_eq!(s(28, None).name(), "chacha20poly1305");
        assert_eq!(s(28, None).key_bits(), 256);
        assert_eq!(s(28, None).key_len_attr(), None);
        assert_eq!(s(19, Some(128)).key_len_attr(), Some(128));
        assert_eq!(EncrSpec::from_transform(12, None), None);
        assert_eq!(EncrSpec::from_transform(12, Some(64)), None);
        assert_eq!(EncrSpec::from_transform(28, Some(256)), None);
        assert_eq!(EncrSpec::from_transform(99, Some(128)), None);
        // SK_e lengths (RFC 5282 §7.1, RFC 7634 §2).
        assert_eq!(s(12, Some(192)).keymat_len(), 24);
        assert_eq!(s(20, Some(128)).keymat_len(), 20);
        assert_eq!(s(16, Some(256)).keymat_len(), 35);
        assert_eq!(s(28, None).keymat_len(), 36);
        let cbc = s(12, Some(128));
        assert_eq!(
            (
                cbc.block_size(),
                cbc.iv_len(),
                cbc.salt_len(),
                cbc.icv_len()
            ),
            (16, 16, 0, 0)
        );
        let ccm = s(15, Some(128));
        assert_eq!(
            (
                ccm.block_size(),
                ccm.iv_len(),
                ccm.salt_len(),
                ccm.icv_len()
            ),
            (1, 8, 3, 12)
        );
        assert!(ccm.is_aead() && !cbc.is_aead());
    }
}
