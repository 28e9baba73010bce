//! The negotiator's glue to the sans-IO engine: policies in, datagrams fed
//! with their addresses, the engine's outputs carried out (datagrams on
//! the right socket from the right source address, AUTH requests to the
//! parent, events to the log, monitor and parent), timers, and the view
//! `ikectl show sa` prints.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::negotiator::Negotiator;
use super::udp;
use crate::control_proto::{self, SaInfo};
use crate::ike::engine::{Datagram, EngineConfig, Event, Now, Outputs};
use crate::ipc::{FromNegotiator, PolicySpec};
use crate::{log_error, log_info, log_verbose};

/// IKE SAs gone since the peak (a flood's half-open SAs expiring) after
/// which freed memory is given back to the system.
const TRIM_AFTER: usize = 64;

/// Returns the heap's free memory to the system: after a flood the
/// negotiator's footprint goes back down instead of staying at its peak
/// (glibc keeps freed memory otherwise).
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heap structures.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Negotiator {
    /// Engine time: since the negotiator started.
    pub(super) fn now(&self) -> Now {
        self.started.elapsed()
    }

    /// The engine's ports from the sockets the parent handed over.
    /// The engine configuration from the sockets and settings.
    pub(super) fn engine_limits(&self) -> EngineConfig {
        let mut cfg = EngineConfig::default();
        if let Some(s) = self.settings {
            cfg.fragment_size = s.fragment_size.map(usize::from);
            cfg.cookie_threshold = s.cookie_threshold;
            cfg.max_half_open_per_peer = s.max_half_open_per_peer;
            cfg.max_half_open = s.max_half_open;
            cfg.half_open_ipv6_prefix = s.ipv6_prefix;
            cfg.max_child_sas_per_ike = s.max_child_sas_per_ike as usize;
            cfg.max_message = s.max_message as usize;
            cfg.max_init_message = s.max_init_message as usize;
        }
        cfg.spis_from_parent = true;
        if let Some(s) = self.sockets.iter().find(|s| !s.info.natt) {
            cfg.ike_port = s.info.local.port();
        }
        if let Some(s) = self.sockets.iter().find(|s| s.info.natt) {
            cfg.natt_port = s.info.local.port();
        }
        cfg
    }

    /// Builds the engine once the sockets, settings and policies are in.
    pub(super) fn engine_config(&mut self) {
        let cfg = self.engine_limits();
        let policies = self.engine_policies();
        self.engine =
            crate::ike::engine::Engine::new(cfg, policies, Box::new(crate::ike::engine::OsRng));
    }

    fn engine_policies(&self) -> Vec<crate::ike::engine::EnginePolicy> {
        self.specs
            .iter()
            .filter_map(|s| match s.to_engine() {
                Ok(p) => Some(p),
                Err(e) => {
                    log_error!("policy \"{}\" unusable: {e}", s.name);
                    None
                }
            })
            .collect()
    }

    /// New policies (start-up, reload).
    pub(super) fn set_policies(&mut self, specs: Vec<PolicySpec>) {
        self.specs = specs;
        let p = self.engine_policies();
        self.engine.set_policies(p);
    }

    /// Starts the IKE SAs of the `active` policies.
    pub(super) fn initiate_active(&mut self) {
        let active: Vec<String> = self
            .specs
            .iter()
            .filter(|s| s.active && s.remote_addr.is_some())
            .map(|s| s.name.clone())
            .collect();
        for name in active {
            match self.initiate_policy(&name) {
                Ok(line) => log_info!("{line}"),
                Err(e) => log_error!("{e}"),
            }
        }
    }

    /// Starts an IKE SA for policy `name` (start-up, `ikectl initiate`).
    pub(super) fn initiate_policy(&mut self, name: &str) -> Result<String, String> {
        let spec =
            self.specs.iter().find(|s| s.name == name).ok_or_else(|| {
                format!("no policy \"{name}\" (`ikectl show policies` lists them)")
            })?;
        let remote = spec.remote_addr.ok_or_else(|| {
            format!("policy \"{name}\": its remote address is not a single address to initiate to")
        })?;
        let local = spec.local_addr;
        if let Some(sa) = self
            .engine
            .summaries()
            .into_iter()
            .find(|s| s.policy == name || s.children.iter().any(|c| c.policy == name))
        {
            return Err(format!(
                "policy \"{name}\" already has IKE SA {} ({}); `ikectl terminate {name}` first",
                sa.spis, sa.state
            ));
        }
        let port = self
            .sockets
            .iter()
            .find(|s| !s.info.natt)
            .map(|s| s.info.local.port())
            .ok_or_else(|| "no IKE socket to initiate from".to_string())?;
        let local_ip = local
            .or_else(|| source_address(remote))
            .ok_or_else(|| format!("policy \"{name}\": no route to {remote}"))?;
        let now = self.now();
        // An IKE SA with that peer (same identities) exists for another
        // policy: the CHILD SA is created on it (RFC 7296 §1.3.1).
        let (shared, out) = self.engine.create_child(name, now);
        if let Ok(line) = shared {
            self.apply(out);
            return Ok(line);
        }
        let out = self
            .engine
            .initiate(name, SocketAddr::new(local_ip, port), now);
        self.apply(out);
        Ok(format!(
            "initiating policy \"{name}\" to {remote} from {local_ip}"
        ))
    }

    /// Hands one IKE message (marker stripped) to the engine.
    pub(super) fn feed(&mut self, natt: bool, bytes: &[u8], from: SocketAddr, local: SocketAddr) {
        let now = self.now();
        let d = Datagram {
            local,
            remote: from,
            natt,
            bytes: bytes.to_vec(),
        };
        let out = self.engine.datagram(d, now);
        self.apply(out);
    }

    /// How long the event loop may sleep until `deadline`.
    pub(super) fn wait(&self, deadline: Option<Now>) -> Duration {
        match deadline {
            Some(t) => t.saturating_sub(self.now()).min(Duration::from_secs(60)),
            None => Duration::from_secs(60),
        }
    }

    /// Runs the engine's timers if `deadline` (taken before the poll:
    /// what the events added lies in the future) has come.
    pub(super) fn run_timers(&mut self, deadline: Option<Now>) {
        self.report_live_when_due();
        let now = self.now();
        if deadline.is_some_and(|t| t <= now) {
            let out = self.engine.timeout(now);
            self.apply(out);
            // Once the SAs have fallen well below their peak (a flood's
            // half-open SAs expired), hand the memory back.
            let n = self.engine.len();
            self.sa_peak = self.sa_peak.max(n);
            if self.sa_peak - n >= TRIM_AFTER && n <= self.sa_peak / 2 {
                give_back_memory();
                self.sa_peak = n;
            }
        }
    }

    /// Carries out what the engine asked for.
    pub(super) fn apply(&mut self, out: Outputs) {
        for d in out.send {
            self.send(&d);
        }
        // A request that cannot reach the parent ends its exchange at once,
        // as if the parent had refused it: nothing waits for an answer
        // that will never come.
        let mut unsent = Vec::new();
        for r in out.parent {
            let msg = FromNegotiator::Parent(r);
            if let Err(e) = self.channel.send(0, &msg, &[]) {
                log_error!("cannot ask the parent: {e}");
                if let FromNegotiator::Parent(r) = msg {
                    unsent.push(r.refused(format!("the parent could not be asked: {e}")));
                }
            }
        }
        for ev in out.events {
            self.report(ev);
        }
        for answer in unsent {
            let now = self.now();
            let out = self.engine.parent_answer(answer, now);
            self.apply(out);
        }
        if self.engine.wants_spis() && !self.spis_asked {
            match self.channel.send(0, &FromNegotiator::NeedSpis, &[]) {
                Ok(()) => self.spis_asked = true,
                Err(e) => log_error!("cannot ask the parent for IKE SPIs: {e}"),
            }
        }
    }

    fn send(&mut self, d: &Datagram) {
        let port = d.local.port();
        let sock = self
            .sockets
            .iter()
            .filter(|s| s.info.local.port() == port && s.info.local.is_ipv4() == d.local.is_ipv4())
            .find(|s| s.info.local.ip() == d.local.ip() || s.info.local.ip().is_unspecified());
        let Some(sock) = sock else {
            log_error!("no socket for {} (to {})", d.local, d.remote);
            return;
        };
        let keepalive = d.bytes == [0xff];
        let bytes = if d.natt && !keepalive {
            [&[0u8; 4][..], &d.bytes].concat()
        } else {
            d.bytes.clone()
        };
        let src = Some(d.local.ip()).filter(|ip| !ip.is_unspecified());
        match udp::send(sock.fd.as_fd(), &bytes, d.remote, src) {
            Ok(_) => self.stats.datagrams_out += 1,
            Err(e) => log_error!("send to {}: {e}", d.remote),
        }
    }

    /// A kernel ACQUIRE for an on-demand policy: negotiate it unless an
    /// IKE SA for it exists or is being set up.
    pub(super) fn on_acquire(&mut self, policy: &str) {
        if self
            .engine
            .summaries()
            .iter()
            .any(|s| s.policy == policy || s.children.iter().any(|c| c.policy == policy))
        {
            log_verbose!("ACQUIRE for policy {policy}: an IKE SA exists or is being set up");
            return;
        }
        match self.initiate_policy(policy) {
            Ok(line) => self.note(format!("ACQUIRE for policy {policy}: {line}")),
            Err(e) => log_error!("ACQUIRE for policy {policy}: {e}"),
        }
    }

    /// Logs a line and shows it in `ikectl monitor`.
    pub(super) fn note(&mut self, line: String) {
        log_info!("{line}");
        let ev = control_proto::Event {
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            source: "negotiator".into(),
            message: line,
        };
        let _ = self.channel.send(0, &FromNegotiator::Event(ev), &[]);
    }

    fn report(&mut self, ev: Event) {
        let line = match &ev {
            Event::Failed { line, .. } => {
                let now = self.now();
                match self.failures.admit(line, now) {
                    Some(l) => l,
                    None => return,
                }
            }
            Event::IkeEstablished { line, .. } | Event::Info { line, .. } => line.clone(),
            Event::ChildOutbound { spi_in, .. } => {
                let msg = FromNegotiator::ActivateOutbound(*spi_in);
                if let Err(e) = self.channel.send(0, &msg, &[]) {
                    log_error!("cannot ask the parent for an outbound SA: {e}");
                }
                return;
            }
            Event::IkeRekeyed { old, new } => {
                let msg = FromNegotiator::IkeRekeyed {
                    old: *old,
                    new: *new,
                };
                if let Err(e) = self.channel.send(0, &msg, &[]) {
                    log_error!("cannot report a rekeyed IKE SA to the parent: {e}");
                }
                return;
            }
            Event::IkeDeleted { sa, reason } => {
                if let Err(e) = self.channel.send(0, &FromNegotiator::IkeGone(*sa), &[]) {
                    log_error!("cannot report a deleted IKE SA to the parent: {e}");
                }
                format!("IKE SA {sa:016x} deleted: {reason}")
            }
            Event::ChildDeleted { sa, spi_in, reason } => {
                if let Err(e) = self
                    .channel
                    .send(0, &FromNegotiator::ChildGone(*spi_in), &[])
                {
                    log_error!("cannot report a deleted CHILD SA to the parent: {e}");
                }
                format!("IKE SA {sa:016x}: CHILD SA {spi_in:08x} {reason}")
            }
            // The parent installed it with the verdict; the engine's
            // IkeEstablished line names it.
            Event::ChildEstablished(_) => return,
        };
        self.note(line);
    }

    /// `show sa`.
    pub(super) fn sa_infos(&self) -> Vec<SaInfo> {
        let now = self.now();
        self.engine
            .summaries()
            .into_iter()
            .map(|s| SaInfo {
                policy: s.policy,
                spis: s.spis,
                id: s.id,
                peer: s.peer.to_string(),
                state: s.state,
                algorithms: s.algorithms,
                rekey_in: s.rekey_at.map(|t| t.saturating_sub(now).as_secs()),
                reauth_in: s.reauth_at.map(|t| t.saturating_sub(now).as_secs()),
                expires_in: s.expires_at.map(|t| t.saturating_sub(now).as_secs()),
                peer_id: s.peer_id,
                age_secs: now.saturating_sub(s.created).as_secs(),
                children: Vec::new(),
                child_states: s
                    .children
                    .iter()
                    .map(|c| (format!("{:08x}", c.spi_in), c.state.to_string()))
                    .collect(),
            })
            .collect()
    }
}

/// The source address the kernel would use towards `peer` (a UDP socket
/// connect() sends nothing; the negotiator is chrooted but may still
/// create sockets).
fn source_address(peer: IpAddr) -> Option<IpAddr> {
    let any: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let s = UdpSocket::bind(any).ok()?;
    s.connect(SocketAddr::new(peer, 500)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}
