//! The payloads with a flat layout: KE, IDi/IDr, CERT, CERTREQ, AUTH,
//! Nonce, Delete and Vendor ID (RFC 7296 §3.4–§3.12).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{WireError, WireErrorKind};
use super::reader::{Reader, Writer};
use super::registry::{AuthMethod, CertEncoding, IdType, ProtocolId};

/// Key Exchange payload (§3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KePayload {
    /// Key exchange method (DH group) number.
    pub group: u16,
    /// The public value, as sent.
    pub data: Vec<u8>,
}

impl KePayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let group = r.u16("KE payload")?;
        r.u16("KE payload")?; // reserved
        Ok(Self {
            group,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.group);
        w.u16(0);
        w.bytes(&self.data);
    }
}

/// Identification payload body, used for IDi and IDr (§3.5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identification {
    /// ID type.
    pub id_type: IdType,
    /// The three RESERVED bytes as received (zero when we send): kept
    /// because the AUTH computation covers the received ID payload body
    /// byte for byte (RFC 7296 §2.15).
    pub reserved: [u8; 3],
    /// The identification data as sent.
    pub data: Vec<u8>,
}

impl Identification {
    /// An ID_FQDN.
    pub fn fqdn(name: &str) -> Self {
        Self {
            id_type: IdType::FQDN,
            reserved: [0; 3],
            data: name.as_bytes().to_vec(),
        }
    }

    /// ID_IPV4_ADDR or ID_IPV6_ADDR.
    pub fn ip(addr: std::net::IpAddr) -> Self {
        match addr {
            std::net::IpAddr::V4(a) => Self {
                id_type: IdType::IPV4_ADDR,
                reserved: [0; 3],
                data: a.octets().to_vec(),
            },
            std::net::IpAddr::V6(a) => Self {
                id_type: IdType::IPV6_ADDR,
                reserved: [0; 3],
                data: a.octets().to_vec(),
            },
        }
    }

    /// The payload body the AUTH computation covers (RFC 7296 §2.15:
    /// ID type, the three reserved bytes as received, data).
    pub fn body(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.as_slice().to_vec()
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let id_type = IdType(r.u8("ID payload")?);
        let reserved = r.array::<3>("ID payload")?;
        let data = r.rest().to_vec();
        let expect = match id_type {
            IdType::IPV4_ADDR => Some(4),
            IdType::IPV6_ADDR => Some(16),
            IdType::NULL => Some(0),
            _ => None,
        };
        if let Some(n) = expect
            && data.len() != n
        {
            return Err(r.error(WireErrorKind::Length {
                what: "ID data for its type",
                declared: data.len(),
                available: n,
            }));
        }
        Ok(Self {
            id_type,
            reserved,
            data,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.id_type.0);
        w.bytes(&self.reserved);
        w.bytes(&self.data);
    }
}

impl fmt::Display for Identification {
    /// Human form: `192.0.2.1`, `vpn.example`, `user@example`, hex otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id_type {
            IdType::IPV4_ADDR => match <[u8; 4]>::try_from(self.data.as_slice()) {
                Ok(a) => write!(f, "{}", Ipv4Addr::from(a)),
                Err(_) => write_hex(f, &self.data),
            },
            IdType::IPV6_ADDR => match <[u8; 16]>::try_from(self.data.as_slice()) {
                Ok(a) => write!(f, "{}", Ipv6Addr::from(a)),
                Err(_) => write_hex(f, &self.data),
            },
            IdType::FQDN | IdType::RFC822_ADDR => match std::str::from_utf8(&self.data) {
                Ok(s) if s.chars().all(|c| !c.is_control()) => f.write_str(s),
                _ => write_hex(f, &self.data),
            },
            IdType::NULL => f.write_str("%null"),
            _ => {
                write!(f, "{}:", self.id_type)?;
                write_hex(f, &self.data)
            }
        }
    }
}

pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    f.write_str(&hex::encode(b))
}

