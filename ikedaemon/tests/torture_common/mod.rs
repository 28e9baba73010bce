//! For the live DoS tests (issue 13): an ikedaemon responder in namespace
//! A of an interop pair, many source addresses in namespace B, UDP sockets
//! bound to them, IKE_SA_INIT requests made by the engine (so they are
//! well formed to start with), answers collected and classified, and the
//! negotiator's memory read from /proc.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ikedaemon::ike::engine::rng::SeededRng;
use ikedaemon::ike::engine::*;
use ikedaemon::ike::wire::Message;

use crate::common::{Daemon, Netns, TEST_USER};

/// The responder, 192.0.2.1 in A.
pub const RESPONDER: &str = "192.0.2.1:500";

/// The responder's configuration: `site` for the real peer (192.0.2.2,
/// charon), `open` for the rest of 192.0.2.0/24 (where the sources are).
pub fn responder_config(chroot: &std::path::Path) -> String {
    format!(
        "user: {TEST_USER}\nchroot: {}\nkernel: none\nlisten: [0.0.0.0]\npolicies:\n  - name: site\n    start: passive\n    local: {{ address: 192.0.2.1 }}\n    remote: {{ address: 192.0.2.2 }}\n    auth: {{ psk: \"interop test secret\" }}\n    local_ts: [198.51.100.1/32]\n    remote_ts: [203.0.113.1/32]\n  - name: open\n    start: passive\n    local: {{ address: 192.0.2.1 }}\n    remote: {{ address: 192.0.2.0/24 }}\n    auth: {{ psk: \"another secret\" }}\n    ike: [aes128-sha256-x25519]\n    local_ts: [198.51.100.1/32]\n    remote_ts: [203.0.113.0/24]\n",
        chroot.display()
    )
}

/// Source addresses `first..first+n` of 192.0.2.0/24, added to B's eth0,
/// each with a non-blocking socket bound to `port` in B.
pub fn sources(b: &Netns, first: u8, n: u8, port: u16) -> Vec<UdpSocket> {
    (first..first + n)
        .map(|i| {
            let ip = format!("192.0.2.{i}");
            let out = b.exec(&["ip", "addr", "add", &format!("{ip}/32"), "dev", "eth0"]);
            assert!(out.status.success(), "{out:?}");
            b.enter(|| {
                let s = UdpSocket::bind(format!("{ip}:{port}")).expect("bind a source");
                s.set_nonblocking(true).unwrap();
                s
            })
        })
        .collect()
}

/// An engine that makes IKE_SA_INIT requests for the `open` policy.
pub fn init_maker(seed: u64, cfg: EngineConfig) -> Engine {
    Engine::new(cfg, vec![open_policy(None)], Box::new(SeededRng::new(seed)))
}

/// The initiator's side of `open` (with CERT payloads of `cert` bytes in
/// all, at most 60,000 each, to make the IKE_AUTH large).
pub fn open_policy(cert: Option<usize>) -> EnginePolicy {
    let mut p = crate::engine_common::policy(
        "open",
        "192.0.2.1",
        "aes128-sha256-x25519",
        "203.0.113.0-203.0.113.255",
        "198.51.100.1-198.51.100.1",
    );
    p.certs = cert.map_or(Vec::new(), |n| {
        (0..n.div_ceil(60_000))
            .map(|i| vec![0x30; (n - i * 60_000).min(60_000)])
            .collect()
    });
    p
}

/// A fresh, well-formed IKE_SA_INIT request from `local`.
pub fn valid_init(e: &mut Engine, local: SocketAddr) -> Vec<u8> {
    let mut out = e.initiate("open", local, Duration::ZERO);
    out.send.remove(0).bytes
}

/// What an answer is, for the assertions: `INIT` for an IKE_SA_INIT
/// response with an SA payload, `N(NAME)` for a notify-only answer,
/// `other: ...` otherwise.
pub fn kind_of(bytes: &[u8]) -> String {
    match Message::decode(bytes) {
        Ok(m) => {
            let text = m.to_string();
            if text.contains(" SA ") {
                "INIT".into()
            } else if let Some(n) = m.notifies().next() {
                let s = format!("{m}");
                let start = s.find("N(").unwrap_or(0);
                let end = s[start..].find(')').map_or(s.len(), |e| start + e + 1);
                let _ = n;
                s[start..end].to_string()
            } else {
                format!("other: {text}")
            }
        }
        Err(e) => format!("undecodable: {e}"),
    }
}

/// Everything the sockets received within `wait`, as (socket index,
/// bytes).
pub fn drain(socks: &[UdpSocket], wait: Duration) -> Vec<(usize, Vec<u8>)> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let mut any = false;
        for (i, s) in socks.iter().enumerate() {
            while let Ok((n, _)) = s.recv_from(&mut buf) {
                got.push((i, buf[..n].to_vec()));
                any = true;
            }
        }
        if !any {
            if Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The negotiator's resident memory, in KiB.
pub fn rss_kib(d: &Daemon) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", d.role_pid("negotiator"))).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}
