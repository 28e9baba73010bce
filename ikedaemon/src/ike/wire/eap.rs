//! The EAP payload (RFC 7296 §3.16): one EAP message (RFC 3748), whose own
//! length field must agree with the payload.

use super::error::{WireError, WireErrorKind};
use super::reader::{Reader, Writer};

/// EAP payload body: a complete EAP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EapPayload {
    /// The EAP message (Code, Identifier, Length, [Type, Type-Data]).
    pub message: Vec<u8>,
}

impl EapPayload {
    /// EAP Code (1 Request, 2 Response, 3 Success, 4 Failure).
    pub fn code(&self) -> u8 {
        self.message.first().copied().unwrap_or(0)
    }

    /// EAP Type, for requests and responses.
    pub fn eap_type(&self) -> Option<u8> {
        matches!(self.code(), 1 | 2)
            .then(|| self.message.get(4).copied())
            .flatten()
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let message = r.rest();
        let declared = match message.get(2..4) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => {
                return Err(r.error(WireErrorKind::Truncated {
                    what: "EAP message",
                    needed: 4,
                    available: message.len(),
                }));
            }
        };
        let code = message.first().copied().unwrap_or(0);
        let min = if matches!(code, 1 | 2) { 5 } else { 4 };
        if declared != message.len() || declared < min {
            return Err(r.error(WireErrorKind::Length {
                what: "EAP message",
                declared,
                available: message.len(),
            }));
        }
        Ok(Self {
            message: message.to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.bytes(&self.message);
    }

    /// `EAP/REQ/ID` style summary.
    pub fn summary(&self) -> String {
        let code = match self.code() {
            1 => "REQ",
            2 => "RES",
            3 => "SUCC",
            4 => "FAIL",
            _ => "?",
        };
        match self.eap_type() {
            Some(1) => format!("EAP/{code}/ID"),
            Some(t) => format!("EAP/{code}/{t}"),
            None => format!("EAP/{code}"),
        }
    }
}
