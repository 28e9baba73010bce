//! From IKE traffic selectors (address ranges, port ranges) to kernel
//! selectors (prefixes, single ports), the flows of a CHILD SA, and the
//! XFRM priority of each flow: more specific selectors get a lower value
//! (they win), all inside ikedaemon's band.

use std::net::IpAddr;

use super::PRIORITY_BAND;
use super::types::{Flow, FlowDir, Mode, SaTemplate, Selector};
use crate::ike::wire::TsRange;

fn to_num(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_num(v6: bool, n: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(n.into())
    } else {
        IpAddr::V4(u32::try_from(n).unwrap_or(u32::MAX).into())
    }
}

/// At most this many kernel selectors per CHILD SA: each is three flows
/// and as many kernel round trips, and a peer chooses the ranges.
pub(crate) const MAX_SELECTORS: usize = 64;

/// The smallest list of prefixes covering exactly `start..=end`.
pub(crate) fn prefixes(start: IpAddr, end: IpAddr) -> Vec<(IpAddr, u8)> {
    let v6 = start.is_ipv6();
    let bits: u32 = if v6 { 128 } else { 32 };
    let (mut lo, hi) = (to_num(start), to_num(end));
    let mut out = Vec::new();
    let span = |size: u32| {
        if size >= 128 {
            u128::MAX
        } else {
            (1u128 << size) - 1
        }
    };
    while lo <= hi && out.len() < 256 {
        // The largest block aligned at `lo` that does not pass `hi`.
        let mut size = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        while size > 0 && lo.checked_add(span(size)).is_none_or(|last| last > hi) {
            size -= 1;
        }
        out.push((from_num(v6, lo), (bits - size) as u8));
        match lo
            .checked_add(span(size))
            .and_then(|last| last.checked_add(1))
        {
            Some(next) => lo = next,
            None => break,
        }
    }
    out
}

/// A single port, or 0 for "any"; ranges in between cannot be expressed.
fn port(r: &TsRange) -> Result<u16, String> {
    match (r.start_port, r.end_port) {
        (0, u16::MAX) => Ok(0),
        (a, b) if a == b => Ok(a),
        (a, b) => Err(format!(
            "port range {a}-{b} of {r} cannot be expressed as a kernel selector (only one port or any)"
        )),
    }
}

/// The kernel selectors for traffic from `local` to `remote`.
pub(crate) fn selectors(local: &[TsRange], remote: &[TsRange]) -> Result<Vec<Selector>, String> {
    let mut out = Vec::new();
    for l in local {
        for r in remote {
            if l.start.is_ipv6() != r.start.is_ipv6() {
                continue;
            }
            let proto = match (l.ip_protocol, r.ip_protocol) {
                (0, p) | (p, 0) => p,
                (p, q) if p == q => p,
                _ => continue,
            };
            let (sport, dport) = (port(l)?, port(r)?);
            for src in prefixes(l.start, l.end) {
                for dst in prefixes(r.start, r.end) {
                    if out.len() >= MAX_SELECTORS {
                        return Err(format!(
                            "the traffic selectors need more than {MAX_SELECTORS} kernel selectors (ranges that are not prefixes split into many)"
                        ));
                    }
                    out.push(Selector {
                        src,
                        dst,
                        proto,
                        sport,
                        dport,
                    });
                }
            }
        }
    }
    if out.is_empty() {
        return Err("the traffic selectors have no address family and protocol in common".into());
    }
    Ok(out)
}

/// XFRM priority: fewer prefix bits, no protocol or no ports mean a
/// higher value (loses against a more specific flow).
pub(crate) fn priority(s: &Selector) -> u32 {
    let bits = |(a, p): (IpAddr, u8)| u32::from(p) + if a.is_ipv4() { 96 } else { 0 };
    let wild = 256 - (bits(s.src) + bits(s.dst)).min(256);
    let base = *PRIORITY_BAND.start();
    base + wild * 4 + u32::from(s.proto == 0) * 2 + u32::from(s.sport == 0 && s.dport == 0)
}

