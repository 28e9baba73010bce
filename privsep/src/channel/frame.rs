//! The frame format, without any socket: a fixed 14-byte header followed by
//! the postcard-encoded payload. Encoding and decoding live here so the
//! decoder can be fuzzed and tested on plain bytes.
//!
//! ```text
//!  0      2     3     4      6      10     14
//!  +------+-----+-----+------+------+------+----------------+
//!  |magic |vers |nfds | kind | peer | len  | payload (len)  |
//!  | "PS" | u8  | u8  | u16  | u32  | u32  | postcard bytes |
//!  +------+-----+-----+------+------+------+----------------+
//! ```
//!
//! Integers are little-endian (both ends are the same binary on the same
//! host; a fixed order keeps the fuzz corpus portable).

use zeroize::Zeroize;

use super::ChannelError;
use super::message::IpcMessage;

/// The first two bytes of every frame.
pub const MAGIC: [u8; 2] = *b"PS";
/// The frame format version (the application protocol has its own version,
/// checked by [`super::Channel::handshake`]).
pub const FRAME_VERSION: u8 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 14;
/// Largest payload accepted or sent, in bytes.
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Largest frame: header plus the largest payload.
pub const MAX_FRAME: usize = HEADER_LEN + MAX_MESSAGE;
/// Most descriptors one message may carry.
pub const MAX_FDS: usize = 8;

/// The fixed header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message kind ([`IpcMessage::kind`]).
    pub kind: u16,
    /// The ikectl client a reply is for; 0 when none.
    pub peer: u32,
    /// Payload length in bytes.
    pub len: u32,
    /// Number of descriptors sent with the frame.
    pub nfds: u8,
}

impl Header {
    /// The header's wire bytes (magic and version included).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..2].copy_from_slice(&MAGIC);
        b[2] = FRAME_VERSION;
        b[3] = self.nfds;
        b[4..6].copy_from_slice(&self.kind.to_le_bytes());
        b[6..10].copy_from_slice(&self.peer.to_le_bytes());
        b[10..14].copy_from_slice(&self.len.to_le_bytes());
        b
    }

    /// Parse and check the header at the start of `bytes`: length, magic,
    /// version, payload size and descriptor count against the maxima. Says
    /// nothing about the bytes after the header.
    pub fn decode(bytes: &[u8]) -> Result<Header, ChannelError> {
        let Some(h) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(ChannelError::Truncated { len: bytes.len() });
        };
        if h[0..2] != MAGIC {
            return Err(ChannelError::BadMagic {
                found: [h[0], h[1]],
            });
        }
        if h[2] != FRAME_VERSION {
            return Err(ChannelError::BadVersion { found: h[2] });
        }
        let header = Header {
            nfds: h[3],
            kind: u16::from_le_bytes([h[4], h[5]]),
            peer: u32::from_le_bytes([h[6], h[7], h[8], h[9]]),
            len: u32::from_le_bytes([h[10], h[11], h[12], h[13]]),
        };
        let len = header.len as usize;
        if len > MAX_MESSAGE {
            return Err(ChannelError::Oversized {
                len,
                max: MAX_MESSAGE,
            });
        }
        if usize::from(header.nfds) > MAX_FDS {
            return Err(ChannelError::TooManyFds {
                count: header.nfds.into(),
                max: MAX_FDS,
            });
        }
        Ok(header)
    }
}

/// Check a whole frame as received with `fd_count` descriptors and split it
/// into header and payload. Checks, in order: header (see
/// [`Header::decode`]), payload length, then descriptor count.
pub fn decode_frame(bytes: &[u8], fd_count: usize) -> Result<(Header, &[u8]), ChannelError> {
    let header = Header::decode(bytes)?;
    let payload = &bytes[HEADER_LEN..];
    let announced = header.len as usize;
    if payload.len() != announced {
        return Err(ChannelError::LengthMismatch {
            announced,
            actual: payload.len(),
        });
    }
    let nfds = usize::from(header.nfds);
    if fd_count < nfds {
        return Err(ChannelError::MissingFds {
            announced: nfds,
            received: fd_count,
        });
    }
    if fd_count > nfds {
        return Err(ChannelError::UnexpectedFds {
            announced: nfds,
            received: fd_count,
        });
    }
    Ok((header, payload))
}

/// Decode the payload of a frame whose header passed [`decode_frame`]: the
/// kind must be one of `M`'s (checked before decoding), the payload must
/// decode completely, and decode to a message of that kind.
pub fn decode_message<M: IpcMessage>(header: &Header, payload: &[u8]) -> Result<M, ChannelError> {
    let kind = header.kind;
    let Some(name) = M::kind_name(kind) else {
        return Err(ChannelError::UnknownKind {
            kind,
            expected: std::any::type_name::<M>(),
        });
    };
    let (msg, rest) = postcard::take_from_bytes::<M>(payload)
        .map_err(|source| ChannelError::Decode { kind, name, source })?;
    if !rest.is_empty() {
        return Err(ChannelError::TrailingBytes {
            kind,
            name,
            extra: rest.len(),
        });
    }
    if msg.kind() != kind {
        return Err(ChannelError::KindMismatch {
            header: kind,
            payload: msg.kind(),
        });
    }
    Ok(msg)
}

