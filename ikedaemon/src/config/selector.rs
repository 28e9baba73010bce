//! Traffic selectors as the configuration writes them: `PREFIX`,
//! `PREFIX[PROTO]`, `PREFIX[PROTO/PORT]` or `PREFIX[PROTO/LOW-HIGH]`, with
//! `dynamic` standing for this end's IKE address (e.g.
//! `192.0.2.0/24[tcp/443]`, `dynamic[udp/1701]`).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer};

use super::address::Prefix;
use super::scalar::deserialize_with;

/// The address part of a traffic selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsAddress {
    /// The IKE address of this end, known at negotiation time (a `/32` or
    /// `/128`). Written `dynamic`.
    Dynamic,
    /// A fixed prefix.
    Prefix(Prefix),
}

/// An inclusive port range; `0-65535` is any port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port.
    pub end: u16,
}

impl PortRange {
    /// Every port.
    pub const ANY: PortRange = PortRange {
        start: 0,
        end: u16::MAX,
    };

    /// True for the full range.
    pub fn is_any(&self) -> bool {
        *self == PortRange::ANY
    }
}

/// One traffic selector: addresses, IP protocol and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrafficSelector {
    /// The addresses.
    pub address: TsAddress,
    /// IP protocol number; 0 is any protocol.
    pub protocol: u8,
    /// Ports (TCP, UDP and SCTP only; any port otherwise).
    pub ports: PortRange,
}

/// Protocol names accepted in selectors.
const PROTOCOLS: [(&str, u8); 7] = [
    ("any", 0),
    ("icmp", 1),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("icmpv6", 58),
    ("sctp", 132),
];

const TS_EXPECTED: &str = "a traffic selector like 192.0.2.0/24, 192.0.2.0/24[tcp/443], \
                           198.51.100.0/24[udp/1000-2000] or dynamic";

impl TrafficSelector {
    /// All traffic of this end's IKE address (the default selector).
    pub const DYNAMIC: TrafficSelector = TrafficSelector {
        address: TsAddress::Dynamic,
        protocol: 0,
        ports: PortRange::ANY,
    };

    /// A selector for all traffic of a prefix.
    pub fn prefix(prefix: Prefix) -> TrafficSelector {
        TrafficSelector {
            address: TsAddress::Prefix(prefix),
            protocol: 0,
            ports: PortRange::ANY,
        }
    }

    /// The selector with `dynamic` replaced by the host prefix of `ip`.
    pub fn resolve(&self, ip: IpAddr) -> TrafficSelector {
        match self.address {
            TsAddress::Dynamic => TrafficSelector {
                address: TsAddress::Prefix(Prefix::host(ip)),
                ..*self
            },
            TsAddress::Prefix(_) => *self,
        }
    }

    /// The engine's form: a fixed range, or `dynamic` resolved per SA.
    /// The parent's install check and the engine's narrowing use this one
    /// conversion.
    pub fn to_spec(&self) -> crate::ike::engine::TsSpec {
        use crate::ike::engine::TsSpec;
        match self.address {
            TsAddress::Dynamic => TsSpec::Dynamic {
                protocol: self.protocol,
                start_port: self.ports.start,
                end_port: self.ports.end,
            },
            TsAddress::Prefix(pr) => {
                let (start, end) = pr.range();
                TsSpec::Range(crate::ike::wire::TsRange {
                    ip_protocol: self.protocol,
                    start_port: self.ports.start,
                    end_port: self.ports.end,
                    start,
                    end,
                })
            }
        }
    }

    /// Parses the configuration syntax; the message says what is wrong.
    pub fn parse(text: &str) -> Result<TrafficSelector, String> {
        let s = text.trim();
        let (addr, proto_port) = match s.split_once('[') {
            Some((a, rest)) => {
                let inner = rest.strip_suffix(']').ok_or_else(|| {
                    format!("expected {TS_EXPECTED}, found \"{text}\" (missing ']')")
                })?;
                (a, Some(inner))
            }
            None => (s, None),
        };
        let address = parse_ts_address(addr).map_err(|why| match why {
            Some(why) => format!("bad traffic selector \"{text}\": {why}"),
            None => format!("expected {TS_EXPECTED}, found \"{text}\""),
        })?;
        let mut ts = TrafficSelector {
            address,
            protocol: 0,
            ports: PortRange::ANY,
        };
        if let Some(pp) = proto_port {
            let (proto, port) = match pp.split_once('/') {
                Some((p, port)) => (p, Some(port)),
                None => (pp, None),
            };
            ts.protocol = parse_protocol(proto).ok_or_else(|| {
                format!(
                    "bad traffic selector \"{text}\": unknown protocol \"{proto}\" (use a number \
                     0-255 or one of any, icmp, tcp, udp, gre, icmpv6, sctp)"
                )
            })?;
            if let Some(port) = port {
                if !matches!(ts.protocol, 6 | 17 | 132) {
                    return Err(format!(
                        "bad traffic selector \"{text}\": ports apply to tcp, udp and sctp only"
                    ));
                }
                ts.ports = parse_ports(port).ok_or_else(|| {
                    format!(
                        "bad traffic selector \"{text}\": expected a port (443) or a range \
                         (1000-2000), found \"{port}\""
                    )
                })?;
            }
        }
        Ok(ts)
    }
}

