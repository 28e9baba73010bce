//! Addresses as the configuration writes them: plain IP addresses
//! (`listen`), prefixes (`192.0.2.0/24`), and endpoint addresses (an IP,
//! a prefix for road warriors, or `any`), each with a `Deserialize` that
//! reports a bad value at its position.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::scalar::deserialize_with;

/// An IP prefix with no host bits set: `192.0.2.0/24`, `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// A prefix; fails when `len` exceeds the address size or host bits
    /// are set.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, String> {
        let max = max_len(addr);
        if len > max {
            return Err(format!("prefix length /{len} is longer than /{max}"));
        }
        let p = Prefix { addr, len };
        let network = p.network();
        if network != addr {
            return Err(format!(
                "{addr}/{len} has host bits set; did you mean {network}/{len}?"
            ));
        }
        Ok(p)
    }

    /// The host prefix of one address (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Prefix {
        Prefix {
            addr,
            len: max_len(addr),
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for `/0`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True for a single-address prefix (`/32`, `/128`).
    pub fn is_host(&self) -> bool {
        self.len == max_len(self.addr)
    }

    /// True when `ip` is of the same family and inside the prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.len) == self.addr
            }
            _ => false,
        }
    }

    fn network(&self) -> IpAddr {
        mask(self.addr, self.len)
    }

    /// The first and last address of the prefix.
    pub fn range(&self) -> (IpAddr, IpAddr) {
        let last = match self.network() {
            IpAddr::V4(a) => {
                let host = u32::MAX.checked_shr(u32::from(self.len)).unwrap_or(0);
                IpAddr::V4((u32::from(a) | host).into())
            }
            IpAddr::V6(a) => {
                let host = u128::MAX.checked_shr(u32::from(self.len)).unwrap_or(0);
                IpAddr::V6((u128::from(a) | host).into())
            }
        };
        (self.network(), last)
    }
}

fn max_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::from((u32::from(a) & m).to_be_bytes())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::from((u128::from(a) & m).to_be_bytes())
        }
    }
}

impl Prefix {
    /// Parses `ADDRESS/LENGTH`; the message says what is wrong, without
    /// repeating the text.
    pub(crate) fn parse_reason(s: &str) -> Result<Prefix, String> {
        let shape = || "expected ADDRESS/LENGTH like 192.0.2.0/24 or 2001:db8::/32".to_string();
        let (a, l) = s.split_once('/').ok_or_else(shape)?;
        let addr: IpAddr = a.parse().map_err(|_| shape())?;
        let len: u8 = l.parse().map_err(|_| shape())?;
        Prefix::new(addr, len)
    }
}

impl FromStr for Prefix {
    type Err = String;

    /// Parses `ADDRESS/LENGTH`; the message says what is wrong.
    fn from_str(s: &str) -> Result<Self, String> {
        Prefix::parse_reason(s).map_err(|why| format!("bad prefix \"{s}\": {why}"))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// An IKE endpoint's address: one IP, a prefix (peers from a range: road
/// warriors), or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointAddress {
    /// Any address (of either family).
    Any,
    /// Exactly this address.
    Ip(IpAddr),
    /// Any address inside this prefix (remote only).
    Prefix(Prefix),
}

impl EndpointAddress {
    /// The single address, when there is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            EndpointAddress::Ip(ip) => Some(*ip),
            _ => None,
        }
    }

    /// True when `ip` is acceptable as this endpoint's address.
    pub fn matches(&self, ip: IpAddr) -> bool {
        match self {
            EndpointAddress::Any => true,
            EndpointAddress::Ip(a) => *a == ip,
            EndpointAddress::Prefix(p) => p.contains(ip),
        }
    }

    /// `Some(true)` for IPv4, `Some(false)` for IPv6, `None` for any.
    pub fn is_ipv4(&self) -> Option<bool> {
        match self {
            EndpointAddress::Any => None,
            EndpointAddress::Ip(a) => Some(a.is_ipv4()),
            EndpointAddress::Prefix(p) => Some(p.addr().is_ipv4()),
        }
    }
}

