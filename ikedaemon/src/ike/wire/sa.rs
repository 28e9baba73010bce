//! The Security Association payload: proposals, transforms and transform
//! attributes (RFC 7296 §3.3).

use std::fmt;

use super::error::{WireError, WireErrorKind};
use super::reader::{Reader, Writer};
use super::registry::{AttributeType, ProtocolId, TransformType, fmt_transform};

/// SA payload body: one or more proposals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaPayload {
    /// Proposals in the order sent.
    pub proposals: Vec<Proposal>,
}

/// One proposal substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal Num (1 for the first, one more for each next; the chosen
    /// proposal in a response keeps the number it had in the offer).
    pub number: u8,
    /// Protocol ID (IKE, AH or ESP).
    pub protocol: ProtocolId,
    /// The sender's SPI for this SA (empty in IKE_SA_INIT, 8 bytes when
    /// rekeying an IKE SA, 4 for AH/ESP).
    pub spi: Vec<u8>,
    /// Transforms.
    pub transforms: Vec<Transform>,
}

/// One transform substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    /// Transform type.
    pub kind: TransformType,
    /// Transform ID within its type's registry.
    pub id: u16,
    /// Attributes in the order sent.
    pub attributes: Vec<Attribute>,
}

/// A transform attribute (RFC 7296 §3.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// Key Length in bits (type 14, TV format).
    KeyLength(u16),
    /// Any other attribute, kept as sent.
    Other {
        /// Attribute type (without the AF bit).
        kind: AttributeType,
        /// Value.
        value: AttributeValue,
    },
}

/// The two attribute formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// TV: a two-byte value (AF bit set).
    Short(u16),
    /// TLV: a variable-length value.
    Long(Vec<u8>),
}

const AF_TV: u16 = 0x8000;
const LAST: u8 = 0;
const MORE_PROPOSALS: u8 = 2;
const MORE_TRANSFORMS: u8 = 3;

impl Transform {
    /// A transform without attributes.
    pub fn new(kind: TransformType, id: u16) -> Self {
        Self {
            kind,
            id,
            attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute.
    pub fn with_key_length(kind: TransformType, id: u16, bits: u16) -> Self {
        Self {
            kind,
            id,
            attributes: vec![Attribute::KeyLength(bits)],
        }
    }

    /// The Key Length attribute, if present.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::KeyLength(bits) => Some(*bits),
            Attribute::Other { .. } => None,
        })
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let kind = TransformType(r.u8("transform")?);
        r.u8("transform")?; // reserved
        let id = r.u16("transform")?;
        let mut attributes = Vec::new();
        while !r.is_empty() {
            let raw = r.u16("transform attribute")?;
            let kind = AttributeType(raw & !AF_TV);
            if raw & AF_TV != 0 {
                let v = r.u16("transform attribute")?;
                attributes.push(if kind == AttributeType::KEY_LENGTH {
                    Attribute::KeyLength(v)
                } else {
                    Attribute::Other {
                        kind,
                        value: AttributeValue::Short(v),
                    }
                });
            } else {
                // A TLV Key Length (RFC 7296 §3.3.5 defines only TV) stays
                // an unknown attribute: proposal selection then finds the
                // transform unacceptable (§3.3.6) instead of failing the
                // whole message.
                let len = r.u16("transform attribute")?;
                let value = r.take(usize::from(len), "transform attribute value")?;
                attributes.push(Attribute::Other {
                    kind,
                    value: AttributeValue::Long(value.to_vec()),
                });
            }
        }
        Ok(Self {
            kind,
            id,
            attributes,
        })
    }

    fn encode(&self, w: &mut Writer, last: bool) {
        let start = w.len();
        w.u8(if last { LAST } else { MORE_TRANSFORMS });
        w.u8(0);
        let len_at = w.len16_placeholder();
        w.u8(self.kind.0);
        w.u8(0);
        w.u16(self.id);
        for a in &self.attributes {
            match a {
                Attribute::KeyLength(bits) => {
                    w.u16(AF_TV | AttributeType::KEY_LENGTH.0);
                    w.u16(*bits);
                }
                Attribute::Other {
                    kind,
                    value: AttributeValue::Short(v),
                } => {
                    w.u16(AF_TV | kind.0);
                    w.u16(*v);
                }
                Attribute::Other {
                    kind,
                    value: AttributeValue::Long(v),
                } => {
                    w.u16(kind.0 & !AF_TV);
                    let at = w.len16_placeholder();
                    let vstart = w.len();
                    w.bytes(v);
                    w.patch_len16(at, vstart, "transform attribute");
                }
            }
        }
        w.patch_len16(len_at, start, "transform");
    }
}

