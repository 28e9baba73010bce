//! What the IKE fuzz target checks, shared with the test that replays its
//! corpus: the wire property of [`super::wire::fuzz_support`], plus opening
//! whatever decodes as a protected message or fragment with fixed keys
//! (CBC + HMAC and GCM), which must fail cleanly, never panic.

use super::crypto::encr::{EncrAlg, EncrSpec};
use super::crypto::integ::{Integ, IntegAlg};
use super::crypto::sk::SkCipher;
use super::protect::{Reassembly, open_fragment, open_message};
use super::wire::{Message, Payload};

fn ciphers() -> Vec<SkCipher> {
    let mut out = Vec::new();
    if let (Ok(cbc), Ok(gcm)) = (
        EncrSpec::new(EncrAlg::AesCbc, Some(128)),
        EncrSpec::new(EncrAlg::AesGcm16, Some(128)),
    ) {
        if let Ok(i) = Integ::new(IntegAlg::HmacSha256_128, &[1; 32]) {
            out.extend(SkCipher::new(cbc, &[2; 16], Some(i)).ok());
        }
        out.extend(SkCipher::new(gcm, &[3; 20], None).ok());
    }
    out
}

/// Panics (for the fuzzer to catch) if a property fails for `data`.
pub fn decode_and_open(data: &[u8]) {
    super::wire::fuzz_support::decode_roundtrip(data);
    let Ok(outer) = Message::decode(data) else {
        return;
    };
    for c in ciphers() {
        match outer.payloads.last() {
            Some(Payload::Encrypted(_)) => {
                let _ = open_message(data, &outer, &c);
            }
            Some(Payload::Fragment(_)) => {
                if let Ok((f, plain)) = open_fragment(data, &outer, &c) {
                    let _ = Reassembly::new(16, 65536).add(&f, plain);
                }
            }
            _ => {}
        }
    }
}
