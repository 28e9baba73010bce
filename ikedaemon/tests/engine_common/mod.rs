//! Shared by the engine tests: two engines in one process wired through
//! memory with a fake clock, and a test "parent" that holds the PSKs and
//! plays the kernel (inbound SPIs, CHILD SA installs).
#![allow(dead_code, unreachable_pub)]
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ikedaemon::ike::crypto::auth_octets::{psk_auth, psk_verify};
use ikedaemon::ike::crypto::prf::PrfAlg;
use ikedaemon::ike::engine::*;
use ikedaemon::ike::proposal::{ProposalConfig, SaProtocol};
use ikedaemon::ike::wire::{AuthMethod, AuthPayload, TsRange};

pub fn prop(s: &str, p: SaProtocol) -> ProposalConfig {
    ProposalConfig::parse(s, p).unwrap()
}

pub fn policy(name: &str, peer: &str, ike: &str, local_ts: &str, remote_ts: &str) -> EnginePolicy {
    let peer: IpAddr = peer.parse().unwrap();
    let net = |s: &str| {
        let (a, b) = s.split_once('-').unwrap();
        TsSpec::Range(TsRange {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start: a.parse().unwrap(),
            end: b.parse().unwrap(),
        })
    };
    EnginePolicy {
        name: name.into(),
        local_id: None,
        remote_id: None,
        auth_class: 0,
        remote: RemoteMatch::Ip(peer),
        remote_addr: Some(peer),
        ike: vec![prop(ike, SaProtocol::Ike)],
        esp: vec![
            prop("aes128gcm16", SaProtocol::Esp),
            prop("aes128-sha256", SaProtocol::Esp),
        ],
        local_ts: vec![net(local_ts)],
        remote_ts: vec![net(remote_ts)],
        transport: false,
        certs: Vec::new(),
        certreq: Vec::new(),
        dpd: None,
        childless: Default::default(),
        ike_rekey: None,
        ike_reauth: None,
        ike_expire: None,
        child_expire: None,
    }
}

/// The test's stand-in for the parent: PSKs by policy name, and a
/// kernel that hands out inbound SPIs and installs CHILD SAs (or refuses).
pub struct Parent {
    pub psk: HashMap<String, Vec<u8>>,
    pub next_spi: u32,
    /// The kernel refuses every CHILD SA.
    pub refuse_install: bool,
    /// CHILD SAs installed: (IKE SA, inbound SPI).
    pub installed: Vec<(u64, u32)>,
}

impl Parent {
    /// The PRF is not known to the parent from the request; the octets
    /// are MACed with the IKE SA's PRF, which these tests fix per case.
    pub fn answer(&mut self, r: ParentRequest, prf: PrfAlg) -> ParentAnswer {
        match r {
            ParentRequest::Sign {
                sa,
                request,
                reserve_spi,
                policy,
                octets,
                ..
            } => ParentAnswer::Signed {
                sa,
                request,
                auth: Ok(AuthPayload {
                    method: AuthMethod::SHARED_KEY_MIC,
                    data: psk_auth(prf, &self.psk[&policy], &octets).unwrap().to_vec(),
                }),
                spi_in: reserve_spi.then(|| {
                    self.next_spi += 1;
                    Ok(self.next_spi)
                }),
            },
            ParentRequest::Authenticate {
                sa,
                request,
                policy,
                octets,
                auth,
                sign,
                child,
                ..
            } => {
                let key = &self.psk[&policy];
                let verdict = psk_verify(prf, key, &octets, &auth).map_err(|e| e.to_string());
                let auth = sign.map(|o| {
                    Ok(AuthPayload {
                        method: AuthMethod::SHARED_KEY_MIC,
                        data: psk_auth(prf, key, &o).unwrap().to_vec(),
                    })
                });
                let child = child.filter(|_| verdict.is_ok()).map(|c| {
                    if self.refuse_install {
                        return Err("Protocol not supported".to_string());
                    }
                    let spi = if c.spi_in == 0 {
                        self.next_spi += 1;
                        self.next_spi
                    } else {
                        c.spi_in
                    };
                    self.installed.push((c.ike, spi));
                    Ok(spi)
                });
                ParentAnswer::Authenticated {
                    sa,
                    request,
                    verdict,
                    auth,
                    child,
                }
            }
            ParentRequest::ReserveSpi { sa, request, .. } => {
                self.next_spi += 1;
                ParentAnswer::Reserved {
                    sa,
                    request,
                    spi_in: Ok(self.next_spi),
                }
            }
            ParentRequest::InstallChild {
                sa, request, child, ..
            } => {
                let spi = if child.spi_in == 0 {
                    self.next_spi += 1;
                    self.next_spi
                } else {
                    child.spi_in
                };
                let child = if self.refuse_install {
                    Err("Protocol not supported".to_string())
                } else {
                    self.installed.push((child.ike, spi));
                    Ok(spi)
                };
                ParentAnswer::Installed { sa, request, child }
            }
        }
    }
}

