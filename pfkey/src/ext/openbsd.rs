//! OpenBSD-only extensions: `sadb_protocol` (flow protocol, flow type,
//! second SA type), traffic counters, routing domains, replay counter and
//! sec(4) interface.

use crate::dialect::Dialect;
use crate::error::{DecodeError, EncodeError, SizeRule};
use crate::wire::{Reader, Writer};

use super::Body;

/// OpenBSD `struct sadb_protocol`. For `FlowType` the `proto` field holds
/// a [`crate::FlowType`] number; for `Protocol` an IP protocol; for
/// `SaType2` an SA type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protocol {
    /// Protocol, flow type or SA type, depending on the extension.
    pub proto: u8,
    /// `IPSP_DIRECTION_IN` (1) or `_OUT` (2).
    pub direction: u8,
    /// Flags (`SADB_X_POLICYFLAGS_POLICY`).
    pub flags: u8,
}

impl Body for Protocol {
    const NAME: &'static str = "sadb_protocol";
    const SIZE: SizeRule = SizeRule::Exact(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let proto = r.u8("sadb_protocol")?;
        let direction = r.u8("sadb_protocol")?;
        let flags = r.u8("sadb_protocol")?;
        r.skip(1, "sadb_protocol")?;
        Ok(Protocol {
            proto,
            direction,
            flags,
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u8(self.proto);
        w.u8(self.direction);
        w.u8(self.flags);
        w.u8(0);
        Ok(())
    }
}

/// OpenBSD `struct sadb_x_counter`: per-SA traffic counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Counter {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub idrops: u64,
    pub odrops: u64,
    pub idecompbytes: u64,
    pub ouncompbytes: u64,
}

impl Body for Counter {
    const NAME: &'static str = "sadb_x_counter";
    const SIZE: SizeRule = SizeRule::Exact(72);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        r.skip(4, "sadb_x_counter")?;
        Ok(Counter {
            ipackets: r.u64("sadb_x_counter")?,
            opackets: r.u64("sadb_x_counter")?,
            ibytes: r.u64("sadb_x_counter")?,
            obytes: r.u64("sadb_x_counter")?,
            idrops: r.u64("sadb_x_counter")?,
            odrops: r.u64("sadb_x_counter")?,
            idecompbytes: r.u64("sadb_x_counter")?,
            ouncompbytes: r.u64("sadb_x_counter")?,
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(0);
        for v in [
            self.ipackets,
            self.opackets,
            self.ibytes,
            self.obytes,
            self.idrops,
            self.odrops,
            self.idecompbytes,
            self.ouncompbytes,
        ] {
            w.u64(v);
        }
        Ok(())
    }
}

/// OpenBSD `struct sadb_x_rdomain`: routing domains of the SA and of its
/// encapsulated traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rdomain {
    /// Routing domain of the SA.
    pub dom1: u16,
    /// Routing domain of the inner traffic.
    pub dom2: u16,
}

impl Body for Rdomain {
    const NAME: &'static str = "sadb_x_rdomain";
    const SIZE: SizeRule = SizeRule::Exact(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        Ok(Rdomain {
            dom1: r.u16("sadb_x_rdomain")?,
            dom2: r.u16("sadb_x_rdomain")?,
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u16(self.dom1);
        w.u16(self.dom2);
        Ok(())
    }
}

/// OpenBSD `struct sadb_x_replay`: the SA's replay counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replay {
    /// Packets counted by the replay window.
    pub count: u64,
}

impl Body for Replay {
    const NAME: &'static str = "sadb_x_replay";
    const SIZE: SizeRule = SizeRule::Exact(16);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        r.skip(4, "sadb_x_replay")?;
        Ok(Replay {
            count: r.u64("sadb_x_replay")?,
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(0);
        w.u64(self.count);
        Ok(())
    }
}

/// OpenBSD `struct sadb_x_iface`: the sec(4) interface an SA belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Iface {
    /// Interface unit number.
    pub unit: u32,
    /// Direction (`IPSP_DIRECTION_*`).
    pub direction: u8,
}

impl Body for Iface {
    const NAME: &'static str = "sadb_x_iface";
    const SIZE: SizeRule = SizeRule::Exact(16);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let unit = r.u32("sadb_x_iface")?;
        let direction = r.u8("sadb_x_iface")?;
        r.skip(7, "sadb_x_iface")?;
        Ok(Iface { unit, direction })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(self.unit);
        w.u8(self.direction);
        w.zeros(7);
        Ok(())
    }
}
