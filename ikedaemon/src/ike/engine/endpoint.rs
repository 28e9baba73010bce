//! The engine's front door: the policies, the IKE SAs keyed by our SPI,
//! routing of datagrams and parent answers to them, timers
//! (retransmission), and the summary `ikectl show sa` prints.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::ike::wire::{Header, Message, Payload};

use super::io::{Datagram, Event, Now, Outputs, ParentAnswer, SaId};
use super::lifecycle::{ChildState, Life};
use super::policy::EnginePolicy;
use super::rng::Rng;
use super::sa::{IkeSa, Role, State};

/// The window we announce (SET_WINDOW_SIZE, RFC 7296 §2.3): how many of
/// the peer's requests may be outstanding at once.
pub(crate) const OUR_WINDOW: u32 = 4;

/// Below this many parent-issued SPIs the engine wants more.
const SPI_LOW_WATER: usize = 128;

/// Retransmissions of our DELETE of an IKE SA before it is forgotten.
const DELETE_TRIES: u32 = 3;

/// Tunables.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The IKE port we listen on (500).
    pub ike_port: u16,
    /// The NAT-T port (4500).
    pub natt_port: u16,
    /// First retransmission after this long; doubles each time.
    pub retransmit_base: Duration,
    /// Retransmissions before giving up.
    pub retransmit_tries: u32,
    /// Largest IKE datagram before fragmenting (RFC 7383), or `None` to
    /// neither announce nor use fragmentation.
    pub fragment_size: Option<usize>,
    /// Half-open IKE SAs before COOKIEs are demanded (RFC 7296 §2.6).
    pub cookie_threshold: u32,
    /// Half-open IKE SAs allowed per peer address.
    pub max_half_open_per_peer: u32,
    /// Half-open IKE SAs allowed in total.
    pub max_half_open: u32,
    /// IPv6 peers' half-open SAs are counted per prefix of this length.
    pub half_open_ipv6_prefix: u8,
    /// CHILD SAs one IKE SA may carry; a CREATE_CHILD_SA for one more
    /// is answered NO_ADDITIONAL_SAS (rekeys do not count).
    pub max_child_sas_per_ike: usize,
    /// IKE_AUTH requests of one peer address waiting for the parent at
    /// once; more are dropped (the peer retransmits).
    pub max_parent_requests_per_peer: usize,
    /// The SPIs of new IKE SAs (IKE_SA_INIT) come from the parent, which
    /// signs only for SPIs it issued; `false`: the engine draws them.
    pub spis_from_parent: bool,
    /// Largest IKE message accepted, in bytes: a datagram, or the whole
    /// of a fragmented message once reassembled (RFC 7383).
    pub max_message: usize,
    /// Largest IKE_SA_INIT request accepted, in bytes (it gets state
    /// before the peer is known; strongSwan drops above 10,000 too).
    pub max_init_message: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            ike_port: 500,
            natt_port: 4500,
            retransmit_base: Duration::from_secs(1),
            retransmit_tries: 5,
            fragment_size: Some(1280),
            cookie_threshold: 64,
            max_half_open_per_peer: 8,
            max_half_open: 4096,
            half_open_ipv6_prefix: 64,
            max_child_sas_per_ike: 64,
            spis_from_parent: false,
            max_parent_requests_per_peer: 16,
            max_message: 65536,
            max_init_message: 10000,
        }
    }
}

/// One line of `show sa`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaSummary {
    /// Policy.
    pub policy: String,
    /// `spi_i:spi_r`.
    pub spis: String,
    /// Our SPI (the engine's id of the SA).
    pub id: SaId,
    /// Peer address.
    pub peer: SocketAddr,
    /// State name.
    pub state: String,
    /// Negotiated IKE algorithms.
    pub algorithms: String,
    /// The peer's authenticated identity, printed (empty before).
    pub peer_id: String,
    /// When the SA was created.
    pub created: Now,
    /// When it is rekeyed.
    pub rekey_at: Option<Now>,
    /// When we reauthenticate it (its initiator only).
    pub reauth_at: Option<Now>,
    /// When its hard lifetime ends.
    pub expires_at: Option<Now>,
    /// Its CHILD SAs.
    pub children: Vec<ChildSummary>,
}