pub struct Side {
    pub engine: Engine,
    pub parent: Parent,
    pub addr: SocketAddr,
    pub events: Vec<Event>,
}

pub struct World {
    pub a: Side,
    pub b: Side,
    pub now: Duration,
    pub prf: PrfAlg,
    /// Drop the n-th datagram (counted over both directions), once each.
    pub drop: Vec<usize>,
    pub sent: usize,
    /// Where the responder sees the initiator (a NAT in between when it
    /// differs from a's own address).
    pub a_seen_as: SocketAddr,
    pub log: Vec<String>,
    /// NAT keepalives seen on the wire: (from a, datagram).
    pub keepalives: Vec<(bool, Datagram)>,
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

impl World {
    pub fn new(pa: EnginePolicy, pb: EnginePolicy, psk_a: &str, psk_b: &str, prf: PrfAlg) -> World {
        World::with_config(pa, pb, psk_a, psk_b, prf, EngineConfig::default())
    }

    pub fn with_config(
        pa: EnginePolicy,
        pb: EnginePolicy,
        psk_a: &str,
        psk_b: &str,
        prf: PrfAlg,
        cfg: EngineConfig,
    ) -> World {
        let side = |p: EnginePolicy, psk: &str, a: &str, seed| Side {
            parent: Parent {
                psk: HashMap::from([(p.name.clone(), psk.as_bytes().to_vec())]),
                next_spi: seed as u32 * 0x1000_0000,
                refuse_install: false,
                installed: Vec::new(),
            },
            engine: Engine::new(cfg.clone(), vec![p], Box::new(SeededRng::new(seed))),
            addr: addr(a),
            events: Vec::new(),
        };
        World {
            a: side(pa, psk_a, "192.0.2.1:500", 1),
            b: side(pb, psk_b, "192.0.2.2:500", 2),
            now: Duration::ZERO,
            prf,
            drop: Vec::new(),
            sent: 0,
            a_seen_as: addr("192.0.2.1:500"),
            log: Vec::new(),
            keepalives: Vec::new(),
        }
    }

