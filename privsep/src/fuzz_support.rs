//! The property the frame-decoder fuzz target checks, shared with the test
//! that replays its corpus: decoding arbitrary bytes never panics, and a
//! frame that decodes re-encodes to a frame that decodes to the same
//! message (with the same header but for a possibly shorter length). Not part of the API.

use crate::channel::{IpcMessage, decode_frame, decode_message, encode_frame};
use crate::secret::Secret;

crate::ipc_enum! {
    /// A message type with one variant of each payload shape.
    #[derive(Debug, Clone)]
    pub enum Sample {
        /// No payload.
        Ping = 1,
        /// A struct variant.
        Sign { sa: u64, octets: Vec<u8>, name: String } = 2,
        /// A tuple variant with an optional field.
        Install(u32, Option<i64>, bool) = 3,
        /// A secret.
        Key(Secret<Vec<u8>>) = 7,
        /// A nested list.
        List(Vec<(u16, String)>) = 300,
    }
}

impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Sample::Key(a), Sample::Key(b)) => a.expose() == b.expose(),
            (Sample::Key(_), _) | (_, Sample::Key(_)) => false,
            _ => postcard::to_allocvec(self).ok() == postcard::to_allocvec(other).ok(),
        }
    }
}

/// Panics (for the fuzzer to catch) if the property fails for `data`. The
/// first byte is the number of descriptors that "arrived" with the frame,
/// the rest is the frame.
pub fn decode_roundtrip(data: &[u8]) {
    let Some((&fds, frame)) = data.split_first() else {
        return;
    };
    let fd_count = usize::from(fds % 16);
    let Ok((header, payload)) = decode_frame(frame, fd_count) else {
        return;
    };
    let Ok(msg) = decode_message::<Sample>(&header, payload) else {
        return;
    };
    assert_eq!(msg.kind(), header.kind);
    let again = encode_frame(header.peer, &msg, fd_count).expect("a decoded message re-encodes");
    let (h2, p2) = decode_frame(&again, fd_count).expect("a re-encoded frame decodes");
    // The length may shrink: postcard accepts over-long varints and
    // re-encodes them in the shortest form.
    assert_eq!(
        (h2.kind, h2.peer, h2.nfds),
        (header.kind, header.peer, header.nfds),
        "header changed"
    );
    assert!(h2.len <= header.len, "re-encoding grew the payload");
    let back: Sample = decode_message(&h2, p2).expect("a re-encoded payload decodes");
    assert_eq!(back, msg, "decode(encode(m)) != m");
}
