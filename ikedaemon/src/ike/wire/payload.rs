//! The payload enum and the generic payload header chain (RFC 7296 §3.2):
//! decoding a chain from a first type and bytes, and encoding one with
//! every Next Payload and length computed here.

use super::cp::CpPayload;
use super::eap::EapPayload;
use super::encrypted::{EncryptedFragment, EncryptedPayload};
use super::error::{WireError, WireErrorKind};
use super::notify::NotifyPayload;
use super::reader::{Reader, Writer};
use super::registry::PayloadType;
use super::sa::SaPayload;
use super::simple::{
    AuthPayload, CertPayload, CertReqPayload, DeletePayload, Identification, KePayload,
};
use super::ts::TsPayload;

/// Length of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;

const CRITICAL: u8 = 0x80;

/// One payload of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// SA.
    Sa(SaPayload),
    /// KE.
    Ke(KePayload),
    /// IDi.
    IdI(Identification),
    /// IDr.
    IdR(Identification),
    /// CERT.
    Cert(CertPayload),
    /// CERTREQ.
    CertReq(CertReqPayload),
    /// AUTH.
    Auth(AuthPayload),
    /// Nonce (Ni or Nr): the nonce data.
    Nonce(Vec<u8>),
    /// Notify.
    Notify(NotifyPayload),
    /// Delete.
    Delete(DeletePayload),
    /// Vendor ID: the vendor ID data.
    VendorId(Vec<u8>),
    /// TSi.
    TsI(TsPayload),
    /// TSr.
    TsR(TsPayload),
    /// SK (must be the last payload).
    Encrypted(EncryptedPayload),
    /// CP.
    Config(CpPayload),
    /// EAP.
    Eap(EapPayload),
    /// SKF (must be the last payload).
    Fragment(EncryptedFragment),
    /// A payload type this codec does not interpret, sent without the
    /// critical bit (RFC 7296 §2.5: skip it). Kept so a message re-encodes
    /// and so the engine can log what it skipped.
    Unknown {
        /// Payload type.
        kind: PayloadType,
        /// Critical bit as sent (always false when decoded: unknown
        /// critical payloads are an error).
        critical: bool,
        /// Body.
        data: Vec<u8>,
    },
}

impl Payload {
    /// The payload type number.
    pub fn kind(&self) -> PayloadType {
        match self {
            Self::Sa(_) => PayloadType::SA,
            Self::Ke(_) => PayloadType::KE,
            Self::IdI(_) => PayloadType::IDI,
            Self::IdR(_) => PayloadType::IDR,
            Self::Cert(_) => PayloadType::CERT,
            Self::CertReq(_) => PayloadType::CERTREQ,
            Self::Auth(_) => PayloadType::AUTH,
            Self::Nonce(_) => PayloadType::NONCE,
            Self::Notify(_) => PayloadType::NOTIFY,
            Self::Delete(_) => PayloadType::DELETE,
            Self::VendorId(_) => PayloadType::VENDOR_ID,
            Self::TsI(_) => PayloadType::TSI,
            Self::TsR(_) => PayloadType::TSR,
            Self::Encrypted(_) => PayloadType::SK,
            Self::Config(_) => PayloadType::CP,
            Self::Eap(_) => PayloadType::EAP,
            Self::Fragment(_) => PayloadType::SKF,
            Self::Unknown { kind, .. } => *kind,
        }
    }

    /// True for SK and SKF, which end a chain.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Self::Encrypted(_) | Self::Fragment(_))
    }

    /// Decodes one payload body of type `kind`; `next` is the generic
    /// header's Next Payload (the first inner type for SK/SKF).
    fn decode_body(
        kind: PayloadType,
        next: PayloadType,
        critical: bool,
        r: &mut Reader<'_>,
    ) -> Result<Self, WireError> {
        let p = match kind {
            PayloadType::SA => Self::Sa(SaPayload::decode(r)?),
            PayloadType::KE => Self::Ke(KePayload::decode(r)?),
            PayloadType::IDI => Self::IdI(Identification::decode(r)?),
            PayloadType::IDR => Self::IdR(Identification::decode(r)?),
            PayloadType::CERT => Self::Cert(CertPayload::decode(r)?),
            PayloadType::CERTREQ => Self::CertReq(CertReqPayload::decode(r)?),
            PayloadType::AUTH => Self::Auth(AuthPayload::decode(r)?),
            PayloadType::NONCE => Self::Nonce(r.rest().to_vec()),
            PayloadType::NOTIFY => Self::Notify(NotifyPayload::decode(r)?),
            PayloadType::DELETE => Self::Delete(DeletePayload::decode(r)?),
            PayloadType::VENDOR_ID => Self::VendorId(r.rest().to_vec()),
            PayloadType::TSI => Self::TsI(TsPayload::decode(r)?),
            PayloadType::TSR => Self::TsR(TsPayload::decode(r)?),
            PayloadType::SK => Self::Encrypted(EncryptedPayload::decode(next, r)),
            PayloadType::CP => Self::Config(CpPayload::decode(r)?),
            PayloadType::EAP => Self::Eap(EapPayload::decode(r)?),
            PayloadType::SKF => Self::Fragment(EncryptedFragment::decode(next, r)?),
            _ if critical => {
                return Err(r.error(WireErrorKind::UnsupportedCritical(kind)));
            }
            _ => Self::Unknown {
                kind,
                critical,
                data: r.rest().to_vec(),
            },
        };
        r.finish("payload")?;
        Ok(p)
    }

    fn encode_body(&self, w: &mut Writer) {
        match self {
            Self::Sa(p) => p.encode(w),
            Self::Ke(p) => p.encode(w),
            Self::IdI(p) | Self::IdR(p) => p.encode(w),
            Self::Cert(p) => p.encode(w),
            Self::CertReq(p) => p.encode(w),
            Self::Auth(p) => p.encode(w),
            Self::Nonce(d) | Self::VendorId(d) => w.bytes(d),
            Self::Notify(p) => p.encode(w),
            Self::Delete(p) => p.encode(w),
            Self::TsI(p) | Self::TsR(p) => p.encode(w),
            Self::Encrypted(p) => p.encode(w),
            Self::Config(p) => p.encode(w),
            Self::Eap(p) => p.encode(w),
            Self::Fragment(p) => p.encode(w),
            Self::Unknown { data, .. } => w.bytes(data),
        }
    }
}

