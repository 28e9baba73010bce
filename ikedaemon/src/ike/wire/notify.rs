//! The Notify payload (RFC 7296 §3.10) and the typed data of the notify
//! types the engine acts on.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{WireError, WireErrorKind};
use super::notify_type::NotifyType;
use super::reader::{Reader, Writer};
use super::registry::ProtocolId;

/// Notify payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPayload {
    /// Protocol of the SA the SPI names (NONE when there is no SPI; a
    /// received IKE with an empty SPI is kept as sent).
    pub protocol: ProtocolId,
    /// SPI (empty, or 4 bytes for REKEY_SA / INVALID_SPI of a CHILD SA).
    pub spi: Vec<u8>,
    /// Notify message type.
    pub kind: NotifyType,
    /// Notification data, typed where the type defines its layout.
    pub data: NotifyData,
}

/// Notification data. Types with a fixed layout are decoded (and a wrong
/// length is INVALID_SYNTAX); everything else stays raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyData {
    /// No data (FRAG_SUP, MOBIKE_SUPPORTED, USE_TRANSPORT_MODE,
    /// INITIAL_CONTACT, CHILDLESS_IKEV2_SUPPORTED, REKEY_SA, ...).
    Empty,
    /// COOKIE (1–64 bytes) or COOKIE2 (8–64 bytes) value.
    Cookie(Vec<u8>),
    /// NAT_DETECTION_SOURCE_IP / NAT_DETECTION_DESTINATION_IP: SHA-1 of
    /// SPIi | SPIr | IP | port (RFC 7296 §2.23).
    NatDetection([u8; 20]),
    /// INVALID_KE_PAYLOAD: the group the responder wants.
    InvalidKe(u16),
    /// SIGNATURE_HASH_ALGORITHMS: list of hash algorithm IDs (RFC 7427).
    HashAlgorithms(Vec<u16>),
    /// SET_WINDOW_SIZE: the window size.
    WindowSize(u32),
    /// ADDITIONAL_IP4_ADDRESS.
    Ip4(Ipv4Addr),
    /// ADDITIONAL_IP6_ADDRESS.
    Ip6(Ipv6Addr),
    /// IPCOMP_SUPPORTED: CPI and IPComp transform ID (RFC 7296 §3.10.1).
    Ipcomp {
        /// Compression parameter index.
        cpi: u16,
        /// IPComp transform (e.g. 2 = DEFLATE).
        transform: u8,
    },
    /// UNSUPPORTED_CRITICAL_PAYLOAD: the payload type we could not handle.
    PayloadType(u8),
    /// Anything else, as sent.
    Raw(Vec<u8>),
}

impl NotifyPayload {
    /// A notify about the IKE SA, with no SPI.
    pub fn new(kind: NotifyType, data: NotifyData) -> Self {
        Self {
            protocol: ProtocolId::NONE,
            spi: Vec::new(),
            kind,
            data,
        }
    }

    /// A notify without data (capabilities, INITIAL_CONTACT, ...).
    pub fn flag(kind: NotifyType) -> Self {
        Self::new(kind, NotifyData::Empty)
    }

    /// REKEY_SA for the CHILD SA with the given (our inbound) SPI.
    pub fn rekey_sa(protocol: ProtocolId, spi: u32) -> Self {
        Self {
            protocol,
            spi: spi.to_be_bytes().to_vec(),
            kind: NotifyType::REKEY_SA,
            data: NotifyData::Empty,
        }
    }

    /// The SPI as u32 when it is four bytes long.
    pub fn spi_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.spi.as_slice())
            .ok()
            .map(u32::from_be_bytes)
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let protocol = ProtocolId(r.u8("Notify payload")?);
        let spi_size = r.u8("Notify payload")?;
        let kind = NotifyType(r.u16("Notify payload")?);
        let spi = r.take(usize::from(spi_size), "Notify SPI")?.to_vec();
        let data = NotifyData::decode(kind, r)?;
        Ok(Self {
            protocol,
            spi,
            kind,
            data,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.protocol.0);
        w.u8(u8::try_from(self.spi.len()).unwrap_or(u8::MAX));
        w.u16(self.kind.0);
        w.bytes(&self.spi);
        self.data.encode(w);
    }
}

