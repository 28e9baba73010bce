//! The parent's event loop: messages from the two children, signals
//! (HUP reload, TERM/INT shutdown, CHLD supervision), and the routing of
//! control requests (answered here, or forwarded to the negotiator with the
//! client's id so the reply finds its way back).

use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::child::next_message;
use super::parent::{Parent, level_for, socket_access};
use crate::control_proto::{Event, FlowInfo, LogMode, Request, ResetWhat, Response};
use crate::ipc::{
    FromControl, FromNegotiator, ToControl, ToNegotiator, for_negotiator, merge_stats,
};
use crate::kernel::Notice;
use crate::{log_error, log_info, log_verbose, log_warn};

const NEGOTIATOR: Token = Token(0);
const CONTROL: Token = Token(1);
const KERNEL: Token = Token(2);
const CUSTODY: Token = Token(3);
const FIRST_SIGNAL: usize = 8;
/// Messages taken from one child's channel per round of the loop: a busy
/// negotiator (or a flood of ikectl requests) cannot keep kernel events,
/// signals and the other child waiting; what is left is read next round.
const PER_WAKE: usize = 128;

enum Step {
    Continue,
    Exit(u8),
}

impl Parent {
    /// Runs until shutdown; returns the exit status.
    pub(crate) fn event_loop(mut self) -> u8 {
        let mut poll = match Poll::new() {
            Ok(p) => p,
            Err(e) => {
                log_error!("cannot create the event loop: {e}");
                return self.shutdown(1);
            }
        };
        let mut sigs = match self.signals.take() {
            Some(s) => s,
            None => return self.shutdown(1),
        };
        if let Err(e) = sigs.register(poll.registry(), FIRST_SIGNAL) {
            log_error!("cannot watch signals: {e}");
            return self.shutdown(1);
        }
        let mut failed = None;
        for (kid, token) in [(&self.negotiator, NEGOTIATOR), (&self.control, CONTROL)] {
            let r = kid.channel.set_nonblocking(true).and_then(|()| {
                poll.registry().register(
                    &mut SourceFd(&kid.channel.as_raw_fd()),
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                )
            });
            if let Err(e) = r {
                failed = Some(format!("cannot watch the {}: {e}", kid.child.role()));
            }
        }
        if let Some(fd) = self.kernel.event_fd()
            && let Err(e) = poll
                .registry()
                .register(&mut SourceFd(&fd), KERNEL, Interest::READABLE)
        {
            failed = Some(format!("cannot watch the kernel socket: {e}"));
        }
        let ca = std::sync::Arc::clone(&self.ca.channel);
        match mio::Waker::new(poll.registry(), CUSTODY).and_then(|waker| {
            let waker = std::sync::Arc::new(waker);
            let chain = Box::new(super::ca_client::CaClient::new(ca)?);
            super::custody_worker::Worker::start(
                std::sync::Arc::clone(&self.gate.signing),
                chain,
                move || {
                    let _ = waker.wake();
                },
            )
        }) {
            Ok(w) => self.worker = Some(w),
            Err(e) => failed = Some(format!("cannot start the custody worker: {e}")),
        }
        if let Some(e) = failed {
            log_error!("{e}");
            return self.shutdown(1);
        }
        // A child may have died before the handlers were in place.
        if self.reap() {
            return self.shutdown(1);
        }
        let mut events = Events::with_capacity(32);
        loop {
            let deadline = self.kernel.next_deadline();
            let wait = deadline.map_or(Duration::from_secs(30), |t| {
                t.saturating_duration_since(std::time::Instant::now())
                    .min(Duration::from_secs(30))
            });
            let wait = if self.unread.iter().any(|u| *u) {
                Duration::ZERO
            } else {
                wait
            };
            if let Err(e) = poll.poll(&mut events, Some(wait)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                log_error!("event loop: {e}");
                return self.shutdown(1);
            }
            // Kernel work: its socket, a timeout, or a deadline of its own
            // (emulated expiry, events left over): once per round.
            let kernel_due = events.is_empty()
                || deadline.is_some_and(|t| t <= std::time::Instant::now())
                || events.iter().any(|e| e.token() == KERNEL);
            if kernel_due {
                self.on_kernel();
            }
            // Channels left unread last round (mio reports edges only).
            let no_event = |t: Token| !events.iter().any(|e| e.token() == t);
            let leftover = [
                self.unread[0] && no_event(NEGOTIATOR),
                self.unread[1] && no_event(CONTROL),
            ];
            if leftover[0]
                && let Step::Exit(code) = self.on_negotiator()
            {
                return self.shutdown(code);
            }
            if leftover[1]
                && let Step::Exit(code) = self.on_control()
            {
                return self.shutdown(code);
            }
            for ev in events.iter() {
                let step = match ev.token() {
                    NEGOTIATOR => {
                        if ev.is_writable() {
                            super::child::flush_channel(&self.negotiator.channel, "negotiator");
                        }
                        self.on_negotiator()
                    }
                    CONTROL => {
                        if ev.is_writable() {
                            super::child::flush_channel(&self.control.channel, "control process");
                        }
                        self.on_control()
                    }
                    KERNEL => Step::Continue,
                    CUSTODY => {
                        self.on_custody();
                        Step::Continue
                    }
                    t => match sigs.take(t) {
                        Some(libc::SIGHUP) => {
                            let _ = self.reload();
                            Step::Continue
                        }
                        Some(libc::SIGTERM | libc::SIGINT) => {
                            log_info!("shutting down on signal");
                            Step::Exit(0)
                        }
                        Some(libc::SIGCHLD) if self.reap() => Step::Exit(1),
                        _ => Step::Continue,
                    },
                };
                if let Step::Exit(code) = step {
                    return self.shutdown(code);
                }
            }
        }
    }

