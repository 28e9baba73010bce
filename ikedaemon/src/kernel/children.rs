//! The parent's record of what it put into the kernel, and the order in
//! which it does so: the inbound SA (UPDATE of the larval SA that
//! reserved its SPI) before the response announcing it goes out, the
//! outbound SA before the flows that use it, the flows last; on any error
//! what was added is taken out again. Removal restores a flow another
//! CHILD SA or an on-demand trap still needs instead of deleting it.
//!
//! The keys of installed CHILD SAs stay here (zeroized on drop) so that
//! `ikectl couple` can load them again after `decouple`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::Kernel;
use super::selector::{child_flows, selectors};
use super::types::{
    Encap, Flow, KernelError, KernelEvent, Limits, Mode, SaKey, SaParams, Selector,
};
use super::validate::{Checked, check};
use crate::config::{Config, Policy, StartAction};
use crate::control_proto::ChildInfo;
use crate::ike::engine::ChildSaKeys;
use crate::ike::engine::ts::join;
use crate::{log_error, log_info, log_verbose, log_warn};

/// How long an SPI reservation (a larval SA) waits for its CHILD SA.
const RESERVATION: Duration = Duration::from_secs(60);
/// ESP anti-replay window (packets) where the kernel can express it.
const REPLAY_WINDOW: u32 = 128;
/// An ACQUIRE for a policy already being negotiated is not repeated
/// within this time.
const ACQUIRE_HOLD: Duration = Duration::from_secs(10);

/// An inbound SPI handed to the negotiator, not yet installed.
#[derive(Debug)]
struct Reserved {
    key: SaKey,
    reqid: u32,
    ike: u64,
    at: Instant,
}

/// An unused inbound SPI, as the parent's gate counts them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reservation {
    /// The IKE SA it was reserved for.
    pub(crate) ike: u64,
    /// The peer (the inbound SA's source).
    pub(crate) peer: IpAddr,
}

/// Flows installed for an on-demand policy before any SA exists.
#[derive(Debug)]
struct Trap {
    policy: String,
    reqid: u32,
    flows: Vec<Flow>,
}

/// One installed CHILD SA.
#[derive(Debug)]
struct Installed {
    keys: ChildSaKeys,
    checked: Checked,
    reqid: u32,
    inbound: SaKey,
    outbound: SaKey,
    flows: Vec<Flow>,
    limits: Limits,
    acquire_seq: u32,
    since: Instant,
    /// A soft EXPIRE was reported (the kernel sends one per SA; the
    /// negotiator hears once per CHILD SA).
    soft_reported: bool,
    /// The outbound SA is in the kernel. The responder of a rekey adds it
    /// only once the initiator deleted the old CHILD SA (and so surely
    /// has the new inbound SA): no packet goes to an SPI the peer lacks.
    outbound_active: bool,
}

/// What the negotiator must hear about after kernel events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Negotiate the policy (an ACQUIRE).
    Acquire(String),
    /// A CHILD SA (our inbound SPI) reached a lifetime.
    Expired {
        /// Our inbound SPI.
        spi_in: u32,
        /// Hard: the kernel deleted an SA of it.
        hard: bool,
    },
}

/// The kernel backend and what ikedaemon installed through it.
pub(crate) struct KernelState {
    backend: Box<dyn Kernel>,
    children: Vec<Installed>,
    reserved: Vec<Reserved>,
    traps: Vec<Trap>,
    acquires: HashMap<String, (u32, Instant)>,
    next_reqid: u32,
    coupled: bool,
}

impl std::fmt::Debug for KernelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelState")
            .field("backend", &self.backend.name())
            .field("children", &self.children.len())
            .finish()
    }
}

/// The kernel lifetimes of a CHILD SA of `policy`: the soft (rekey) time
/// with random jitter of up to a tenth in whole seconds (kernels count
/// seconds), so that CHILD SAs set up together do not all rekey in the
/// same second.
fn lifetimes(policy: &Policy) -> Limits {
    let l = &policy.lifetime.child;
    let secs = l.rekey.as_secs();
    let jitter = crate::ike::engine::rng::below(&mut crate::ike::engine::OsRng, secs / 10 + 1);
    let rekey = Duration::from_secs(secs - jitter);
    Limits::new(rekey, l.expire, l.rekey_bytes, l.expire_bytes)
}

