//! Address-carrying extensions: `sadb_address` (and every OpenBSD flow,
//! mask and KAME NAT-T/new-address extension that reuses it), Linux
//! `sadb_x_kmaddress` and `sadb_x_filter`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::dialect::{AF_INET, Dialect};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, SizeRule};
use crate::sockaddr::{read_sockaddr, sockaddr_len, write_sockaddr};
use crate::wire::{Reader, Writer, align8};

use super::Body;
use super::basic::invalid;

/// `struct sadb_address` followed by a socket address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Upper-layer protocol (255 = any). Always 0 in OpenBSD, which has no such field.
    pub proto: u8,
    /// Prefix length in bits. Always 0 in OpenBSD (it uses mask extensions).
    pub prefix_len: u8,
    /// The address and port.
    pub addr: SocketAddr,
}

impl Address {
    /// A host address with a full-length prefix and any protocol, as SA
    /// messages use it.
    pub fn host(addr: SocketAddr, dialect: Dialect) -> Self {
        if dialect == Dialect::OpenBsd {
            return Address {
                proto: 0,
                prefix_len: 0,
                addr,
            };
        }
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        Address {
            proto: crate::ipsec::proto::ANY,
            prefix_len,
            addr,
        }
    }
}

impl Body for Address {
    const NAME: &'static str = "sadb_address";
    const SIZE: SizeRule = SizeRule::AtLeast(24);
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        let total = r.remaining() + 4;
        let (proto, prefix_len) = if d == Dialect::OpenBsd {
            r.skip(4, "sadb_address")?;
            (0, 0)
        } else {
            let proto = r.u8("sadb_address")?;
            let prefix = r.u8("sadb_address")?;
            r.skip(2, "sadb_address")?;
            (proto, prefix)
        };
        let addr = read_sockaddr(r, d)?;
        let expected = align8(8 + sockaddr_len(&addr));
        if total != expected {
            return Err(r.error(DecodeErrorKind::WrongSize {
                ext: Self::NAME,
                expected: SizeRule::Exact(expected),
                actual: total,
            }));
        }
        let max_prefix = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max_prefix {
            return Err(invalid(r, "sadb_address_prefixlen", prefix_len.into()));
        }
        r.rest();
        Ok(Address {
            proto,
            prefix_len,
            addr,
        })
    }
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        if d == Dialect::OpenBsd {
            if self.proto != 0 || self.prefix_len != 0 {
                return Err(EncodeError::Unrepresentable {
                    field: "sadb_address",
                    reason: "OpenBSD has no proto/prefixlen fields; use the mask extensions".into(),
                });
            }
            w.u32(0);
        } else {
            let max_prefix = if self.addr.is_ipv4() { 32 } else { 128 };
            if self.prefix_len > max_prefix {
                return Err(EncodeError::Unrepresentable {
                    field: "sadb_address_prefixlen",
                    reason: format!("{} is longer than the address", self.prefix_len),
                });
            }
            w.u8(self.proto);
            w.u8(self.prefix_len);
            w.u16(0);
        }
        write_sockaddr(w, &self.addr, d);
        Ok(())
    }
}

/// Linux `struct sadb_x_kmaddress`: the key manager's local and remote
/// addresses (MIGRATE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmAddress {
    /// Local address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
}

impl Body for KmAddress {
    const NAME: &'static str = "sadb_x_kmaddress";
    const SIZE: SizeRule = SizeRule::AtLeast(40);
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        r.skip(4, "sadb_x_kmaddress")?;
        let local = read_sockaddr(r, d)?;
        let remote = read_sockaddr(r, d)?;
        r.rest();
        Ok(KmAddress { local, remote })
    }
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        w.u32(0);
        write_sockaddr(w, &self.local, d);
        write_sockaddr(w, &self.remote, d);
        Ok(())
    }
}

/// Linux `struct sadb_x_filter`: restricts a DUMP to SAs between two
/// prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Source prefix.
    pub src: IpAddr,
    /// Destination prefix (same family as `src`).
    pub dst: IpAddr,
    /// Source prefix length.
    pub src_prefix: u8,
    /// Destination prefix length.
    pub dst_prefix: u8,
}

fn ip_from_16(bytes: [u8; 16], v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(bytes))
    }
}

fn ip_to_16(ip: &IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out = a.octets(),
    }
    out
}

impl Body for Filter {
    const NAME: &'static str = "sadb_x_filter";
    const SIZE: SizeRule = SizeRule::Exact(40);
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        let src: [u8; 16] = r.array("sadb_x_filter")?;
        let dst: [u8; 16] = r.array("sadb_x_filter")?;
        let family = r.u16("sadb_x_filter")?;
        let v4 = if family == AF_INET {
            true
        } else if family == d.af_inet6() {
            false
        } else {
            return Err(invalid(r, "sadb_x_filter_family", family.into()));
        };
        Ok(Filter {
            src: ip_from_16(src, v4),
            dst: ip_from_16(dst, v4),
            src_prefix: r.u8("sadb_x_filter")?,
            dst_prefix: r.u8("sadb_x_filter")?,
        })
    }
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        if self.src.is_ipv4() != self.dst.is_ipv4() {
            return Err(EncodeError::Unrepresentable {
                field: "sadb_x_filter",
                reason: "source and destination must be of one address family".into(),
            });
        }
        w.bytes(&ip_to_16(&self.src));
        w.bytes(&ip_to_16(&self.dst));
        w.u16(crate::sockaddr::family_of(&self.src, d));
        w.u8(self.src_prefix);
        w.u8(self.dst_prefix);
        Ok(())
    }
}
