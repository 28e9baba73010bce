//! Fuzz the IPC frame decoder (header checks, payload decoding, re-encoding):
//! `cargo fuzz run decode -s none` from `privsep/` (works on stable Rust).
//! The first input byte is the number of descriptors that "arrived".
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    privsep::fuzz_support::decode_roundtrip(data);
});
