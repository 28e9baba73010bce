//! A whole PF_KEY message: the `sadb_msg` header and its extensions.
//!
//! The decoder takes exactly one message (a PF_KEY socket delivers one per
//! datagram) and checks it completely: version, length against the bytes
//! received, alignment, every extension's length and type, duplicates.

use crate::dialect::Dialect;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::ext::{Address, ExtBody, Extension, Key, Lifetime, Sa, Sa2};
use crate::numbers::{ExtKind, MessageType, SaType};
use crate::wire::{Reader, Writer};

/// `PF_KEY_V2`.
pub const PF_KEY_V2: u8 = 2;
/// `sizeof(struct sadb_msg)`.
pub const HEADER_LEN: usize = 16;
/// The largest message the 16-bit length field can describe.
pub const MAX_MESSAGE_LEN: usize = 0xffff * 8;

/// A PF_KEY message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `sadb_msg_type`.
    pub msg_type: MessageType,
    /// `sadb_msg_errno`: 0, or the kernel's error for this request.
    pub errno: u8,
    /// `sadb_msg_satype`.
    pub sa_type: SaType,
    /// `sadb_msg_seq`: chosen by the sender; replies echo it.
    pub seq: u32,
    /// `sadb_msg_pid`: the requesting process, 0 for kernel-originated messages.
    pub pid: u32,
    /// Extensions, in wire order; each kind at most once.
    pub extensions: Vec<Extension>,
}

impl Message {
    /// A message with no extensions.
    pub fn new(msg_type: MessageType, sa_type: SaType) -> Self {
        Message {
            msg_type,
            errno: 0,
            sa_type,
            seq: 0,
            pid: 0,
            extensions: Vec::new(),
        }
    }

    /// Add an extension (builder style). Fails when the body does not fit
    /// the kind, or the kind is already present.
    pub fn with(mut self, kind: ExtKind, body: ExtBody) -> Result<Self, EncodeError> {
        self.push(kind, body)?;
        Ok(self)
    }

    /// Add an extension.
    pub fn push(&mut self, kind: ExtKind, body: ExtBody) -> Result<(), EncodeError> {
        if self.get(kind).is_some() {
            return Err(EncodeError::DuplicateExtension(kind.name()));
        }
        self.extensions.push(Extension::new(kind, body)?);
        Ok(())
    }

    /// The body of extension `kind`, if present.
    pub fn get(&self, kind: ExtKind) -> Option<&ExtBody> {
        self.extensions
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| &e.body)
    }

    /// The SA extension.
    pub fn sa(&self) -> Option<&Sa> {
        match self.get(ExtKind::Sa) {
            Some(ExtBody::Sa(sa)) => Some(sa),
            _ => None,
        }
    }

    /// The KAME/Linux `x_sa2` extension.
    pub fn sa2(&self) -> Option<&Sa2> {
        match self.get(ExtKind::Sa2) {
            Some(ExtBody::Sa2(v)) => Some(v),
            _ => None,
        }
    }

    /// An address extension (any kind with the address layout).
    pub fn address(&self, kind: ExtKind) -> Option<&Address> {
        match self.get(kind) {
            Some(ExtBody::Address(a)) => Some(a),
            _ => None,
        }
    }

    /// A key extension.
    pub fn key(&self, kind: ExtKind) -> Option<&Key> {
        match self.get(kind) {
            Some(ExtBody::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// A lifetime extension.
    pub fn lifetime(&self, kind: ExtKind) -> Option<&Lifetime> {
        match self.get(kind) {
            Some(ExtBody::Lifetime(l)) => Some(l),
            _ => None,
        }
    }

    /// Encode in `dialect`.
    pub fn encode(&self, dialect: Dialect) -> Result<Vec<u8>, EncodeError> {
        let keyed = self
            .extensions
            .iter()
            .any(|e| matches!(e.body, ExtBody::Key(_)));
        let mut w = Writer {
            // Far more than any SA message needs.
            buf: zeroize::Zeroizing::new(Vec::with_capacity(if keyed { 4096 } else { 0 })),
        };
        w.u8(PF_KEY_V2);
        let t = self
            .msg_type
            .to_wire(dialect)
            .ok_or_else(|| EncodeError::NotInDialect {
                what: format!("message type {}", self.msg_type.name()),
                dialect: dialect.name(),
            })?;
        w.u8(t);
        w.u8(self.errno);
        let st = self
            .sa_type
            .to_wire(dialect)
            .ok_or_else(|| EncodeError::NotInDialect {
                what: format!("SA type {}", self.sa_type.name()),
                dialect: dialect.name(),
            })?;
        w.u8(st);
        w.u16(0);
        w.u16(0);
        w.u32(self.seq);
        w.u32(self.pid);
        for (i, e) in self.extensions.iter().enumerate() {
            if self.extensions[..i].iter().any(|p| p.kind == e.kind) {
                return Err(EncodeError::DuplicateExtension(e.kind.name()));
            }
            e.encode(&mut w, dialect)?;
        }
        if w.len() > MAX_MESSAGE_LEN {
            return Err(EncodeError::TooLong(w.len()));
        }
        let units = (w.len() / 8) as u16;
        w.patch_u16(4, units);
        Ok(std::mem::take(&mut *w.buf))
    }

    /// Decode exactly one message from `buf` in `dialect`.
    pub fn decode(buf: &[u8], dialect: Dialect) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, 0);
        if buf.len() < HEADER_LEN {
            return Err(r.error(DecodeErrorKind::Truncated {
                what: "sadb_msg header",
                needed: HEADER_LEN,
                available: buf.len(),
            }));
        }
        let version = r.u8("sadb_msg")?;
        if version != PF_KEY_V2 {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::BadVersion(version),
            });
        }
        let raw_type = r.u8("sadb_msg")?;
        let msg_type = MessageType::from_wire(dialect, raw_type).ok_or(DecodeError {
            offset: 1,
            kind: DecodeErrorKind::UnknownMessageType(raw_type),
        })?;
        let errno = r.u8("sadb_msg")?;
        let raw_satype = r.u8("sadb_msg")?;
        let sa_type = SaType::from_wire(dialect, raw_satype).ok_or(DecodeError {
            offset: 3,
            kind: DecodeErrorKind::InvalidValue {
                field: "sadb_msg_satype",
                value: raw_satype.into(),
            },
        })?;
        let declared = usize::from(r.u16("sadb_msg")?) * 8;
        if !buf.len().is_multiple_of(8) {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::Misaligned {
                    what: "message",
                    len: buf.len(),
                },
            });
        }
        if declared != buf.len() {
            return Err(DecodeError {
                offset: 4,
                kind: DecodeErrorKind::MessageLength {
                    declared,
                    actual: buf.len(),
                },
            });
        }
        r.skip(2, "sadb_msg")?;
        let seq = r.u32("sadb_msg")?;
        let pid = r.u32("sadb_msg")?;
        let mut extensions: Vec<Extension> = Vec::new();
        let mut seen = [false; 256];
        while r.remaining() > 0 {
            let at = r.offset();
            let (ext, number) = Extension::decode(&mut r, dialect)?;
            let slot = &mut seen[usize::from(number & 0xff)];
            if *slot {
                return Err(DecodeError {
                    offset: at,
                    kind: DecodeErrorKind::DuplicateExtension { ext_type: number },
                });
            }
            *slot = true;
            extensions.push(ext);
        }
        Ok(Message {
            msg_type,
            errno,
            sa_type,
            seq,
            pid,
            extensions,
        })
    }
}
