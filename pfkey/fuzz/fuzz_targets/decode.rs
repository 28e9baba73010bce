//! Fuzz the PF_KEY decoder in all three dialects:
//! `cargo fuzz run decode -s none` from `pfkey/` (works on stable Rust).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pfkey::fuzz_support::decode_roundtrip(data);
});
