//! The one error type of the crypto suite.

/// Everything that can go wrong in the crypto suite. No variant carries key
/// material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key of the wrong length was given to an algorithm.
    #[error("{alg}: key is {got} bytes, expected {expected}")]
    KeyLength {
        alg: &'static str,
        got: usize,
        expected: usize,
    },
    /// The integrity check value (HMAC or AEAD tag) did not match.
    #[error("integrity check failed")]
    IntegrityCheckFailed,
    /// Ciphertext that cannot be decrypted (wrong length, bad padding length).
    #[error("malformed encrypted data: {0}")]
    MalformedCiphertext(&'static str),
    /// The peer's key exchange public value failed a check.
    #[error("{group}: invalid public value: {reason}")]
    InvalidPublicValue {
        group: &'static str,
        reason: &'static str,
    },
    /// A signature or AUTH value did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// Input that is structurally wrong (e.g. an AUTH blob too short).
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// An algorithm or combination this suite does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// OpenSSL reported an error (its message, never key material).
    #[error("openssl: {0}")]
    OpenSsl(String),
}

impl From<openssl::error::ErrorStack> for CryptoError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        CryptoError::OpenSsl(e.to_string())
    }
}