/// Encode `msg` for `peer` with `nfds` descriptors into `buf` (normally
/// [`MAX_FRAME`] long); returns the frame length. The payload is
/// serialized in place, so no reallocated copy of a secret is left behind.
pub(crate) fn encode_frame_into<M: IpcMessage>(
    buf: &mut [u8],
    peer: u32,
    msg: &M,
    nfds: usize,
) -> Result<usize, ChannelError> {
    if nfds > MAX_FDS {
        return Err(ChannelError::TooManyFds {
            count: nfds,
            max: MAX_FDS,
        });
    }
    let Some((head, body)) = buf.split_at_mut_checked(HEADER_LEN) else {
        return Err(ChannelError::Truncated { len: buf.len() });
    };
    let room = body.len().min(MAX_MESSAGE);
    let len = match postcard::to_slice(msg, &mut body[..room]) {
        Ok(p) => p.len(),
        Err(postcard::Error::SerializeBufferFull) => {
            body[..room].zeroize();
            let len = postcard::experimental::serialized_size(msg).unwrap_or(room + 1);
            return Err(ChannelError::Oversized { len, max: room });
        }
        Err(e) => {
            body[..room].zeroize();
            return Err(ChannelError::Encode(e));
        }
    };
    let header = Header {
        kind: msg.kind(),
        peer,
        // `len <= room <= MAX_MESSAGE`, far below u32::MAX.
        len: u32::try_from(len).unwrap_or(u32::MAX),
        // `nfds <= MAX_FDS`, which fits in a byte.
        nfds: u8::try_from(nfds).unwrap_or(u8::MAX),
    };
    head.copy_from_slice(&header.encode());
    Ok(HEADER_LEN + len)
}

/// Encode `msg` into a new vector (tests, fuzzing, corpus seeds).
pub fn encode_frame<M: IpcMessage>(
    peer: u32,
    msg: &M,
    nfds: usize,
) -> Result<Vec<u8>, ChannelError> {
    let mut buf = vec![0u8; MAX_FRAME];
    let n = encode_frame_into(&mut buf, peer, msg, nfds)?;
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fuzz_support::{Sample, decode_roundtrip};
    use crate::secret::Secret;

    fn sample() -> impl Strategy<Value = Sample> {
        prop_oneof![
            Just(Sample::Ping),
            (
                any::<u64>(),
                proptest::collection::vec(any::<u8>(), 0..64),
                ".{0,16}"
            )
                .prop_map(|(sa, octets, name)| Sample::Sign { sa, octets, name }),
            (any::<u32>(), any::<Option<i64>>(), any::<bool>())
                .prop_map(|(a, b, c)| Sample::Install(a, b, c)),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|k| Sample::Key(Secret::new(k))),
            proptest::collection::vec((any::<u16>(), ".{0,8}"), 0..8).prop_map(Sample::List),
        ]
    }

    proptest! {
        #[test]
        fn header_round_trip(kind: u16, peer: u32, len in 0..=MAX_MESSAGE as u32, nfds in 0..=MAX_FDS as u8) {
            let h = Header { kind, peer, len, nfds };
            prop_assert_eq!(Header::decode(&h.encode()).unwrap(), h);
        }

        #[test]
        fn message_round_trip(m in sample(), peer: u32, nfds in 0..=MAX_FDS) {
            let bytes = encode_frame(peer, &m, nfds).unwrap();
            let (h, payload) = decode_frame(&bytes, nfds).unwrap();
            prop_assert_eq!(h.peer, peer);
            prop_assert_eq!(h.kind, m.kind());
            prop_assert_eq!(decode_message::<Sample>(&h, payload).unwrap(), m);
        }

        #[test]
        fn decoding_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            decode_roundtrip(&data);
            // Also behind a valid header, so the payload decoder is reached.
            let mut framed = vec![0u8];
            framed.extend_from_slice(&Header { kind: 2, peer: 0, len: data.len() as u32, nfds: 0 }.encode());
            framed.extend_from_slice(&data);
            decode_roundtrip(&framed);
        }
    }

    #[test]
    fn checks_in_order() {
        let h = Header {
            kind: 1,
            peer: 0,
            len: 1,
            nfds: 1,
        };
        let mut f = h.encode().to_vec();
        f.push(0);
        assert!(decode_frame(&f, 1).is_ok());
        assert!(matches!(
            decode_frame(&f[..3], 1),
            Err(ChannelError::Truncated { len: 3 })
        ));
        assert!(matches!(
            decode_frame(&f[..HEADER_LEN], 1),
            Err(ChannelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            decode_frame(&f, 0),
            Err(ChannelError::MissingFds {
                announced: 1,
                received: 0
            })
        ));
        assert!(matches!(
            decode_frame(&f, 2),
            Err(ChannelError::UnexpectedFds {
                announced: 1,
                received: 2
            })
        ));
        f[3] = 200;
        assert!(matches!(
            decode_frame(&f, 200),
            Err(ChannelError::TooManyFds { count: 200, .. })
        ));
    }

    #[test]
    fn unknown_kind_is_named_before_decoding() {
        let h = Header {
            kind: 4,
            peer: 0,
            len: 3,
            nfds: 0,
        };
        let e = decode_message::<Sample>(&h, &[0xff, 0xff, 0xff]).unwrap_err();
        assert!(matches!(e, ChannelError::UnknownKind { kind: 4, .. }));
        assert!(
            e.to_string().starts_with("unknown IPC message kind 4 for "),
            "{e}"
        );
    }
}
