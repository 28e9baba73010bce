//! A whole IKE message: header plus payload chain, its decoder, its
//! canonical encoder and its one-line summary.

use std::fmt;

use super::error::WireError;
use super::header::{HEADER_LEN, Header};
use super::notify::NotifyPayload;
use super::notify_type::NotifyType;
use super::payload::{Payload, decode_chain, encode_chain};
use super::reader::{EncodeError, Writer};

/// An IKE message. For a protected message `payloads` ends with the SK (or
/// SKF) payload; once opened, the engine works with a `Message` whose
/// payloads are the inner ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// Payloads in order.
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Decodes a datagram (without the non-ESP marker).
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let info = Header::decode(buf)?;
        let body = buf.get(HEADER_LEN..).unwrap_or_default();
        let payloads = decode_chain(info.next_payload, body, HEADER_LEN)?;
        Ok(Self {
            header: info.header,
            payloads,
        })
    }

    /// Encodes the message, computing every length and Next Payload field.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::new();
        self.header.encode(&mut w);
        let first = encode_chain(&self.payloads, &mut w);
        w.set_u8(16, first.0);
        let len = u32::try_from(w.len()).map_err(|_| EncodeError {
            what: "message",
            len: w.len(),
        })?;
        w.set_u32(24, len);
        w.finish()
    }

    /// The notifies, in order.
    pub fn notifies(&self) -> impl Iterator<Item = &NotifyPayload> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Notify(n) => Some(n),
            _ => None,
        })
    }

    /// The first notify of a type.
    pub fn notify(&self, kind: NotifyType) -> Option<&NotifyPayload> {
        self.notifies().find(|n| n.kind == kind)
    }

    /// The first payload `f` picks something out of.
    pub fn find_map<'a, T>(&'a self, f: impl Fn(&'a Payload) -> Option<T>) -> Option<T> {
        self.payloads.iter().find_map(f)
    }
}

/// The short form of one payload in a summary.
#[derive(Debug)]
pub struct PayloadSummary<'a>(pub &'a Payload);

impl fmt::Display for PayloadSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Payload::Notify(n) => write!(f, "{n}"),
            Payload::Fragment(x) => write!(f, "EF({}/{})", x.number, x.total),
            Payload::Config(c) => f.write_str(c.abbrev()),
            Payload::Eap(e) => f.write_str(&e.summary()),
            Payload::Unknown { kind, .. } if kind.name().is_none() => write!(f, "P({})", kind.0),
            p => f.write_str(p.kind().abbrev()),
        }
    }
}

impl fmt::Display for Message {
    /// `IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) ]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [", self.header)?;
        for p in &self.payloads {
            write!(f, " {}", PayloadSummary(p))?;
        }
        f.write_str(" ]")
    }
}
