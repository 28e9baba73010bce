//! The PF_KEY backend, through this workspace's `pfkey` crate (no crate
//! on crates.io speaks PF_KEY). KAME dialect (FreeBSD, NetBSD, macOS) and
//! Linux af_key: GETSPI/UPDATE/ADD/DELETE/GET of ESP SAs, X_SPDUPDATE and
//! X_SPDDELETE for flows, SADB_REGISTER for the algorithm list and for
//! ACQUIRE/EXPIRE events. OpenBSD's flow messages are modelled by the
//! crate but not driven here yet: on OpenBSD this backend refuses to
//! start and says so.
//!
//! Two sockets, like the XFRM backend: requests on one, the registered
//! socket (which receives ACQUIRE and EXPIRE) watched by the event loop.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use pfkey::ext::{
    Address, IpsecRequest, Key, Lifetime, NatTType, Policy, Port, Sa, Sa2, SpiRange, Supported,
    U32Value,
};
use pfkey::{
    AuthAlgorithm, Dialect, Direction, Disposition, EncryptAlgorithm, ExtBody, ExtKind, Level,
    Message, MessageType, Mode as PfMode, PfKeySocket, PolicyType, SaState, SaType, SocketError,
};

use super::Kernel;
use super::types::{
    Flow, FlowDir, KernelError, KernelEvent, Mode, Owned, SaKey, SaParams, SaTemplate, Selector,
    Usage,
};
use crate::ike::crypto::encr::EncrAlg;
use crate::ike::crypto::integ::IntegAlg;
use crate::ike::proposal::ProposalConfig;

/// The PF_KEY backend.
#[derive(Debug)]
pub(crate) struct PfKeyKernel {
    requests: PfKeySocket,
    events: PfKeySocket,
    dialect: Dialect,
    /// Algorithm numbers SADB_REGISTER announced for ESP.
    auth: Vec<u8>,
    encrypt: Vec<u8>,
    /// The last `events` stopped at its cap with messages left.
    more_events: bool,
    /// Kernel policy id → our reqid, from the SPDUPDATE replies.
    policy_reqids: std::collections::HashMap<u32, u32>,
}

fn kernel_error(op: &'static str, e: SocketError) -> KernelError {
    match e.kernel_errno() {
        Some(errno) => KernelError::errno(op, errno),
        None => KernelError::Io(format!("{op}: {e}")),
    }
}

fn encrypt_alg(a: EncrAlg) -> EncryptAlgorithm {
    match a {
        EncrAlg::AesCbc => EncryptAlgorithm::AesCbc,
        EncrAlg::AesGcm16 => EncryptAlgorithm::AesGcm16,
        EncrAlg::AesGcm12 => EncryptAlgorithm::AesGcm12,
        EncrAlg::AesGcm8 => EncryptAlgorithm::AesGcm8,
        EncrAlg::AesCcm16 => EncryptAlgorithm::AesCcm16,
        EncrAlg::AesCcm12 => EncryptAlgorithm::AesCcm12,
        EncrAlg::AesCcm8 => EncryptAlgorithm::AesCcm8,
        EncrAlg::ChaCha20Poly1305 => EncryptAlgorithm::ChaCha20Poly1305,
    }
}

fn auth_alg(i: IntegAlg) -> Option<AuthAlgorithm> {
    match i {
        IntegAlg::HmacSha1_96 => Some(AuthAlgorithm::HmacSha1),
        IntegAlg::AesXcbc96 => Some(AuthAlgorithm::AesXcbcMac),
        IntegAlg::AesCmac96 => None,
        IntegAlg::HmacSha256_128 => Some(AuthAlgorithm::HmacSha2_256),
        IntegAlg::HmacSha384_192 => Some(AuthAlgorithm::HmacSha2_384),
        IntegAlg::HmacSha512_256 => Some(AuthAlgorithm::HmacSha2_512),
    }
}

fn pf_mode(m: Mode) -> PfMode {
    match m {
        Mode::Transport => PfMode::Transport,
        Mode::Tunnel => PfMode::Tunnel,
    }
}

fn pf_dir(d: FlowDir) -> Direction {
    match d {
        FlowDir::In => Direction::Inbound,
        FlowDir::Out => Direction::Outbound,
        FlowDir::Fwd => Direction::Forward,
    }
}

