//! For the live DoS tests (issue 13): an ikedaemon responder in namespace
//! A of an interop pair, many source addresses in namespace B, UDP sockets
//! bound to them, IKE_SA_INIT requests made by the engine (so they are
//! well formed to start with), answers collected and classified, and the
//! negotiator's memory read from /proc.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use std::collections::HashMap;

use ikedaemon::ike::crypto::prf::PrfAlg;
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

/// One attacking source: an engine that initiates IKE SAs whose IKE_AUTH
/// is `cert` bytes long, in 1280-byte fragments.
pub struct Attacker {
    sock: UdpSocket,
    engine: Engine,
    parent: crate::engine_common::Parent,
}

impl Attacker {
    pub fn new(sock: UdpSocket, seed: u64) -> Attacker {
        Attacker::with_policy(sock, seed, open_policy(Some(300 * 1024)))
    }

    pub fn with_policy(sock: UdpSocket, seed: u64, policy: EnginePolicy) -> Attacker {
        let name = policy.name.clone();
        let cfg = EngineConfig {
            fragment_size: Some(1280),
            retransmit_tries: 0,
            ..EngineConfig::default()
        };
        Attacker {
            sock,
            engine: Engine::new(cfg, vec![policy], Box::new(SeededRng::new(seed))),
            parent: crate::engine_common::Parent {
                psk: HashMap::from([(name, b"not the secret".to_vec())]),
                next_spi: 0x1000,
                refuse_install: false,
                installed: Vec::new(),
            },
        }
    }

    fn carry(&mut self, mut out: Outputs, now: Duration) -> usize {
        let mut sent = 0;
        loop {
            for d in &out.send {
                let _ = self.sock.send_to(&d.bytes, d.remote);
                sent += d.bytes.len();
            }
            let Some(r) = out.parent.pop() else {
                return sent;
            };
            let a = self.parent.answer(r, PrfAlg::HmacSha256);
            let more = self.engine.parent_answer(a, now);
            out.send = more.send;
            out.parent.extend(more.parent);
        }
    }

    /// One step: a new IKE SA, then whatever came back.
    pub fn step(&mut self, now: Duration) -> usize {
        let local = self.sock.local_addr().unwrap();
        let policy = self.parent.psk.keys().next().cloned().unwrap_or_default();
        let out = self.engine.initiate(&policy, local, now);
        let mut sent = self.carry(out, now);
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = self.sock.recv_from(&mut buf) {
            let d = Datagram {
                local,
                remote: from,
                natt: false,
                bytes: buf[..n].to_vec(),
            };
            let out = self.engine.datagram(d, now);
            sent += self.carry(out, now);
        }
        let out = self.engine.timeout(now);
        sent + self.carry(out, now)
    }
}

/// A CA and, signed by it, an RSA-2048 certificate for initiator.example
/// with its key, written as ca.pem, ikedaemon.pem and ikedaemon.key (0600)
/// in `dir`; the `auth:` block naming them.
pub fn make_certs(dir: &std::path::Path) -> String {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
    use openssl::x509::{X509, X509NameBuilder};
    use std::os::unix::fs::PermissionsExt;
    let name = |cn: &str| {
        let mut n = X509NameBuilder::new().unwrap();
        n.append_entry_by_text("CN", cn).unwrap();
        n.build()
    };
    let ca_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut ca = X509::builder().unwrap();
    ca.set_version(2).unwrap();
    ca.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    ca.set_subject_name(&name("ikedaemon test CA")).unwrap();
    ca.set_issuer_name(&name("ikedaemon test CA")).unwrap();
    ca.set_pubkey(&ca_key).unwrap();
    ca.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    ca.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    ca.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    ca.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let ca = ca.build();
    let mut c = X509::builder().unwrap();
    c.set_version(2).unwrap();
    c.set_serial_number(&BigNum::from_u32(2).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    c.set_subject_name(&name("initiator.example")).unwrap();
    c.set_issuer_name(ca.subject_name()).unwrap();
    c.set_pubkey(&key).unwrap();
    c.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    c.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("initiator.example")
        .build(&c.x509v3_context(Some(&ca), None))
        .unwrap();
    c.append_extension(san).unwrap();
    c.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let c = c.build();
    std::fs::write(dir.join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    std::fs::write(dir.join("ikedaemon.pem"), c.to_pem().unwrap()).unwrap();
    let k = dir.join("ikedaemon.key");
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
    "    auth:\n      certificate: ikedaemon.pem\n      private_key: ikedaemon.key\n      ca: [ca.pem]\n".to_string()
}

/// The policy the bad IKE_AUTHs are aimed at: certificates, for
/// `remote` (a prefix), expecting responder.example.
pub fn cert_policy_yaml(me: &str, remote: &str, auth: &str) -> String {
    format!(
        "  - name: certs\n    start: passive\n    local: {{ address: \"{me}\", id: {{ fqdn: initiator.example }} }}\n    remote: {{ address: \"{remote}\", id: {{ fqdn: responder.example }} }}\n{auth}    ike: [aes128-sha256-x25519]\n    local_ts: [198.51.100.1/32]\n    remote_ts: [203.0.113.0/24]\n"
    )
}

/// The attackers' policy for `certs`: the identity it wants, a
/// certificate that is none, a PSK-style AUTH.
pub fn bad_cert_attacker_policy() -> EnginePolicy {
    let mut p = open_policy(Some(2000));
    p.name = "certs".into();
    p.local_id = Some(ikedaemon::ike::wire::Identification::fqdn(
        "responder.example",
    ));
    p
}
