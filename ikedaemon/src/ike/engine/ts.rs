//! Traffic selector narrowing (RFC 7296 §2.9): the responder intersects
//! what the initiator proposes with what its policy allows; the initiator
//! checks that the answer is within what it proposed. One pure module, so
//! the parent's check of install requests can share it.

use std::net::IpAddr;

use crate::ike::wire::{TrafficSelector, TsPayload, TsRange};

fn num(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn ip(v6: bool, n: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(n.into())
    } else {
        IpAddr::V4(u32::try_from(n).unwrap_or(u32::MAX).into())
    }
}

/// Selectors as one comma-separated list, for logs and `ikectl`.
pub fn join(ts: &[TsRange]) -> String {
    ts.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The intersection of two ranges, if not empty.
pub fn intersect(a: &TsRange, b: &TsRange) -> Option<TsRange> {
    let (a6, a_lo) = num(a.start);
    let (_, a_hi) = num(a.end);
    let (b6, b_lo) = num(b.start);
    let (_, b_hi) = num(b.end);
    if a6 != b6 {
        return None;
    }
    let protocol = match (a.ip_protocol, b.ip_protocol) {
        (0, p) | (p, 0) => p,
        (p, q) if p == q => p,
        _ => return None,
    };
    let (lo, hi) = (a_lo.max(b_lo), a_hi.min(b_hi));
    let (plo, phi) = (a.start_port.max(b.start_port), a.end_port.min(b.end_port));
    (lo <= hi && plo <= phi).then(|| TsRange {
        ip_protocol: protocol,
        start_port: plo,
        end_port: phi,
        start: ip(a6, lo),
        end: ip(a6, hi),
    })
}

/// True when `inner` lies within `outer`.
pub fn within(inner: &TsRange, outer: &TsRange) -> bool {
    intersect(inner, outer).as_ref() == Some(inner)
}

/// Responder narrowing: every non-empty intersection of a proposed
/// selector with an allowed one, in the proposer's order.
pub fn narrow(proposed: &[TsRange], allowed: &[TsRange]) -> Vec<TsRange> {
    let mut out = Vec::new();
    for p in proposed {
        for a in allowed {
            if let Some(x) = intersect(p, a)
                && !out.contains(&x)
            {
                out.push(x);
            }
        }
    }
    out
}

/// The address ranges of a TS payload (other selector types ignored).
pub fn ranges(p: &TsPayload) -> Vec<TsRange> {
    p.selectors
        .iter()
        .filter_map(|s| match s {
            TrafficSelector::Range(r) => Some(*r),
            TrafficSelector::Other { .. } => None,
        })
        .collect()
}

/// A TS payload of ranges.
pub fn payload(ranges: &[TsRange]) -> TsPayload {
    TsPayload {
        selectors: ranges.iter().map(|r| TrafficSelector::Range(*r)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(proto: u8, ports: (u16, u16), a: &str, b: &str) -> TsRange {
        TsRange {
            ip_protocol: proto,
            start_port: ports.0,
            end_port: ports.1,
            start: a.parse().unwrap(),
            end: b.parse().unwrap(),
        }
    }

    #[test]
    fn narrowing_intersects_addresses_ports_and_protocols() {
        let any = TsRange::any(false);
        let lan = r(0, (0, 65535), "192.0.2.0", "192.0.2.255");
        assert_eq!(narrow(&[any], &[lan]), vec![lan]);
        let web = r(6, (443, 443), "192.0.2.10", "192.0.2.10");
        assert_eq!(narrow(&[web], &[lan]), vec![web]);
        let udp = r(17, (0, 65535), "192.0.2.0", "192.0.2.255");
        assert!(narrow(&[web], &[udp]).is_empty());
        let other = r(0, (0, 65535), "198.51.100.0", "198.51.100.255");
        assert!(narrow(&[lan], &[other]).is_empty());
        assert!(narrow(&[TsRange::any(true)], &[lan]).is_empty());
        assert!(within(&web, &lan) && !within(&lan, &web));
    }
}