fn host(ip: IpAddr, d: Dialect) -> ExtBody {
    ExtBody::Address(Address::host(SocketAddr::new(ip, 0), d))
}

fn build(t: MessageType, exts: Vec<(ExtKind, ExtBody)>) -> Result<Message, KernelError> {
    let mut m = Message::new(t, SaType::Esp);
    for (k, b) in exts {
        m.push(k, b)
            .map_err(|e| KernelError::Unsupported(format!("{}: {e}", t.name())))?;
    }
    Ok(m)
}

impl PfKeyKernel {
    /// Opens and registers; fails with a clear message without PF_KEY.
    pub(crate) fn open() -> Result<Self, String> {
        let dialect = Dialect::NATIVE;
        if dialect == Dialect::OpenBsd {
            return Err("kernel: pfkey on OpenBSD needs its flow messages (SADB_X_ADDFLOW), which this version does not drive yet".into());
        }
        let hint = if cfg!(target_os = "linux") {
            "load af_key, or use kernel: xfrm"
        } else {
            "a kernel with IPSEC"
        };
        let mut requests =
            PfKeySocket::open().map_err(|e| format!("cannot open PF_KEY: {e} ({hint})"))?;
        // Events come on the registered socket; Linux broadcasts every SA
        // change to all sockets, which this one must not pile up.
        requests.set_keep_events(false);
        let mut events =
            PfKeySocket::open().map_err(|e| format!("cannot open PF_KEY: {e} ({hint})"))?;
        let reply = events
            .register(SaType::Esp)
            .map_err(|e| format!("SADB_REGISTER for ESP: {e}"))?;
        let list = |k| match reply.get(k) {
            Some(ExtBody::Supported(Supported { algs })) => algs.iter().map(|a| a.id).collect(),
            _ => Vec::new(),
        };
        let (auth, encrypt) = (
            list(ExtKind::SupportedAuth),
            list(ExtKind::SupportedEncrypt),
        );
        events
            .set_nonblocking(true)
            .map_err(|e| format!("PF_KEY event socket: {e}"))?;
        Ok(PfKeyKernel {
            requests,
            events,
            dialect,
            auth,
            encrypt,
            more_events: false,
            policy_reqids: std::collections::HashMap::new(),
        })
    }

    /// Why this kernel cannot install `encr`/`integ`/`esn`, if it cannot.
    fn cannot(&self, encr: EncrAlg, integ: Option<IntegAlg>, esn: bool) -> Option<String> {
        let linux = self.dialect == Dialect::Linux;
        if linux && encr.is_aead() {
            return Some(format!(
                "Linux af_key cannot express AEAD ciphers ({}); use kernel: xfrm",
                encr_name(encr)
            ));
        }
        if linux && integ == Some(IntegAlg::HmacSha256_128) {
            return Some("Linux af_key installs HMAC-SHA2-256 with a 96-bit ICV instead of RFC 4868's 128 bits, which no standard peer accepts; use sha384/sha512 or kernel: xfrm".into());
        }
        if linux && esn {
            return Some("Linux af_key cannot express ESN; use kernel: xfrm".into());
        }
        let e = encrypt_alg(encr).to_wire(self.dialect);
        if !e.is_some_and(|n| self.encrypt.contains(&n)) {
            return Some(format!(
                "the kernel did not announce {} in SADB_REGISTER",
                encr_name(encr)
            ));
        }
        if let Some(i) = integ {
            let n = auth_alg(i).and_then(|a| a.to_wire(self.dialect));
            if !n.is_some_and(|n| self.auth.contains(&n)) {
                return Some(format!(
                    "the kernel did not announce {} in SADB_REGISTER",
                    i.name()
                ));
            }
        }
        None
    }

    /// A DELETE or GET naming one ESP SA: SPI, source, destination.
    fn sa_id_message(&self, t: MessageType, key: &SaKey) -> Result<Message, KernelError> {
        let sa = Sa {
            spi: key.spi,
            replay: 0,
            state: SaState::Mature,
            auth: 0,
            encrypt: 0,
            flags: 0,
        };
        build(
            t,
            vec![
                (ExtKind::Sa, ExtBody::Sa(sa)),
                (ExtKind::AddressSrc, host(key.src, self.dialect)),
                (ExtKind::AddressDst, host(key.dst, self.dialect)),
            ],
        )
    }