/// Decodes a payload chain that starts with a payload of type `first` and
/// fills `buf` exactly. `base` is the offset of `buf` in the message, for
/// error reports. An SK or SKF payload ends the chain (its Next Payload
/// names the first inner payload), so bytes after it are trailing bytes.
pub fn decode_chain(
    first: PayloadType,
    buf: &[u8],
    base: usize,
) -> Result<Vec<Payload>, WireError> {
    let mut r = Reader::new(buf, base);
    let mut next = first;
    let mut out = Vec::new();
    while next != PayloadType::NONE {
        let kind = next;
        next = PayloadType(r.u8("generic payload header")?);
        let critical = r.u8("generic payload header")? & CRITICAL != 0;
        let len = usize::from(r.u16("generic payload header")?);
        let available = r.remaining() + GENERIC_HEADER_LEN;
        if len < GENERIC_HEADER_LEN || len > available {
            return Err(r.error(WireErrorKind::Length {
                what: "payload",
                declared: len,
                available,
            }));
        }
        let mut body = r.sub(len - GENERIC_HEADER_LEN, "payload body")?;
        let p = Payload::decode_body(kind, next, critical, &mut body)?;
        if p.is_encrypted() {
            // The SK/SKF Next Payload names the first inner payload; the
            // outer chain ends here.
            next = PayloadType::NONE;
        }
        out.push(p);
    }
    if !r.is_empty() {
        return Err(r.error(WireErrorKind::TrailingBytes {
            what: "message after the last payload",
            count: r.remaining(),
        }));
    }
    Ok(out)
}

/// Decodes the decrypted content of an SK payload (or of reassembled SKF
/// fragments): like [`decode_chain`], but an SK or SKF payload inside is an
/// error (RFC 7296 §3.14, RFC 7383 §2.5: they appear only as the last outer
/// payload).
pub fn decode_inner_chain(first: PayloadType, buf: &[u8]) -> Result<Vec<Payload>, WireError> {
    let chain = decode_chain(first, buf, 0)?;
    if let Some(p) = chain.iter().find(|p| p.is_encrypted()) {
        return Err(WireError {
            offset: 0,
            kind: WireErrorKind::Invalid {
                what: "Encrypted payload inside an Encrypted payload, type",
                value: u64::from(p.kind().0),
            },
        });
    }
    Ok(chain)
}

/// Encodes a payload chain; returns the type of the first payload (for the
/// header or the enclosing SK payload). Encrypted payloads end the chain:
/// anything after one is not written.
pub fn encode_chain(payloads: &[Payload], w: &mut Writer) -> PayloadType {
    let mut prev_next_at: Option<usize> = None;
    let mut first = PayloadType::NONE;
    for p in payloads {
        let kind = p.kind();
        match prev_next_at {
            Some(at) => w.set_u8(at, kind.0),
            None => first = kind,
        }
        let start = w.len();
        let next = match p {
            Payload::Encrypted(e) => e.first_inner,
            Payload::Fragment(f) => f.first_inner,
            _ => PayloadType::NONE,
        };
        w.u8(next.0);
        w.u8(match p {
            Payload::Unknown { critical: true, .. } => CRITICAL,
            _ => 0,
        });
        let len_at = w.len16_placeholder();
        p.encode_body(w);
        w.patch_len16(len_at, start, "payload");
        if p.is_encrypted() {
            break;
        }
        prev_next_at = Some(start);
    }
    first
}
