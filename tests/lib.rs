//! Cross-crate test support for ikedaemon.
//!
//! `vm` runs a test binary inside a qemu VM booted with a Debian kernel
//! (PF_KEY, ESP, XFRM), through the harness in `tests/vm/run-in-vm`, for
//! machines whose own kernel lacks them.

pub mod vm;
