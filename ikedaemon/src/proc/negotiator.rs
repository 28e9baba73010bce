//! The negotiator process: unprivileged, chrooted, holding the IKE UDP
//! sockets the parent opened. It runs the sans-IO engine (`ike::engine`):
//! datagrams in, datagrams out, AUTH requests to the parent, events to
//! the log and `ikectl monitor`; the engine glue is in
//! `negotiator_engine`. It answers the control requests the parent
//! forwards (`show sa`, `show stats`, `reset sa`).

use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use privsep::Channel;

use crate::control_proto::{Request, ResetWhat, Response, Stats};
use crate::ike::wire::WireErrorKind;
use crate::ipc::{FromNegotiator, SocketInfo, ToNegotiator};
use crate::proc::udp;
use crate::{log_debug, log_error, log_info, log_verbose};

const CHANNEL: Token = Token(0);
const FIRST_SOCKET: usize = 16;

/// One IKE socket of the negotiator.
pub(super) struct Sock {
    pub(super) fd: OwnedFd,
    pub(super) info: SocketInfo,
}

pub(super) struct Negotiator {
    pub(super) channel: Channel,
    pub(super) sockets: Vec<Sock>,
    pub(super) engine: crate::ike::engine::Engine,
    pub(super) specs: Vec<crate::ipc::PolicySpec>,
    pub(super) settings: Option<crate::ipc::EngineSettings>,
    pub(super) started: std::time::Instant,
    /// Sockets of a new set (reload with other ports or addresses) until
    /// the parent's `Start` commits it.
    pending: Vec<Sock>,
    pub(super) stats: Stats,
    /// Answers to unknown senders (INVALID_MAJOR_VERSION), rate-limited.
    pub(super) answers: crate::ike::engine::stateless::AnswerBudget,
    /// Failure lines, rate-limited per peer.
    pub(super) failures: super::failure_log::FailureLog,
    /// `NeedSpis` is out, not yet answered.
    pub(super) spis_asked: bool,
    /// The most IKE SAs since memory was last given back.
    pub(super) sa_peak: usize,
    /// When the live SAs are next reported to the parent.
    pub(super) next_report: crate::ike::engine::Now,
}

/// The role's entry point; returns the exit status.
pub(crate) fn run() -> u8 {
    super::child::run_role("negotiator", start, |x| x.event_loop())
}

fn start() -> Result<Negotiator, String> {
    let channel = super::child::start("negotiator", |m| match m {
        ToNegotiator::Setup(s) => Some(s),
        _ => None,
    })?;
    let mut n = Negotiator {
        channel,
        sockets: Vec::new(),
        engine: crate::ike::engine::Engine::new(
            crate::ike::engine::EngineConfig::default(),
            Vec::new(),
            Box::new(crate::ike::engine::OsRng),
        ),
        specs: Vec::new(),
        settings: None,
        started: std::time::Instant::now(),
        pending: Vec::new(),
        stats: Stats::default(),
        spis_asked: false,
        sa_peak: 0,
        failures: Default::default(),
        answers: Default::default(),
        next_report: super::reconcile::INTERVAL,
    };
    // Sockets, policies and the first SPIs, until Start.
    let mut spis = Vec::new();
    loop {
        let r = n
            .channel
            .recv::<ToNegotiator>()
            .map_err(|e| format!("while receiving sockets: {e}"))?;
        match r.msg {
            ToNegotiator::Socket(info) => {
                let fd = r.fds.into_iter().next().ok_or_else(|| {
                    format!("socket {} arrived without its descriptor", info.local)
                })?;
                log_verbose!(
                    "IKE socket {}{}",
                    info.local,
                    if info.natt { " (NAT-T)" } else { "" }
                );
                n.sockets.push(Sock { fd, info });
            }
            // Kept until Start: the engine is built once, with all of it.
            ToNegotiator::Policies(p) => n.specs = p,
            ToNegotiator::Settings(s) => n.settings = Some(s),
            ToNegotiator::Spis(s) => spis.extend(s),
            ToNegotiator::Start => break,
            ToNegotiator::LogLevel(l) => crate::logging::set_level(super::child::level_from_u8(l)),
            other => return Err(format!("unexpected {other:?} before Start")),
        }
    }
    n.channel
        .send(0, &FromNegotiator::Ready, &[])
        .map_err(|e| format!("cannot tell the parent we are ready: {e}"))?;
    n.engine_config();
    n.engine.add_spis(spis);
    log_info!(
        "ready: {} IKE sockets, {} policies",
        n.sockets.len(),
        n.specs.len()
    );
    n.initiate_active();
    Ok(n)
}