/// The flows of a CHILD SA: out (local → remote), in, and in tunnel mode
/// where the kernel has the direction (`fwd`), fwd (so a gateway forwards
/// what it decrypted).
pub(crate) fn child_flows(
    selectors: &[Selector],
    reqid: u32,
    mode: Mode,
    (local, remote): (IpAddr, IpAddr),
    (spi_in, spi_out): (u32, u32),
    fwd: bool,
) -> Vec<Flow> {
    let mut flows = Vec::new();
    for s in selectors {
        let out = SaTemplate {
            reqid,
            mode,
            outer: (local, remote),
            spi: spi_out,
        };
        let inbound = SaTemplate {
            reqid,
            mode,
            outer: (remote, local),
            spi: spi_in,
        };
        let rev = s.reversed();
        flows.push(Flow {
            dir: FlowDir::Out,
            selector: *s,
            sa: out,
            priority: priority(s),
        });
        flows.push(Flow {
            dir: FlowDir::In,
            selector: rev,
            sa: inbound,
            priority: priority(&rev),
        });
        if fwd && mode == Mode::Tunnel {
            flows.push(Flow {
                dir: FlowDir::Fwd,
                selector: rev,
                sa: inbound,
                priority: priority(&rev),
            });
        }
    }
    flows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: &str, b: &str) -> TsRange {
        TsRange::between(a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn ranges_split_into_prefixes() {
        let p = |a: &str, b: &str| {
            prefixes(a.parse().unwrap(), b.parse().unwrap())
                .iter()
                .map(|(a, l)| format!("{a}/{l}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(p("198.51.100.0", "198.51.100.255"), ["198.51.100.0/24"]);
        assert_eq!(p("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(p("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), ["::/0"]);
        assert_eq!(p("192.0.2.1", "192.0.2.1"), ["192.0.2.1/32"]);
        assert_eq!(
            p("192.0.2.1", "192.0.2.6"),
            [
                "192.0.2.1/32",
                "192.0.2.2/31",
                "192.0.2.4/31",
                "192.0.2.6/32"
            ]
        );
        assert_eq!(p("2001:db8::", "2001:db8::ffff"), ["2001:db8::/112"]);
    }

    #[test]
    fn selectors_pair_families_and_refuse_port_ranges() {
        let l = [
            r("198.51.100.0", "198.51.100.255"),
            r("2001:db8:1::", "2001:db8:1::ffff"),
        ];
        let rm = [r("203.0.113.0", "203.0.113.255")];
        let s = selectors(&l, &rm).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].to_string(), "198.51.100.0/24 === 203.0.113.0/24");
        let mut ports = rm[0];
        ports.ip_protocol = 6;
        ports.start_port = 80;
        ports.end_port = 81;
        assert!(selectors(&l, &[ports]).unwrap_err().contains("80-81"));
        ports.end_port = 80;
        let s = selectors(&l, &[ports]).unwrap();
        assert_eq!((s[0].proto, s[0].dport), (6, 80));
        assert!(selectors(&l[1..], &rm).is_err());
        // A range that splits into many prefixes on both sides.
        let odd = [r("198.51.100.1", "198.51.100.254")];
        let odd2 = [r("203.0.113.1", "203.0.113.254")];
        assert!(
            selectors(&odd, &odd2)
                .unwrap_err()
                .contains("more than 64 kernel selectors")
        );
    }

    #[test]
    fn specific_flows_win_and_stay_in_the_band() {
        let host = selectors(
            &[r("192.0.2.1", "192.0.2.1")],
            &[r("192.0.2.2", "192.0.2.2")],
        )
        .unwrap();
        let net = selectors(
            &[r("0.0.0.0", "255.255.255.255")],
            &[r("192.0.2.0", "192.0.2.255")],
        )
        .unwrap();
        assert!(priority(&host[0]) < priority(&net[0]));
        for p in [priority(&host[0]), priority(&net[0])] {
            assert!(PRIORITY_BAND.contains(&p));
        }
    }

    #[test]
    fn tunnel_flows_include_fwd_and_point_both_ways() {
        let s = selectors(
            &[r("198.51.100.0", "198.51.100.255")],
            &[r("203.0.113.0", "203.0.113.255")],
        )
        .unwrap();
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let f = child_flows(&s, 7, Mode::Tunnel, (a, b), (0x100, 0x200), true);
        let dirs: Vec<_> = f.iter().map(|f| f.dir).collect();
        assert_eq!(dirs, [FlowDir::Out, FlowDir::In, FlowDir::Fwd]);
        assert_eq!(f[0].sa.outer, (a, b));
        assert_eq!(f[1].sa.outer, (b, a));
        assert_eq!(f[1].selector.src.0.to_string(), "203.0.113.0");
        assert_eq!(
            child_flows(&s, 7, Mode::Transport, (a, b), (1, 2), true).len(),
            2
        );
        assert_eq!(
            child_flows(&s, 7, Mode::Tunnel, (a, b), (1, 2), false).len(),
            2
        );
    }
}