fn length_error(r: &Reader<'_>, what: &'static str, len: usize, want: usize) -> WireError {
    r.error(WireErrorKind::Length {
        what,
        declared: len,
        available: want,
    })
}

impl NotifyData {
    fn decode(kind: NotifyType, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let at = r.clone();
        let data = r.rest();
        let len = data.len();
        Ok(match kind {
            NotifyType::COOKIE if (1..=64).contains(&len) => Self::Cookie(data.to_vec()),
            NotifyType::COOKIE => return Err(length_error(&at, "COOKIE data", len, 64)),
            NotifyType::COOKIE2 if (8..=64).contains(&len) => Self::Cookie(data.to_vec()),
            NotifyType::COOKIE2 => return Err(length_error(&at, "COOKIE2 data", len, 64)),
            NotifyType::NAT_DETECTION_SOURCE_IP | NotifyType::NAT_DETECTION_DESTINATION_IP => {
                match <[u8; 20]>::try_from(data) {
                    Ok(h) => Self::NatDetection(h),
                    Err(_) => return Err(length_error(&at, "NAT detection hash", len, 20)),
                }
            }
            NotifyType::INVALID_KE_PAYLOAD => match <[u8; 2]>::try_from(data) {
                Ok(g) => Self::InvalidKe(u16::from_be_bytes(g)),
                Err(_) => return Err(length_error(&at, "INVALID_KE_PAYLOAD data", len, 2)),
            },
            NotifyType::SIGNATURE_HASH_ALGORITHMS if len.is_multiple_of(2) => Self::HashAlgorithms(
                data.chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect(),
            ),
            NotifyType::SIGNATURE_HASH_ALGORITHMS => {
                return Err(length_error(
                    &at,
                    "SIGNATURE_HASH_ALGORITHMS data",
                    len,
                    len + 1,
                ));
            }
            NotifyType::SET_WINDOW_SIZE => match <[u8; 4]>::try_from(data) {
                Ok(v) => Self::WindowSize(u32::from_be_bytes(v)),
                Err(_) => return Err(length_error(&at, "SET_WINDOW_SIZE data", len, 4)),
            },
            NotifyType::ADDITIONAL_IP4_ADDRESS => match <[u8; 4]>::try_from(data) {
                Ok(a) => Self::Ip4(Ipv4Addr::from(a)),
                Err(_) => return Err(length_error(&at, "ADDITIONAL_IP4_ADDRESS data", len, 4)),
            },
            NotifyType::ADDITIONAL_IP6_ADDRESS => match <[u8; 16]>::try_from(data) {
                Ok(a) => Self::Ip6(Ipv6Addr::from(a)),
                Err(_) => return Err(length_error(&at, "ADDITIONAL_IP6_ADDRESS data", len, 16)),
            },
            NotifyType::IPCOMP_SUPPORTED => match <[u8; 3]>::try_from(data) {
                Ok([a, b, t]) => Self::Ipcomp {
                    cpi: u16::from_be_bytes([a, b]),
                    transform: t,
                },
                Err(_) => return Err(length_error(&at, "IPCOMP_SUPPORTED data", len, 3)),
            },
            NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD if len == 1 => Self::PayloadType(data[0]),
            _ if len == 0 => Self::Empty,
            _ => Self::Raw(data.to_vec()),
        })
    }

    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Empty => {}
            Self::Cookie(v) | Self::Raw(v) => w.bytes(v),
            Self::NatDetection(h) => w.bytes(h),
            Self::InvalidKe(g) => w.u16(*g),
            Self::HashAlgorithms(l) => l.iter().for_each(|h| w.u16(*h)),
            Self::WindowSize(n) => w.u32(*n),
            Self::Ip4(a) => w.bytes(&a.octets()),
            Self::Ip6(a) => w.bytes(&a.octets()),
            Self::Ipcomp { cpi, transform } => {
                w.u16(*cpi);
                w.u8(*transform);
            }
            Self::PayloadType(t) => w.u8(*t),
        }
    }
}

impl fmt::Display for NotifyPayload {
    /// `N(NATD_S_IP)`, `N(INVAL_KE)`, `N(40960)` for unregistered types.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "N({})", self.kind)
    }
}
