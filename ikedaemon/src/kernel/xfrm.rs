//! The XFRM netlink backend (Linux). Messages are built and parsed with
//! `netlink-packet-xfrm` (rust-netlink); sockets are `netlink-sys`. Two
//! sockets: one for requests and their answers (blocking, with a
//! timeout), one bound to the ACQUIRE and EXPIRE multicast groups
//! (non-blocking, watched by the parent's event loop), so that events
//! never interleave with a request's answer.
//!
//! Unlike Linux af_key, XFRM expresses AEAD (AES-GCM/CCM,
//! ChaCha20-Poly1305), ESN and replay windows above 32, and the RFC 4868
//! truncation of HMAC-SHA2 (128/192/256 bits).
//!
//! Key material is only in the request message and its buffer, both wiped
//! after sending.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_xfrm::policy::{DelGetMessage as PolicyId, ModifyMessage as PolicyMod};
use netlink_packet_xfrm::state::{
    AllocSpiMessage, DelGetMessage as SaId, GetDumpMessage, ModifyMessage as SaMod,
};
use netlink_packet_xfrm::{
    AF_INET, AF_INET6, Address, Alg, AlgAead, AlgAuth, EncapTmpl, Id, LifetimeConfig, ReplayEsn,
    Selector as XSelector, UDP_ENCAP_ESPINUDP, UserPolicyId, UserPolicyInfo, UserSaId, UserSaInfo,
    UserSpiInfo, UserTemplate, XFRM_MODE_TRANSPORT, XFRM_MODE_TUNNEL, XFRM_POLICY_FWD,
    XFRM_POLICY_IN, XFRM_POLICY_OUT, XFRM_STATE_AF_UNSPEC, XFRM_STATE_ESN, XFRMNLGRP_ACQUIRE,
    XFRMNLGRP_EXPIRE, XfrmAttrs, XfrmMessage,
};
use netlink_sys::{Socket, SocketAddr};
use zeroize::{Zeroize, Zeroizing};

use super::types::{
    Flow, FlowDir, KernelError, KernelEvent, Mode, Owned, SaKey, SaParams, SaTemplate, Selector,
    Usage,
};
use super::{Kernel, PRIORITY_BAND};
use crate::ike::crypto::encr::EncrAlg;
use crate::ike::crypto::integ::IntegAlg;

const NETLINK_XFRM: isize = libc::NETLINK_XFRM as isize;
const IPPROTO_ESP: u8 = 50;
/// How long a request waits for the kernel's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Receive buffer of the event socket (events are small; bursts of
/// EXPIREs come with many SAs).
const EVENT_BUFFER: usize = 4 << 20;

/// The XFRM backend.
pub(crate) struct XfrmKernel {
    requests: Socket,
    events: Socket,
    seq: u32,
    /// The last `events` stopped at its cap with messages left.
    more_events: bool,
}

fn family(ip: IpAddr) -> u16 {
    if ip.is_ipv4() { AF_INET } else { AF_INET6 }
}

fn addr(ip: IpAddr) -> Address {
    Address::from_ip(&ip)
}

fn ip_of(a: &Address, family: u16) -> IpAddr {
    if family == AF_INET6 {
        IpAddr::V6(a.to_ipv6())
    } else {
        IpAddr::V4(a.to_ipv4())
    }
}

fn name<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    out[..s.len().min(N - 1)].copy_from_slice(&s.as_bytes()[..s.len().min(N - 1)]);
    out
}

fn mode(m: Mode) -> u8 {
    match m {
        Mode::Transport => XFRM_MODE_TRANSPORT,
        Mode::Tunnel => XFRM_MODE_TUNNEL,
    }
}

fn dir(d: FlowDir) -> u8 {
    match d {
        FlowDir::In => XFRM_POLICY_IN,
        FlowDir::Out => XFRM_POLICY_OUT,
        FlowDir::Fwd => XFRM_POLICY_FWD,
    }
}

/// The XFRM id of `flow`'s policy: its selector and direction.
fn policy_id(flow: &Flow) -> PolicyId {
    PolicyId {
        user_policy_id: UserPolicyId {
            selector: selector(&flow.selector),
            index: 0,
            direction: dir(flow.dir),
        },
        nlas: Vec::new(),
    }
}

