//! Fuzz the IKEv2 message and payload-chain decoder:
//! `cargo fuzz run decode -s none` from `ikedaemon/` (works on stable Rust).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ikedaemon::ike::wire::fuzz_support::decode_roundtrip(data);
});