/// One CHILD SA in `show sa`, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSummary {
    /// The policy it was negotiated for (may differ from its IKE SA's).
    pub policy: String,
    /// Our inbound SPI.
    pub spi_in: u32,
    /// Our outbound SPI.
    pub spi_out: u32,
    /// `INSTALLED`, `REKEYING`, `REKEYED`, `DELETING`.
    pub state: &'static str,
    /// When it was established.
    pub created: Now,
    /// When its hard lifetime ends.
    pub expires_at: Option<Now>,
}

/// The engine.
#[derive(Debug)]
pub struct Engine {
    pub(super) cfg: EngineConfig,
    pub(super) policies: Vec<Arc<EnginePolicy>>,
    pub(super) sas: HashMap<SaId, IkeSa>,
    /// Responder: (SPIi, peer address) → our SPI, to recognise
    /// retransmitted IKE_SA_INIT requests. Keyed by the IP, not the port:
    /// the SA moves to 4500 (and a NAT may pick another port) while the
    /// entry must still be found and removed with it.
    pub(super) by_initiator: HashMap<(u64, IpAddr), SaId>,
    pub(super) rng: Box<dyn Rng + Send>,
    /// Fragments of completely reassembled messages (RFC 7383).
    pub(super) fragments_in: u64,
    /// Half-open accounting and COOKIEs.
    pub(super) guard: super::dos::Guard,
    /// Answers before any state exists (UNSUPPORTED_CRITICAL_PAYLOAD to an
    /// IKE_SA_INIT request), rate-limited.
    pub(super) answers: super::stateless::AnswerBudget,
    /// Parent-issued SPIs for new IKE SAs (`spis_from_parent`).
    spi_pool: std::collections::VecDeque<SaId>,
    /// The id of our next request to the parent.
    pub(super) next_request: u64,
    /// Datagrams with a valid header whose message did not decode.
    pub(super) malformed: u64,
    /// Rekeys and collisions so far.
    pub(super) rekeys: RekeyStats,
}

/// What rekeying did so far (both roles; collisions counted once per
/// side that resolved them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RekeyStats {
    /// CHILD SA rekeys we initiated that replaced the old SA.
    pub child_rekeys: u64,
    /// IKE SA rekeys we initiated that replaced the old SA.
    pub ike_rekeys: u64,
    /// CHILD SA rekeys answered for the peer.
    pub child_rekeys_answered: u64,
    /// IKE SA rekeys answered for the peer.
    pub ike_rekeys_answered: u64,
    /// Crossing CHILD SA rekeys decided by the nonces (§2.8.1).
    pub child_collisions: u64,
    /// Crossing IKE SA rekeys decided by the nonces (§2.8.2).
    pub ike_collisions: u64,
    /// Requests refused with TEMPORARY_FAILURE (§2.25).
    pub temporary_failures: u64,
    /// Rekeys refused with CHILD_SA_NOT_FOUND (§2.25).
    pub child_not_found: u64,
}

impl Engine {
    /// An engine with these policies.
    pub fn new(cfg: EngineConfig, policies: Vec<EnginePolicy>, rng: Box<dyn Rng + Send>) -> Self {
        Self {
            cfg,
            policies: policies.into_iter().map(Arc::new).collect(),
            sas: HashMap::new(),
            by_initiator: HashMap::new(),
            rng,
            fragments_in: 0,
            guard: super::dos::Guard::default(),
            next_request: 1,
            malformed: 0,
            rekeys: RekeyStats::default(),
            spi_pool: std::collections::VecDeque::new(),
            answers: Default::default(),
        }
    }

    /// SPIs for new IKE SAs, issued by the parent.
    pub fn add_spis(&mut self, spis: Vec<SaId>) {
        self.spi_pool.extend(spis);
    }

    /// The pool of parent-issued SPIs runs low: time to ask for more.
    pub fn wants_spis(&self) -> bool {
        self.cfg.spis_from_parent && self.spi_pool.len() < SPI_LOW_WATER
    }