fn selector(s: &Selector) -> XSelector {
    let mask = |p: u16| if p == 0 { 0 } else { u16::MAX };
    XSelector {
        daddr: addr(s.dst.0),
        saddr: addr(s.src.0),
        dport: s.dport,
        dport_mask: mask(s.dport),
        sport: s.sport,
        sport_mask: mask(s.sport),
        family: family(s.src.0),
        prefixlen_d: s.dst.1,
        prefixlen_s: s.src.1,
        proto: s.proto,
        ifindex: 0,
        user: 0,
    }
}

fn from_selector(x: &XSelector) -> Selector {
    Selector {
        src: (ip_of(&x.saddr, x.family), x.prefixlen_s),
        dst: (ip_of(&x.daddr, x.family), x.prefixlen_d),
        proto: x.proto,
        sport: if x.sport_mask == 0 { 0 } else { x.sport },
        dport: if x.dport_mask == 0 { 0 } else { x.dport },
    }
}

/// The cipher and integrity attributes, with the kernel's names.
fn algorithms(sa: &SaParams<'_>) -> Result<Vec<XfrmAttrs>, KernelError> {
    let key_bits = |k: &[u8]| (k.len() * 8) as u32;
    let aead = |n: &str, icv_bits: u32| {
        XfrmAttrs::EncryptionAlgAead(AlgAead {
            alg_name: name(n),
            alg_key_len: key_bits(sa.encr_key),
            alg_icv_len: icv_bits,
            alg_key: sa.encr_key.to_vec(),
        })
    };
    let mut attrs = vec![match sa.encr.alg() {
        EncrAlg::AesCbc => XfrmAttrs::EncryptionAlg(Alg {
            alg_name: name("cbc(aes)"),
            alg_key_len: key_bits(sa.encr_key),
            alg_key: sa.encr_key.to_vec(),
        }),
        EncrAlg::AesGcm16 => aead("rfc4106(gcm(aes))", 128),
        EncrAlg::AesGcm12 => aead("rfc4106(gcm(aes))", 96),
        EncrAlg::AesGcm8 => aead("rfc4106(gcm(aes))", 64),
        EncrAlg::AesCcm16 => aead("rfc4309(ccm(aes))", 128),
        EncrAlg::AesCcm12 => aead("rfc4309(ccm(aes))", 96),
        EncrAlg::AesCcm8 => aead("rfc4309(ccm(aes))", 64),
        EncrAlg::ChaCha20Poly1305 => aead("rfc7539esp(chacha20,poly1305)", 128),
    }];
    if let Some(i) = sa.integ {
        let (n, trunc) = match i {
            IntegAlg::HmacSha1_96 => ("hmac(sha1)", 96),
            IntegAlg::AesXcbc96 => ("xcbc(aes)", 96),
            IntegAlg::AesCmac96 => ("cmac(aes)", 96),
            IntegAlg::HmacSha256_128 => ("hmac(sha256)", 128),
            IntegAlg::HmacSha384_192 => ("hmac(sha384)", 192),
            IntegAlg::HmacSha512_256 => ("hmac(sha512)", 256),
        };
        attrs.push(XfrmAttrs::AuthenticationAlgTrunc(AlgAuth {
            alg_name: name(n),
            alg_key_len: key_bits(sa.integ_key),
            alg_trunc_len: trunc,
            alg_key: sa.integ_key.to_vec(),
        }));
    }
    Ok(attrs)
}

/// Wipes the keys a request message carried.
fn wipe(msg: &mut XfrmMessage) {
    if let XfrmMessage::AddSa(m) | XfrmMessage::UpdateSa(m) = msg {
        for a in &mut m.nlas {
            match a {
                XfrmAttrs::EncryptionAlg(x) | XfrmAttrs::AuthenticationAlg(x) => {
                    x.alg_key.zeroize()
                }
                XfrmAttrs::EncryptionAlgAead(x) => x.alg_key.zeroize(),
                XfrmAttrs::AuthenticationAlgTrunc(x) => x.alg_key.zeroize(),
                _ => {}
            }
        }
    }
}

/// Removes (and wipes) the key attributes of an SA from an answer.
fn strip_keys(msg: &mut XfrmMessage) {
    wipe(msg);
    if let XfrmMessage::AddSa(m) | XfrmMessage::UpdateSa(m) = msg {
        m.nlas.retain(|a| {
            !matches!(
                a,
                XfrmAttrs::EncryptionAlg(_)
                    | XfrmAttrs::AuthenticationAlg(_)
                    | XfrmAttrs::EncryptionAlgAead(_)
                    | XfrmAttrs::AuthenticationAlgTrunc(_)
            )
        });
    }
}