impl fmt::Display for EndpointAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointAddress::Any => f.write_str("any"),
            EndpointAddress::Ip(a) => write!(f, "{a}"),
            EndpointAddress::Prefix(p) => write!(f, "{p}"),
        }
    }
}

const IP_EXPECTED: &str = "an IPv4 or IPv6 address";
const LOCAL_EXPECTED: &str = "an IPv4 or IPv6 address or \"any\"";
const REMOTE_EXPECTED: &str = "an IPv4 or IPv6 address, a prefix (e.g. 0.0.0.0/0) or \"any\"";

/// A plain IP address (`listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpValue(pub(crate) IpAddr);

impl<'de> Deserialize<'de> for IpValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(d, IP_EXPECTED, |s| {
            s.parse()
                .map(IpValue)
                .map_err(|_| format!("expected {IP_EXPECTED}, found \"{s}\""))
        })
    }
}

/// A local endpoint address: an IP or `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalAddress(pub(crate) EndpointAddress);

impl<'de> Deserialize<'de> for LocalAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(d, LOCAL_EXPECTED, |s| {
            if s == "any" {
                return Ok(LocalAddress(EndpointAddress::Any));
            }
            s.parse()
                .map(|a| LocalAddress(EndpointAddress::Ip(a)))
                .map_err(|_| format!("expected {LOCAL_EXPECTED}, found \"{s}\""))
        })
    }
}

/// A remote endpoint address: an IP, a prefix or `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteAddress(pub(crate) EndpointAddress);

impl<'de> Deserialize<'de> for RemoteAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(d, REMOTE_EXPECTED, |s| {
            if s == "any" {
                return Ok(RemoteAddress(EndpointAddress::Any));
            }
            if s.contains('/') {
                return s
                    .parse::<Prefix>()
                    .map(|p| RemoteAddress(EndpointAddress::Prefix(p)));
            }
            s.parse()
                .map(|a| RemoteAddress(EndpointAddress::Ip(a)))
                .map_err(|_| format!("expected {REMOTE_EXPECTED}, found \"{s}\""))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        assert_eq!(p.to_string(), "192.0.2.0/24");
        assert!(p.contains("192.0.2.77".parse().unwrap()));
        assert!(!p.contains("192.0.3.1".parse().unwrap()));
        assert!(!p.contains("2001:db8::1".parse().unwrap()));
        let any: Prefix = "0.0.0.0/0".parse().unwrap();
        assert!(any.is_empty() && any.contains("203.0.113.9".parse().unwrap()));
        let v6: Prefix = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(Prefix::host("2001:db8::1".parse().unwrap()).is_host());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(p.range(), (ip("192.0.2.0"), ip("192.0.2.255")));
        assert_eq!(any.range(), (ip("0.0.0.0"), ip("255.255.255.255")));
        assert_eq!(
            v6.range(),
            (
                ip("2001:db8::"),
                ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
            )
        );
    }

    #[test]
    fn bad_prefixes_say_why() {
        assert_eq!(
            "192.0.2.1/24".parse::<Prefix>().unwrap_err(),
            "bad prefix \"192.0.2.1/24\": 192.0.2.1/24 has host bits set; did you mean 192.0.2.0/24?"
        );
        assert_eq!(
            "192.0.2.0/33".parse::<Prefix>().unwrap_err(),
            "bad prefix \"192.0.2.0/33\": prefix length /33 is longer than /32"
        );
        assert!("192.0.2.0/x".parse::<Prefix>().is_err());
        assert!("192.0.2.300/24".parse::<Prefix>().is_err());
        assert!("192.0.2.0".parse::<Prefix>().is_err());
    }

    #[test]
    fn endpoint_matching() {
        let any = EndpointAddress::Any;
        let one = EndpointAddress::Ip("198.51.100.2".parse().unwrap());
        let net = EndpointAddress::Prefix("198.51.100.0/24".parse().unwrap());
        let ip = "198.51.100.2".parse().unwrap();
        assert!(any.matches(ip) && one.matches(ip) && net.matches(ip));
        assert!(!one.matches("198.51.100.3".parse().unwrap()));
        assert_eq!(net.to_string(), "198.51.100.0/24");
        assert_eq!(one.ip(), Some(ip));
        assert_eq!(net.is_ipv4(), Some(true));
    }
}
