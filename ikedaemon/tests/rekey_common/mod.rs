//! A two-node network for rekeying tests: two engines, each with a test
//! parent (PSK, SPIs) and an emulated kernel that records what would be
//! installed (inbound SAs, outbound SAs added at once or later, keys), a
//! wire with per-datagram delay, loss and reordering driven by one seeded
//! generator, a fake clock, and the invariants RFC 7296 rekeying must keep
//! checked after every step.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::Duration;

use ikedaemon::ike::crypto::auth_octets::{psk_auth, psk_verify};
use ikedaemon::ike::crypto::prf::PrfAlg;
use ikedaemon::ike::engine::*;
use ikedaemon::ike::wire::{AuthMethod, AuthPayload, Message};

/// One CHILD SA as the emulated kernel holds it.
#[derive(Debug, Clone)]
pub struct KernelSa {
    pub ike: u64,
    pub policy: String,
    pub spi_out: u32,
    pub keys_in: (Vec<u8>, Vec<u8>),
    pub keys_out: (Vec<u8>, Vec<u8>),
    /// The outbound SA is in the kernel.
    pub outbound: bool,
    /// Install order of the outbound SA (the kernel sends on the newest).
    pub out_order: u64,
    /// Installed by a responder with both SAs before the peer had the
    /// answer (a brand-new CHILD SA): exempt from the "peer has my
    /// outbound SPI" check until the peer installs it.
    pub fresh: bool,
}

#[derive(Debug, Default)]
pub struct Kernel {
    /// By our inbound SPI.
    pub sas: BTreeMap<u32, KernelSa>,
    pub order: u64,
}

impl Kernel {
    fn install(&mut self, k: &ChildSaKeys, spi_in: u32, outbound: bool, fresh: bool) {
        self.order += 1;
        self.sas.insert(
            spi_in,
            KernelSa {
                ike: k.ike,
                policy: k.policy.clone(),
                spi_out: k.spi_out,
                keys_in: (k.keys_in.0.expose().clone(), k.keys_in.1.expose().clone()),
                keys_out: (k.keys_out.0.expose().clone(), k.keys_out.1.expose().clone()),
                outbound,
                out_order: self.order,
                fresh,
            },
        );
    }

    /// The outbound SA the kernel sends on for `policy`: the newest.
    pub fn current_out(&self, policy: &str) -> Option<&KernelSa> {
        self.sas
            .values()
            .filter(|s| s.policy == policy && s.outbound)
            .max_by_key(|s| s.out_order)
    }
}

pub struct Node {
    pub name: &'static str,
    pub engine: Engine,
    pub psk: Vec<u8>,
    pub next_spi: u32,
    pub kernel: Kernel,
    pub lines: Vec<String>,
    pub failures: Vec<String>,
    pub addr: std::net::SocketAddr,
}

impl Node {
    fn answer(&mut self, r: ParentRequest, prf: PrfAlg) -> ParentAnswer {
        let mut spi = || {
            self.next_spi += 1;
            self.next_spi
        };
        match r {
            ParentRequest::Sign {
                sa,
                request,
                reserve_spi,
                octets,
                ..
            } => ParentAnswer::Signed {
                sa,
                request,
                auth: Ok(AuthPayload {
                    method: AuthMethod::SHARED_KEY_MIC,
                    data: psk_auth(prf, &self.psk, &octets).unwrap().to_vec(),
                }),
                spi_in: reserve_spi.then(|| Ok(spi())),
            },
            ParentRequest::Authenticate {
                sa,
                request,
                octets,
                auth,
                sign,
                child,
                ..
            } => {
                let verdict = psk_verify(prf, &self.psk, &octets, &auth).map_err(|e| e.to_string());
                let auth = sign.map(|o| {
                    Ok(AuthPayload {
                        method: AuthMethod::SHARED_KEY_MIC,
                        data: psk_auth(prf, &self.psk, &o).unwrap().to_vec(),
                    })
                });
                let child = child.filter(|_| verdict.is_ok()).map(|c| {
                    let s = if c.spi_in == 0 { spi() } else { c.spi_in };
                    self.kernel.install(&c, s, true, c.spi_in == 0);
                    Ok(s)
                });
                ParentAnswer::Authenticated {
                    sa,
                    request,
                    verdict,
                    auth,
                    child,
                }
            }
            ParentRequest::ReserveSpi { sa, request, .. } => ParentAnswer::Reserved {
                sa,
                request,
                spi_in: Ok(spi()),
            },
            ParentRequest::InstallChild {
                sa,
                request,
                child,
                outbound,
            } => {
                let s = if child.spi_in == 0 {
                    spi()
                } else {
                    child.spi_in
                };
                self.kernel
                    .install(&child, s, outbound, child.spi_in == 0 && outbound);
                ParentAnswer::Installed {
                    sa,
                    request,
                    child: Ok(s),
                }
            }
        }
    }