/// Certificate payload (§3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPayload {
    /// Encoding.
    pub encoding: CertEncoding,
    /// Certificate data (DER for X.509 Certificate - Signature).
    pub data: Vec<u8>,
}

/// Certificate Request payload (§3.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertReqPayload {
    /// Encoding of the certificates asked for.
    pub encoding: CertEncoding,
    /// Certification authority data: for X.509, concatenated SHA-1 hashes
    /// of the trusted CAs' SubjectPublicKeyInfo.
    pub data: Vec<u8>,
}

impl CertPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Self {
            encoding: CertEncoding(r.u8("CERT payload")?),
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.encoding.0);
        w.bytes(&self.data);
    }
}

impl CertReqPayload {
    /// The 20-byte SHA-1 key hashes of an X.509 request; `None` if the data
    /// is not a whole number of hashes.
    pub fn authorities(&self) -> Option<Vec<[u8; 20]>> {
        if !self.data.len().is_multiple_of(20) {
            return None;
        }
        Some(
            self.data
                .chunks_exact(20)
                .filter_map(|c| <[u8; 20]>::try_from(c).ok())
                .collect(),
        )
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Self {
            encoding: CertEncoding(r.u8("CERTREQ payload")?),
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.encoding.0);
        w.bytes(&self.data);
    }
}

/// Authentication payload (§3.8).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthPayload {
    /// Authentication method.
    pub method: AuthMethod,
    /// Authentication data (MIC or signature; for method 14 the
    /// AlgorithmIdentifier prefix of RFC 7427 is part of it).
    pub data: Vec<u8>,
}

impl AuthPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let method = AuthMethod(r.u8("AUTH payload")?);
        r.take(3, "AUTH payload")?; // reserved
        Ok(Self {
            method,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.method.0);
        w.bytes(&[0, 0, 0]);
        w.bytes(&self.data);
    }
}

/// Delete payload (§3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletePayload {
    /// IKE, AH or ESP.
    pub protocol: ProtocolId,
    /// SPI size: 0 for IKE (the SA is the one the message travels on),
    /// 4 for AH/ESP.
    pub spi_size: u8,
    /// The SPIs, each `spi_size` bytes.
    pub spis: Vec<Vec<u8>>,
}

impl DeletePayload {
    /// Deletes the IKE SA the message is sent on.
    pub fn ike() -> Self {
        Self {
            protocol: ProtocolId::IKE,
            spi_size: 0,
            spis: Vec::new(),
        }
    }

    /// Deletes CHILD SAs by their inbound SPIs.
    pub fn child(protocol: ProtocolId, spis: &[u32]) -> Self {
        Self {
            protocol,
            spi_size: 4,
            spis: spis.iter().map(|s| s.to_be_bytes().to_vec()).collect(),
        }
    }

    /// The SPIs as u32 (AH/ESP); SPIs of other sizes are skipped.
    pub fn spis_u32(&self) -> Vec<u32> {
        self.spis
            .iter()
            .filter_map(|s| <[u8; 4]>::try_from(s.as_slice()).ok())
            .map(u32::from_be_bytes)
            .collect()
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let protocol = ProtocolId(r.u8("Delete payload")?);
        let spi_size = r.u8("Delete payload")?;
        let count = usize::from(r.u16("Delete payload")?);
        let size = usize::from(spi_size);
        let found = r.remaining().checked_div(size).unwrap_or(0);
        if count != found || (size == 0 && !r.is_empty()) || r.remaining() != count * size {
            return Err(r.error(WireErrorKind::Count {
                what: "Delete payload's number of SPIs",
                declared: count,
                found,
            }));
        }
        let mut spis = Vec::with_capacity(count);
        for _ in 0..count {
            spis.push(r.take(size, "Delete SPI")?.to_vec());
        }
        Ok(Self {
            protocol,
            spi_size,
            spis,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.protocol.0);
        w.u8(self.spi_size);
        w.u16(u16::try_from(self.spis.len()).unwrap_or(u16::MAX));
        for s in &self.spis {
            w.bytes(s);
        }
    }
}