impl Negotiator {
    fn event_loop(mut self) -> u8 {
        let mut poll = match Poll::new() {
            Ok(p) => p,
            Err(e) => {
                log_error!("cannot create the event loop: {e}");
                return 1;
            }
        };
        if let Err(e) = self.register(&poll) {
            log_error!("cannot register descriptors: {e}");
            return 1;
        }
        let mut events = Events::with_capacity(64);
        let mut buf = vec![0u8; udp::MAX_DATAGRAM];
        loop {
            let deadline = self.engine.next_deadline();
            let wait = self.wait(deadline);
            if let Err(e) = poll.poll(&mut events, Some(wait)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                log_error!("event loop: {e}");
                return 1;
            }
            for ev in events.iter() {
                match ev.token() {
                    CHANNEL => {
                        if ev.is_writable() {
                            super::child::flush_channel(&self.channel, "parent");
                        }
                        if let Some(code) = self.on_channel(&poll) {
                            return code;
                        }
                    }
                    Token(t) => self.on_socket(t - FIRST_SOCKET, &mut buf),
                }
            }
            self.run_timers(deadline);
        }
    }

    fn register(&mut self, poll: &Poll) -> std::io::Result<()> {
        self.channel.set_nonblocking(true)?;
        poll.registry().register(
            &mut SourceFd(&self.channel.as_raw_fd()),
            CHANNEL,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.register_sockets(poll)
    }

    fn register_sockets(&self, poll: &Poll) -> std::io::Result<()> {
        for (i, s) in self.sockets.iter().enumerate() {
            nix::fcntl::fcntl(
                &s.fd,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )?;
            poll.registry().register(
                &mut SourceFd(&s.fd.as_raw_fd()),
                Token(FIRST_SOCKET + i),
                Interest::READABLE,
            )?;
        }
        Ok(())
    }

    /// Replaces the socket set with the pending one (a reload that changed
    /// ports or addresses: the parent opened the new sockets).
    fn commit_sockets(&mut self, poll: &Poll) {
        for s in &self.sockets {
            let _ = poll.registry().deregister(&mut SourceFd(&s.fd.as_raw_fd()));
        }
        self.sockets = std::mem::take(&mut self.pending);
        // The engine's ports follow the sockets.
        let limits = self.engine_limits();
        self.engine.set_limits(limits);
        match self.register_sockets(poll) {
            Ok(()) => {
                let list: Vec<String> = self
                    .sockets
                    .iter()
                    .map(|s| s.info.local.to_string())
                    .collect();
                log_info!("IKE sockets now {}", list.join(", "));
            }
            Err(e) => log_error!("cannot watch the new IKE sockets: {e}"),
        }
    }

    /// Handles everything queued on the channel; `Some(code)` to exit.
    fn on_channel(&mut self, poll: &Poll) -> Option<u8> {
        loop {
            let r = match super::child::next_message::<ToNegotiator>(&self.channel, "parent") {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(()) => {
                    log_error!("the parent went away; exiting");
                    return Some(1);
                }
            };
            match r.msg {
                ToNegotiator::Control(req) => {
                    let resp = self.control(&req);
                    if let Err(e) = self.channel.send(r.peer, &FromNegotiator::Reply(resp), &[]) {
                        log_error!("cannot answer the parent: {e}");
                    }
                }
                ToNegotiator::Policies(p) => {
                    self.set_policies(p);
                    log_info!("policies updated: {}", self.specs.len());
                }
                ToNegotiator::Settings(s) => {
                    self.settings = Some(s);
                    self.engine.set_limits(self.engine_limits());
                }
                ToNegotiator::Answer(a) => {
                    let now = self.now();
                    let out = self.engine.parent_answer(a, now);
                    self.apply(out);
                }
                ToNegotiator::LogLevel(l) => {
                    crate::logging::set_level(super::child::level_from_u8(l));
                }
                ToNegotiator::Shutdown => {
                    // Tell the peers (RFC 7296 §1.4.1) before going.
                    let (n, out) = self.engine.delete_all();
                    self.apply(out);
                    log_verbose!("shutting down; sent DELETE for {n} IKE SAs");
                    return Some(0);
                }
                ToNegotiator::Socket(info) => match r.fds.into_iter().next() {
                    Some(fd) => self.pending.push(Sock { fd, info }),
                    None => log_error!("socket {} arrived without its descriptor", info.local),
                },
                ToNegotiator::Start => self.commit_sockets(poll),
                ToNegotiator::Acquire(policy) => self.on_acquire(&policy),
                ToNegotiator::Missing(spis) => self.on_missing(spis),
                ToNegotiator::Spis(spis) => {
                    self.spis_asked = false;
                    self.engine.add_spis(spis);
                }
                ToNegotiator::ChildExpired { spi_in, hard } => {
                    let now = self.now();
                    let (line, out) = self.engine.child_expired(spi_in, hard, now);
                    if let Some(line) = line {
                        self.note(line);
                    }
                    self.apply(out);
                }
                other => log_error!(
                    "unexpected message from the parent: {}",
                    privsep::IpcMessage::name(&other)
                ),
            }
        }
    }

    fn control(&mut self, req: &Request) -> Response {
        match req {
            Request::ShowSa => Response::Sas(self.sa_infos()),
            Request::ShowStats => {
                let mut s = self.stats.clone();
                s.ike_sas = self.engine.established() as u64;
                s.half_open = (self.engine.len() - self.engine.established()) as u64;
                s.fragments_reassembled = self.engine.fragments_reassembled();
                let r = self.engine.rekey_stats();
                s.ike_rekeys = r.ike_rekeys + r.ike_rekeys_answered;
                s.child_rekeys = r.child_rekeys + r.child_rekeys_answered;
                s.rekey_collisions = r.ike_collisions + r.child_collisions;
                s.malformed += self.engine.malformed();
                Response::Stats(s)
            }
            Request::Initiate(name) => match self.initiate_policy(name) {
                Ok(line) => Response::Done(line),
                Err(e) => Response::Error(e),
            },
            Request::Terminate(target) => {
                let (n, out) = self.engine.terminate(target);
                self.apply(out);
                if n == 0 {
                    Response::Error(format!(
                        "no IKE SA matches \"{target}\" (give a policy name or an SPI as `ikectl show sa` prints it)"
                    ))
                } else {
                    Response::Done(format!(
                        "{n} IKE SA{} deleted",
                        if n == 1 { "" } else { "s" }
                    ))
                }
            }
            Request::Reset(ResetWhat::Sa | ResetWhat::All) => {
                let (n, out) = self.engine.delete_all();
                self.apply(out);
                Response::Done(format!("{n} IKE SAs deleted"))
            }
            other => Response::Error(format!("the negotiator does not handle {other:?}")),
        }
    }

    fn on_socket(&mut self, idx: usize, buf: &mut [u8]) {
        loop {
            let Some(sock) = self.sockets.get(idx) else {
                return;
            };
            let d = match udp::recv(sock.fd.as_fd(), buf) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log_error!("receive on {}: {e}", sock.info.local);
                    return;
                }
            };
            self.stats.datagrams_in += 1;
            let natt = sock.info.natt;
            let local = sock.info.local;
            let data = buf.get(..d.len).unwrap_or_default();
            if let Some(reply) = self.on_datagram(local, natt, data, d.from, d.to, d.truncated) {
                let Some(sock) = self.sockets.get(idx) else {
                    return;
                };
                match udp::send(sock.fd.as_fd(), &reply, d.from, d.to) {
                    Ok(_) => self.stats.datagrams_out += 1,
                    Err(e) => log_error!("send to {}: {e}", d.from),
                }
            }
        }
    }

    /// Looks at one datagram; returns a reply to send, if any.
    fn on_datagram(
        &mut self,
        local: std::net::SocketAddr,
        natt: bool,
        data: &[u8],
        from: std::net::SocketAddr,
        to: Option<IpAddr>,
        truncated: bool,
    ) -> Option<Vec<u8>> {
        let to_ip = to;
        let to = to.map_or("?".to_string(), |a| a.to_string());
        if truncated {
            self.stats.malformed += 1;
            log_verbose!("dropped an oversized datagram from {from}");
            return None;
        }
        if natt && data == [0xff] {
            log_debug!("NAT keepalive from {from}");
            return None;
        }
        let ike = if natt {
            match data.split_first_chunk::<4>() {
                Some(([0, 0, 0, 0], rest)) => rest,
                _ => {
                    // RFC 3948: a datagram without the non-ESP marker on
                    // 4500 is ESP for the kernel, not for us.
                    log_debug!("dropped a datagram without the non-ESP marker from {from}");
                    return None;
                }
            }
        } else {
            data
        };
        // The header is enough to route; the engine decodes the message
        // once (the whole decode for the log line only when it is shown).
        match crate::ike::wire::Header::decode(ike) {
            Ok(_) => {
                if crate::logging::enabled(crate::logging::Level::Verbose)
                    && let Ok(m) = crate::ike::wire::Message::decode(ike)
                {
                    log_verbose!("received {m} from {from} to {to}");
                }
                let local = std::net::SocketAddr::new(to_ip.unwrap_or(local.ip()), local.port());
                self.feed(natt, ike, from, local);
                None
            }
            Err(e) => {
                self.stats.malformed += 1;
                if let WireErrorKind::MajorVersion(v) = e.kind {
                    log_verbose!("IKE version {v} message from {from} to {to}");
                    // Only an answer that would go out counts against the
                    // budget (IKEv1 and responses get none).
                    let reply = super::endpoint::invalid_major_version(ike, natt)?;
                    let now = self.now();
                    return self.answers.allow(from.ip(), now).then_some(reply);
                }
                log_verbose!("dropped a malformed datagram from {from} to {to}: {e}");
                None
            }
        }
    }
}
