//! The property the IKE decoder fuzz target checks, shared with the test
//! that replays its corpus: decoding arbitrary bytes never panics, and
//! whatever decodes re-encodes to bytes that decode to the same value —
//! for whole messages and for bare payload chains of every first type
//! (what the inside of an SK payload looks like once decrypted).

use super::{Message, PayloadType, Writer, decode_chain, encode_chain};

/// Panics (for the fuzzer to catch) if the property fails for `data`.
pub fn decode_roundtrip(data: &[u8]) {
    if let Ok(m) = Message::decode(data) {
        let bytes = m
            .encode()
            .unwrap_or_else(|e| panic!("a decoded message does not re-encode: {e}"));
        let again = Message::decode(&bytes)
            .unwrap_or_else(|e| panic!("a re-encoded message does not decode: {e}"));
        assert_eq!(again, m, "decode(encode(m)) != m");
        assert_eq!(
            again.encode().ok(),
            Some(bytes),
            "encoding is not canonical"
        );
        let _ = m.to_string();
    }
    // The first byte picks the first payload type of a bare chain.
    if let Some((first, rest)) = data.split_first()
        && let Ok(chain) = decode_chain(PayloadType(*first), rest, 0)
    {
        let mut w = Writer::new();
        let t = encode_chain(&chain, &mut w);
        let bytes = w
            .finish()
            .unwrap_or_else(|e| panic!("a decoded chain does not re-encode: {e}"));
        let again = decode_chain(t, &bytes, 0)
            .unwrap_or_else(|e| panic!("a re-encoded chain does not decode: {e}"));
        assert_eq!(again, chain, "chain: decode(encode(c)) != c");
    }
}