    fn apply_events(&mut self, events: Vec<Event>) {
        for ev in events {
            match ev {
                Event::ChildDeleted { spi_in, reason, .. } => {
                    self.kernel.sas.remove(&spi_in);
                    self.lines.push(format!("CHILD SA {spi_in:08x} {reason}"));
                }
                Event::IkeDeleted { sa, reason } => {
                    self.kernel.sas.retain(|_, s| s.ike != sa);
                    self.lines
                        .push(format!("IKE SA {sa:016x} deleted: {reason}"));
                }
                Event::IkeRekeyed { old, new } => {
                    for s in self.kernel.sas.values_mut().filter(|s| s.ike == old) {
                        s.ike = new;
                    }
                }
                Event::ChildOutbound { spi_in, .. } => {
                    self.kernel.order += 1;
                    let order = self.kernel.order;
                    if let Some(s) = self.kernel.sas.get_mut(&spi_in) {
                        s.outbound = true;
                        s.out_order = order;
                    }
                }
                Event::Failed { line, .. } => {
                    self.lines.push(format!("FAILED {line}"));
                    self.failures.push(line);
                }
                Event::Info { line, .. } | Event::IkeEstablished { line, .. } => {
                    self.lines.push(line)
                }
                Event::ChildEstablished(_) => {}
            }
        }
    }
}

/// A datagram on the wire.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub at: Duration,
    pub to_a: bool,
    pub d: Datagram,
    pub seq: u64,
}

/// How the wire misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct WireModel {
    /// Per-mille of datagrams lost.
    pub loss_per_mille: u64,
    /// Per-mille duplicated.
    pub dup_per_mille: u64,
    /// Delay range in milliseconds (random within: reordering).
    pub delay_ms: (u64, u64),
}

impl WireModel {
    pub const PERFECT: WireModel = WireModel {
        loss_per_mille: 0,
        dup_per_mille: 0,
        delay_ms: (10, 10),
    };
}

/// Picks datagrams by (sent by a, summary line).
pub type WireFilter = Box<dyn FnMut(bool, &str) -> bool>;

pub struct Sim {
    pub a: Node,
    pub b: Node,
    pub now: Duration,
    pub wire: Vec<InFlight>,
    pub model: WireModel,
    pub rng: SeededRng,
    pub prf: PrfAlg,
    pub seq: u64,
    /// Wire log: "a->b CREATE_CHILD_SA request 2 [ SK ]".
    pub log: Vec<String>,
    /// Datagrams to drop by predicate on (from_a, decoded summary).
    pub drop_if: Option<WireFilter>,
    /// Stop delivering (hold) datagrams matching this, for reordering by hand.
    pub hold_if: Option<WireFilter>,
    pub held: Vec<InFlight>,
    /// Skip the "the peer has the SA I send on" check (a kernel removed
    /// an SA on its own).
    pub lenient_send: bool,
    /// The parent answers after a random delay in this range (ms); (0, 0):
    /// at once.
    pub parent_delay_ms: (u64, u64),
    /// Parent requests not answered yet: (when, from a, request).
    pub parent_queue: Vec<(Duration, bool, ParentRequest)>,
}

