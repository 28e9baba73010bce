//! [`ChannelError`]: every way sending or receiving a message can fail, each
//! its own variant with a one-line message that says what was wrong.

use std::io;
use std::time::Duration;

use super::frame::{FRAME_VERSION, HEADER_LEN, MAGIC};

/// Why a message could not be sent or received.
///
/// A receiver that gets any error other than [`ChannelError::WouldBlock`]
/// should log it and treat the channel as broken; descriptors that came with
/// a rejected message have already been closed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The peer closed its end (end of stream, `EPIPE`, `ECONNRESET`).
    #[error("IPC peer closed the channel")]
    Closed,
    /// Non-blocking mode and nothing to read (or no room to send) now.
    #[error("IPC channel would block")]
    WouldBlock,
    /// Non-blocking mode, the socket is full and so is the outbound queue
    /// that holds frames until it drains: the message was not sent.
    #[error("IPC outbound queue full ({bytes} bytes waiting, the maximum is {max})")]
    QueueFull {
        /// Bytes queued.
        bytes: usize,
        /// [`super::MAX_QUEUED_BYTES`].
        max: usize,
    },
    /// Any other error of the socket.
    #[error("IPC channel I/O error: {0}")]
    Io(#[from] io::Error),
    /// Fewer bytes than a frame header.
    #[error("truncated IPC frame: {len} bytes, shorter than the {HEADER_LEN}-byte header")]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// A payload larger than the maximum (announced, or cut by the kernel
    /// because it did not fit the receive buffer).
    #[error("oversized IPC message: {len} payload bytes, the maximum is {max}")]
    Oversized {
        /// Payload length announced or (at least) seen.
        len: usize,
        /// [`super::MAX_MESSAGE`].
        max: usize,
    },
    /// The first two bytes are not the frame magic.
    #[error("bad IPC frame magic {found:02x?} (expected {MAGIC:02x?}): not a privsep frame")]
    BadMagic {
        /// The two bytes found.
        found: [u8; 2],
    },
    /// A frame format this build does not speak.
    #[error("IPC frame format version {found}, this build speaks version {FRAME_VERSION}")]
    BadVersion {
        /// The version byte found.
        found: u8,
    },
    /// The header's length does not match the bytes that came.
    #[error("IPC frame announces {announced} payload bytes but carries {actual}")]
    LengthMismatch {
        /// Payload length from the header.
        announced: usize,
        /// Payload bytes present.
        actual: usize,
    },
    /// More descriptors than [`super::MAX_FDS`], announced or passed to send.
    #[error("IPC message with {count} file descriptors, the maximum is {max}")]
    TooManyFds {
        /// Descriptors announced (or given to send).
        count: usize,
        /// [`super::MAX_FDS`].
        max: usize,
    },
    /// The kernel cut the control data: the peer sent more descriptors than
    /// it announced and than there is room for (the extra ones were closed).
    #[error("IPC message control data truncated: more file descriptors than the {max} allowed")]
    ControlTruncated {
        /// [`super::MAX_FDS`].
        max: usize,
    },
    /// The header announces descriptors that did not arrive.
    #[error("IPC message announces {announced} file descriptors but {received} arrived")]
    MissingFds {
        /// Descriptors announced.
        announced: usize,
        /// Descriptors received.
        received: usize,
    },
    /// Descriptors arrived that the header does not announce.
    #[error(
        "IPC message announces {announced} file descriptors but {received} arrived (unexpected extra)"
    )]
    UnexpectedFds {
        /// Descriptors announced.
        announced: usize,
        /// Descriptors received.
        received: usize,
    },
    /// A message kind the receiving enum does not have (checked before any
    /// decoding).
    #[error("unknown IPC message kind {kind} for {expected}")]
    UnknownKind {
        /// The kind number from the header.
        kind: u16,
        /// The message type that was expected.
        expected: &'static str,
    },
    /// The payload of a known kind does not decode.
    #[error("cannot decode IPC message {name} (kind {kind}): {source}")]
    Decode {
        /// The kind number from the header.
        kind: u16,
        /// The variant that kind names.
        name: &'static str,
        /// What postcard said.
        source: postcard::Error,
    },
    /// The payload decodes but leaves bytes over.
    #[error("IPC message {name} (kind {kind}) has {extra} trailing bytes")]
    TrailingBytes {
        /// The kind number from the header.
        kind: u16,
        /// The variant that kind names.
        name: &'static str,
        /// Bytes left after the message.
        extra: usize,
    },
    /// The header says one kind, the payload decodes as another.
    #[error("IPC header says kind {header} but the payload is kind {payload}")]
    KindMismatch {
        /// Kind from the header.
        header: u16,
        /// Kind of the decoded payload.
        payload: u16,
    },
    /// The message could not be serialized.
    #[error("cannot encode IPC message: {0}")]
    Encode(postcard::Error),
    /// The two ends speak different IPC protocol versions.
    #[error("IPC protocol version mismatch: this process speaks {ours}, the peer speaks {theirs}")]
    VersionMismatch {
        /// Our version.
        ours: u32,
        /// The peer's version.
        theirs: u32,
    },
    /// The peer did not answer the handshake in time.
    #[error("IPC handshake: no answer from the peer within {0:?}")]
    HandshakeTimeout(Duration),
}

impl ChannelError {
    /// Map an errno-style error of the socket to its variant.
    pub(crate) fn from_io(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock => Self::WouldBlock,
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Self::Closed,
            _ => Self::Io(e),
        }
    }
}