    /// Kernel events (and the `none` backend's emulated ones): the
    /// negotiator hears about ACQUIREs and expiries.
    fn on_kernel(&mut self) {
        for notice in self.kernel.events(&self.config) {
            let msg = match notice {
                Notice::Acquire(policy) => {
                    self.event(format!("ACQUIRE: traffic for policy {policy} needs an SA"));
                    ToNegotiator::Acquire(policy)
                }
                Notice::Expired { spi_in, hard } => {
                    self.event(format!(
                        "EXPIRE: CHILD SA {spi_in:08x} reached its {} lifetime",
                        if hard { "hard" } else { "soft" }
                    ));
                    ToNegotiator::ChildExpired { spi_in, hard }
                }
            };
            if let Err(e) = self.negotiator.channel.send(0, &msg, &[]) {
                log_error!("cannot tell the negotiator about a kernel event: {e}");
            }
        }
    }

    fn event(&self, message: String) {
        let ev = Event {
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            source: "parent".into(),
            message,
        };
        let _ = self.control.channel.send(0, &ToControl::Event(ev), &[]);
    }

    /// A child's channel closed: it is gone; log why and stop.
    fn channel_closed(&mut self, who: &str) -> Step {
        log_error!("the {who} closed its channel");
        self.reap_within(Duration::from_millis(500));
        Step::Exit(1)
    }

