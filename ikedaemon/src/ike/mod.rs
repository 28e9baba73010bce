//! Sans-IO IKEv2 (RFC 7296): the wire codec, the crypto suite, protected
//! (SK/SKF) messages and proposal negotiation.
//!
//! Nothing under `ike/` opens a socket, reads a clock or talks to another
//! process: inputs are bytes and values, outputs are bytes and values, so
//! every exchange can be tested in-process and deterministically.

pub mod crypto;
pub mod engine;
pub mod fuzz_support;
pub mod proposal;
pub mod protect;
pub mod wire;