    fn selector_ext(end: (IpAddr, u8), port: u16, proto: u8) -> ExtBody {
        ExtBody::Address(Address {
            proto: if proto == 0 { 255 } else { proto },
            prefix_len: end.1,
            addr: SocketAddr::new(end.0, port),
        })
    }

    fn flow_message(
        &self,
        t: MessageType,
        flow: &Flow,
        with_request: bool,
    ) -> Result<Message, KernelError> {
        let s = &flow.selector;
        let requests = if with_request {
            vec![IpsecRequest {
                proto: 50,
                mode: pf_mode(flow.sa.mode),
                level: Level::Unique,
                reqid: flow.sa.reqid,
                tunnel: (flow.sa.mode == Mode::Tunnel).then(|| {
                    (
                        SocketAddr::new(flow.sa.outer.0, 0),
                        SocketAddr::new(flow.sa.outer.1, 0),
                    )
                }),
            }]
        } else {
            Vec::new()
        };
        let mut m = Message::new(t, SaType::Unspec);
        for (k, b) in [
            (
                ExtKind::AddressSrc,
                Self::selector_ext(s.src, s.sport, s.proto),
            ),
            (
                ExtKind::AddressDst,
                Self::selector_ext(s.dst, s.dport, s.proto),
            ),
            (
                ExtKind::Policy,
                ExtBody::Policy(Policy {
                    policy_type: PolicyType::Ipsec,
                    dir: pf_dir(flow.dir),
                    scope: 0,
                    id: 0,
                    priority: flow.priority,
                    requests,
                }),
            ),
        ] {
            m.push(k, b)
                .map_err(|e| KernelError::Unsupported(format!("{}: {e}", t.name())))?;
        }
        Ok(m)
    }

    /// The direction, selector and reqid (none for a bypass or discard
    /// policy) of a dumped policy, whoever installed it.
    fn policy_key(m: &Message) -> Option<(FlowDir, Selector, Option<u32>)> {
        let Some(ExtBody::Policy(p)) = m.get(ExtKind::Policy) else {
            return None;
        };
        let (src, dst) = (
            m.address(ExtKind::AddressSrc)?,
            m.address(ExtKind::AddressDst)?,
        );
        let dir = match p.dir {
            Direction::Inbound => FlowDir::In,
            Direction::Outbound => FlowDir::Out,
            Direction::Forward => FlowDir::Fwd,
            _ => return None,
        };
        let proto = if src.proto == 255 { 0 } else { src.proto };
        let selector = Selector {
            src: (src.addr.ip(), src.prefix_len),
            dst: (dst.addr.ip(), dst.prefix_len),
            proto,
            sport: src.addr.port(),
            dport: dst.addr.port(),
        };
        Some((dir, selector, p.requests.first().map(|r| r.reqid)))
    }

    /// A policy with `flow`'s selector and direction that ikedaemon did
    /// not install. PF_KEY has no lookup by selector (SADB_X_SPDGET takes
    /// the kernel's id), so the SPD is dumped: linear in its size, once
    /// per flow added.
    fn foreign_policy(&mut self, flow: &Flow) -> Result<bool, KernelError> {
        let reqids = self.reqids();
        let dump = match self.requests.spd_dump() {
            Ok(v) => v,
            Err(e) if e.kernel_errno() == Some(libc::ENOENT) => Vec::new(),
            Err(e) => return Err(kernel_error("SADB_X_SPDDUMP", e)),
        };
        Ok(dump
            .iter()
            .filter_map(Self::policy_key)
            .any(|(dir, sel, reqid)| {
                dir == flow.dir
                    && sel == flow.selector
                    && !reqid.is_some_and(|r| reqids.contains(&r))
            }))
    }

