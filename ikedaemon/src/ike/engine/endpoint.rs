//! The engine's front door: the policies, the IKE SAs keyed by our SPI,
//! routing of datagrams and parent answers to them, timers
//! (retransmission), and the summary `ikectl show sa` prints.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::ike::wire::{Header, Message, Payload};

use super::io::{Datagram, Event, Now, Outputs, ParentAnswer, SaId};
use super::policy::EnginePolicy;
use super::rng::Rng;
use super::sa::{IkeSa, Role, State};

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
    /// IKE_AUTH requests of one peer address waiting for the parent at
    /// once; more are dropped (the peer retransmits).
    pub max_parent_requests_per_peer: usize,
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
            max_parent_requests_per_peer: 16,
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
    /// The id of our next request to the parent.
    pub(super) next_request: u64,
    /// Datagrams with a valid header whose message did not decode.
    pub(super) malformed: u64,
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
        // Decoded once here; the handlers get the message.
        let m = match Message::decode(&d.bytes) {
            Ok(m) => m,
            Err(_) => {
                self.malformed += 1;
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
        }
        out
    }

    /// Handles one answer from the parent.
    pub fn parent_answer(&mut self, a: ParentAnswer, now: Now) -> Outputs {
        let mut out = Outputs::default();
        let (sa, request) = match &a {
            ParentAnswer::Signed { sa, request, .. }
            | ParentAnswer::Authenticated { sa, request, .. } => (*sa, *request),
        };
        match self.sas.get_mut(&sa) {
            Some(s) if s.parent_request == Some(request) => s.parent_request = None,
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
        }
        out
    }

    /// Runs the timers due at `now`.
    pub fn timeout(&mut self, now: Now) -> Outputs {
        let mut out = Outputs::default();
        self.liveness(now, &mut out);
        self.keepalives(now, &mut out);
        self.expire(now, &mut out);
        for id in self.guard.expired(now) {
            if let Some(sa) = self.sas.get(&id) {
                let line = format!(
                    "{}: no IKE_AUTH within {}s, half-open IKE SA dropped",
                    sa.tag(),
                    super::dos::HALF_OPEN_TIMEOUT.as_secs()
                );
                out.events.push(Event::Failed { sa: id, line });
            }
            self.remove(id, "half-open timeout", &mut out);
        }
        let due: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.pending.as_ref().is_some_and(|p| p.next_at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let tries = self.cfg.retransmit_tries;
            let base = self.cfg.retransmit_base;
            let Some(sa) = self.sas.get_mut(&id) else {
                continue;
            };
            let tag = sa.tag();
            let Some(p) = sa.pending.as_mut() else {
                continue;
            };
            if p.tries >= tries {
                let line = format!(
                    "{tag}: no answer to message {} after {} retransmissions, giving up",
                    p.message_id, p.tries
                );
                out.events.push(Event::Failed { sa: id, line });
                self.remove(id, "peer not answering", &mut out);
                continue;
            }
            p.tries += 1;
            p.next_at = now + base * 2u32.saturating_pow(p.tries);
            out.send.extend(p.datagrams.iter().cloned());
        }
        out
    }

    /// The earliest time `timeout` has work.
    pub fn next_deadline(&self) -> Option<Now> {
        let retransmit = self
            .sas
            .values()
            .filter_map(|sa| sa.pending.as_ref().map(|p| p.next_at))
            .min();
        [
            retransmit,
            self.guard.next_expiry(),
            self.next_liveness(),
            self.next_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
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
                state: match &sa.state {
                    State::Established => "ESTABLISHED",
                    State::InitSent | State::InitAnswered => "CONNECTING (IKE_SA_INIT)",
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
                expires_at: sa.expires_at,
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
            sa.last_response = Some((message_id, ds.clone()));
            sa.next_peer_id = message_id.wrapping_add(1);
            out.send.extend(ds);
        }
    }

    /// Sends a request (one datagram, or its fragments) and arms its
    /// retransmission.
    pub(super) fn request(
        &mut self,
        id: SaId,
        message_id: u32,
        bytes: Vec<Vec<u8>>,
        now: Now,
        out: &mut Outputs,
    ) {
        let base = self.cfg.retransmit_base;
        if let Some(sa) = self.sas.get_mut(&id) {
            let ds: Vec<Datagram> = bytes.into_iter().map(|b| sa.datagram(b)).collect();
            sa.pending = Some(super::sa::Pending {
                message_id,
                datagrams: ds.clone(),
                tries: 0,
                next_at: now + base,
            });
            sa.next_request_id = message_id.wrapping_add(1);
            out.send.extend(ds);
        }
    }

    /// True (and the cached response resent) when `h` repeats the peer's
    /// last request; also true for a request out of the window, dropped.
    pub(super) fn is_retransmission(&mut self, id: SaId, h: &Header, out: &mut Outputs) -> bool {
        let Some(sa) = self.sas.get(&id) else {
            return true;
        };
        if let Some((mid, ds)) = &sa.last_response
            && *mid == h.message_id
        {
            out.send.extend(ds.iter().cloned());
            return true;
        }
        h.message_id != sa.next_peer_id
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
