//! The fixed IKE header (RFC 7296 §3.1).
//!
//! The engine reads the header on its own before anything else: the SPIs
//! and the message ID route a datagram, and a header that cannot be read
//! is dropped without an answer.

use std::fmt;

use super::error::{WireError, WireErrorKind};
use super::reader::{Reader, Writer};
use super::registry::{ExchangeType, PayloadType};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 28;

/// The only major version this codec speaks.
pub const MAJOR_VERSION: u8 = 2;

const FLAG_INITIATOR: u8 = 0x08;
const FLAG_VERSION: u8 = 0x10;
const FLAG_RESPONSE: u8 = 0x20;

/// The IKE header without the fields the encoder computes (next payload
/// and length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// IKE SA Initiator's SPI.
    pub spi_i: u64,
    /// IKE SA Responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: u64,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// I flag: set by the original initiator of the IKE SA.
    pub initiator: bool,
    /// R flag: this message is a response.
    pub response: bool,
    /// V flag: the sender can speak a higher major version.
    pub higher_version: bool,
    /// Message ID.
    pub message_id: u32,
}

/// What the fixed header says about the rest of the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    /// The header.
    pub header: Header,
    /// Type of the first payload.
    pub next_payload: PayloadType,
    /// Minor version as sent (ignored by IKEv2 receivers).
    pub minor_version: u8,
    /// Total message length as declared.
    pub length: u32,
}

impl Header {
    /// Reads the header from the start of `buf`. Checks the major version
    /// (an IKEv1 or future-version message is an error the engine can
    /// answer with INVALID_MAJOR_VERSION or drop) and that the declared
    /// length equals the datagram's.
    pub fn decode(buf: &[u8]) -> Result<HeaderInfo, WireError> {
        // The whole header or a truncation error naming it.
        let mut r = Reader::new(buf, 0).sub(HEADER_LEN, "IKE header")?;
        let spi_i = r.u64("IKE header")?;
        let spi_r = r.u64("IKE header")?;
        let next_payload = PayloadType(r.u8("IKE header")?);
        let version = r.u8("IKE header")?;
        let exchange = ExchangeType(r.u8("IKE header")?);
        let flags = r.u8("IKE header")?;
        let message_id = r.u32("IKE header")?;
        let length = r.u32("IKE header")?;
        let major = version >> 4;
        if major != MAJOR_VERSION {
            return Err(WireError {
                offset: 17,
                kind: WireErrorKind::MajorVersion(major),
            });
        }
        if usize::try_from(length).ok() != Some(buf.len()) {
            return Err(WireError {
                offset: 24,
                kind: WireErrorKind::MessageLength {
                    declared: length as usize,
                    actual: buf.len(),
                },
            });
        }
        Ok(HeaderInfo {
            header: Header {
                spi_i,
                spi_r,
                exchange,
                initiator: flags & FLAG_INITIATOR != 0,
                response: flags & FLAG_RESPONSE != 0,
                higher_version: flags & FLAG_VERSION != 0,
                message_id,
            },
            next_payload,
            minor_version: version & 0x0f,
            length,
        })
    }

    /// The flags octet.
    pub fn flags(&self) -> u8 {
        let mut f = 0;
        if self.initiator {
            f |= FLAG_INITIATOR;
        }
        if self.higher_version {
            f |= FLAG_VERSION;
        }
        if self.response {
            f |= FLAG_RESPONSE;
        }
        f
    }

    /// Writes the header with placeholder next-payload and length, which
    /// the message encoder patches (offsets 16 and 24).
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u64(self.spi_i);
        w.u64(self.spi_r);
        w.u8(0);
        w.u8(MAJOR_VERSION << 4);
        w.u8(self.exchange.0);
        w.u8(self.flags());
        w.u32(self.message_id);
        w.u32(0);
    }
}

impl fmt::Display for Header {
    /// `IKE_AUTH request 1` (the first words of a message summary).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.response { "response" } else { "request" };
        write!(f, "{} {kind} {}", self.exchange, self.message_id)
    }
}
