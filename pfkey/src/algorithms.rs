//! Algorithm numbers for `sadb_sa_auth`, `sadb_sa_encrypt`, `sadb_alg_id`
//! and `sadb_comb_*`, per dialect.
//!
//! The SA extension keeps raw numbers (an IPComp SA stores a compression
//! algorithm in `sadb_sa_encrypt`, so the meaning depends on the SA type);
//! these enums translate them. Kernels may announce numbers this table does
//! not know: `from_wire` then returns `None` and the caller keeps the number.

use crate::dialect::dialect_numbers;

dialect_numbers! {
    /// Authentication (integrity) algorithms.
    pub enum AuthAlgorithm: u8 {
        /// No authentication.
        None = [0, 0, 0],
        /// HMAC-MD5-96.
        HmacMd5 = [2, 2, 2],
        /// HMAC-SHA1-96.
        HmacSha1 = [3, 3, 3],
        /// HMAC-SHA2-256 (Linux af_key truncates it to 96 bits, not RFC 4868's 128).
        HmacSha2_256 = [5, 5, 5],
        /// HMAC-SHA2-384-192.
        HmacSha2_384 = [6, 6, 6],
        /// HMAC-SHA2-512-256.
        HmacSha2_512 = [7, 7, 7],
        /// HMAC-RIPEMD160-96.
        HmacRipemd160 = [8, 8, 8],
        /// AES-XCBC-MAC-96.
        AesXcbcMac = [9, 9, _],
        /// HMAC-SM3-256 (Linux).
        HmacSm3_256 = [10, _, _],
        /// AES-128-GMAC (RFC 4543).
        Aes128Gmac = [_, 11, 9],
        /// AES-192-GMAC.
        Aes192Gmac = [_, 12, 10],
        /// AES-256-GMAC.
        Aes256Gmac = [_, 13, 11],
        /// ChaCha20-Poly1305's authenticator half (FreeBSD 14+ and OpenBSD pair it with the cipher).
        ChaCha20Poly1305 = [_, 14, 12],
        /// Keyed MD5 (KAME).
        KeyedMd5 = [_, 249, _],
        /// Keyed SHA1 (KAME).
        KeyedSha1 = [_, 250, _],
        /// Null authentication.
        Null = [251, 251, _],
        /// TCP-MD5 signatures (RFC 2385).
        TcpMd5 = [_, 252, _],
    }
}

dialect_numbers! {
    /// Encryption algorithms.
    pub enum EncryptAlgorithm: u8 {
        /// No encryption.
        None = [0, 0, 0],
        /// DES-CBC.
        DesCbc = [2, 2, _],
        /// 3DES-CBC.
        TripleDesCbc = [3, 3, 3],
        /// CAST-128-CBC.
        CastCbc = [6, 6, 6],
        /// Blowfish-CBC.
        BlowfishCbc = [7, 7, 7],
        /// NULL encryption.
        Null = [11, 11, 11],
        /// AES-CBC.
        AesCbc = [12, 12, 12],
        /// AES-CTR.
        AesCtr = [13, 13, 13],
        /// AES-CCM with an 8-byte ICV.
        AesCcm8 = [14, _, _],
        /// AES-CCM with a 12-byte ICV.
        AesCcm12 = [15, _, _],
        /// AES-CCM with a 16-byte ICV.
        AesCcm16 = [16, _, _],
        /// AES-GCM with an 8-byte ICV.
        AesGcm8 = [18, 18, 18],
        /// AES-GCM with a 12-byte ICV.
        AesGcm12 = [19, 19, 19],
        /// AES-GCM with a 16-byte ICV.
        AesGcm16 = [20, 20, 20],
        /// Camellia-CBC.
        CamelliaCbc = [22, 22, _],
        /// NULL encryption with AES-GMAC (RFC 4543).
        NullAesGmac = [23, 23, 21],
        /// SM4-CBC (Linux).
        Sm4Cbc = [24, _, _],
        /// ChaCha20-Poly1305 (RFC 7634).
        ChaCha20Poly1305 = [_, 15, 22],
        /// Serpent-CBC (Linux).
        SerpentCbc = [252, _, _],
        /// Twofish-CBC (Linux).
        TwofishCbc = [253, _, _],
    }
}

dialect_numbers! {
    /// IPComp compression algorithms.
    pub enum CompressAlgorithm: u8 {
        /// None.
        None = [0, 0, 0],
        /// OUI.
        Oui = [1, 1, 1],
        /// DEFLATE.
        Deflate = [2, 2, 2],
        /// LZS.
        Lzs = [3, 3, _],
        /// LZJH.
        Lzjh = [4, _, _],
    }
}

impl EncryptAlgorithm {
    /// Whether this is an AEAD cipher (no separate authentication algorithm).
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            Self::AesCcm8
                | Self::AesCcm12
                | Self::AesCcm16
                | Self::AesGcm8
                | Self::AesGcm12
                | Self::AesGcm16
                | Self::NullAesGmac
                | Self::ChaCha20Poly1305
        )
    }
}