/// Splits a datagram into netlink messages and parses each; a message
/// the parser cannot read is reported, never a panic.
fn parse_all(buf: &[u8]) -> Vec<Result<NetlinkMessage<XfrmMessage>, String>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        if len < 16 || off + len > buf.len() {
            out.push(Err(format!(
                "netlink message length {len} at offset {off} is invalid"
            )));
            break;
        }
        let one = &buf[off..off + len];
        // netlink-packet-xfrm slices some fixed-size parts without checking
        // their length first; a short message from the kernel must not
        // take the parent down.
        let parsed = std::panic::catch_unwind(|| NetlinkMessage::<XfrmMessage>::deserialize(one));
        out.push(match parsed {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(format!("undecodable XFRM message: {e}")),
            Err(_) => Err("undecodable XFRM message (short)".into()),
        });
        off += (len + 3) & !3;
    }
    out
}

impl XfrmKernel {
    /// Opens the two sockets; fails with a clear message without XFRM.
    pub(crate) fn open() -> Result<Self, String> {
        let hint = "is the xfrm_user module loaded? (kernel: none negotiates without installing)";
        let mut requests = Socket::new(NETLINK_XFRM)
            .map_err(|e| format!("cannot open an XFRM netlink socket: {e}; {hint}"))?;
        requests
            .bind_auto()
            .map_err(|e| format!("cannot bind the XFRM netlink socket: {e}"))?;
        let tv = nix::sys::time::TimeVal::new(ANSWER_TIMEOUT.as_secs() as i64, 0);
        nix::sys::socket::setsockopt(&requests, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
            .map_err(|e| format!("XFRM socket timeout: {e}"))?;
        let mut events = Socket::new(NETLINK_XFRM)
            .map_err(|e| format!("cannot open an XFRM netlink socket: {e}"))?;
        let groups = (1 << (XFRMNLGRP_ACQUIRE - 1)) | (1 << (XFRMNLGRP_EXPIRE - 1));
        events
            .bind(&SocketAddr::new(0, groups))
            .map_err(|e| format!("cannot join the XFRM ACQUIRE/EXPIRE groups: {e}"))?;
        events
            .set_non_blocking(true)
            .map_err(|e| format!("XFRM event socket: {e}"))?;
        // Best effort: a small buffer only means an earlier resync.
        let _ = events.set_rx_buf_sz(EVENT_BUFFER);
        let mut k = XfrmKernel {
            requests,
            events,
            seq: 1,
            more_events: false,
        };
        // A dump proves the kernel speaks XFRM.
        k.dump_sas()
            .map_err(|e| format!("XFRM does not answer: {e}; {hint}"))?;
        Ok(k)
    }

    /// Sends one request and collects its answer: the messages with its
    /// seq up to the ACK (or the end of a dump); an errno is an error.
    fn request(
        &mut self,
        msg: XfrmMessage,
        flags: u16,
        op: &'static str,
    ) -> Result<Vec<XfrmMessage>, KernelError> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = seq;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        nl.finalize();
        let mut buf = Zeroizing::new(vec![0u8; nl.buffer_len()]);
        nl.serialize(&mut buf);
        if let NetlinkPayload::InnerMessage(m) = &mut nl.payload {
            wipe(m);
        }
        self.requests
            .send(&buf, 0)
            .map_err(|e| KernelError::Io(format!("{op}: send: {e}")))?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut answers = Vec::new();
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let mut rx: Vec<u8> = Vec::with_capacity(1 << 16);
            match self.requests.recv(&mut rx, 0) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => {
                    return Err(KernelError::Io(format!(
                        "{op}: no answer from the kernel: {e}"
                    )));
                }
            }
            let parsed = parse_all(&rx);
            // GETSA answers carry the SA's keys: none is kept.
            rx.zeroize();
            for m in parsed {
                let mut m = m.map_err(|e| KernelError::Io(format!("{op}: {e}")))?;
                if let NetlinkPayload::InnerMessage(x) = &mut m.payload {
                    strip_keys(x);
                }
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(answers),
                            Some(c) => Err(KernelError::errno(op, -c.get())),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::InnerMessage(x) => {
                        answers.push(x);
                        if !dump && flags & NLM_F_ACK == 0 {
                            return Ok(answers);
                        }
                    }
                    _ => {}
                }
            }
            if Instant::now() >= deadline {
                return Err(KernelError::Io(format!(
                    "{op}: the kernel did not finish its answer"
                )));
            }
        }
    }

    fn dump_sas(&mut self) -> Result<Vec<UserSaInfo>, KernelError> {
        let answers = self.request(
            XfrmMessage::GetDumpSa(GetDumpMessage::default()),
            NLM_F_DUMP,
            "XFRM_MSG_GETSA (dump)",
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                XfrmMessage::AddSa(s) | XfrmMessage::UpdateSa(s) => Some(s.user_sa_info),
                _ => None,
            })
            .collect())
    }

    fn sa_id(key: &SaKey) -> SaId {
        SaId {
            user_sa_id: UserSaId {
                daddr: addr(key.dst),
                spi: key.spi,
                family: family(key.dst),
                proto: IPPROTO_ESP,
            },
            nlas: vec![XfrmAttrs::SrcAddr(addr(key.src))],
        }
    }

    fn sa_info(sa: &SaParams<'_>) -> UserSaInfo {
        let inf = |v: u64| if v == 0 { u64::MAX } else { v };
        UserSaInfo {
            selector: match (sa.selector, sa.mode) {
                (Some(s), _) => selector(&s),
                // Tunnel mode: any family inside (IPv6 in IPv4 and the
                // reverse), with XFRM_STATE_AF_UNSPEC below.
                (None, Mode::Tunnel) => XSelector::default(),
                (None, Mode::Transport) => XSelector {
                    family: family(sa.key.dst),
                    ..XSelector::default()
                },
            },
            id: Id {
                daddr: addr(sa.key.dst),
                spi: sa.key.spi,
                proto: IPPROTO_ESP,
            },
            saddr: addr(sa.key.src),
            lifetime_cfg: LifetimeConfig {
                soft_byte_limit: inf(sa.limits.soft_bytes),
                hard_byte_limit: inf(sa.limits.hard_bytes),
                soft_add_expires_seconds: sa.limits.soft_secs,
                hard_add_expires_seconds: sa.limits.hard_secs,
                ..LifetimeConfig::default()
            },
            seq: sa.acquire_seq,
            reqid: sa.reqid,
            family: family(sa.key.dst),
            mode: mode(sa.mode),
            replay_window: 0,
            flags: if sa.esn { XFRM_STATE_ESN } else { 0 }
                | if sa.selector.is_none() && sa.mode == Mode::Tunnel {
                    XFRM_STATE_AF_UNSPEC
                } else {
                    0
                },
            ..UserSaInfo::default()
        }
    }

    /// An error when the kernel holds a policy with `flow`'s selector and
    /// direction that ikedaemon did not install.
    fn refuse_foreign(&mut self, flow: &Flow) -> Result<(), KernelError> {
        let id = policy_id(flow);
        let answers =
            match self.request(XfrmMessage::GetPolicy(id), NLM_F_ACK, "XFRM_MSG_GETPOLICY") {
                Ok(a) => a,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
        let reqids = self.reqids();
        let foreign = answers.iter().any(|m| match m {
            XfrmMessage::AddPolicy(p) | XfrmMessage::UpdatePolicy(p) => {
                Self::flow_from(&p.user_policy_info, &p.nlas, &reqids).is_none()
            }
            _ => false,
        });
        if foreign {
            return Err(KernelError::Foreign(format!(
                "a {:?} policy for {} that ikedaemon did not install is in the kernel; leaving it alone",
                flow.dir, flow.selector
            )));
        }
        Ok(())
    }

    fn flow_from(
        info: &UserPolicyInfo,
        nlas: &[XfrmAttrs],
        reqids: &RangeInclusive<u32>,
    ) -> Option<Flow> {
        let tmpl = nlas.iter().find_map(|a| match a {
            XfrmAttrs::Template(t) => t.first().copied(),
            _ => None,
        })?;
        if !reqids.contains(&tmpl.reqid) {
            return None;
        }
        let d = match info.direction {
            XFRM_POLICY_IN => FlowDir::In,
            XFRM_POLICY_OUT => FlowDir::Out,
            XFRM_POLICY_FWD => FlowDir::Fwd,
            _ => return None,
        };
        let fam = if tmpl.family == 0 {
            info.selector.family
        } else {
            tmpl.family
        };
        Some(Flow {
            dir: d,
            selector: from_selector(&info.selector),
            sa: SaTemplate {
                reqid: tmpl.reqid,
                mode: if tmpl.mode == XFRM_MODE_TUNNEL {
                    Mode::Tunnel
                } else {
                    Mode::Transport
                },
                outer: (ip_of(&tmpl.saddr, fam), ip_of(&tmpl.id.daddr, fam)),
                spi: 0,
            },
            priority: info.priority,
        })
    }
}

