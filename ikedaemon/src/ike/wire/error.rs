//! Decode errors of the IKEv2 codec and the notify each one maps to.
//!
//! Every error says what was wrong and at which byte offset of the message,
//! so a malformed datagram is logged in one line and dropped (or answered
//! with the right error notify) without disturbing anything else.

use std::fmt;

use super::notify_type::NotifyType;
use super::registry::PayloadType;

/// A message (or a payload chain) could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("IKE decode error at byte {offset}: {kind}")]
pub struct WireError {
    /// Offset from the start of the decoded buffer.
    pub offset: usize,
    /// What was wrong.
    pub kind: WireErrorKind,
}

/// The classes of malformed input the decoder recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireErrorKind {
    /// Fewer bytes than a structure needs.
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The header's length field does not match the datagram.
    MessageLength {
        /// Bytes announced by the header.
        declared: usize,
        /// Bytes received.
        actual: usize,
    },
    /// A major version other than 2 (RFC 7296 §3.1).
    MajorVersion(u8),
    /// A length field inside the message that is too small for its own
    /// header or runs past the enclosing structure.
    Length {
        /// The structure whose length is wrong.
        what: &'static str,
        /// The length it declares.
        declared: usize,
        /// The bytes available for it.
        available: usize,
    },
    /// Bytes left over inside a structure after its last field.
    TrailingBytes {
        /// The structure.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
    /// A count field disagrees with what follows it.
    Count {
        /// The field.
        what: &'static str,
        /// The count it declares.
        declared: usize,
        /// The count found.
        found: usize,
    },
    /// A field holds a value the protocol does not allow.
    Invalid {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A payload type we do not know, with the critical bit set
    /// (RFC 7296 §2.5: reject the message with UNSUPPORTED_CRITICAL_PAYLOAD).
    UnsupportedCritical(PayloadType),
}

impl WireError {
    /// The error notify that may answer this error, or `None` when the
    /// datagram must be dropped silently (an older major version: IKEv1
    /// traffic is not ours to answer, RFC 7296 §2.5).
    ///
    /// The engine decides whether to answer at all (RFC 7296 §2.21.1,
    /// §3.10.1): INVALID_SYNTAX only for a message whose ICV checked out
    /// (errors in the decrypted inner chain); unprotected malformed
    /// messages are dropped, except that an IKE_SA_INIT request may be
    /// answered with UNSUPPORTED_CRITICAL_PAYLOAD or, for a higher major
    /// version, INVALID_MAJOR_VERSION. RFC 7383 §2.6: invalid fragments are
    /// discarded.
    pub fn notify(&self) -> Option<NotifyType> {
        match self.kind {
            WireErrorKind::MajorVersion(v) if v > super::header::MAJOR_VERSION => {
                Some(NotifyType::INVALID_MAJOR_VERSION)
            }
            WireErrorKind::MajorVersion(_) => None,
            WireErrorKind::UnsupportedCritical(_) => Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD),
            _ => Some(NotifyType::INVALID_SYNTAX),
        }
    }

    /// The notification data that goes with [`WireError::notify`]: the
    /// one-byte payload type for UNSUPPORTED_CRITICAL_PAYLOAD, nothing else.
    pub fn notify_data(&self) -> Vec<u8> {
        match self.kind {
            WireErrorKind::UnsupportedCritical(t) => vec![t.0],
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for WireErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "{what} truncated: needs {needed} bytes, {available} left"
            ),
            Self::MessageLength { declared, actual } => write!(
                f,
                "header says the message is {declared} bytes, datagram has {actual}"
            ),
            Self::MajorVersion(v) => write!(f, "unsupported major version {v}"),
            Self::Length {
                what,
                declared,
                available,
            } => write!(
                f,
                "{what} length {declared} is invalid ({available} bytes available)"
            ),
            Self::TrailingBytes { what, count } => {
                write!(f, "{count} unexpected bytes at the end of {what}")
            }
            Self::Count {
                what,
                declared,
                found,
            } => write!(f, "{what} says {declared}, found {found}"),
            Self::Invalid { what, value } => write!(f, "invalid {what} {value}"),
            Self::UnsupportedCritical(t) => {
                write!(f, "unsupported payload type {} marked critical", t.0)
            }
        }
    }
}
