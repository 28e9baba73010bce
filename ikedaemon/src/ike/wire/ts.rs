//! Traffic Selector payloads TSi/TSr (RFC 7296 §3.13).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{WireError, WireErrorKind};
use super::reader::{Reader, Writer};
use super::registry::TsType;

/// A TSi or TSr payload body: one or more selectors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TsPayload {
    /// Selectors in the order sent (the first is the most specific
    /// "initiating packet" one when the initiator sends two, §2.9).
    pub selectors: Vec<TrafficSelector>,
}

/// One traffic selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficSelector {
    /// TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE (both ends the same family).
    Range(TsRange),
    /// A selector type this codec does not interpret (TS_FC_ADDR_RANGE,
    /// TS_SECLABEL, ...), kept as sent.
    Other {
        /// Selector type.
        ts_type: TsType,
        /// Everything after the type byte and the length.
        data: Vec<u8>,
    },
}

/// An address and port range for one IP protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TsRange {
    /// IP protocol (0 = any).
    pub ip_protocol: u8,
    /// First port (0 with end 65535 = any; for ICMP the type/code).
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// First address.
    pub start: IpAddr,
    /// Last address (same family as `start`).
    pub end: IpAddr,
}

const V4_LEN: usize = 16;
const V6_LEN: usize = 40;

impl TsRange {
    /// Every address of one family, every protocol and port.
    pub fn any(v6: bool) -> Self {
        let (start, end) = if v6 {
            (
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::from(u128::MAX)),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V4(Ipv4Addr::BROADCAST),
            )
        };
        Self::between(start, end)
    }

    /// The addresses `start..=end`, every protocol and port.
    pub fn between(start: IpAddr, end: IpAddr) -> Self {
        Self {
            ip_protocol: 0,
            start_port: 0,
            end_port: u16::MAX,
            start,
            end,
        }
    }

    /// One host, every protocol and port.
    pub fn host(addr: IpAddr) -> Self {
        Self::between(addr, addr)
    }
}

impl TsPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let count = usize::from(r.u8("TS payload")?);
        r.take(3, "TS payload")?; // reserved
        let mut selectors = Vec::new();
        while !r.is_empty() {
            let ts_type = TsType(r.u8("traffic selector")?);
            let ip_protocol = r.u8("traffic selector")?;
            let len = usize::from(r.u16("traffic selector")?);
            let available = r.remaining() + 4;
            if len < 4 || len > available {
                return Err(r.error(WireErrorKind::Length {
                    what: "traffic selector",
                    declared: len,
                    available,
                }));
            }
            let mut body = r.sub(len - 4, "traffic selector")?;
            let want = match ts_type {
                TsType::IPV4_ADDR_RANGE => Some(V4_LEN),
                TsType::IPV6_ADDR_RANGE => Some(V6_LEN),
                _ => None,
            };
            let ts = match want {
                Some(want) if len != want => {
                    return Err(body.error(WireErrorKind::Length {
                        what: "traffic selector for its type",
                        declared: len,
                        available: want,
                    }));
                }
                Some(_) => {
                    let start_port = body.u16("traffic selector")?;
                    let end_port = body.u16("traffic selector")?;
                    let (start, end) = if ts_type == TsType::IPV4_ADDR_RANGE {
                        (
                            IpAddr::V4(Ipv4Addr::from(body.array::<4>("TS address")?)),
                            IpAddr::V4(Ipv4Addr::from(body.array::<4>("TS address")?)),
                        )
                    } else {
                        (
                            IpAddr::V6(Ipv6Addr::from(body.array::<16>("TS address")?)),
                            IpAddr::V6(Ipv6Addr::from(body.array::<16>("TS address")?)),
                        )
                    };
                    TrafficSelector::Range(TsRange {
                        ip_protocol,
                        start_port,
                        end_port,
                        start,
                        end,
                    })
                }
                None => {
                    // Keep the protocol byte inside the raw data so the
                    // selector re-encodes byte for byte.
                    let mut data = vec![ip_protocol];
                    data.extend_from_slice(body.rest());
                    TrafficSelector::Other { ts_type, data }
                }
            };
            selectors.push(ts);
        }
        if selectors.len() != count || count == 0 {
            return Err(r.error(WireErrorKind::Count {
                what: "TS payload's number of selectors",
                declared: count,
                found: selectors.len(),
            }));
        }
        Ok(Self { selectors })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(u8::try_from(self.selectors.len()).unwrap_or(u8::MAX));
        w.bytes(&[0, 0, 0]);
        for ts in &self.selectors {
            let start = w.len();
            match ts {
                TrafficSelector::Range(t) => {
                    let v6 = t.start.is_ipv6();
                    w.u8(if v6 { 8 } else { 7 });
                    w.u8(t.ip_protocol);
                    let at = w.len16_placeholder();
                    w.u16(t.start_port);
                    w.u16(t.end_port);
                    for a in [t.start, t.end] {
                        match (a, v6) {
                            (IpAddr::V4(a), false) => w.bytes(&a.octets()),
                            (IpAddr::V6(a), true) => w.bytes(&a.octets()),
                            // Mixed families cannot be expressed: map the
                            // odd one into the selector's family.
                            (IpAddr::V4(a), true) => w.bytes(&a.to_ipv6_mapped().octets()),
                            (IpAddr::V6(a), false) => w.bytes(
                                &a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED).octets(),
                            ),
                        }
                    }
                    w.patch_len16(at, start, "traffic selector");
                }
                TrafficSelector::Other { ts_type, data } => {
                    w.u8(ts_type.0);
                    let (proto, rest) = data.split_first().map_or((0, &[][..]), |(p, r)| (*p, r));
                    w.u8(proto);
                    let at = w.len16_placeholder();
                    w.bytes(rest);
                    w.patch_len16(at, start, "traffic selector");
                }
            }
        }
    }
}

impl fmt::Display for TsRange {
    /// `198.51.100.0/24` style when the range is a prefix, `a..b`
    /// otherwise, then `[proto/port]` when not "any".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match prefix_len(self.start, self.end) {
            Some(p) => write!(f, "{}/{p}", self.start)?,
            None => write!(f, "{}..{}", self.start, self.end)?,
        }
        let any_port = self.start_port == 0 && self.end_port == u16::MAX;
        if self.ip_protocol != 0 || !any_port {
            write!(f, "[{}", self.ip_protocol)?;
            if !any_port {
                if self.start_port == self.end_port {
                    write!(f, "/{}", self.start_port)?;
                } else {
                    write!(f, "/{}-{}", self.start_port, self.end_port)?;
                }
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// The prefix length when `start..end` is exactly one CIDR block.
fn prefix_len(start: IpAddr, end: IpAddr) -> Option<u32> {
    let (s, e, bits) = match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => (u128::from(u32::from(s)), u128::from(u32::from(e)), 32),
        (IpAddr::V6(s), IpAddr::V6(e)) => (u128::from(s), u128::from(e), 128),
        _ => return None,
    };
    let host_bits = (s ^ e).count_ones();
    let mask = if host_bits == 0 {
        0
    } else {
        u128::MAX >> (128 - host_bits)
    };
    (s & mask == 0 && e & mask == mask && (s ^ e) == mask).then_some(bits - host_bits)
}

impl fmt::Display for TrafficSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Range(r) => r.fmt(f),
            Self::Other { ts_type, .. } => write!(f, "{ts_type}"),
        }
    }
}