/// The address part; `Err(None)` when it is not an address at all.
fn parse_ts_address(s: &str) -> Result<TsAddress, Option<String>> {
    if s == "dynamic" {
        return Ok(TsAddress::Dynamic);
    }
    if s.contains('/') {
        return Prefix::parse_reason(s).map(TsAddress::Prefix).map_err(Some);
    }
    s.parse::<IpAddr>()
        .map(|a| TsAddress::Prefix(Prefix::host(a)))
        .map_err(|_| None)
}

fn parse_protocol(s: &str) -> Option<u8> {
    PROTOCOLS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, n)| *n)
        .or_else(|| s.parse().ok())
}

fn parse_ports(s: &str) -> Option<PortRange> {
    let (lo, hi) = match s.split_once('-') {
        Some((lo, hi)) => (lo.parse().ok()?, hi.parse().ok()?),
        None => {
            let p = s.parse().ok()?;
            (p, p)
        }
    };
    (lo <= hi).then_some(PortRange { start: lo, end: hi })
}

impl fmt::Display for TrafficSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            TsAddress::Dynamic => f.write_str("dynamic")?,
            TsAddress::Prefix(p) => write!(f, "{p}")?,
        }
        if self.protocol == 0 && self.ports.is_any() {
            return Ok(());
        }
        match PROTOCOLS.iter().find(|(_, n)| *n == self.protocol) {
            Some((name, _)) => write!(f, "[{name}")?,
            None => write!(f, "[{}", self.protocol)?,
        }
        if !self.ports.is_any() {
            if self.ports.start == self.ports.end {
                write!(f, "/{}", self.ports.start)?;
            } else {
                write!(f, "/{}-{}", self.ports.start, self.ports.end)?;
            }
        }
        f.write_str("]")
    }
}

impl<'de> Deserialize<'de> for TrafficSelector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(d, TS_EXPECTED, TrafficSelector::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> TrafficSelector {
        TrafficSelector::parse(s).expect(s)
    }

    #[test]
    fn forms() {
        let t = ts("192.0.2.0/24[tcp/443]");
        assert_eq!(t.protocol, 6);
        assert_eq!(
            t.ports,
            PortRange {
                start: 443,
                end: 443
            }
        );
        let t = ts("198.51.100.0/24[udp/1000-2000]");
        assert_eq!((t.protocol, t.ports.start, t.ports.end), (17, 1000, 2000));
        assert_eq!(ts("2001:db8::/32[icmpv6]").protocol, 58);
        assert_eq!(ts("192.0.2.0/24[50]").protocol, 50);
        assert_eq!(ts("dynamic").address, TsAddress::Dynamic);
        let host = ts("192.0.2.1");
        assert_eq!(host.to_string(), "192.0.2.1/32");
        for s in [
            "192.0.2.0/24",
            "192.0.2.0/24[tcp/443]",
            "192.0.2.0/24[udp/1000-2000]",
            "dynamic[udp/1701]",
            "2001:db8::/32[gre]",
            "0.0.0.0/0[99]",
        ] {
            assert_eq!(ts(s).to_string(), s);
        }
    }

    #[test]
    fn resolve_dynamic() {
        let ip: IpAddr = "2001:db8::7".parse().unwrap();
        assert_eq!(
            ts("dynamic[tcp]").resolve(ip).to_string(),
            "2001:db8::7/128[tcp]"
        );
        assert_eq!(ts("192.0.2.0/24").resolve(ip).to_string(), "192.0.2.0/24");
    }

    #[test]
    fn errors() {
        assert!(TrafficSelector::parse("192.0.2.0/24[tcp/443").is_err());
        assert!(
            TrafficSelector::parse("192.0.2.0/24[foo]")
                .unwrap_err()
                .contains("unknown protocol")
        );
        assert!(
            TrafficSelector::parse("192.0.2.0/24[icmp/8]")
                .unwrap_err()
                .contains("ports apply")
        );
        assert!(TrafficSelector::parse("192.0.2.0/24[tcp/2000-1000]").is_err());
        assert!(TrafficSelector::parse("192.0.2.0/24[tcp/70000]").is_err());
        assert!(
            TrafficSelector::parse("192.0.2.1/24")
                .unwrap_err()
                .contains("host bits")
        );
        assert!(TrafficSelector::parse("gw.example").is_err());
        assert!(TrafficSelector::parse("192.0.2.0/24[256]").is_err());
    }
}
