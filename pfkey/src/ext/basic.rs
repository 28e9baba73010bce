//! Fixed-size extensions of RFC 2367 and KAME/Linux: SA, lifetime, SPI
//! range, `x_sa2`, the NAT-T scalars and FreeBSD's replay window.

use crate::dialect::Dialect;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, SizeRule};
use crate::ipsec::Mode;
use crate::numbers::SaState;
use crate::wire::{Reader, Writer};

use super::Body;

/// `struct sadb_sa`: SPI, replay window, state, algorithms, flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sa {
    /// SPI (network order on the wire, host value here).
    pub spi: u32,
    /// Replay window: packets on Linux (at most 32), bytes on FreeBSD.
    pub replay: u8,
    /// SA state.
    pub state: SaState,
    /// Authentication algorithm number (see [`crate::AuthAlgorithm`]).
    pub auth: u8,
    /// Encryption (or, for IPComp, compression) algorithm number.
    pub encrypt: u8,
    /// `SADB_SAFLAGS_*` / `SADB_X_EXT_*` flags.
    pub flags: u32,
}

pub(crate) fn invalid(r: &Reader<'_>, field: &'static str, value: u64) -> DecodeError {
    r.error(DecodeErrorKind::InvalidValue { field, value })
}

pub(crate) fn not_in_dialect(what: impl Into<String>, d: Dialect) -> EncodeError {
    EncodeError::NotInDialect {
        what: what.into(),
        dialect: d.name(),
    }
}

impl Body for Sa {
    const NAME: &'static str = "sadb_sa";
    const SIZE: SizeRule = SizeRule::Exact(16);
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        let spi = r.u32_be("sadb_sa")?;
        let replay = r.u8("sadb_sa")?;
        let at = r.offset();
        let raw_state = r.u8("sadb_sa")?;
        let state = SaState::from_wire(d, raw_state).ok_or(DecodeError {
            offset: at,
            kind: DecodeErrorKind::InvalidValue {
                field: "sadb_sa_state",
                value: raw_state.into(),
            },
        })?;
        Ok(Sa {
            spi,
            replay,
            state,
            auth: r.u8("sadb_sa")?,
            encrypt: r.u8("sadb_sa")?,
            flags: r.u32("sadb_sa")?,
        })
    }
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        w.u32_be(self.spi);
        w.u8(self.replay);
        w.u8(self
            .state
            .to_wire(d)
            .ok_or_else(|| not_in_dialect("SA state", d))?);
        w.u8(self.auth);
        w.u8(self.encrypt);
        w.u32(self.flags);
        Ok(())
    }
}

/// `struct sadb_lifetime`: allocations, bytes, and times in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifetime {
    /// Number of allocations (flows) using the SA.
    pub allocations: u32,
    /// Bytes processed.
    pub bytes: u64,
    /// Seconds after creation (hard/soft) or creation time (current).
    pub addtime: u64,
    /// Seconds after first use (hard/soft) or first-use time (current).
    pub usetime: u64,
}

impl Body for Lifetime {
    const NAME: &'static str = "sadb_lifetime";
    const SIZE: SizeRule = SizeRule::Exact(32);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        Ok(Lifetime {
            allocations: r.u32("sadb_lifetime")?,
            bytes: r.u64("sadb_lifetime")?,
            addtime: r.u64("sadb_lifetime")?,
            usetime: r.u64("sadb_lifetime")?,
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(self.allocations);
        w.u64(self.bytes);
        w.u64(self.addtime);
        w.u64(self.usetime);
        Ok(())
    }
}

/// `struct sadb_spirange`: the SPIs GETSPI may choose from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpiRange {
    /// Lowest SPI.
    pub min: u32,
    /// Highest SPI.
    pub max: u32,
}

impl Body for SpiRange {
    const NAME: &'static str = "sadb_spirange";
    const SIZE: SizeRule = SizeRule::Exact(16);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let min = r.u32("sadb_spirange")?;
        let max = r.u32("sadb_spirange")?;
        r.skip(4, "sadb_spirange")?;
        Ok(SpiRange { min, max })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(self.min);
        w.u32(self.max);
        w.u32(0);
        Ok(())
    }
}

/// `struct sadb_x_sa2`: mode, sequence and reqid of an SA (KAME, Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sa2 {
    /// Transport or tunnel.
    pub mode: Mode,
    /// Lowest 32 bits of the sequence number.
    pub sequence: u32,
    /// Request id tying the SA to policies.
    pub reqid: u32,
}

impl Body for Sa2 {
    const NAME: &'static str = "sadb_x_sa2";
    const SIZE: SizeRule = SizeRule::Exact(16);
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        let raw = r.u8("sadb_x_sa2")?;
        let mode =
            Mode::from_wire(d, raw).ok_or_else(|| invalid(r, "sadb_x_sa2_mode", raw.into()))?;
        r.skip(3, "sadb_x_sa2")?;
        Ok(Sa2 {
            mode,
            sequence: r.u32("sadb_x_sa2")?,
            reqid: r.u32("sadb_x_sa2")?,
        })
    }
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        w.u8(self
            .mode
            .to_wire(d)
            .ok_or_else(|| not_in_dialect(format!("mode {}", self.mode.name()), d))?);
        w.zeros(3);
        w.u32(self.sequence);
        w.u32(self.reqid);
        Ok(())
    }
}

/// `struct sadb_x_nat_t_type`: the UDP encapsulation type (2 = ESP-in-UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatTType {
    /// `UDP_ENCAP_ESPINUDP` is 2.
    pub encap_type: u8,
}

impl Body for NatTType {
    const NAME: &'static str = "sadb_x_nat_t_type";
    const SIZE: SizeRule = SizeRule::Exact(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let encap_type = r.u8("sadb_x_nat_t_type")?;
        r.skip(3, "sadb_x_nat_t_type")?;
        Ok(NatTType { encap_type })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u8(self.encap_type);
        w.zeros(3);
        Ok(())
    }
}

/// `struct sadb_x_nat_t_port` (KAME/Linux) and OpenBSD `struct sadb_x_udpencap`:
/// a UDP port in network order followed by 16 reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// The port.
    pub port: u16,
}

impl Body for Port {
    const NAME: &'static str = "port extension";
    const SIZE: SizeRule = SizeRule::Exact(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let port = r.u16_be("port extension")?;
        r.skip(2, "port extension")?;
        Ok(Port { port })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u16_be(self.port);
        w.u16(0);
        Ok(())
    }
}

/// A 16-bit host-order value and 16 reserved bits: FreeBSD
/// `sadb_x_nat_t_frag` (ESP fragment length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatTFrag {
    /// Fragment length override.
    pub fraglen: u16,
}

impl Body for NatTFrag {
    const NAME: &'static str = "sadb_x_nat_t_frag";
    const SIZE: SizeRule = SizeRule::Exact(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let fraglen = r.u16("sadb_x_nat_t_frag")?;
        r.skip(2, "sadb_x_nat_t_frag")?;
        Ok(NatTFrag { fraglen })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u16(self.fraglen);
        w.u16(0);
        Ok(())
    }
}

/// A single 32-bit host-order value after the extension header: FreeBSD
/// `sadb_x_sa_replay` (window in packets), OpenBSD `sadb_x_policy` (seq),
/// `sadb_x_tap` (unit) and `sadb_x_mtu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct U32Value {
    /// The value.
    pub value: u32,
}

impl Body for U32Value {
    const NAME: &'static str = "32-bit extension";
    const SIZE: SizeRule = SizeRule::Exact(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        Ok(U32Value {
            value: r.u32("32-bit extension")?,
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(self.value);
        Ok(())
    }
}
