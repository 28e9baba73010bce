//! The property the decoder fuzz target checks, shared with the test that
//! replays the fuzz corpus: decoding arbitrary bytes in any dialect never
//! panics, and whatever decodes re-encodes to bytes that decode to the same
//! message.

use crate::{Dialect, Message};

/// Panics (for the fuzzer to catch) if the property fails for `data`.
pub fn decode_roundtrip(data: &[u8]) {
    for d in Dialect::ALL {
        if let Ok(m) = Message::decode(data, d) {
            let bytes = m.encode(d).unwrap_or_else(|e| {
                panic!("{}: a decoded message does not re-encode: {e}", d.name())
            });
            let again = Message::decode(&bytes, d).unwrap_or_else(|e| {
                panic!("{}: a re-encoded message does not decode: {e}", d.name())
            });
            assert_eq!(again, m, "{}: decode(encode(m)) != m", d.name());
        }
    }
}
