//! The Configuration payload (RFC 7296 §3.15).

use super::error::WireError;
use super::reader::{Reader, Writer};
use super::registry::{CfgAttrType, CfgType};

/// Configuration payload body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpPayload {
    /// CFG_REQUEST, CFG_REPLY, CFG_SET or CFG_ACK.
    pub cfg_type: CfgType,
    /// Attributes in the order sent.
    pub attributes: Vec<CfgAttribute>,
}

/// One configuration attribute (an empty value asks for one in a request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfgAttribute {
    /// Attribute type (15 bits; the reserved top bit is ignored on receipt).
    pub kind: CfgAttrType,
    /// Value as sent.
    pub value: Vec<u8>,
}

impl CpPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let cfg_type = CfgType(r.u8("CP payload")?);
        r.take(3, "CP payload")?; // reserved
        let mut attributes = Vec::new();
        while !r.is_empty() {
            let kind = CfgAttrType(r.u16("configuration attribute")? & 0x7fff);
            let len = usize::from(r.u16("configuration attribute")?);
            let value = r.take(len, "configuration attribute value")?.to_vec();
            attributes.push(CfgAttribute { kind, value });
        }
        Ok(Self {
            cfg_type,
            attributes,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.cfg_type.0);
        w.bytes(&[0, 0, 0]);
        for a in &self.attributes {
            w.u16(a.kind.0 & 0x7fff);
            let at = w.len16_placeholder();
            let start = w.len();
            w.bytes(&a.value);
            w.patch_len16(at, start, "configuration attribute");
        }
    }

    /// The abbreviation in summaries: CPRQ, CPRP, CPS, CPA.
    pub fn abbrev(&self) -> &'static str {
        match self.cfg_type {
            CfgType::REQUEST => "CPRQ",
            CfgType::REPLY => "CPRP",
            CfgType::SET => "CPS",
            CfgType::ACK => "CPA",
            _ => "CP",
        }
    }
}
