//! Fuzz the IKEv2 message and payload-chain decoder and the opening of
//! SK/SKF payloads:
//! `cargo fuzz run decode -s none` from `ikedaemon/` (works on stable Rust).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ikedaemon::ike::fuzz_support::decode_and_open(data);
});