    fn on_negotiator(&mut self) -> Step {
        for _ in 0..PER_WAKE {
            let r = match next_message::<FromNegotiator>(&self.negotiator.channel, "negotiator") {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.unread[0] = false;
                    return Step::Continue;
                }
                Err(()) => return self.channel_closed("negotiator"),
            };
            match r.msg {
                FromNegotiator::Ready => {
                    log_verbose!("negotiator ready");
                }
                FromNegotiator::Reply(resp) => {
                    let resp = match resp {
                        Response::Stats(s) => {
                            self.stats.uptime_secs = self.uptime();
                            self.stats.child_sas = self.kernel.len() as u64;
                            Response::Stats(merge_stats(s, &self.stats))
                        }
                        Response::Sas(mut sas) => {
                            super::kernel_view::attach(&mut self.kernel, &mut sas);
                            Response::Sas(sas)
                        }
                        other => other,
                    };
                    self.reply(r.peer, resp);
                }
                FromNegotiator::Event(ev) => {
                    let _ = self.control.channel.send(0, &ToControl::Event(ev), &[]);
                }
                FromNegotiator::Parent(req) => self.on_parent_request(req),
                FromNegotiator::Live {
                    ikes,
                    children,
                    last,
                } => self.on_live(ikes, children, last),
                FromNegotiator::NeedSpis => {
                    let spis = self.gate.issue_spis();
                    if spis.is_empty() {
                        log_warn!("no more IKE SPIs issued: the negotiator holds too many unused");
                    }
                    let _ = self
                        .negotiator
                        .channel
                        .send(0, &ToNegotiator::Spis(spis), &[]);
                }
                FromNegotiator::IkeGone(sa) => {
                    self.cancel_in_flight(sa);
                    self.gate.forget(sa);
                    self.kernel.ike_gone(sa);
                }
                FromNegotiator::IkeRekeyed { old, new } => {
                    self.gate.rekeyed(old, new);
                    self.kernel.ike_rekeyed(old, new);
                }
                FromNegotiator::ActivateOutbound(spi_in) => {
                    if let Err(e) = self.kernel.activate_outbound(spi_in) {
                        log_error!("{e}");
                    }
                }
                FromNegotiator::ChildGone(spi_in) => {
                    if !self.kernel.remove(spi_in) {
                        log_verbose!("CHILD SA {spi_in:08x} was not installed");
                    }
                }
            }
        }
        self.unread[0] = true;
        Step::Continue
    }

    fn on_control(&mut self) -> Step {
        for _ in 0..PER_WAKE {
            let r = match next_message::<FromControl>(&self.control.channel, "control process") {
                Ok(Some(r)) => r,
                Ok(None) => {
                    self.unread[1] = false;
                    return Step::Continue;
                }
                Err(()) => return self.channel_closed("control process"),
            };
            match r.msg {
                FromControl::Ready => {
                    log_verbose!("control ready");
                }
                FromControl::Request(req) => self.request(r.peer, req),
            }
        }
        self.unread[1] = true;
        Step::Continue
    }

    fn reply(&self, peer: u32, resp: Response) {
        if let Err(e) = self
            .control
            .channel
            .send(peer, &ToControl::Reply(resp), &[])
        {
            log_error!("cannot send a reply to the control process: {e}");
        }
    }

    fn request(&mut self, peer: u32, req: Request) {
        self.stats.control_requests += 1;
        log_verbose!("control request {req:?} (client {peer})");
        if for_negotiator(&req) {
            if let Err(e) = self
                .negotiator
                .channel
                .send(peer, &ToNegotiator::Control(req), &[])
            {
                self.reply(
                    peer,
                    Response::Error(format!("the negotiator is not reachable: {e}")),
                );
            }
            return;
        }
        let resp = match req {
            Request::ShowPolicies => Response::Policies(
                self.config
                    .policies
                    .iter()
                    .map(super::policy_info::policy_info)
                    .collect(),
            ),
            Request::Reload => match self.reload() {
                Ok(msg) => Response::Done(msg),
                Err(e) => Response::Error(e),
            },
            Request::Log(mode) => {
                let level = level_for(self.config.global.log_level, self.args.verbose);
                let level = match mode {
                    LogMode::Verbose => level.max(crate::logging::Level::Verbose),
                    LogMode::Brief => crate::logging::Level::Info,
                };
                crate::logging::set_level(level);
                let _ = self
                    .negotiator
                    .channel
                    .send(0, &ToNegotiator::LogLevel(level as u8), &[]);
                let _ = self
                    .control
                    .channel
                    .send(0, &ToControl::LogLevel(level as u8), &[]);
                let _ = self
                    .ca
                    .channel
                    .send(0, &crate::ipc::ToCa::LogLevel(level as u8), &[]);
                Response::Done(format!(
                    "logging {}",
                    if mode == LogMode::Verbose {
                        "verbose"
                    } else {
                        "brief"
                    }
                ))
            }
            Request::Reset(what) => {
                let mut done = Vec::new();
                if matches!(what, ResetWhat::Policy | ResetWhat::All) {
                    match self.reload() {
                        Ok(m) => done.push(m),
                        Err(e) => {
                            self.reply(peer, Response::Error(e));
                            return;
                        }
                    }
                }
                if what == ResetWhat::All {
                    // The negotiator answers with what it deleted.
                    let _ = self.negotiator.channel.send(
                        peer,
                        &ToNegotiator::Control(Request::Reset(ResetWhat::Sa)),
                        &[],
                    );
                    return;
                }
                Response::Done(done.join("; "))
            }
            Request::Monitor => {
                self.event(format!(
                    "monitoring; {} policies loaded",
                    self.config.policies.len()
                ));
                return;
            }
            Request::ShowFlows => Response::Flows(
                self.kernel
                    .flows()
                    .into_iter()
                    .map(|(policy, f)| FlowInfo {
                        policy,
                        dir: f.dir.to_string(),
                        selector: f.selector.to_string(),
                        mode: f.sa.mode.to_string(),
                        outer: format!("{} -> {}", f.sa.outer.0, f.sa.outer.1),
                        reqid: f.sa.reqid,
                        priority: f.priority,
                    })
                    .collect(),
            ),
            Request::Couple => Response::Done(self.kernel.couple()),
            Request::Decouple => Response::Done(self.kernel.decouple()),
            Request::ShowSa | Request::ShowStats | Request::Initiate(_) | Request::Terminate(_) => {
                return;
            }
        };
        self.reply(peer, resp);
    }

    /// Re-reads the configuration (SIGHUP, `ikectl reload`). An invalid
    /// file is refused and the current configuration kept.
    pub(crate) fn reload(&mut self) -> Result<String, String> {
        let refused = |e: String| format!("reload refused, keeping the current configuration: {e}");
        let loaded = crate::config::load(&self.args.config)
            .map_err(|e| e.to_string())
            .and_then(|new| super::certs::load(&new).map(|creds| (new, creds)));
        let (new, creds) = match loaded {
            Ok(x) => x,
            Err(e) => return Err(self.refuse_reload(refused(e))),
        };
        let g = &self.config.global;
        let n = &new.global;
        let sockets_changed =
            g.listen != n.listen || g.ike_port != n.ike_port || g.natt_port != n.natt_port;
        if sockets_changed {
            // The parent is still root: it opens the new sockets and hands
            // them over exactly like at start-up.
            if let Err(e) = self.replace_sockets(&new) {
                return Err(self.refuse_reload(refused(e)));
            }
        }
        if let Err(e) = self
            .ca
            .channel
            .send(0, &super::parent::trust(&new, &creds), &[])
        {
            log_error!("cannot send the new CA sets to the ca process: {e}");
        }
        self.creds = creds;
        let g = &self.config.global;
        let n = &new.global;
        let fixed = [
            ("user", g.user != n.user),
            ("chroot", g.chroot != n.chroot),
            ("socket", g.socket != n.socket),
            ("kernel", g.kernel != n.kernel),
            ("pid_file", g.pid_file != n.pid_file),
        ];
        for (name, changed) in fixed {
            if changed {
                log_warn!("reload: a change of `{name}` takes effect at the next restart");
            }
        }
        let mut global = self.config.global.clone();
        global.listen = new.global.listen.clone();
        global.ike_port = new.global.ike_port;
        global.natt_port = new.global.natt_port;
        global.log_level = new.global.log_level;
        global.socket_group = new.global.socket_group.clone();
        global.dos = new.global.dos;
        global.fragmentation = new.global.fragmentation;
        global.dpd = new.global.dpd;
        self.config = crate::config::Config {
            global,
            policies: new.policies,
        };
        self.stats.config_loads += 1;
        self.kernel.install_traps(&self.config);
        let policies = super::policy_info::policy_specs(&self.config, &self.creds);
        let _ = self.negotiator.channel.send(
            0,
            &ToNegotiator::Settings(super::parent::engine_settings(&self.config)),
            &[],
        );
        if let Err(e) = self
            .negotiator
            .channel
            .send(0, &ToNegotiator::Policies(policies), &[])
        {
            log_error!("cannot send the new policies to the negotiator: {e}");
        }
        match socket_access(&self.config) {
            Ok((gid, member_uids)) => {
                let _ = self
                    .control
                    .channel
                    .send(0, &ToControl::Access { gid, member_uids }, &[]);
            }
            Err(e) => log_error!("reload: {e}"),
        }
        let msg = format!(
            "configuration reloaded: {} policies",
            self.config.policies.len()
        );
        log_info!("{msg}");
        self.event(msg.clone());
        Ok(msg)
    }

    /// Counts, logs and reports a refused reload; returns the message.
    fn refuse_reload(&mut self, msg: String) -> String {
        self.stats.config_rejected += 1;
        log_error!("{msg}");
        self.event(msg.clone());
        msg
    }

    /// Opens the sockets a reloaded configuration names and hands them to
    /// the negotiator, which swaps its set when `Start` arrives. The old
    /// sockets close when the negotiator drops them; on error nothing
    /// changes.
    fn replace_sockets(&mut self, new: &crate::config::Config) -> Result<(), String> {
        let listen = super::parent::listen_addresses(&self.args, new)?;
        // A port the negotiator still holds can be bound again: both
        // sockets are root's with SO_REUSEPORT, and the old one closes at
        // the swap.
        let sockets = super::sockets::open_ike_sockets(
            &listen,
            new.global.ike_port,
            new.global.natt_port,
            super::sockets::Bind::Handover,
        )
        .map_err(|e| e.to_string())?;
        super::parent::send_sockets(&self.negotiator.channel, sockets)?;
        self.negotiator
            .channel
            .send(0, &ToNegotiator::Start, &[])
            .map_err(|e| format!("cannot send to the negotiator: {e}"))?;
        log_info!(
            "IKE sockets moved to ports {}/{} on {} addresses",
            new.global.ike_port,
            new.global.natt_port,
            listen.len()
        );
        Ok(())
    }
}
