//! Extensions that carry variable-length data: keys, identities, Linux
//! security contexts, OpenBSD tags and credentials, and KAME/Linux key
//! manager private data.

use std::fmt;

use zeroize::Zeroizing;

use crate::dialect::Dialect;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, SizeRule};
use crate::wire::{Reader, Writer};

use super::Body;

/// `struct sadb_key` followed by the key bits. The key material is zeroized
/// on drop and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// Key length in bits.
    pub bits: u16,
    /// Key bytes: exactly `ceil(bits / 8)` of them.
    pub data: Zeroizing<Vec<u8>>,
}

impl Key {
    /// A key of `data.len() * 8` bits.
    pub fn new(data: &[u8]) -> Self {
        Key {
            bits: (data.len() * 8) as u16,
            data: Zeroizing::new(data.to_vec()),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key {{ bits: {}, data: <redacted> }}", self.bits)
    }
}

impl Body for Key {
    const NAME: &'static str = "sadb_key";
    const SIZE: SizeRule = SizeRule::AtLeast(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let bits = r.u16("sadb_key")?;
        r.skip(2, "sadb_key")?;
        let n = usize::from(bits).div_ceil(8);
        let data = Zeroizing::new(r.take(n, "sadb_key bits")?.to_vec());
        r.rest();
        Ok(Key { bits, data })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        if self.data.len() != usize::from(self.bits).div_ceil(8) {
            return Err(EncodeError::Unrepresentable {
                field: "sadb_key",
                reason: format!("{} key bytes for {} bits", self.data.len(), self.bits),
            });
        }
        w.u16(self.bits);
        w.u16(0);
        w.bytes(&self.data);
        Ok(())
    }
}

/// Strip the NUL padding that follows a C string in an extension.
fn trim_nul(b: &[u8]) -> Vec<u8> {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    b[..end].to_vec()
}

/// `struct sadb_ident` followed by a NUL-padded identity string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `SADB_IDENTTYPE_*`.
    pub ident_type: u16,
    /// Numeric id.
    pub id: u64,
    /// The identity string, without its NUL padding.
    pub data: Vec<u8>,
}

impl Body for Identity {
    const NAME: &'static str = "sadb_ident";
    const SIZE: SizeRule = SizeRule::AtLeast(16);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let ident_type = r.u16("sadb_ident")?;
        r.skip(2, "sadb_ident")?;
        let id = r.u64("sadb_ident")?;
        Ok(Identity {
            ident_type,
            id,
            data: trim_nul(r.rest()),
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u16(self.ident_type);
        w.u16(0);
        w.u64(self.id);
        w.bytes(&self.data);
        if !self.data.is_empty() {
            w.u8(0);
        }
        Ok(())
    }
}

/// Linux `struct sadb_x_sec_ctx` followed by the LSM context string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecCtx {
    /// LSM algorithm (SELinux = 1).
    pub alg: u8,
    /// Domain of interpretation.
    pub doi: u8,
    /// The context string.
    pub context: Vec<u8>,
}

impl Body for SecCtx {
    const NAME: &'static str = "sadb_x_sec_ctx";
    const SIZE: SizeRule = SizeRule::AtLeast(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let alg = r.u8("sadb_x_sec_ctx")?;
        let doi = r.u8("sadb_x_sec_ctx")?;
        let len = r.u16("sadb_x_sec_ctx")?;
        let context = r.take(len.into(), "sadb_x_sec_ctx string")?.to_vec();
        r.rest();
        Ok(SecCtx { alg, doi, context })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        let len = u16::try_from(self.context.len()).map_err(|_| EncodeError::Unrepresentable {
            field: "sadb_x_ctx_len",
            reason: "context longer than 65535 bytes".into(),
        })?;
        w.u8(self.alg);
        w.u8(self.doi);
        w.u16(len);
        w.bytes(&self.context);
        Ok(())
    }
}

/// OpenBSD `struct sadb_x_tag` followed by a pf tag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag name, without its terminating NUL.
    pub name: Vec<u8>,
}

impl Body for Tag {
    const NAME: &'static str = "sadb_x_tag";
    const SIZE: SizeRule = SizeRule::AtLeast(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let len = r.u32("sadb_x_tag")? as usize;
        if len > r.remaining() {
            return Err(r.error(DecodeErrorKind::Truncated {
                what: "sadb_x_tag name",
                needed: len,
                available: r.remaining(),
            }));
        }
        let name = trim_nul(r.take(len, "sadb_x_tag name")?);
        r.rest();
        Ok(Tag { name })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(self.name.len() as u32 + 1);
        w.bytes(&self.name);
        w.u8(0);
        Ok(())
    }
}

/// Opaque bytes after a 4-byte reserved field: KAME/Linux
/// `sadb_x_kmprivate`. Decoded data includes the padding to 8 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opaque {
    /// The data.
    pub data: Vec<u8>,
}

impl Body for Opaque {
    const NAME: &'static str = "sadb_x_kmprivate";
    const SIZE: SizeRule = SizeRule::AtLeast(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        r.skip(4, "sadb_x_kmprivate")?;
        Ok(Opaque {
            data: r.rest().to_vec(),
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(0);
        w.bytes(&self.data);
        Ok(())
    }
}

/// OpenBSD `struct sadb_x_cred` followed by credential or auth data
/// (extensions 26–29, no longer used by current OpenBSD kernels). Decoded
/// data includes the padding to 8 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// `SADB_X_CREDTYPE_*` or `SADB_X_AUTHTYPE_*`.
    pub cred_type: u16,
    /// The data.
    pub data: Vec<u8>,
}

impl Body for Credential {
    const NAME: &'static str = "sadb_x_cred";
    const SIZE: SizeRule = SizeRule::AtLeast(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let cred_type = r.u16("sadb_x_cred")?;
        r.skip(2, "sadb_x_cred")?;
        Ok(Credential {
            cred_type,
            data: r.rest().to_vec(),
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u16(self.cred_type);
        w.u16(0);
        w.bytes(&self.data);
        Ok(())
    }
}

/// FreeBSD `struct sadb_x_if_hw_offl`: the interface an SA or policy is
/// offloaded to (`sys/net/pfkeyv2.h`, FreeBSD 14+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfHwOffload {
    /// Flags (none defined yet).
    pub flags: u32,
    /// Interface name, at most 31 bytes (the field is 32, NUL-padded).
    pub ifname: Vec<u8>,
}

impl Body for IfHwOffload {
    const NAME: &'static str = "sadb_x_if_hw_offl";
    const SIZE: SizeRule = SizeRule::Exact(40);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let flags = r.u32("sadb_x_if_hw_offl")?;
        let name = r.take(32, "sadb_x_if_hw_offl")?;
        // FreeBSD fills the field with strlcpy: a name without NUL is malformed.
        let Some(end) = name.iter().position(|&c| c == 0) else {
            return Err(r.error(DecodeErrorKind::InvalidValue {
                field: "sadb_x_if_hw_offl_if (no NUL terminator)",
                value: 32,
            }));
        };
        Ok(IfHwOffload {
            flags,
            ifname: name[..end].to_vec(),
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        if self.ifname.len() > 31 || self.ifname.contains(&0) {
            return Err(EncodeError::Unrepresentable {
                field: "sadb_x_if_hw_offl_if",
                reason: "interface name must be at most 31 bytes without NUL".into(),
            });
        }
        w.u32(self.flags);
        w.bytes(&self.ifname);
        w.zeros(32 - self.ifname.len());
        Ok(())
    }
}