    fn flow_of(&self, m: &Message, reqids: &RangeInclusive<u32>) -> Option<Flow> {
        let Some(ExtBody::Policy(p)) = m.get(ExtKind::Policy) else {
            return None;
        };
        let r = p.requests.first()?;
        if !reqids.contains(&r.reqid) {
            return None;
        }
        let (dir, selector, _) = Self::policy_key(m)?;
        let (src, dst) = (
            m.address(ExtKind::AddressSrc)?,
            m.address(ExtKind::AddressDst)?,
        );
        Some(Flow {
            dir,
            selector,
            sa: SaTemplate {
                reqid: r.reqid,
                mode: if r.mode == PfMode::Tunnel {
                    Mode::Tunnel
                } else {
                    Mode::Transport
                },
                outer: r
                    .tunnel
                    .map_or((src.addr.ip(), dst.addr.ip()), |(a, b)| (a.ip(), b.ip())),
                spi: 0,
            },
            priority: p.priority,
        })
    }
}

fn encr_name(a: EncrAlg) -> &'static str {
    match a {
        EncrAlg::AesCbc => "aes-cbc",
        EncrAlg::AesGcm16 | EncrAlg::AesGcm12 | EncrAlg::AesGcm8 => "aes-gcm",
        EncrAlg::AesCcm16 | EncrAlg::AesCcm12 | EncrAlg::AesCcm8 => "aes-ccm",
        EncrAlg::ChaCha20Poly1305 => "chacha20-poly1305",
    }
}