pub fn rng_below(rng: &mut SeededRng, n: u64) -> u64 {
    let mut b = [0u8; 8];
    rng.fill(&mut b);
    if n == 0 { 0 } else { u64::from_be_bytes(b) % n }
}

pub fn policy(
    name: &str,
    peer: &str,
    local: (&str, &str),
    remote: (&str, &str),
    esp: &str,
) -> EnginePolicy {
    use ikedaemon::ike::proposal::{ProposalConfig, SaProtocol};
    use ikedaemon::ike::wire::TsRange;
    let peer: std::net::IpAddr = peer.parse().unwrap();
    let net = |(a, b): (&str, &str)| {
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
        ike: vec![ProposalConfig::parse("aes128gcm16-prfsha256-x25519", SaProtocol::Ike).unwrap()],
        esp: vec![ProposalConfig::parse(esp, SaProtocol::Esp).unwrap()],
        local_ts: vec![net(local)],
        remote_ts: vec![net(remote)],
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

impl Sim {
    /// Two nodes with policy "p" (and "q" when `two_policies`), b passive,
    /// a initiating; established over a perfect wire.
    pub fn new(seed: u64, esp: &str, two_policies: bool) -> Sim {
        let pa = |n: &str, x: &str| {
            policy(
                n,
                "192.0.2.2",
                (&format!("198.51.100.{x}"), &format!("198.51.100.{x}")),
                (&format!("203.0.113.{x}"), &format!("203.0.113.{x}")),
                esp,
            )
        };
        let pb = |n: &str, x: &str| {
            policy(
                n,
                "192.0.2.1",
                (&format!("203.0.113.{x}"), &format!("203.0.113.{x}")),
                (&format!("198.51.100.{x}"), &format!("198.51.100.{x}")),
                esp,
            )
        };
        let mut policies_a = vec![pa("p", "1")];
        let mut policies_b = vec![pb("p", "1")];
        if two_policies {
            policies_a.push(pa("q", "2"));
            policies_b.push(pb("q", "2"));
        }
        Sim::with_policies(seed, policies_a, policies_b, |_| {})
    }

    /// `new` with these policies (`tweak` changes each before use: `true`
    /// for a's).
    pub fn with_policies(
        seed: u64,
        mut policies_a: Vec<EnginePolicy>,
        mut policies_b: Vec<EnginePolicy>,
        tweak: impl Fn(&mut (bool, &mut EnginePolicy)),
    ) -> Sim {
        for p in &mut policies_a {
            tweak(&mut (true, p));
        }
        for p in &mut policies_b {
            tweak(&mut (false, p));
        }
        let node = |name, policies, seed: u64, addr: &str| Node {
            name,
            // Ten retransmissions: on a wire this lossy five can all be
            // lost now and then, and a peer given up for dead is not what
            // these tests are about.
            engine: Engine::new(
                EngineConfig {
                    retransmit_tries: 10,
                    ..EngineConfig::default()
                },
                policies,
                Box::new(SeededRng::new(seed)),
            ),
            psk: b"rekey test secret".to_vec(),
            next_spi: (seed as u32 & 0xf) << 28,
            kernel: Kernel::default(),
            lines: Vec::new(),
            failures: Vec::new(),
            addr: addr.parse().unwrap(),
        };
        let mut sim = Sim {
            a: node("a", policies_a, seed.wrapping_mul(2) | 1, "192.0.2.1:500"),
            b: node("b", policies_b, seed.wrapping_mul(2), "192.0.2.2:500"),
            now: Duration::from_secs(1),
            wire: Vec::new(),
            model: WireModel::PERFECT,
            rng: SeededRng::new(seed ^ 0x5eed),
            prf: PrfAlg::HmacSha256,
            seq: 0,
            log: Vec::new(),
            drop_if: None,
            hold_if: None,
            held: Vec::new(),
            lenient_send: false,
            parent_delay_ms: (0, 0),
            parent_queue: Vec::new(),
        };
        let out = sim.a.engine.initiate("p", sim.a.addr, sim.now);
        sim.apply(true, out);
        sim.run_for(Duration::from_secs(2));
        sim
    }

    pub fn node(&mut self, a: bool) -> &mut Node {
        if a { &mut self.a } else { &mut self.b }
    }

    /// Carries out one engine's outputs: parent requests answered at once
    /// (their outputs too), events to the emulated kernel, datagrams onto
    /// the wire.
    pub fn apply(&mut self, from_a: bool, out: Outputs) {
        let mut queue = vec![out];
        while let Some(out) = queue.pop() {
            let prf = self.prf;
            let now = self.now;
            let (lo, hi) = self.parent_delay_ms;
            let mut later = Vec::new();
            let n = self.node(from_a);
            n.apply_events(out.events);
            for r in out.parent {
                if hi > 0 {
                    later.push(r);
                    continue;
                }
                let ans = n.answer(r, prf);
                queue.push(n.engine.parent_answer(ans, now));
            }
            for r in later {
                let ms = lo + rng_below(&mut self.rng, hi - lo + 1);
                self.parent_queue
                    .push((now + Duration::from_millis(ms), from_a, r));
            }
            for d in out.send {
                self.put_on_wire(from_a, d);
            }
        }
    }

    fn put_on_wire(&mut self, from_a: bool, d: Datagram) {
        let summary = Message::decode(&d.bytes)
            .map(|m| m.to_string())
            .unwrap_or_default();
        let sa = Message::decode(&d.bytes)
            .map(|m| format!("{:04x}", m.header.spi_i >> 48))
            .unwrap_or_default();
        let line = format!(
            "{:>9.3} {} {sa} {summary}",
            self.now.as_secs_f64(),
            if from_a { "a->b" } else { "b->a" }
        );
        if self.log.len() > 4000 {
            self.log.drain(..2000);
        }
        self.log.push(line);
        if let Some(f) = self.drop_if.as_mut()
            && f(from_a, &summary)
        {
            self.log.push("          (dropped)".into());
            return;
        }
        let m = self.model;
        if rng_below(&mut self.rng, 1000) < m.loss_per_mille {
            self.log.push("          (lost)".into());
            return;
        }
        let copies = if rng_below(&mut self.rng, 1000) < m.dup_per_mille {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let ms = m.delay_ms.0 + rng_below(&mut self.rng, m.delay_ms.1 - m.delay_ms.0 + 1);
            self.seq += 1;
            let f = InFlight {
                at: self.now + Duration::from_millis(ms),
                to_a: !from_a,
                d: d.clone(),
                seq: self.seq,
            };
            if let Some(h) = self.hold_if.as_mut()
                && h(from_a, &summary)
            {
                self.held.push(f);
            } else {
                self.wire.push(f);
            }
        }
    }

    /// Puts the held datagrams on the wire (in the order given).
    pub fn release(&mut self, reverse: bool) {
        let mut held = std::mem::take(&mut self.held);
        if reverse {
            held.reverse();
        }
        for (i, mut f) in held.into_iter().enumerate() {
            f.at = self.now + Duration::from_millis(1 + i as u64);
            self.wire.push(f);
        }
    }

    fn deliver(&mut self, f: InFlight) {
        let now = self.now;
        let to = self.node(f.to_a);
        let d = Datagram {
            local: to.addr,
            remote: if f.to_a { self.b.addr } else { self.a.addr },
            natt: f.d.natt,
            bytes: f.d.bytes,
        };
        let to = self.node(f.to_a);
        let out = to.engine.datagram(d, now);
        self.apply(f.to_a, out);
    }

    /// The next time something happens: a delivery or an engine timer.
    fn next_event(&self) -> Option<Duration> {
        let wire = self.wire.iter().map(|f| f.at).min();
        let parent = self.parent_queue.iter().map(|p| p.0).min();
        [
            wire,
            parent,
            self.a.engine.next_deadline(),
            self.b.engine.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs until `until` (deliveries and timers in time order), checking
    /// the invariants after every step.
    pub fn run_until(&mut self, until: Duration) {
        let mut steps = 0u32;
        while let Some(t) = self.next_event().filter(|t| *t <= until) {
            steps += 1;
            assert!(steps < 200_000, "no progress:\n{}", self.dump());
            self.now = self.now.max(t);
            if let Some(i) = self.parent_queue.iter().position(|p| p.0 <= self.now) {
                let (_, from_a, r) = self.parent_queue.remove(i);
                let (prf, now) = (self.prf, self.now);
                let n = self.node(from_a);
                let ans = n.answer(r, prf);
                let out = n.engine.parent_answer(ans, now);
                self.apply(from_a, out);
            } else if let Some(i) = self
                .wire
                .iter()
                .enumerate()
                .filter(|(_, f)| f.at <= self.now)
                .min_by_key(|(_, f)| (f.at, f.seq))
                .map(|(i, _)| i)
            {
                let f = self.wire.swap_remove(i);
                self.deliver(f);
            } else {
                let now = self.now;
                let oa = self.a.engine.timeout(now);
                self.apply(true, oa);
                let ob = self.b.engine.timeout(now);
                self.apply(false, ob);
            }
            self.check_invariants();
        }
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// The kernel reports a soft lifetime for this CHILD SA on node `a`/`b`.
    pub fn soft_expire(&mut self, on_a: bool, spi_in: u32) -> Option<String> {
        let now = self.now;
        let (line, out) = self.node(on_a).engine.child_expired(spi_in, false, now);
        self.apply(on_a, out);
        self.check_invariants();
        line
    }

    /// Node `a`/`b` rekeys its IKE SA now.
    pub fn rekey_ike(&mut self, on_a: bool) -> bool {
        let now = self.now;
        let Some(id) = self.node(on_a).engine.summaries().first().map(|s| s.id) else {
            return false;
        };
        let (ok, out) = self.node(on_a).engine.rekey_ike(id, now);
        self.apply(on_a, out);
        self.check_invariants();
        ok
    }

    /// Inbound SPIs of a policy on a node.
    pub fn inbound(&self, on_a: bool, policy: &str) -> Vec<u32> {
        let n = if on_a { &self.a } else { &self.b };
        n.kernel
            .sas
            .iter()
            .filter(|(_, s)| s.policy == policy)
            .map(|(k, _)| *k)
            .collect()
    }

    pub fn policies(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .a
            .kernel
            .sas
            .values()
            .chain(self.b.kernel.sas.values())
            .map(|s| s.policy.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// After every step: at most two CHILD SAs per policy and direction
    /// on each node; the outbound SA each node sends on has its inbound SA
    /// at the peer; both ends hold the same keys for every SPI they share.
    pub fn check_invariants(&self) {
        for (me, peer) in [(&self.a, &self.b), (&self.b, &self.a)] {
            for p in self.policies() {
                let inbound = me.kernel.sas.values().filter(|s| s.policy == p).count();
                let outbound = me
                    .kernel
                    .sas
                    .values()
                    .filter(|s| s.policy == p && s.outbound)
                    .count();
                assert!(
                    inbound <= 2 && outbound <= 2,
                    "{}: policy {p}: {inbound} inbound, {outbound} outbound CHILD SAs\n{}",
                    me.name,
                    self.dump()
                );
                if let Some(cur) = me.kernel.current_out(&p)
                    && !cur.fresh
                    && !self.lenient_send
                {
                    assert!(
                        peer.kernel.sas.contains_key(&cur.spi_out),
                        "{} sends on {:08x} (policy {p}) but {} has no such inbound SA\n{}",
                        me.name,
                        cur.spi_out,
                        peer.name,
                        self.dump()
                    );
                }
            }
            for (spi_in, s) in &me.kernel.sas {
                if let Some((_, o)) = peer.kernel.sas.iter().find(|(_, o)| o.spi_out == *spi_in) {
                    assert_eq!(
                        s.keys_in, o.keys_out,
                        "keys of SPI {spi_in:08x} differ between {} and {}",
                        me.name, peer.name
                    );
                    let _ = o;
                }
            }
        }
    }

    /// True when neither engine has anything under way and the wire is
    /// empty.
    pub fn quiet(&self) -> bool {
        self.wire.is_empty()
            && self.held.is_empty()
            && self.parent_queue.is_empty()
            && !self.a.engine.busy()
            && !self.b.engine.busy()
    }

    /// At quiescence: one IKE SA on each side (the same one), and one
    /// CHILD SA per policy whose SPIs pair up.
    pub fn check_quiescent(&self, policies: &[&str]) {
        let (sa, sb) = (self.a.engine.summaries(), self.b.engine.summaries());
        assert!(
            sa.len() == 1 && sb.len() == 1 && sa[0].spis == sb[0].spis,
            "IKE SAs at quiescence: a {:?}\nb {:?}\n{}",
            sa.iter().map(|s| (&s.spis, &s.state)).collect::<Vec<_>>(),
            sb.iter().map(|s| (&s.spis, &s.state)).collect::<Vec<_>>(),
            self.dump()
        );
        for p in policies {
            let (ia, ib) = (self.inbound(true, p), self.inbound(false, p));
            assert!(
                ia.len() == 1 && ib.len() == 1,
                "policy {p} at quiescence: a {ia:08x?} b {ib:08x?}\n{}",
                self.dump()
            );
            assert_eq!(self.a.kernel.sas[&ia[0]].spi_out, ib[0], "{}", self.dump());
            assert_eq!(self.b.kernel.sas[&ib[0]].spi_out, ia[0], "{}", self.dump());
            assert!(self.a.kernel.sas[&ia[0]].outbound && self.b.kernel.sas[&ib[0]].outbound);
        }
    }

    /// The last wire and log lines, for failure messages.
    pub fn dump(&self) -> String {
        let tail = |v: &[String], n: usize| v[v.len().saturating_sub(n)..].join("\n");
        let sas = |e: &Engine| {
            e.summaries()
                .iter()
                .map(|s| {
                    let c: Vec<String> = s
                        .children
                        .iter()
                        .map(|c| format!("{:08x}/{:08x} {}", c.spi_in, c.spi_out, c.state))
                        .collect();
                    format!("{} {} [{}]", s.spis, s.state, c.join(", "))
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        format!(
            "now {:.3}\n--- a SAs (busy {:?})\n{}\n--- b SAs (busy {:?})\n{}\n--- wire\n{}\n--- a\n{}\n--- b\n{}\n--- a kernel {:08x?}\n--- b kernel {:08x?}",
            self.now.as_secs_f64(),
            self.a.engine.busy_with(),
            sas(&self.a.engine),
            self.b.engine.busy_with(),
            sas(&self.b.engine),
            tail(&self.log, 40),
            tail(&self.a.lines, 25),
            tail(&self.b.lines, 25),
            self.a
                .kernel
                .sas
                .iter()
                .map(|(k, s)| (*k, s.spi_out, s.outbound, &s.policy))
                .collect::<Vec<_>>(),
            self.b
                .kernel
                .sas
                .iter()
                .map(|(k, s)| (*k, s.spi_out, s.outbound, &s.policy))
                .collect::<Vec<_>>(),
        )
    }
}
