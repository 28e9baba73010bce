//! IKEv2 cryptographic suite: the symmetric half (PRFs, integrity, SK payload
//! protection, key derivation, AUTH octets), built on system OpenSSL 3.
//!
//! Every secret this module hands out is wrapped in [`zeroize::Zeroizing`];
//! no `Debug` implementation prints key bytes.

pub mod auth_octets;
mod cipher;
pub mod encr;
pub mod error;
pub mod integ;
pub mod keys;
pub mod prf;
pub mod sk;
pub mod xcbc;

pub use error::CryptoError;