    /// Delivers outputs until nothing moves; returns the number of
    /// datagrams delivered.
    pub fn pump(&mut self, from_a: bool, out: Outputs) {
        let mut queue = vec![(from_a, out)];
        while let Some((from_a, out)) = queue.pop() {
            let prf = self.prf;
            let (src, dst) = if from_a {
                (&mut self.a, &mut self.b)
            } else {
                (&mut self.b, &mut self.a)
            };
            src.events.extend(out.events);
            for r in out.parent {
                let ans = src.parent.answer(r, prf);
                queue.push((from_a, src.engine.parent_answer(ans, self.now)));
            }
            for d in out.send {
                if d.bytes == [0xff] {
                    // A NAT keepalive: the negotiator drops it on receipt.
                    self.keepalives.push((from_a, d));
                    continue;
                }
                self.sent += 1;
                self.log.push(format!(
                    "{} {}",
                    if from_a { "a->b" } else { "b->a" },
                    ikedaemon::ike::wire::Message::decode(&d.bytes)
                        .map(|m| m.to_string())
                        .unwrap_or_default()
                ));
                if let Some(i) = self.drop.iter().position(|n| *n == self.sent) {
                    self.drop.remove(i);
                    continue;
                }
                // Through the "network": a NAT may rewrite the initiator.
                let (local, remote) = if from_a {
                    let port = if d.natt { 4500 } else { 500 };
                    (
                        SocketAddr::new(dst.addr.ip(), port),
                        SocketAddr::new(
                            self.a_seen_as.ip(),
                            if d.natt { 4500 } else { self.a_seen_as.port() },
                        ),
                    )
                } else {
                    (d.remote, d.local)
                };
                let got = Datagram {
                    local,
                    remote,
                    natt: d.natt,
                    bytes: d.bytes,
                };
                queue.push((!from_a, dst.engine.datagram(got, self.now)));
            }
        }
    }

    pub fn start(&mut self) {
        let out = self.a.engine.initiate("p", self.a.addr, self.now);
        self.pump(true, out);
    }

    pub fn tick(&mut self, by: Duration) {
        self.now += by;
        let oa = self.a.engine.timeout(self.now);
        self.pump(true, oa);
        let ob = self.b.engine.timeout(self.now);
        self.pump(false, ob);
    }

    pub fn children(events: &[Event]) -> Vec<ChildSaKeys> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::ChildEstablished(k) => Some((**k).clone()),
                _ => None,
            })
            .collect()
    }
}

/// The initiator's policy `p` of the standard pair (a at 192.0.2.1).
pub fn policy_a(ike: &str) -> EnginePolicy {
    policy(
        "p",
        "192.0.2.2",
        ike,
        "198.51.100.0-198.51.100.255",
        "203.0.113.0-203.0.113.255",
    )
}

/// The responder's policy `p` of the standard pair (b at 192.0.2.2).
pub fn policy_b(ike: &str) -> EnginePolicy {
    policy(
        "p",
        "192.0.2.1",
        ike,
        "203.0.113.0-203.0.113.255",
        "198.51.100.0-198.51.100.255",
    )
}

pub fn pair(ike_a: &str, ike_b: &str) -> World {
    World::new(
        policy_a(ike_a),
        policy_b(ike_b),
        "shared secret",
        "shared secret",
        PrfAlg::HmacSha256,
    )
}

/// `pair` with PSK "k", `cfg` for both engines and `tweak_b` applied to
/// the responder's policy.
pub fn pair_with(cfg: EngineConfig, tweak_b: impl FnOnce(&mut EnginePolicy)) -> World {
    let mut pb = policy_b("aes128-sha256-x25519");
    tweak_b(&mut pb);
    World::with_config(
        policy_a("aes128-sha256-x25519"),
        pb,
        "k",
        "k",
        PrfAlg::HmacSha256,
        cfg,
    )
}

pub fn assert_established(w: &World) {
    let (ca, cb) = (World::children(&w.a.events), World::children(&w.b.events));
    assert_eq!(
        (ca.len(), cb.len()),
        (1, 1),
        "events a {:?}\nb {:?}\n{:#?}",
        w.a.events,
        w.b.events,
        w.log
    );
    let (ca, cb) = (&ca[0], &cb[0]);
    assert_eq!(
        (ca.spi_in, ca.spi_out),
        (cb.spi_out, cb.spi_in),
        "SPIs agree"
    );
    assert_eq!(ca.keys_out, cb.keys_in, "a→b keys");
    assert_eq!(ca.keys_in, cb.keys_out, "b→a keys");
    assert_eq!(ca.local_ts, cb.remote_ts);
    assert_eq!(ca.algorithms, cb.algorithms);
    let sa = &w.a.engine.summaries()[0];
    assert_eq!(sa.state, "ESTABLISHED");
    assert_eq!(sa.spis, w.b.engine.summaries()[0].spis);
}