    /// The SPI of a new IKE SA (IKE_SA_INIT), unused by any of ours: from
    /// the parent's pool, or drawn here; `None` when the pool is empty.
    pub(super) fn init_spi(&mut self) -> Option<SaId> {
        loop {
            let spi = if self.cfg.spis_from_parent {
                self.spi_pool.pop_front()?
            } else {
                self.rng.nonzero_u64()
            };
            if spi != 0 && !self.sas.contains_key(&spi) {
                return Some(spi);
            }
        }
    }

    /// Replaces the tunables and ports (reload); existing SAs keep the
    /// addresses they have.
    pub fn set_limits(&mut self, cfg: EngineConfig) {
        self.cfg = cfg;
    }

    /// Replaces the policies (reload); existing SAs keep running.
    pub fn set_policies(&mut self, policies: Vec<EnginePolicy>) {
        self.policies = policies.into_iter().map(Arc::new).collect();
    }

    /// A policy by name.
    pub(super) fn policy(&self, name: &str) -> Option<&Arc<EnginePolicy>> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// Handles one received datagram.
    pub fn datagram(&mut self, d: Datagram, now: Now) -> Outputs {
        let mut out = Outputs::default();
        if d.bytes.len() > self.cfg.max_message {
            self.malformed += 1;
            return out;
        }
        // Decoded once here; the handlers get the message.
        let m = match Message::decode(&d.bytes) {
            Ok(m) => m,
            Err(e) => {
                self.malformed += 1;
                self.unsupported_critical_in_init(&d, &e, now, &mut out);
                return out;
            }
        };
        let h = m.header;
        if h.spi_r == 0 && !h.response && h.exchange == crate::ike::wire::ExchangeType::IKE_SA_INIT
        {
            self.on_init_request(&d, &m, now, &mut out);
            return out;
        }
        // Our SPI is the responder SPI when we are the responder, that is
        // when the peer set the I flag.
        let ours = if h.initiator { h.spi_r } else { h.spi_i };
        if !self.sas.contains_key(&ours) {
            return out;
        }
        if h.exchange == crate::ike::wire::ExchangeType::IKE_SA_INIT && h.response {
            self.on_init_response(ours, &d, &m, now, &mut out);
        } else if h.exchange == crate::ike::wire::ExchangeType::IKE_AUTH {
            if h.response {
                self.on_auth_response(ours, &d, &m, now, &mut out);
            } else {
                self.on_auth_request(ours, &d, &m, now, &mut out);
            }
        } else if h.exchange == crate::ike::wire::ExchangeType::INFORMATIONAL {
            if h.response {
                self.on_info_response(ours, &d, &m, now, &mut out);
            } else {
                self.on_info_request(ours, &d, &m, now, &mut out);
            }
        } else if h.exchange == crate::ike::wire::ExchangeType::CREATE_CHILD_SA {
            if h.response {
                self.on_create_child_response(ours, &d, &m, now, &mut out);
            } else {
                self.on_create_child_request(ours, &d, &m, now, &mut out);
            }
        }
        self.pump_all(now, &mut out);
        out
    }