impl Kernel for PfKeyKernel {
    fn name(&self) -> &'static str {
        "pfkey"
    }

    fn reqids(&self) -> RangeInclusive<u32> {
        // KAME has 16-bit reqids in ipsecrequests, and both KAME and
        // Linux af_key replace a "unique" reqid above IPSEC_MANUAL_REQID_MAX
        // (0x3fff) with one of their own.
        0x3000..=0x3fff
    }

    fn event_fd(&self) -> Option<RawFd> {
        Some(self.events.as_raw_fd())
    }

    fn needs_fwd(&self) -> bool {
        self.dialect == Dialect::Linux
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.more_events.then(Instant::now)
    }

    fn check_proposals(&self, policy: &str, esp: &[ProposalConfig]) -> Result<(), String> {
        for p in esp {
            for e in &p.encr {
                let integs: Vec<Option<IntegAlg>> = if p.integ.is_empty() {
                    vec![None]
                } else {
                    p.integ.iter().copied().map(Some).collect()
                };
                for i in integs {
                    for esn in &p.esn {
                        if let Some(why) = self.cannot(e.alg(), i, *esn) {
                            return Err(format!(
                                "policy {policy}: ESP proposal {p} cannot be installed by kernel: pfkey: {why}"
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn allocate_spi(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        reqid: u32,
        acquire_seq: u32,
    ) -> Result<u32, KernelError> {
        let d = self.dialect;
        let mut m = build(
            MessageType::GetSpi,
            vec![
                (
                    ExtKind::Sa2,
                    ExtBody::Sa2(Sa2 {
                        mode: PfMode::Any,
                        sequence: 0,
                        reqid,
                    }),
                ),
                (ExtKind::AddressSrc, host(src, d)),
                (ExtKind::AddressDst, host(dst, d)),
                (
                    ExtKind::SpiRange,
                    ExtBody::SpiRange(SpiRange {
                        min: 0x100,
                        max: u32::MAX,
                    }),
                ),
            ],
        )?;
        m.seq = acquire_seq;
        let reply = self
            .requests
            .request(m)
            .map_err(|e| kernel_error("SADB_GETSPI", e))?;
        reply
            .sa()
            .map(|s| s.spi)
            .filter(|s| *s >= 0x100)
            .ok_or_else(|| KernelError::Io("SADB_GETSPI: no SPI in the reply".into()))
    }

    fn add_sa(&mut self, sa: &SaParams<'_>) -> Result<(), KernelError> {
        if let Some(why) = self.cannot(sa.encr.alg(), sa.integ, sa.esn) {
            return Err(KernelError::Unsupported(why));
        }
        let d = self.dialect;
        let encrypt = encrypt_alg(sa.encr.alg()).to_wire(d).unwrap_or(0);
        let auth = sa
            .integ
            .and_then(auth_alg)
            .and_then(|a| a.to_wire(d))
            .unwrap_or(0);
        // Linux counts the window in packets (at most 32); KAME in bytes
        // of bitmap, with sadb_x_sa_replay for the packet count.
        let replay = match d {
            Dialect::Linux => sa.replay_window.min(32) as u8,
            _ => (sa.replay_window / 8).min(255) as u8,
        };
        let lifetime = |bytes: u64, secs: u64| {
            ExtBody::Lifetime(Lifetime {
                allocations: 0,
                bytes,
                addtime: secs,
                usetime: 0,
            })
        };
        let mut exts = vec![
            (
                ExtKind::Sa,
                ExtBody::Sa(Sa {
                    spi: sa.key.spi,
                    replay,
                    state: SaState::Mature,
                    auth,
                    encrypt,
                    flags: 0,
                }),
            ),
            (
                ExtKind::Sa2,
                ExtBody::Sa2(Sa2 {
                    mode: pf_mode(sa.mode),
                    sequence: 0,
                    reqid: sa.reqid,
                }),
            ),
            (ExtKind::AddressSrc, host(sa.key.src, d)),
            (ExtKind::AddressDst, host(sa.key.dst, d)),
            (
                ExtKind::LifetimeHard,
                lifetime(sa.limits.hard_bytes, sa.limits.hard_secs),
            ),
            (
                ExtKind::LifetimeSoft,
                lifetime(sa.limits.soft_bytes, sa.limits.soft_secs),
            ),
            (ExtKind::KeyEncrypt, ExtBody::Key(Key::new(sa.encr_key))),
        ];
        if sa.integ.is_some() {
            exts.push((ExtKind::KeyAuth, ExtBody::Key(Key::new(sa.integ_key))));
        }
        // sadb_x_sa_replay (extension 26) exists on FreeBSD only; NetBSD
        // and macOS number their extensions differently.
        if d == Dialect::Kame && cfg!(target_os = "freebsd") {
            exts.push((
                ExtKind::SaReplay,
                ExtBody::SaReplay(U32Value {
                    value: sa.replay_window,
                }),
            ));
        }
        if let Some(e) = sa.encap {
            exts.push((
                ExtKind::NatTType,
                ExtBody::NatTType(NatTType { encap_type: 2 }),
            ));
            exts.push((
                ExtKind::NatTSport,
                ExtBody::NatTPort(Port { port: e.sport }),
            ));
            exts.push((
                ExtKind::NatTDport,
                ExtBody::NatTPort(Port { port: e.dport }),
            ));
        }
        let send = |k: &mut PfKeyKernel, t: MessageType, exts: Vec<(ExtKind, ExtBody)>| {
            let mut m = build(t, exts)?;
            m.seq = sa.acquire_seq;
            k.requests.request(m).map(|_| ()).map_err(|e| {
                kernel_error(
                    if t == MessageType::Update {
                        "SADB_UPDATE"
                    } else {
                        "SADB_ADD"
                    },
                    e,
                )
            })
        };
        if sa.inbound {
            match send(self, MessageType::Update, exts.clone()) {
                Err(e) if e.is_not_found() => {}
                other => return other,
            }
        }
        send(self, MessageType::Add, exts)
    }

    fn delete_sa(&mut self, key: &SaKey) -> Result<(), KernelError> {
        let m = self.sa_id_message(MessageType::Delete, key)?;
        self.requests
            .request(m)
            .map(|_| ())
            .map_err(|e| kernel_error("SADB_DELETE", e))
    }

    fn usage(&mut self, key: &SaKey) -> Result<Usage, KernelError> {
        let m = self.sa_id_message(MessageType::Get, key)?;
        let reply = self
            .requests
            .request(m)
            .map_err(|e| kernel_error("SADB_GET", e))?;
        let cur = reply
            .lifetime(ExtKind::LifetimeCurrent)
            .ok_or_else(|| KernelError::Io("SADB_GET: no current lifetime".into()))?;
        // sadb_lifetime_allocations counts packets on Linux.
        Ok(Usage {
            bytes: cur.bytes,
            packets: u64::from(cur.allocations),
        })
    }

    fn add_flow(&mut self, flow: &Flow) -> Result<(), KernelError> {
        if self.foreign_policy(flow)? {
            return Err(KernelError::Foreign(format!(
                "a {:?} policy for {} that ikedaemon did not install is in the kernel; leaving it alone",
                flow.dir, flow.selector
            )));
        }
        let m = self.flow_message(MessageType::XSpdUpdate, flow, true)?;
        let reply = self
            .requests
            .request(m)
            .map_err(|e| kernel_error("SADB_X_SPDUPDATE", e))?;
        // The kernel's id of the policy: its ACQUIREs name it.
        if let Some(ExtBody::Policy(p)) = reply.get(ExtKind::Policy)
            && p.id != 0
        {
            self.policy_reqids.insert(p.id, flow.sa.reqid);
        }
        Ok(())
    }

    fn delete_flow(&mut self, flow: &Flow) -> Result<(), KernelError> {
        // Someone may have replaced ours with a policy of their own since.
        if self.foreign_policy(flow)? {
            return Err(KernelError::Foreign(format!(
                "a {:?} policy for {} that ikedaemon did not install is in the kernel; leaving it alone",
                flow.dir, flow.selector
            )));
        }
        let m = self.flow_message(MessageType::XSpdDelete, flow, false)?;
        let reply = self
            .requests
            .request(m)
            .map_err(|e| kernel_error("SADB_X_SPDDELETE", e))?;
        if let Some(ExtBody::Policy(p)) = reply.get(ExtKind::Policy) {
            self.policy_reqids.remove(&p.id);
        }
        Ok(())
    }

    fn events(&mut self, _now: Instant) -> Vec<KernelEvent> {
        let mut out = Vec::new();
        self.more_events = true;
        for _ in 0..1024 {
            let m = match self.events.recv() {
                Ok(Some(m)) => m,
                Ok(None) => {
                    self.more_events = false;
                    break;
                }
                Err(SocketError::Overflow) => {
                    out.push(KernelEvent::Lost);
                    continue;
                }
                Err(e) => {
                    crate::log_warn!("PF_KEY event socket: {e}");
                    continue;
                }
            };
            if m.disposition != Disposition::Event {
                continue;
            }
            let msg = &m.msg;
            let addrs = (
                msg.address(ExtKind::AddressSrc).map(|a| a.addr.ip()),
                msg.address(ExtKind::AddressDst).map(|a| a.addr.ip()),
            );
            let (Some(src), Some(dst)) = addrs else {
                continue;
            };
            match msg.msg_type {
                MessageType::Acquire => out.push(KernelEvent::Acquire {
                    seq: msg.seq,
                    // The ACQUIRE names the policy (its id), not the
                    // reqid; without a known id the caller matches by
                    // the SA's endpoints.
                    reqid: match msg.get(ExtKind::Policy) {
                        Some(ExtBody::Policy(p)) => {
                            self.policy_reqids.get(&p.id).copied().unwrap_or(0)
                        }
                        _ => 0,
                    },
                    src,
                    dst,
                }),
                MessageType::Expire => {
                    let Some(sa) = msg.sa() else { continue };
                    let hard = msg.lifetime(ExtKind::LifetimeHard).is_some()
                        && msg.lifetime(ExtKind::LifetimeSoft).is_none();
                    out.push(KernelEvent::Expire {
                        key: SaKey {
                            src,
                            dst,
                            spi: sa.spi,
                        },
                        hard,
                    });
                }
                _ => {}
            }
        }
        out
    }

    fn owned(&mut self) -> Result<Owned, KernelError> {
        let reqids = self.reqids();
        let sas = match self.requests.dump(SaType::Esp) {
            Ok(v) => v,
            Err(e) if e.kernel_errno() == Some(libc::ENOENT) => Vec::new(),
            Err(e) => return Err(kernel_error("SADB_DUMP", e)),
        };
        let sas = sas
            .iter()
            .filter(|m| m.sa2().is_some_and(|s| reqids.contains(&s.reqid)))
            .filter_map(|m| {
                Some(SaKey {
                    src: m.address(ExtKind::AddressSrc)?.addr.ip(),
                    dst: m.address(ExtKind::AddressDst)?.addr.ip(),
                    spi: m.sa()?.spi,
                })
            })
            .collect();
        let flows = match self.requests.spd_dump() {
            Ok(v) => v,
            Err(e) if e.kernel_errno() == Some(libc::ENOENT) => Vec::new(),
            Err(e) => return Err(kernel_error("SADB_X_SPDDUMP", e)),
        };
        let flows = flows
            .iter()
            .filter_map(|m| self.flow_of(m, &reqids))
            .collect();
        Ok(Owned { sas, flows })
    }
}