impl Kernel for XfrmKernel {
    fn name(&self) -> &'static str {
        "xfrm"
    }

    fn event_fd(&self) -> Option<RawFd> {
        Some(self.events.as_raw_fd())
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.more_events.then(Instant::now)
    }

    fn allocate_spi(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        reqid: u32,
        acquire_seq: u32,
    ) -> Result<u32, KernelError> {
        let msg = AllocSpiMessage {
            spi_info: UserSpiInfo {
                info: UserSaInfo {
                    selector: XSelector {
                        family: family(dst),
                        ..XSelector::default()
                    },
                    id: Id {
                        daddr: addr(dst),
                        spi: 0,
                        proto: IPPROTO_ESP,
                    },
                    saddr: addr(src),
                    reqid,
                    seq: acquire_seq,
                    family: family(dst),
                    ..UserSaInfo::default()
                },
                min: 0x100,
                max: u32::MAX,
            },
            nlas: Vec::new(),
        };
        let answers = self.request(XfrmMessage::AllocSpi(msg), 0, "XFRM_MSG_ALLOCSPI")?;
        answers
            .iter()
            .find_map(|m| match m {
                XfrmMessage::AddSa(s) | XfrmMessage::UpdateSa(s) => Some(s.user_sa_info.id.spi),
                _ => None,
            })
            .filter(|spi| *spi >= 0x100)
            .ok_or_else(|| KernelError::Io("XFRM_MSG_ALLOCSPI: no SPI in the answer".into()))
    }

    fn add_sa(&mut self, sa: &SaParams<'_>) -> Result<(), KernelError> {
        // Built per attempt: `request` wipes the keys of what it sends.
        let message = || -> Result<SaMod, KernelError> {
            let mut nlas = algorithms(sa)?;
            if let Some(e) = sa.encap {
                nlas.push(XfrmAttrs::EncapsulationTemplate(EncapTmpl {
                    encap_type: UDP_ENCAP_ESPINUDP,
                    encap_sport: e.sport,
                    encap_dport: e.dport,
                    encap_oa: Address::default(),
                }));
            }
            // XFRMA_REPLAY_ESN_VAL: windows above 32 packets, and ESN.
            let window = sa.replay_window.max(32).div_ceil(32) * 32;
            nlas.push(XfrmAttrs::ReplayStateEsn(ReplayEsn {
                bmp_len: window / 32,
                replay_window: window,
                bmp: vec![0; (window / 32) as usize],
                ..ReplayEsn::default()
            }));
            Ok(SaMod {
                user_sa_info: Self::sa_info(sa),
                nlas,
            })
        };
        if sa.inbound {
            // The larval SA from ALLOCSPI, unless the kernel expired it
            // (about 30 s) or `couple` loads the SA again.
            match self.request(
                XfrmMessage::UpdateSa(message()?),
                NLM_F_ACK,
                "XFRM_MSG_UPDSA",
            ) {
                Err(e) if e.is_not_found() => {}
                other => return other.map(|_| ()),
            }
        }
        self.request(XfrmMessage::AddSa(message()?), NLM_F_ACK, "XFRM_MSG_NEWSA")
            .map(|_| ())
    }

    fn delete_sa(&mut self, key: &SaKey) -> Result<(), KernelError> {
        self.request(
            XfrmMessage::DeleteSa(Self::sa_id(key)),
            NLM_F_ACK,
            "XFRM_MSG_DELSA",
        )
        .map(|_| ())
    }

    fn usage(&mut self, key: &SaKey) -> Result<Usage, KernelError> {
        let answers = self.request(XfrmMessage::GetSa(Self::sa_id(key)), 0, "XFRM_MSG_GETSA")?;
        answers
            .iter()
            .find_map(|m| match m {
                XfrmMessage::AddSa(s) | XfrmMessage::UpdateSa(s) => Some(Usage {
                    bytes: s.user_sa_info.lifetime_cur.bytes,
                    packets: s.user_sa_info.lifetime_cur.packets,
                }),
                _ => None,
            })
            .ok_or_else(|| KernelError::Io("XFRM_MSG_GETSA: no SA in the answer".into()))
    }

    fn add_flow(&mut self, flow: &Flow) -> Result<(), KernelError> {
        // UPDPOLICY replaces a policy with the same selector and direction
        // whoever installed it: look first, and leave a foreign one alone.
        self.refuse_foreign(flow)?;
        let (osrc, odst) = flow.sa.outer;
        let tunnel = flow.sa.mode == Mode::Tunnel;
        let tmpl = UserTemplate {
            id: Id {
                daddr: if tunnel {
                    addr(odst)
                } else {
                    Address::default()
                },
                spi: 0,
                proto: IPPROTO_ESP,
            },
            family: family(odst),
            saddr: if tunnel {
                addr(osrc)
            } else {
                Address::default()
            },
            reqid: flow.sa.reqid,
            mode: mode(flow.sa.mode),
            ..UserTemplate::default()
        };
        let msg = PolicyMod {
            user_policy_info: UserPolicyInfo {
                selector: selector(&flow.selector),
                lifetime_cfg: LifetimeConfig::default(),
                priority: flow.priority,
                direction: dir(flow.dir),
                ..UserPolicyInfo::default()
            },
            nlas: vec![XfrmAttrs::Template(vec![tmpl])],
        };
        self.request(
            XfrmMessage::UpdatePolicy(msg),
            NLM_F_ACK,
            "XFRM_MSG_UPDPOLICY",
        )
        .map(|_| ())
    }

    fn delete_flow(&mut self, flow: &Flow) -> Result<(), KernelError> {
        // Someone may have replaced ours with a policy of their own since.
        self.refuse_foreign(flow)?;
        let msg = policy_id(flow);
        self.request(
            XfrmMessage::DeletePolicy(msg),
            NLM_F_ACK,
            "XFRM_MSG_DELPOLICY",
        )
        .map(|_| ())
    }

    fn events(&mut self, _now: Instant) -> Vec<KernelEvent> {
        let mut out = Vec::new();
        let reqids = self.reqids();
        self.more_events = true;
        for _ in 0..1024 {
            let mut rx: Vec<u8> = Vec::with_capacity(1 << 16);
            match self.events.recv(&mut rx, 0) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.more_events = false;
                    break;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    out.push(KernelEvent::Lost);
                    continue;
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => {
                    crate::log_error!("XFRM event socket: {e}");
                    break;
                }
            }
            for m in parse_all(&rx) {
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        crate::log_warn!("XFRM event: {e}");
                        continue;
                    }
                };
                match m.payload {
                    NetlinkPayload::InnerMessage(XfrmMessage::Acquire(a)) => {
                        let reqid = a
                            .nlas
                            .iter()
                            .find_map(|x| match x {
                                XfrmAttrs::Template(t) => t.first().map(|t| t.reqid),
                                _ => None,
                            })
                            .unwrap_or(0);
                        if !reqids.contains(&reqid) {
                            continue;
                        }
                        let s = &a.acquire.selector;
                        out.push(KernelEvent::Acquire {
                            seq: a.acquire.seq,
                            reqid,
                            src: ip_of(&s.saddr, s.family),
                            dst: ip_of(&s.daddr, s.family),
                        });
                    }
                    NetlinkPayload::InnerMessage(XfrmMessage::Expire(e)) => {
                        let st = &e.expire.state;
                        if st.id.proto != IPPROTO_ESP || !reqids.contains(&st.reqid) {
                            continue;
                        }
                        out.push(KernelEvent::Expire {
                            key: SaKey {
                                src: ip_of(&st.saddr, st.family),
                                dst: ip_of(&st.id.daddr, st.family),
                                spi: st.id.spi,
                            },
                            hard: e.expire.hard != 0,
                        });
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn owned(&mut self) -> Result<Owned, KernelError> {
        let reqids = self.reqids();
        let sas = self
            .dump_sas()?
            .into_iter()
            .filter(|s| s.id.proto == IPPROTO_ESP && reqids.contains(&s.reqid))
            .map(|s| SaKey {
                src: ip_of(&s.saddr, s.family),
                dst: ip_of(&s.id.daddr, s.family),
                spi: s.id.spi,
            })
            .collect();
        let answers = self.request(
            XfrmMessage::GetPolicy(PolicyId::default()),
            NLM_F_DUMP,
            "XFRM_MSG_GETPOLICY (dump)",
        )?;
        let flows = answers
            .iter()
            .filter_map(|m| match m {
                XfrmMessage::AddPolicy(p) | XfrmMessage::UpdatePolicy(p) => {
                    Self::flow_from(&p.user_policy_info, &p.nlas, &reqids)
                        .filter(|f| PRIORITY_BAND.contains(&f.priority) || f.priority == 0)
                }
                _ => None,
            })
            .collect();
        Ok(Owned { sas, flows })
    }
}