impl KernelState {
    /// Wraps a backend; nothing is touched yet.
    pub(crate) fn new(backend: Box<dyn Kernel>) -> Self {
        let next_reqid = *backend.reqids().start();
        KernelState {
            backend,
            children: Vec::new(),
            reserved: Vec::new(),
            traps: Vec::new(),
            acquires: HashMap::new(),
            next_reqid,
            coupled: true,
        }
    }

    /// The backend's name.
    pub(crate) fn name(&self) -> &'static str {
        self.backend.name()
    }

    /// The descriptor to watch for kernel events.
    pub(crate) fn event_fd(&self) -> Option<std::os::fd::RawFd> {
        self.backend.event_fd()
    }

    /// When `events` must run even without a readable descriptor.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let larval = self.reserved.iter().map(|r| r.at + RESERVATION).min();
        [larval, self.backend.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The unused inbound SPIs (expired ones dropped first).
    pub(crate) fn reservations(&mut self) -> Vec<Reservation> {
        self.expire_reservations(Instant::now());
        self.reserved
            .iter()
            .map(|r| Reservation {
                ike: r.ike,
                peer: r.key.src,
            })
            .collect()
    }

    /// The installed CHILD SAs' keys (for the gate's checks).
    pub(crate) fn installed(&self) -> Vec<&ChildSaKeys> {
        self.children.iter().map(|c| &c.keys).collect()
    }

    /// Number of installed CHILD SAs.
    pub(crate) fn len(&self) -> usize {
        self.children.len()
    }

    fn reqid_in_use(&self, r: u32) -> bool {
        self.children.iter().any(|c| c.reqid == r)
            || self.reserved.iter().any(|c| c.reqid == r)
            || self.traps.iter().any(|t| t.reqid == r)
    }

    fn allocate_reqid(&mut self) -> Result<u32, String> {
        let range = self.backend.reqids();
        let span = range.end() - range.start() + 1;
        for _ in 0..span {
            let r = self.next_reqid;
            self.next_reqid = if r >= *range.end() {
                *range.start()
            } else {
                r + 1
            };
            if !self.reqid_in_use(r) {
                return Ok(r);
            }
        }
        Err("no free reqid in ikedaemon's range".into())
    }

    /// The reqid for a new CHILD SA of `policy` with `peer`: the trap's;
    /// or that of a CHILD SA of the same policy and peer, which the new
    /// one replaces (packets still in flight on the old SA then pass the
    /// new flows' template check); or a new one.
    fn reqid_for(&mut self, policy: &str, peer: std::net::IpAddr) -> Result<u32, String> {
        if let Some(t) = self.traps.iter().find(|t| t.policy == policy) {
            return Ok(t.reqid);
        }
        if let Some(c) = self
            .children
            .iter()
            .rev()
            .find(|c| c.keys.policy == policy && c.outbound.dst == peer)
        {
            return Ok(c.reqid);
        }
        self.allocate_reqid()
    }

    /// Start-up: removes what a previous run left (found by reqid), then
    /// installs the trap flows of on-demand policies.
    pub(crate) fn start(&mut self, config: &Config) {
        self.sweep("left by a previous run");
        self.install_traps(config);
    }

    /// Deletes every SA and flow carrying one of our reqids.
    fn sweep(&mut self, why: &str) {
        let owned = match self.backend.owned() {
            Ok(o) => o,
            Err(e) => {
                log_error!("cannot list ikedaemon's SAs and flows in the kernel: {e}");
                return;
            }
        };
        if owned.sas.is_empty() && owned.flows.is_empty() {
            return;
        }
        let (mut sas, mut flows) = (0, 0);
        for f in &owned.flows {
            match self.backend.delete_flow(f) {
                Ok(()) => flows += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) => log_error!("cannot delete flow {f}: {e}"),
            }
        }
        for k in &owned.sas {
            match self.backend.delete_sa(k) {
                Ok(()) => sas += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) => log_error!("cannot delete SA {k}: {e}"),
            }
        }
        log_info!("removed {sas} SAs and {flows} flows {why}");
    }

    /// (Re)installs the trap flows of the on-demand policies in `config`
    /// and removes those of policies that are gone.
    pub(crate) fn install_traps(&mut self, config: &Config) {
        let (keep, gone): (Vec<Trap>, Vec<Trap>) =
            std::mem::take(&mut self.traps).into_iter().partition(|t| {
                config
                    .policy(&t.policy)
                    .is_some_and(|p| p.start == StartAction::OnDemand)
            });
        self.traps = keep;
        for t in gone {
            // A CHILD SA may have taken over the trap's selector: its
            // flow goes back in instead.
            for f in &t.flows {
                self.restore_or_delete(f);
            }
        }
        for p in config
            .policies
            .iter()
            .filter(|p| p.start == StartAction::OnDemand)
        {
            if self.traps.iter().any(|t| t.policy == p.name) {
                continue;
            }
            match self.trap_flows(p) {
                Ok((reqid, flows)) => {
                    let mut done = Vec::new();
                    let mut failed = None;
                    for f in &flows {
                        match self.backend.add_flow(f) {
                            Ok(()) => done.push(*f),
                            Err(e) => {
                                failed = Some(format!("{f}: {e}"));
                                break;
                            }
                        }
                    }
                    if let Some(e) = failed {
                        log_error!("policy {}: cannot install its on-demand flows: {e}", p.name);
                        for f in &done {
                            let _ = self.backend.delete_flow(f);
                        }
                        continue;
                    }
                    log_info!(
                        "policy {}: {} on-demand flows installed (reqid {reqid}); traffic will start the negotiation",
                        p.name,
                        flows.len()
                    );
                    self.traps.push(Trap {
                        policy: p.name.clone(),
                        reqid,
                        flows,
                    });
                }
                Err(e) => log_error!("policy {}: no on-demand flows: {e}", p.name),
            }
        }
    }

    fn trap_flows(&mut self, p: &Policy) -> Result<(u32, Vec<Flow>), String> {
        let (Some(local), Some(remote)) = (p.local.address.ip(), p.remote.address.ip()) else {
            return Err("on-demand needs fixed local and remote addresses".into());
        };
        let ranges = |v: &[crate::config::TrafficSelector], ip| {
            v.iter()
                .map(|t| t.to_spec().resolve(ip))
                .collect::<Vec<_>>()
        };
        let sel = selectors(&ranges(&p.local_ts, local), &ranges(&p.remote_ts, remote))?;
        let mode = match p.mode {
            crate::config::Mode::Transport => Mode::Transport,
            crate::config::Mode::Tunnel => Mode::Tunnel,
        };
        let reqid = self.allocate_reqid()?;
        // Outbound traffic makes the kernel ACQUIRE; the inbound (and
        // fwd) flows make it drop cleartext from the peer's side until
        // an SA exists, as they will once it does.
        let fwd = self.backend.needs_fwd();
        let flows = child_flows(&sel, reqid, mode, (local, remote), (0, 0), fwd);
        Ok((reqid, flows))
    }

    /// `checked_reserve`, with a refusal logged.
    pub(crate) fn reserve_for(
        &mut self,
        config: &Config,
        ike: u64,
        policy: &str,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<u32, String> {
        let r = self.checked_reserve(config, ike, policy, local, remote);
        if let Err(e) = &r {
            log_error!("{e}");
        }
        r
    }

    /// The negotiator's request for an inbound SPI: the policy must be
    /// loaded and the addresses its own (how many SPIs one IKE SA or peer
    /// may hold is the gate's check, proc/gate_kernel.rs).
    fn checked_reserve(
        &mut self,
        config: &Config,
        ike: u64,
        policy: &str,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<u32, String> {
        let Some(p) = config.policy(policy) else {
            return Err(format!("SPI refused: no policy {policy:?} is loaded"));
        };
        if !p.remote.address.matches(remote.ip()) || !p.local.address.matches(local.ip()) {
            return Err(format!(
                "SPI refused for policy {policy}: {local} -> {remote} are not its addresses"
            ));
        }
        self.reserve(ike, policy, local, remote)
    }

    /// A fresh inbound SPI for a CHILD SA of `policy` between `local` and
    /// `remote`, negotiated by IKE SA `ike`.
    pub(crate) fn reserve(
        &mut self,
        ike: u64,
        policy: &str,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<u32, String> {
        self.expire_reservations(Instant::now());
        let reqid = self.reqid_for(policy, remote.ip())?;
        let seq = self.acquires.get(policy).map_or(0, |(s, _)| *s);
        let spi = self
            .backend
            .allocate_spi(remote.ip(), local.ip(), reqid, seq)
            .map_err(|e| format!("no inbound SPI: {e}"))?;
        self.reserved.push(Reserved {
            key: SaKey {
                src: remote.ip(),
                dst: local.ip(),
                spi,
            },
            reqid,
            ike,
            at: Instant::now(),
        });
        Ok(spi)
    }

    fn drop_reservation(&mut self, r: &Reserved, why: &str) {
        match self.backend.delete_sa(&r.key) {
            Ok(()) => log_verbose!("larval SA {} deleted: {why}", r.key),
            Err(e) if e.is_not_found() => {}
            Err(e) => log_warn!("cannot delete larval SA {}: {e}", r.key),
        }
    }

    fn expire_reservations(&mut self, now: Instant) {
        let (old, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reserved)
            .into_iter()
            .partition(|r| now >= r.at + RESERVATION);
        self.reserved = keep;
        for r in old {
            self.drop_reservation(&r, "no CHILD SA came for it");
        }
    }

    /// IKE SA `old` was rekeyed: its CHILD SAs (and reserved SPIs) now
    /// belong to `new`, so that deleting `old` leaves them installed.
    pub(crate) fn ike_rekeyed(&mut self, old: u64, new: u64) {
        for c in self.children.iter_mut().filter(|c| c.keys.ike == old) {
            c.keys.ike = new;
        }
        for r in self.reserved.iter_mut().filter(|r| r.ike == old) {
            r.ike = new;
        }
    }

    /// The IKE SA `ike` is gone: its unused reservations go too, and any
    /// CHILD SA of it still installed (the negotiator dropped the IKE SA
    /// while the parent was installing).
    pub(crate) fn ike_gone(&mut self, ike: u64) {
        let orphans: Vec<u32> = self
            .children
            .iter()
            .filter(|c| c.keys.ike == ike)
            .map(|c| c.inbound.spi)
            .collect();
        for spi in orphans {
            self.remove(spi);
        }
        let (gone, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reserved)
            .into_iter()
            .partition(|r| r.ike == ike);
        self.reserved = keep;
        for r in gone {
            self.drop_reservation(&r, "the negotiation ended without it");
        }
    }

    /// `checked_install`, with a refusal logged.
    pub(crate) fn install(
        &mut self,
        keys: ChildSaKeys,
        config: &Config,
        outbound: bool,
    ) -> Result<u32, String> {
        let r = self.checked_install(keys, config, outbound);
        if let Err(e) = &r {
            log_error!("{e}");
        }
        r
    }

    /// Checks and installs a negotiated CHILD SA; returns its inbound SPI.
    fn checked_install(
        &mut self,
        keys: ChildSaKeys,
        config: &Config,
        outbound: bool,
    ) -> Result<u32, String> {
        let Some(policy) = config.policy(&keys.policy) else {
            return Err(format!(
                "install refused: no policy {:?} is loaded",
                keys.policy
            ));
        };
        let checked = check(&keys, policy)?;
        let (local, remote) = (keys.local.ip(), keys.remote.ip());
        let (spi_in, reqid) = if keys.spi_in == 0 {
            let spi = self.reserve(keys.ike, &policy.name, keys.local, keys.remote)?;
            let reqid = self.reserved.last().map_or(0, |r| r.reqid);
            self.reserved
                .retain(|r| r.key.spi != spi || r.key.dst != local);
            (spi, reqid)
        } else {
            let pos = self.reserved.iter().position(|r| {
                r.key.spi == keys.spi_in && r.key.dst == local && r.key.src == remote
            });
            let Some(pos) = pos else {
                return Err(format!(
                    "install refused for policy {}: inbound SPI {:08x} was not allocated by the parent for {remote} -> {local}",
                    policy.name, keys.spi_in
                ));
            };
            let r = self.reserved.remove(pos);
            (keys.spi_in, r.reqid)
        };
        let acquire_seq = self.acquires.remove(&policy.name).map_or(0, |(s, _)| s);
        let fwd = self.backend.needs_fwd();
        let mut child = Installed {
            inbound: SaKey {
                src: remote,
                dst: local,
                spi: spi_in,
            },
            outbound: SaKey {
                src: local,
                dst: remote,
                spi: keys.spi_out,
            },
            flows: child_flows(
                &checked.selectors,
                reqid,
                checked.mode,
                (local, remote),
                (spi_in, keys.spi_out),
                fwd,
            ),
            limits: lifetimes(policy),
            checked,
            reqid,
            acquire_seq,
            keys,
            since: Instant::now(),
            soft_reported: false,
            outbound_active: outbound,
        };
        child.keys.spi_in = spi_in;
        if self.coupled
            && let Err(e) = self.load(&child)
        {
            // The larval SA goes too.
            let _ = self.backend.delete_sa(&child.inbound);
            return Err(format!(
                "CHILD SA {:08x}/{:08x} not installed: {e}",
                spi_in, child.keys.spi_out
            ));
        }
        log_info!(
            "CHILD SA {} {:08x}/{:08x} {} {} === {} {}{} {} (reqid {})",
            child.keys.policy,
            spi_in,
            child.keys.spi_out,
            child.keys.algorithms,
            join(&child.keys.local_ts),
            join(&child.keys.remote_ts),
            child.checked.mode,
            if child.keys.udp_encap {
                " udp-encap"
            } else {
                ""
            },
            match (self.coupled, self.backend.name()) {
                (false, _) => "recorded, not loaded (decoupled)".to_string(),
                (true, "none") => "recorded, not installed (kernel backend none)".to_string(),
                (true, name) => format!("installed ({name})"),
            },
            reqid
        );
        self.children.push(child);
        Ok(spi_in)
    }

    fn params<'a>(&self, c: &'a Installed, inbound: bool) -> SaParams<'a> {
        let (key, keys) = if inbound {
            (c.inbound, &c.keys.keys_in)
        } else {
            (c.outbound, &c.keys.keys_out)
        };
        let (l, r) = (c.keys.local.port(), c.keys.remote.port());
        let encap = c.keys.udp_encap.then_some(if inbound {
            Encap { sport: r, dport: l }
        } else {
            Encap { sport: l, dport: r }
        });
        SaParams {
            key,
            inbound,
            reqid: c.reqid,
            mode: c.checked.mode,
            encr: c.checked.encr,
            integ: c.checked.integ,
            esn: c.checked.esn,
            replay_window: REPLAY_WINDOW,
            encr_key: keys.0.expose(),
            integ_key: keys.1.expose(),
            limits: c.limits,
            encap,
            // Transport mode: the kernel checks the SA's selector, so it
            // names the two hosts when there is one selector (any protocol
            // and port, so ICMP errors pass too), or is a wildcard.
            selector: match c.checked.selectors.as_slice() {
                [s] if c.checked.mode == Mode::Transport => {
                    let host = Selector {
                        proto: 0,
                        sport: 0,
                        dport: 0,
                        ..*s
                    };
                    Some(if inbound { host.reversed() } else { host })
                }
                _ => None,
            },
            acquire_seq: if inbound { 0 } else { c.acquire_seq },
        }
    }

    /// Puts a CHILD SA into the kernel: inbound SA, outbound SA, flows;
    /// takes out what it added when a step fails.
    fn load(&mut self, c: &Installed) -> Result<(), KernelError> {
        let inbound = self.params(c, true);
        self.backend.add_sa(&inbound)?;
        let outbound = self.params(c, false);
        if c.outbound_active
            && let Err(e) = self.backend.add_sa(&outbound)
        {
            let _ = self.backend.delete_sa(&c.inbound);
            return Err(e);
        }
        for (i, f) in c.flows.iter().enumerate() {
            if let Err(e) = self.backend.add_flow(f) {
                for done in &c.flows[..i] {
                    self.restore_or_delete(done);
                }
                let _ = self.backend.delete_sa(&c.outbound);
                let _ = self.backend.delete_sa(&c.inbound);
                return Err(e);
            }
        }
        Ok(())
    }

    /// A flow is no longer needed by the CHILD SA (or trap) that had it,
    /// which is no longer in the record: give it back to another CHILD SA
    /// (the newest) or trap with the same selector, or delete it.
    fn restore_or_delete(&mut self, f: &Flow) {
        let other = self
            .children
            .iter()
            .rev()
            .flat_map(|c| c.flows.iter())
            .chain(self.traps.iter().flat_map(|t| t.flows.iter()))
            .find(|o| o.dir == f.dir && o.selector == f.selector)
            .copied();
        let r = match other {
            Some(o) => self.backend.add_flow(&o),
            None => self.backend.delete_flow(f),
        };
        match r {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => log_warn!("flow {f}: {e}"),
        }
    }

    /// Takes a CHILD SA out of the kernel (flows first, then its SAs).
    fn unload(&mut self, c: &Installed) {
        for f in &c.flows {
            self.restore_or_delete(f);
        }
        let outbound = c.outbound_active.then_some(&c.outbound);
        for k in outbound.into_iter().chain([&c.inbound]) {
            match self.backend.delete_sa(k) {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => log_warn!("cannot delete SA {k}: {e}"),
            }
        }
    }

    /// Adds the outbound SA of the CHILD SA with our inbound SPI `spi_in`
    /// (installed inbound-only as the responder of a rekey).
    pub(crate) fn activate_outbound(&mut self, spi_in: u32) -> Result<(), String> {
        let Some(pos) = self.children.iter().position(|c| c.inbound.spi == spi_in) else {
            return Err(format!("CHILD SA {spi_in:08x} is not installed"));
        };
        if self.children[pos].outbound_active {
            return Ok(());
        }
        self.children[pos].outbound_active = true;
        if !self.coupled {
            return Ok(());
        }
        let c = &self.children[pos];
        let params = self.params(c, false);
        self.backend
            .add_sa(&params)
            .map_err(|e| format!("outbound SA {:08x}: {e}", c.outbound.spi))
    }

    /// Removes the CHILD SA with our inbound SPI `spi_in`, or the SPI's
    /// reservation if it never became one; false if neither.
    pub(crate) fn remove(&mut self, spi_in: u32) -> bool {
        let Some(pos) = self.children.iter().position(|c| c.inbound.spi == spi_in) else {
            let Some(r) = self.reserved.iter().position(|r| r.key.spi == spi_in) else {
                return false;
            };
            let r = self.reserved.remove(r);
            self.drop_reservation(&r, "its CHILD SA was not installed");
            return true;
        };
        let c = self.children.remove(pos);
        if self.coupled {
            self.unload(&c);
        }
        log_verbose!(
            "CHILD SA {} {:08x}/{:08x} removed",
            c.keys.policy,
            spi_in,
            c.outbound.spi
        );
        true
    }

    /// Shutdown or a dead child process: everything ikedaemon installed
    /// goes, then a sweep by reqid catches anything left over.
    pub(crate) fn remove_all(&mut self, why: &str) {
        let flows = self.flows().len();
        log_info!(
            "removing {} CHILD SAs and {flows} flows from the kernel {why}",
            self.children.len()
        );
        for c in std::mem::take(&mut self.children) {
            if self.coupled {
                self.unload(&c);
            }
        }
        for t in std::mem::take(&mut self.traps) {
            for f in &t.flows {
                let _ = self.backend.delete_flow(f);
            }
        }
        for r in std::mem::take(&mut self.reserved) {
            let _ = self.backend.delete_sa(&r.key);
        }
        self.sweep(why);
    }

    /// `ikectl decouple`: every CHILD SA leaves the kernel, kept here.
    pub(crate) fn decouple(&mut self) -> String {
        if !self.coupled {
            return "already decoupled".into();
        }
        let children = std::mem::take(&mut self.children);
        for c in &children {
            self.unload(c);
        }
        self.children = children;
        self.coupled = false;
        format!(
            "decoupled: {} CHILD SAs unloaded from the kernel",
            self.children.len()
        )
    }

    /// `ikectl couple`: every CHILD SA is loaded into the kernel again.
    pub(crate) fn couple(&mut self) -> String {
        if self.coupled {
            return "already coupled".into();
        }
        self.coupled = true;
        let children = std::mem::take(&mut self.children);
        let mut loaded = 0;
        for c in &children {
            // No larval SA is left: the backends ADD the inbound SA.
            match self.load(c) {
                Ok(()) => loaded += 1,
                Err(e) => log_error!("couple: CHILD SA {:08x}: {e}", c.inbound.spi),
            }
        }
        let n = children.len();
        self.children = children;
        format!("coupled: {loaded} of {n} CHILD SAs loaded into the kernel")
    }

    /// Kernel events → what the negotiator must hear.
    pub(crate) fn events(&mut self, config: &Config) -> Vec<Notice> {
        let now = Instant::now();
        self.expire_reservations(now);
        let mut out = Vec::new();
        for ev in self.backend.events(now) {
            match ev {
                KernelEvent::Acquire {
                    seq,
                    reqid,
                    src,
                    dst,
                } => {
                    // A PF_KEY ACQUIRE whose policy id is unknown names no
                    // reqid: match by the SA's endpoints instead.
                    let ours = |t: &&Trap| {
                        t.reqid == reqid
                            || reqid == 0 && t.flows.iter().any(|f| f.sa.outer == (src, dst))
                    };
                    let Some(t) = self.traps.iter().find(ours) else {
                        log_verbose!(
                            "ACQUIRE {src} -> {dst} (reqid {reqid}) is not for an on-demand policy"
                        );
                        continue;
                    };
                    let policy = t.policy.clone();
                    if self
                        .acquires
                        .get(&policy)
                        .is_some_and(|(_, at)| now < *at + ACQUIRE_HOLD)
                    {
                        continue;
                    }
                    log_info!(
                        "policy {policy}: traffic {src} -> {dst} needs an SA (ACQUIRE seq {seq}, {})",
                        if reqid == 0 {
                            "matched by the SA's endpoints".to_string()
                        } else {
                            format!("reqid {reqid}")
                        }
                    );
                    self.acquires.insert(policy.clone(), (seq, now));
                    if config.policy(&policy).is_some() {
                        out.push(Notice::Acquire(policy));
                    }
                }
                KernelEvent::Expire { key, hard } => {
                    let Some(c) = self
                        .children
                        .iter_mut()
                        .find(|c| c.inbound == key || c.outbound == key)
                    else {
                        continue;
                    };
                    if !hard && std::mem::replace(&mut c.soft_reported, true) {
                        continue;
                    }
                    log_info!(
                        "CHILD SA {} {:08x}/{:08x}: {} lifetime of SA {:08x} reached",
                        c.keys.policy,
                        c.inbound.spi,
                        c.outbound.spi,
                        if hard { "hard" } else { "soft" },
                        key.spi
                    );
                    out.push(Notice::Expired {
                        spi_in: c.inbound.spi,
                        hard,
                    });
                }
                KernelEvent::Lost => out.extend(self.resync()),
            }
        }
        out
    }

    /// Kernel events were lost: compare the kernel with the record; a
    /// CHILD SA whose SAs are gone is reported as hard-expired.
    fn resync(&mut self) -> Vec<Notice> {
        log_warn!("kernel events were lost; resynchronising from a dump");
        let owned = match self.backend.owned() {
            Ok(o) => o,
            Err(e) => {
                log_error!("resync: {e}");
                return Vec::new();
            }
        };
        if !self.coupled {
            return Vec::new();
        }
        self.children
            .iter()
            // An outbound SA held back (the responder of a rekey) is not
            // missing.
            .filter(|c| {
                !owned.sas.contains(&c.inbound)
                    || (c.outbound_active && !owned.sas.contains(&c.outbound))
            })
            .map(|c| {
                log_warn!(
                    "CHILD SA {:08x}: its SAs are no longer in the kernel",
                    c.inbound.spi
                );
                Notice::Expired {
                    spi_in: c.inbound.spi,
                    hard: true,
                }
            })
            .collect()
    }

    /// The installed CHILD SAs as `ikectl show sa` lists them (with the
    /// kernel's counters), each with the IKE SA it belongs to.
    pub(crate) fn views(&mut self) -> Vec<(u64, ChildInfo)> {
        let now = Instant::now();
        let mut out = Vec::new();
        for i in 0..self.children.len() {
            let (inbound, outbound) = (self.children[i].inbound, self.children[i].outbound);
            let usage = if self.coupled {
                let out_usage = if self.children[i].outbound_active {
                    self.backend.usage(&outbound)
                } else {
                    Ok(super::Usage::default())
                };
                match (self.backend.usage(&inbound), out_usage) {
                    (Ok(a), Ok(b)) => Some((a, b)),
                    _ => None,
                }
            } else {
                None
            };
            let c = &self.children[i];
            let age = now.saturating_duration_since(c.since);
            let hex = |spi: u32| format!("{spi:08x}");
            let ts = |v: &[crate::ike::wire::TsRange]| v.iter().map(|t| t.to_string()).collect();
            out.push((
                c.keys.ike,
                ChildInfo {
                    spi_in: hex(c.inbound.spi),
                    spi_out: hex(c.outbound.spi),
                    algorithms: c.keys.algorithms.clone(),
                    mode: format!(
                        "{}{}",
                        c.checked.mode,
                        if c.keys.udp_encap { " udp-encap" } else { "" }
                    ),
                    local_ts: ts(&c.keys.local_ts),
                    remote_ts: ts(&c.keys.remote_ts),
                    installed: match (self.coupled, self.backend.name()) {
                        (false, _) => "decoupled (not in the kernel)".into(),
                        (true, "none") => "recorded (kernel: none)".into(),
                        (true, name) => format!("kernel ({name}, reqid {})", c.reqid),
                    },
                    age_secs: age.as_secs(),
                    expires_in: (c.limits.hard_secs > 0)
                        .then(|| c.limits.hard_secs.saturating_sub(age.as_secs())),
                    rekey_in: (c.limits.soft_secs > 0)
                        .then(|| c.limits.soft_secs.saturating_sub(age.as_secs())),
                    state: if c.outbound_active {
                        String::new()
                    } else {
                        "inbound only".into()
                    },
                    bytes: usage.map(|(i, o)| (i.bytes, o.bytes)),
                    packets: usage.map(|(i, o)| (i.packets, o.packets)),
                },
            ));
        }
        out
    }

    /// The flows ikedaemon has installed (CHILD SAs and traps), printed.
    pub(crate) fn flows(&self) -> Vec<(String, Flow)> {
        let mut out: Vec<(String, Flow)> = Vec::new();
        for t in &self.traps {
            out.extend(
                t.flows
                    .iter()
                    .map(|f| (format!("{} (on-demand)", t.policy), *f)),
            );
        }
        if self.coupled {
            for c in &self.children {
                out.extend(c.flows.iter().map(|f| (c.keys.policy.clone(), *f)));
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "children_tests.rs"]
mod tests;
