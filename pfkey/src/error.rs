//! Errors of the PF_KEY codec and socket.
//!
//! A decode error always says *what* was wrong and *where* (the byte offset
//! into the message), so a malformed kernel reply can be logged in one line
//! and dropped without losing anything else.

use std::fmt;

/// A message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PF_KEY decode error at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Offset from the start of the message where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// The classes of malformed input the decoder recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// Fewer bytes than a structure needs.
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A length that is not a multiple of 8 where RFC 2367 requires one.
    Misaligned {
        /// The structure whose length is wrong.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// `sadb_msg_version` is not `PF_KEY_V2`.
    BadVersion(u8),
    /// `sadb_msg_len` does not match the number of bytes received.
    MessageLength {
        /// Bytes announced by the header.
        declared: usize,
        /// Bytes actually present.
        actual: usize,
    },
    /// An extension header with `sadb_ext_len == 0` (would loop forever).
    ZeroLength {
        /// The extension type number.
        ext_type: u16,
    },
    /// An extension whose length runs past the end of the message.
    LengthPastEnd {
        /// The extension type number.
        ext_type: u16,
        /// Bytes announced by the extension header.
        declared: usize,
        /// Bytes left in the message.
        available: usize,
    },
    /// The same extension type twice in one message (RFC 2367 §2.3).
    DuplicateExtension {
        /// The extension type number.
        ext_type: u16,
    },
    /// An extension type number this dialect does not define.
    UnknownExtension {
        /// The extension type number.
        ext_type: u16,
    },
    /// A message type number this dialect does not define.
    UnknownMessageType(u8),
    /// A known extension with a size its layout does not allow.
    WrongSize {
        /// The extension's name.
        ext: &'static str,
        /// What the layout allows.
        expected: SizeRule,
        /// Bytes present.
        actual: usize,
    },
    /// A field holds a value the dialect does not define.
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The value found.
        value: u64,
    },
}

/// The size an extension layout allows, in bytes including its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRule {
    /// Exactly this many bytes.
    Exact(usize),
    /// At least this many bytes.
    AtLeast(usize),
}

impl fmt::Display for SizeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeRule::Exact(n) => write!(f, "exactly {n} bytes"),
            SizeRule::AtLeast(n) => write!(f, "at least {n} bytes"),
        }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "truncated {what}: needs {needed} bytes, {available} left"
            ),
            Self::Misaligned { what, len } => {
                write!(f, "{what} length {len} is not a multiple of 8")
            }
            Self::BadVersion(v) => write!(f, "sadb_msg_version {v}, expected 2 (PF_KEY_V2)"),
            Self::MessageLength { declared, actual } => write!(
                f,
                "sadb_msg_len announces {declared} bytes but {actual} were received"
            ),
            Self::ZeroLength { ext_type } => {
                write!(f, "extension type {ext_type} has length 0")
            }
            Self::LengthPastEnd {
                ext_type,
                declared,
                available,
            } => write!(
                f,
                "extension type {ext_type} announces {declared} bytes, only {available} left in the message"
            ),
            Self::DuplicateExtension { ext_type } => {
                write!(f, "extension type {ext_type} appears twice")
            }
            Self::UnknownExtension { ext_type } => {
                write!(f, "unknown extension type {ext_type}")
            }
            Self::UnknownMessageType(t) => write!(f, "unknown message type {t}"),
            Self::WrongSize {
                ext,
                expected,
                actual,
            } => write!(f, "{ext} is {actual} bytes, its layout needs {expected}"),
            Self::InvalidValue { field, value } => write!(f, "{field} has undefined value {value}"),
        }
    }
}

/// A message could not be encoded in the requested dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The value has no number in this dialect (e.g. `SADB_X_ADDFLOW` on Linux).
    #[error("{what} does not exist in the {dialect} dialect")]
    NotInDialect {
        /// What was asked for.
        what: String,
        /// The dialect's name.
        dialect: &'static str,
    },
    /// The extension kind and its body do not belong together.
    #[error("extension {kind} cannot carry a {body} body")]
    BodyMismatch {
        /// The extension kind.
        kind: &'static str,
        /// The body layout given.
        body: &'static str,
    },
    /// The same extension kind twice in one message.
    #[error("extension {0} appears twice")]
    DuplicateExtension(&'static str),
    /// A field value that cannot be represented on the wire.
    #[error("{field}: {reason}")]
    Unrepresentable {
        /// The field.
        field: &'static str,
        /// Why it does not fit.
        reason: String,
    },
    /// The message would exceed the 16-bit length field (524 280 bytes).
    #[error("message of {0} bytes exceeds the PF_KEY maximum of 524280")]
    TooLong(usize),
}
