//! KAME/Linux `sadb_x_policy` with its `sadb_x_ipsecrequest`s: the SPD
//! entry format. The ipsecrequest differs: Linux has a 16-byte header with
//! a 32-bit reqid, FreeBSD an 8-byte header with a 16-bit reqid; both give
//! its length in bytes (not 64-bit units) and both follow it with the
//! tunnel endpoints as two unpadded socket addresses, padded together.

use std::net::SocketAddr;

use crate::dialect::Dialect;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, SizeRule};
use crate::ipsec::{Direction, Level, Mode, PolicyType};
use crate::sockaddr::{read_sockaddr, sockaddr_len, write_sockaddr};
use crate::wire::{Reader, Writer, align8};

use super::Body;
use super::basic::{invalid, not_in_dialect};

/// One `sadb_x_ipsecrequest`: which SA a policy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsecRequest {
    /// IP protocol: 50 (ESP), 51 (AH) or 108 (IPComp).
    pub proto: u16,
    /// Transport or tunnel.
    pub mode: Mode,
    /// How strictly the SA is required.
    pub level: Level,
    /// Request id (16 bits on FreeBSD).
    pub reqid: u32,
    /// Tunnel endpoints (source, destination), present in tunnel mode.
    pub tunnel: Option<(SocketAddr, SocketAddr)>,
}

fn request_header_len(d: Dialect) -> usize {
    if d == Dialect::Linux { 16 } else { 8 }
}

impl IpsecRequest {
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        let start = r.offset();
        let hdr = request_header_len(d);
        let len = usize::from(r.u16("sadb_x_ipsecrequest")?);
        if len < hdr {
            return Err(r.error(DecodeErrorKind::WrongSize {
                ext: "sadb_x_ipsecrequest",
                expected: SizeRule::AtLeast(hdr),
                actual: len,
            }));
        }
        if len % 8 != 0 {
            return Err(DecodeError {
                offset: start,
                kind: DecodeErrorKind::Misaligned {
                    what: "sadb_x_ipsecrequest",
                    len,
                },
            });
        }
        if len - 2 > r.remaining() {
            return Err(DecodeError {
                offset: start,
                kind: DecodeErrorKind::Truncated {
                    what: "sadb_x_ipsecrequest",
                    needed: len,
                    available: r.remaining() + 2,
                },
            });
        }
        let mut q = r.sub(len - 2, "sadb_x_ipsecrequest")?;
        let proto = q.u16("sadb_x_ipsecrequest")?;
        let raw_mode = q.u8("sadb_x_ipsecrequest")?;
        let mode = Mode::from_wire(d, raw_mode)
            .ok_or_else(|| invalid(&q, "sadb_x_ipsecrequest_mode", raw_mode.into()))?;
        let raw_level = q.u8("sadb_x_ipsecrequest")?;
        let level = Level::from_wire(d, raw_level)
            .ok_or_else(|| invalid(&q, "sadb_x_ipsecrequest_level", raw_level.into()))?;
        let reqid = if d == Dialect::Linux {
            q.skip(2, "sadb_x_ipsecrequest")?;
            let reqid = q.u32("sadb_x_ipsecrequest")?;
            q.skip(4, "sadb_x_ipsecrequest")?;
            reqid
        } else {
            u32::from(q.u16("sadb_x_ipsecrequest")?)
        };
        let tunnel = if q.remaining() > 0 {
            let src = read_sockaddr(&mut q, d)?;
            let dst = read_sockaddr(&mut q, d)?;
            let expected = align8(hdr + sockaddr_len(&src) + sockaddr_len(&dst));
            if len != expected {
                return Err(DecodeError {
                    offset: start,
                    kind: DecodeErrorKind::WrongSize {
                        ext: "sadb_x_ipsecrequest",
                        expected: SizeRule::Exact(expected),
                        actual: len,
                    },
                });
            }
            Some((src, dst))
        } else {
            None
        };
        Ok(IpsecRequest {
            proto,
            mode,
            level,
            reqid,
            tunnel,
        })
    }

    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        let start = w.len();
        let addrs = self
            .tunnel
            .as_ref()
            .map_or(0, |(s, t)| sockaddr_len(s) + sockaddr_len(t));
        let len = align8(request_header_len(d) + addrs);
        w.u16(len as u16);
        w.u16(self.proto);
        let mode = self
            .mode
            .to_wire(d)
            .ok_or_else(|| not_in_dialect(format!("mode {}", self.mode.name()), d))?;
        w.u8(mode);
        let level = self
            .level
            .to_wire(d)
            .ok_or_else(|| not_in_dialect(format!("level {}", self.level.name()), d))?;
        w.u8(level);
        if d == Dialect::Linux {
            w.u16(0);
            w.u32(self.reqid);
            w.u32(0);
        } else {
            let reqid = u16::try_from(self.reqid).map_err(|_| EncodeError::Unrepresentable {
                field: "sadb_x_ipsecrequest_reqid",
                reason: format!("{} does not fit the 16-bit KAME field", self.reqid),
            })?;
            w.u16(reqid);
        }
        if let Some((src, dst)) = &self.tunnel {
            write_sockaddr(w, src, d);
            write_sockaddr(w, dst, d);
        }
        w.pad_from(start);
        Ok(())
    }
}

/// KAME/Linux `struct sadb_x_policy` and its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// What to do with matching packets.
    pub policy_type: PolicyType,
    /// Direction.
    pub dir: Direction,
    /// FreeBSD policy scope (global/ifnet); reserved (0) on Linux.
    pub scope: u8,
    /// Policy id assigned by the kernel (used by SPDDELETE2 and SPDGET).
    pub id: u32,
    /// Priority (Linux and FreeBSD; lower wins on Linux).
    pub priority: u32,
    /// The SAs required, outermost last.
    pub requests: Vec<IpsecRequest>,
}

impl Body for Policy {
    const NAME: &'static str = "sadb_x_policy";
    const SIZE: SizeRule = SizeRule::AtLeast(16);
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        let raw_type = r.u16("sadb_x_policy")?;
        let policy_type = PolicyType::from_wire(d, raw_type)
            .ok_or_else(|| invalid(r, "sadb_x_policy_type", raw_type.into()))?;
        let raw_dir = r.u8("sadb_x_policy")?;
        let dir = Direction::from_wire(d, raw_dir)
            .ok_or_else(|| invalid(r, "sadb_x_policy_dir", raw_dir.into()))?;
        let scope = r.u8("sadb_x_policy")?;
        let id = r.u32("sadb_x_policy")?;
        let priority = r.u32("sadb_x_policy")?;
        let mut requests = Vec::new();
        while r.remaining() > 0 {
            requests.push(IpsecRequest::decode(r, d)?);
        }
        Ok(Policy {
            policy_type,
            dir,
            scope,
            id,
            priority,
            requests,
        })
    }
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        let t = self
            .policy_type
            .to_wire(d)
            .ok_or_else(|| not_in_dialect("sadb_x_policy", d))?;
        w.u16(t);
        let dir = self
            .dir
            .to_wire(d)
            .ok_or_else(|| not_in_dialect(format!("direction {}", self.dir.name()), d))?;
        w.u8(dir);
        w.u8(self.scope);
        w.u32(self.id);
        w.u32(self.priority);
        for req in &self.requests {
            req.encode(w, d)?;
        }
        Ok(())
    }
}
