//! The IKEv2 crypto suite on system OpenSSL 3: PRFs and prf+, integrity,
//! SK/SKF payload protection, key derivation (SKEYSEED, SK_*, rekey,
//! child KEYMAT), AUTH octets and the shared-key MIC, key exchange (MODP,
//! ECP, X25519/X448 with the RFC 6989 / RFC 8031 checks) and AUTH
//! signatures (RFC 7296 §2.15, RFC 4754, RFC 7427, RFC 8420).
//!
//! Every secret this module hands out is wrapped in [`zeroize::Zeroizing`];
//! no `Debug` implementation prints key bytes.

pub mod auth_octets;
mod cipher;
pub mod dh;
mod dh_ecp;
mod dh_modp;
#[cfg(test)]
mod dh_modp_kat;
mod dh_montgomery;
pub mod encr;
pub mod error;
pub mod integ;
pub mod keys;
pub mod prf;
pub mod sig_algid;
pub mod sig_keys;
pub mod sign;
pub mod sk;
pub mod xcbc;

pub use error::CryptoError;