impl Proposal {
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let number = r.u8("proposal")?;
        let protocol = ProtocolId(r.u8("proposal")?);
        let spi_size = r.u8("proposal")?;
        let count = r.u8("proposal")?;
        let spi = r.take(usize::from(spi_size), "proposal SPI")?.to_vec();
        let mut transforms = Vec::new();
        while !r.is_empty() {
            let (_, mut body) = substructure(r, "transform", MORE_TRANSFORMS)?;
            transforms.push(Transform::decode(&mut body)?);
        }
        r.finish("proposal")?;
        if transforms.len() != usize::from(count) {
            return Err(r.error(WireErrorKind::Count {
                what: "proposal's number of transforms",
                declared: usize::from(count),
                found: transforms.len(),
            }));
        }
        Ok(Self {
            number,
            protocol,
            spi,
            transforms,
        })
    }

    fn encode(&self, w: &mut Writer, last: bool) {
        let start = w.len();
        w.u8(if last { LAST } else { MORE_PROPOSALS });
        w.u8(0);
        let len_at = w.len16_placeholder();
        w.u8(self.number);
        w.u8(self.protocol.0);
        w.u8(u8::try_from(self.spi.len()).unwrap_or(u8::MAX));
        w.u8(u8::try_from(self.transforms.len()).unwrap_or(u8::MAX));
        w.bytes(&self.spi);
        let n = self.transforms.len();
        for (i, t) in self.transforms.iter().enumerate() {
            t.encode(w, i + 1 == n);
        }
        w.patch_len16(len_at, start, "proposal");
    }
}

/// Reads one proposal or transform substructure header: the last/more
/// marker, reserved byte and length; returns the marker and a reader over
/// the rest of the substructure.
fn substructure<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
    more: u8,
) -> Result<(u8, Reader<'a>), WireError> {
    let marker = r.u8(what)?;
    if marker != LAST && marker != more {
        return Err(r.error(WireErrorKind::Invalid {
            what: "last substructure marker",
            value: u64::from(marker),
        }));
    }
    r.u8(what)?; // reserved
    let len = usize::from(r.u16(what)?);
    let available = r.remaining() + 4;
    if len < 8 || len > available {
        return Err(r.error(WireErrorKind::Length {
            what,
            declared: len,
            available,
        }));
    }
    let body = r.sub(len - 4, what)?;
    if marker == LAST && !r.is_empty() {
        return Err(r.error(WireErrorKind::TrailingBytes {
            what: "substructures after the one marked last",
            count: r.remaining(),
        }));
    }
    if marker == more && r.is_empty() {
        return Err(r.error(WireErrorKind::Truncated {
            what: "substructure announced by the previous one",
            needed: 8,
            available: 0,
        }));
    }
    Ok((marker, body))
}

impl SaPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        if r.is_empty() {
            // RFC 7296 §3.3: an SA payload holds one or more proposals.
            return Err(r.error(WireErrorKind::Count {
                what: "proposals in the SA payload",
                declared: 1,
                found: 0,
            }));
        }
        let mut proposals = Vec::new();
        while !r.is_empty() {
            let (_, mut body) = substructure(r, "proposal", MORE_PROPOSALS)?;
            proposals.push(Proposal::decode(&mut body)?);
        }
        Ok(Self { proposals })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let n = self.proposals.len();
        for (i, p) in self.proposals.iter().enumerate() {
            p.encode(w, i + 1 == n);
        }
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_transform(f, self.kind, self.id, self.key_length())
    }
}

impl fmt::Display for Proposal {
    /// `IKE:aes256gcm16/prfsha384/x25519` (the form strongSwan logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.protocol)?;
        for (i, t) in self.transforms.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}