    /// RFC 7296 §2.5: an IKE_SA_INIT request with a critical payload we do
    /// not know is answered UNSUPPORTED_CRITICAL_PAYLOAD (no state kept;
    /// rate-limited, the sender is unproven).
    fn unsupported_critical_in_init(
        &mut self,
        d: &Datagram,
        e: &crate::ike::wire::WireError,
        now: Now,
        out: &mut Outputs,
    ) {
        use crate::ike::wire::{ExchangeType, Header, NotifyPayload, NotifyType, Payload};
        if e.notify() != Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD) {
            return;
        }
        let Ok(info) = Header::decode(&d.bytes) else {
            return;
        };
        let h = info.header;
        let init_request = h.exchange == ExchangeType::IKE_SA_INIT
            && !h.response
            && h.initiator
            && h.spi_i != 0
            && h.spi_r == 0
            && h.message_id == 0;
        if !init_request || !self.answers.allow(d.remote.ip(), now) {
            return;
        }
        let Some(kind) = e.notify_data().first().copied() else {
            return;
        };
        let mut n = NotifyPayload::flag(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD);
        n.data = crate::ike::wire::NotifyData::PayloadType(kind);
        let m = Message {
            header: Header {
                response: true,
                initiator: false,
                ..h
            },
            payloads: vec![Payload::Notify(n)],
        };
        if let Ok(bytes) = m.encode() {
            out.send.push(Datagram { bytes, ..d.clone() });
        }
    }

    /// Handles one answer from the parent.
    pub fn parent_answer(&mut self, a: ParentAnswer, now: Now) -> Outputs {
        let mut out = Outputs::default();
        let (sa, request) = a.ids();
        if matches!(
            a,
            ParentAnswer::Reserved { .. } | ParentAnswer::Installed { .. }
        ) {
            self.on_child_answer(a, now, &mut out);
            self.pump_all(now, &mut out);
            return out;
        }
        match self.sas.get_mut(&sa) {
            Some(s) if s.parent_request == Some(request) => {
                s.parent_request = None;
                s.parent_deadline = None;
            }
            _ => {
                crate::log_verbose!(
                    "ike {sa:016x}: stale answer {request} from the parent dropped"
                );
                return out;
            }
        }
        match a {
            ParentAnswer::Signed {
                sa, auth, spi_in, ..
            } => self.on_signed(sa, auth, spi_in, now, &mut out),
            ParentAnswer::Authenticated {
                sa,
                verdict,
                auth,
                child,
                ..
            } => self.on_authenticated(sa, verdict, auth, child, now, &mut out),
            ParentAnswer::Reserved { .. } | ParentAnswer::Installed { .. } => {}
        }
        self.pump_all(now, &mut out);
        out
    }

    /// Runs the timers due at `now`.
    pub fn timeout(&mut self, now: Now) -> Outputs {
        let mut out = Outputs::default();
        self.liveness(now, &mut out);
        self.keepalives(now, &mut out);
        self.expire(now, &mut out);
        self.rekey_due(now, &mut out);
        let stuck: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.parent_deadline.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in stuck {
            if let Some(sa) = self.sas.get(&id) {
                let line = format!(
                    "{}: the parent did not answer within {}s, IKE SA dropped",
                    sa.tag(),
                    super::sa::PARENT_ANSWER_TIMEOUT.as_secs()
                );
                out.events.push(Event::Failed { sa: id, line });
            }
            self.remove(id, "no answer from the parent", &mut out);
        }
        // A CREATE_CHILD_SA step whose parent answer is lost: taken as a
        // refusal, so the exchange ends instead of waiting for ever.
        let overdue: Vec<(SaId, u64, bool)> = self
            .sas
            .iter()
            .flat_map(|(id, sa)| {
                sa.overdue_waits(now)
                    .into_iter()
                    .map(move |(r, spi)| (*id, r, spi))
            })
            .collect();
        for (sa, request, spi) in overdue {
            let why = format!(
                "the parent did not answer within {}s",
                super::sa::PARENT_ANSWER_TIMEOUT.as_secs()
            );
            let answer = if spi {
                ParentAnswer::Reserved {
                    sa,
                    request,
                    spi_in: Err(why),
                }
            } else {
                ParentAnswer::Installed {
                    sa,
                    request,
                    child: Err(why),
                }
            };
            let o = self.parent_answer(answer, now);
            out.send.extend(o.send);
            out.parent.extend(o.parent);
            out.events.extend(o.events);
        }
        for (id, life) in self.guard.expired(now) {
            if let Some(sa) = self.sas.get(&id) {
                let line = format!(
                    "{}: no IKE_AUTH within {}s, half-open IKE SA dropped",
                    sa.tag(),
                    life.as_secs()
                );
                out.events.push(Event::Failed { sa: id, line });
            }
            self.remove(id, "half-open timeout", &mut out);
        }
        let due: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.requests.values().any(|p| p.next_at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let tries = self.cfg.retransmit_tries;
            let base = self.cfg.retransmit_base;
            let Some(sa) = self.sas.get_mut(&id) else {
                continue;
            };
            let tag = sa.tag();
            let mut gave_up = None;
            let mut deleted = false;
            for p in sa.requests.values_mut().filter(|p| p.next_at <= now) {
                // Our DELETE of the IKE SA: the peer may have deleted it
                // already and lost its answer; after a few tries it is
                // gone either way.
                if matches!(p.purpose, super::lifecycle::Purpose::DeleteIke)
                    && p.tries >= DELETE_TRIES.min(tries)
                {
                    deleted = true;
                    break;
                }
                if p.tries >= tries {
                    gave_up = Some((p.message_id, p.tries));
                    break;
                }
                p.tries += 1;
                p.next_at = now + base * 2u32.saturating_pow(p.tries);
                out.send.extend(p.datagrams.iter().cloned());
            }
            if deleted {
                self.remove(id, "deleted (its DELETE was not answered)", &mut out);
                continue;
            }
            if let Some((mid, n)) = gave_up {
                let line = format!(
                    "{tag}: no answer to message {mid} after {n} retransmissions, giving up"
                );
                out.events.push(Event::Failed { sa: id, line });
                self.remove(id, "peer not answering", &mut out);
            }
        }
        self.pump_all(now, &mut out);
        out
    }

    /// The earliest time `timeout` has work.
    pub fn next_deadline(&self) -> Option<Now> {
        let retransmit = self
            .sas
            .values()
            .flat_map(|sa| sa.requests.values().map(|p| p.next_at))
            .min();
        let parent = self
            .sas
            .values()
            .flat_map(|sa| {
                sa.parent_deadline
                    .into_iter()
                    .chain(sa.waits.iter().map(|(_, _, t)| *t))
            })
            .min();
        [
            retransmit,
            parent,
            self.guard.next_expiry(),
            self.next_liveness(),
            self.next_expiry(),
            self.next_rekey(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Bytes of IKE_SA_INIT messages held for AUTH octets (freed once an
    /// IKE SA is established).
    pub fn init_bytes(&self) -> usize {
        self.sas
            .values()
            .map(|sa| sa.init_ours.len() + sa.init_peers.len())
            .sum()
    }

    /// Half-open IKE SAs (responder side).
    pub fn half_open(&self) -> usize {
        self.guard.count()
    }

    /// The SAs, for `show sa`.
    pub fn summaries(&self) -> Vec<SaSummary> {
        let mut v: Vec<SaSummary> = self
            .sas
            .values()
            .map(|sa| SaSummary {
                policy: sa.policy.name.clone(),
                spis: format!("{:016x}:{:016x}", sa.spi_i, sa.spi_r),
                id: sa.our_spi(),
                peer: sa.remote,
                state: match (&sa.state, &sa.life) {
                    (State::Established, Life::Active) => "ESTABLISHED",
                    (State::Established, Life::Rekeying { .. }) => "REKEYING",
                    (State::Established, Life::Rekeyed { .. }) => "REKEYED",
                    (State::Established, Life::Deleting) => "DELETING",
                    (State::Established, Life::Provisional) => "REKEYING (collision)",
                    (State::InitSent | State::InitAnswered, _) => "CONNECTING (IKE_SA_INIT)",
                    _ => "CONNECTING (IKE_AUTH)",
                }
                .to_string(),
                algorithms: sa
                    .chosen
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                peer_id: sa
                    .peer_id
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                created: sa.created,
                rekey_at: sa.rekey_at,
                reauth_at: sa.reauth_at.filter(|_| sa.role == Role::Initiator),
                expires_at: sa.expires_at,
                children: sa
                    .children
                    .iter()
                    .map(|c| ChildSummary {
                        policy: c.policy.name.clone(),
                        spi_in: c.spi_in,
                        spi_out: c.spi_out,
                        state: match c.state {
                            ChildState::Installed => "INSTALLED",
                            ChildState::Rekeying { .. } => "REKEYING",
                            ChildState::Rekeyed { .. } => "REKEYED",
                            ChildState::Deleting => "DELETING",
                        },
                        created: c.created,
                        expires_at: c.expires_at,
                    })
                    .collect(),
            })
            .collect();
        v.sort_by(|a, b| a.spis.cmp(&b.spis));
        v
    }

    /// Established IKE SAs (the others are still negotiating).
    pub fn established(&self) -> usize {
        self.sas
            .values()
            .filter(|sa| matches!(sa.state, State::Established))
            .count()
    }

    /// Rekey counters.
    pub fn rekey_stats(&self) -> RekeyStats {
        self.rekeys
    }

    /// True while any IKE SA has an exchange, a parent step or queued
    /// work under way, or is not in its plain established state (rekeying,
    /// replaced, deleting), or has a CHILD SA that is not (quiescence in
    /// tests and simulations).
    pub fn busy(&self) -> bool {
        self.busy_with().is_some()
    }

    /// What keeps the engine busy (see `busy`), for tests and logs.
    pub fn busy_with(&self) -> Option<String> {
        self.sas.values().find_map(|sa| {
            let what = if !matches!(sa.state, State::Established) {
                "negotiating".to_string()
            } else if sa.life != Life::Active {
                format!("{:?}", sa.life)
            } else if let Some(p) = sa.requests.values().next() {
                format!("request {} out: {}", p.message_id, p.purpose.describe())
            } else if !sa.waits.is_empty() {
                format!("{} parent steps", sa.waits.len())
            } else if !sa.work.is_empty() {
                format!("work {:?}", sa.work)
            } else if !sa.in_progress.is_empty() {
                format!("answering {:?}", sa.in_progress)
            } else {
                let c = sa
                    .children
                    .iter()
                    .find(|c| c.state != ChildState::Installed || !c.outbound)?;
                format!(
                    "CHILD SA {:08x} {:?} outbound {}",
                    c.spi_in, c.state, c.outbound
                )
            };
            Some(format!("{}: {what}", sa.tag()))
        })
    }

    /// Rekeys the IKE SA `id` now (as when its rekey time comes); false
    /// when there is no such established SA.
    pub fn rekey_ike(&mut self, id: SaId, now: Now) -> (bool, Outputs) {
        let mut out = Outputs::default();
        let Some(sa) = self.sas.get_mut(&id) else {
            return (false, out);
        };
        if !matches!(sa.state, State::Established) || sa.life != Life::Active {
            return (false, out);
        }
        sa.rekey_at = None;
        sa.work.push_back(super::lifecycle::Work::RekeyIke);
        self.pump_work(id, now, &mut out);
        (true, out)
    }

    /// Datagrams that did not decode as IKE messages.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Fragments of messages reassembled so far (RFC 7383).
    pub fn fragments_reassembled(&self) -> u64 {
        self.fragments_in
    }

    /// Number of IKE SAs (any state).
    pub fn len(&self) -> usize {
        self.sas.len()
    }

    /// True without SAs.
    pub fn is_empty(&self) -> bool {
        self.sas.is_empty()
    }

    /// Forgets an SA.
    pub(super) fn remove(&mut self, id: SaId, reason: &str, out: &mut Outputs) {
        self.guard.closed(id);
        if let Some(sa) = self.sas.remove(&id) {
            if sa.role == Role::Responder {
                self.by_initiator.remove(&(sa.spi_i, sa.remote.ip()));
            }
            // The CHILD SAs go with it (RFC 7296 §1.4.1).
            for c in &sa.children {
                out.events.push(Event::ChildDeleted {
                    sa: id,
                    spi_in: c.spi_in,
                    reason: "deleted with its IKE SA",
                });
            }
            out.events.push(Event::IkeDeleted {
                sa: id,
                reason: reason.to_string(),
            });
        }
    }

    /// Seals `inner` as our `exchange` response to the peer's request
    /// `message_id` and sends (and caches) it.
    pub(super) fn answer(
        &mut self,
        id: SaId,
        exchange: crate::ike::wire::ExchangeType,
        message_id: u32,
        inner: &[Payload],
        out: &mut Outputs,
    ) -> Result<(), String> {
        let sa = self.sas.get(&id).ok_or("gone")?;
        let bytes = sa.seal(exchange, true, message_id, inner, self.rng.as_mut())?;
        self.respond(id, message_id, bytes, out);
        Ok(())
    }

    /// Seals `inner` as our next `exchange` request and sends it, its
    /// response going to `purpose`.
    pub(super) fn send_request(
        &mut self,
        id: SaId,
        exchange: crate::ike::wire::ExchangeType,
        inner: &[Payload],
        purpose: super::lifecycle::Purpose,
        now: Now,
        out: &mut Outputs,
    ) -> Result<(), String> {
        let sa = self.sas.get(&id).ok_or("gone")?;
        let mid = sa.next_request_id;
        let bytes = sa.seal(exchange, false, mid, inner, self.rng.as_mut())?;
        self.request(id, mid, bytes, purpose, now, out);
        Ok(())
    }

    /// Sends (and caches) a response to the peer's request `message_id`
    /// (one datagram, or its fragments).
    pub(super) fn respond(
        &mut self,
        id: SaId,
        message_id: u32,
        bytes: Vec<Vec<u8>>,
        out: &mut Outputs,
    ) {
        if let Some(sa) = self.sas.get_mut(&id) {
            let ds: Vec<Datagram> = bytes.into_iter().map(|b| sa.datagram(b)).collect();
            sa.in_progress.remove(&message_id);
            sa.responses.insert(message_id, ds.clone());
            // Everything below the first unanswered request is done; the
            // last OUR_WINDOW responses stay for retransmissions.
            while sa.responses.contains_key(&sa.next_peer_id) {
                sa.next_peer_id = sa.next_peer_id.wrapping_add(1);
            }
            let keep_from = sa.next_peer_id.saturating_sub(OUR_WINDOW);
            sa.responses.retain(|m, _| *m >= keep_from);
            sa.requests_seen.retain(|m, _| *m >= keep_from);
            out.send.extend(ds);
        }
    }

    /// Sends a request (one datagram, or its fragments) and arms its
    /// retransmission; its response goes to `purpose`.
    pub(super) fn request(
        &mut self,
        id: SaId,
        message_id: u32,
        bytes: Vec<Vec<u8>>,
        purpose: super::lifecycle::Purpose,
        now: Now,
        out: &mut Outputs,
    ) {
        let base = self.cfg.retransmit_base;
        if let Some(sa) = self.sas.get_mut(&id) {
            let ds: Vec<Datagram> = bytes.into_iter().map(|b| sa.datagram(b)).collect();
            sa.requests.insert(
                message_id,
                super::sa::Pending {
                    message_id,
                    datagrams: ds.clone(),
                    tries: 0,
                    next_at: now + base,
                    purpose,
                },
            );
            sa.next_request_id = message_id.wrapping_add(1);
            out.send.extend(ds);
        }
    }

    /// True when `h` is for a request of the peer's we answered (dropped;
    /// the cached response is sent again only when `datagram` is the
    /// request's own bytes, at most every 500 ms and `retransmit_tries`
    /// times: anything else with its SPIs and message ID is not reflected);
    /// also true for a request being worked on or outside our window
    /// (§2.3), dropped.
    pub(super) fn is_retransmission(
        &mut self,
        id: SaId,
        h: &Header,
        datagram: &[u8],
        now: Now,
        out: &mut Outputs,
    ) -> bool {
        let tries = self.cfg.retransmit_tries;
        let Some(sa) = self.sas.get_mut(&id) else {
            return true;
        };
        let mid = h.message_id;
        if let Some(ds) = sa.responses.get(&mid) {
            let hash = openssl::sha::sha256(datagram);
            if let Some(seen) = sa.requests_seen.get_mut(&mid)
                && seen.hash == hash
                && seen.resent < tries
                && seen
                    .last_resent
                    .is_none_or(|t| now.saturating_sub(t) >= super::sa::RESEND_INTERVAL)
            {
                seen.resent += 1;
                seen.last_resent = Some(now);
                out.send.extend(ds.iter().cloned());
            }
            return true;
        }
        let window = if matches!(sa.state, State::Established) {
            OUR_WINDOW
        } else {
            1
        };
        sa.in_progress.contains(&mid)
            || mid < sa.next_peer_id
            || mid.wrapping_sub(sa.next_peer_id) >= window
    }

    /// Decodes a datagram, failing quietly (unauthenticated garbage is
    /// dropped, RFC 7296 §2.21).
    /// The first notify of an error type in `payloads`, if any.
    pub(super) fn error_notify(payloads: &[Payload]) -> Option<crate::ike::wire::NotifyType> {
        payloads.iter().find_map(|p| match p {
            Payload::Notify(n) if n.kind.is_error() => Some(n.kind),
            _ => None,
        })
    }
}
