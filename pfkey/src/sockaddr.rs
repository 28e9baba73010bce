//! Socket addresses inside PF_KEY extensions, in BSD (`sa_len`, `sa_family`
//! bytes) or Linux (16-bit family) form. Only IPv4 and IPv6 exist in
//! PF_KEY; anything else is reported as an undefined `sa_family`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::dialect::{AF_INET, Dialect};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::wire::{Reader, Writer};

/// `sizeof(struct sockaddr_in)`.
pub(crate) const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub(crate) const SOCKADDR_IN6_LEN: usize = 28;

/// The encoded size of `addr`.
pub(crate) fn sockaddr_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => SOCKADDR_IN_LEN,
        SocketAddr::V6(_) => SOCKADDR_IN6_LEN,
    }
}

/// The address family number of an IP address in `dialect`.
pub(crate) fn family_of(ip: &IpAddr, dialect: Dialect) -> u16 {
    match ip {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => dialect.af_inet6(),
    }
}

pub(crate) fn write_sockaddr(w: &mut Writer, addr: &SocketAddr, dialect: Dialect) {
    let family = family_of(&addr.ip(), dialect);
    let len = sockaddr_len(addr);
    if dialect.bsd_sockaddr() {
        w.u8(len as u8);
        w.u8(family as u8);
    } else {
        w.u16(family);
    }
    w.u16_be(addr.port());
    match addr {
        SocketAddr::V4(a) => {
            w.bytes(&a.ip().octets());
            w.zeros(8);
        }
        SocketAddr::V6(a) => {
            w.u32_be(a.flowinfo());
            w.bytes(&a.ip().octets());
            w.u32(a.scope_id());
        }
    }
}

pub(crate) fn read_sockaddr(
    r: &mut Reader<'_>,
    dialect: Dialect,
) -> Result<SocketAddr, DecodeError> {
    let start = r.offset();
    let (family, sa_len) = if dialect.bsd_sockaddr() {
        let len = r.u8("sockaddr")?;
        (u16::from(r.u8("sockaddr")?), Some(len))
    } else {
        (r.u16("sockaddr")?, None)
    };
    let expected = if family == AF_INET {
        SOCKADDR_IN_LEN
    } else if family == dialect.af_inet6() {
        SOCKADDR_IN6_LEN
    } else {
        return Err(DecodeError {
            offset: start,
            kind: DecodeErrorKind::InvalidValue {
                field: "sa_family",
                value: family.into(),
            },
        });
    };
    if let Some(len) = sa_len
        && usize::from(len) != expected
    {
        return Err(DecodeError {
            offset: start,
            kind: DecodeErrorKind::InvalidValue {
                field: "sa_len",
                value: len.into(),
            },
        });
    }
    let port = r.u16_be("sockaddr port")?;
    if family == AF_INET {
        let ip: [u8; 4] = r.array("sockaddr_in")?;
        r.skip(8, "sockaddr_in padding")?;
        Ok(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
    } else {
        let flowinfo = r.u32_be("sockaddr_in6")?;
        let ip: [u8; 16] = r.array("sockaddr_in6")?;
        let scope = r.u32("sockaddr_in6")?;
        Ok(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(ip),
            port,
            flowinfo,
            scope,
        )))
    }
}
