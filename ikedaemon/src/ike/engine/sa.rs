//! One IKE SA inside the engine: its identity (SPIs, addresses, role), the
//! negotiation state as an explicit enum, the keys once derived, and the
//! message-ID bookkeeping (retransmission of our requests, the cached
//! response to the peer's last request).

use std::net::SocketAddr;

use crate::ike::crypto::dh::KeyExchange;
use crate::ike::crypto::keys::IkeKeys;
use crate::ike::crypto::sk::SkCipher;
use crate::ike::proposal::Selected;
use crate::ike::wire::{ExchangeType, Header, Message, Payload};

use super::io::{ChildSaKeys, Datagram, Now};

/// A request of the peer's we took in, for telling its retransmissions
/// from anything else that carries the same SPIs and message ID.
#[derive(Debug, Clone)]
pub(crate) struct RequestSeen {
    /// SHA-256 of the datagram.
    pub(crate) hash: [u8; 32],
    /// Times the cached response was sent again.
    pub(crate) resent: u32,
    /// When it was last sent again.
    pub(crate) last_resent: Option<Now>,
}

impl RequestSeen {
    /// A request that arrived in `datagram`.
    pub(crate) fn of(datagram: &[u8]) -> Self {
        Self {
            hash: openssl::sha::sha256(datagram),
            resent: 0,
            last_resent: None,
        }
    }
}

/// The shortest time between two resends of one cached response.
pub(crate) const RESEND_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// How long an IKE SA waits for the parent's answer before it is dropped.
pub(crate) const PARENT_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Who started the IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// We sent the IKE_SA_INIT request.
    Initiator,
    /// The peer did.
    Responder,
}

/// Where the negotiation stands. Each state names what it waits for.
#[derive(Debug)]
pub(crate) enum State {
    /// Initiator: IKE_SA_INIT request sent, waiting for the response.
    InitSent,
    /// Initiator: keys derived, waiting for the parent to sign our AUTH.
    AwaitOwnAuth,
    /// Initiator: IKE_AUTH request sent, waiting for the response.
    AuthSent,
    /// Initiator: IKE_AUTH response received, waiting for the parent's
    /// verdict on the responder's AUTH.
    /// The CHILD SA the responder accepted is with it (`None`: we went
    /// childless).
    AwaitPeerVerdict(Box<(Message, Option<Result<ChildSaKeys, String>>)>),
    /// Responder: IKE_SA_INIT answered (half-open), waiting for IKE_AUTH.
    InitAnswered,
    /// Responder: IKE_AUTH received, waiting for the parent's verdict and
    /// our AUTH.
    /// The CHILD SA planned for the answer is with it (`None`: the peer
    /// asked for none).
    AwaitAuthenticate(Box<AuthenticatePending>),
    /// Both sides authenticated.
    Established,
}

/// An established CHILD SA of an IKE SA.
#[derive(Debug, Clone)]
pub(crate) struct ChildRef {
    /// Our inbound SPI (names it towards the parent and in DELETEs).
    pub(crate) spi_in: u32,
    /// Our outbound SPI (the peer's DELETE and REKEY_SA name this one).
    pub(crate) spi_out: u32,
    /// The policy it was negotiated for.
    pub(crate) policy: std::sync::Arc<super::policy::EnginePolicy>,
    /// Its traffic selectors (ours, the peer's), proposed again on rekey.
    pub(crate) local_ts: Vec<crate::ike::wire::TsRange>,
    /// The peer's traffic selectors.
    pub(crate) remote_ts: Vec<crate::ike::wire::TsRange>,
    /// Transport mode.
    pub(crate) transport: bool,
    /// Where it stands (rekeying, replaced, being deleted).
    pub(crate) state: super::lifecycle::ChildState,
    /// Its outbound SA is in the kernel (the responder of a rekey adds
    /// it once the old CHILD SA is deleted; see `Event::ChildOutbound`).
    pub(crate) outbound: bool,
    /// When it was established.
    pub(crate) created: Now,
    /// Why it is being deleted (for the log line once it is gone).
    pub(crate) delete_reason: &'static str,
    /// A failed rekey is tried again at this time.
    pub(crate) retry_at: Option<Now>,
    /// When its hard lifetime ends.
    pub(crate) expires_at: Option<Now>,
}

/// Responder: the IKE_AUTH request and its CHILD SA plan (or the notify
/// that refuses it) while the parent decides.
pub(crate) type AuthenticatePending = (
    Message,
    Option<Result<super::child::ChildPlan, (crate::ike::wire::NotifyType, String)>>,
);

/// A request of ours that may need retransmitting.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) message_id: u32,
    pub(crate) datagrams: Vec<Datagram>,
    pub(crate) tries: u32,
    pub(crate) next_at: Now,
    /// What the response is for.
    pub(crate) purpose: super::lifecycle::Purpose,
}

/// The CHILD SA we offer or accept in IKE_AUTH.
#[derive(Debug, Default)]
pub(crate) struct ChildOffer {
    /// Our inbound SPI.
    pub(crate) spi_in: u32,
    /// What we proposed (initiator), for checking the answer.
    pub(crate) proposals: Vec<crate::ike::wire::Proposal>,
    /// TSi/TSr we proposed (initiator).
    pub(crate) tsi: Vec<crate::ike::wire::TsRange>,
    /// TSr we proposed.
    pub(crate) tsr: Vec<crate::ike::wire::TsRange>,
}

/// One IKE SA.
#[derive(Debug)]
pub(crate) struct IkeSa {
    pub(crate) role: Role,
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    /// Traffic moved to the NAT-T port.
    pub(crate) natt: bool,
    /// A NAT was detected (CHILD SAs need UDP encapsulation).
    pub(crate) nat: bool,
    /// The policy it runs under, as it was when picked: a reload that
    /// changes or removes it does not pull it from under the SA.
    pub(crate) policy: std::sync::Arc<super::policy::EnginePolicy>,
    pub(crate) state: State,
    pub(crate) ni: Vec<u8>,
    pub(crate) nr: Vec<u8>,
    pub(crate) ke: Option<KeyExchange>,
    pub(crate) chosen: Option<Selected>,
    pub(crate) keys: Option<IkeKeys>,
    pub(crate) out: Option<SkCipher>,
    pub(crate) inb: Option<SkCipher>,
    /// Our IKE_SA_INIT message as sent (its AUTH octets need it).
    pub(crate) init_ours: Vec<u8>,
    /// The peer's IKE_SA_INIT message as received.
    pub(crate) init_peers: Vec<u8>,
    /// Hash algorithms the peer announced (RFC 7427).
    pub(crate) peer_hashes: Vec<u16>,
    /// Our next request's message ID.
    pub(crate) next_request_id: u32,
    /// The message ID we expect for the peer's next request.
    pub(crate) next_peer_id: u32,
    /// Our outstanding requests by message ID (at most the peer's window).
    pub(crate) requests: std::collections::BTreeMap<u32, Pending>,
    /// The peer's window size (SET_WINDOW_SIZE, RFC 7296 §2.3; 1 until
    /// it announces one).
    pub(crate) peer_window: u32,
    /// Our responses to the peer's last requests (as many as our
    /// window), for retransmissions.
    pub(crate) responses: std::collections::BTreeMap<u32, Vec<Datagram>>,
    /// The datagram that brought each of those requests (its first
    /// fragment, if fragmented), by message ID: only a byte-identical
    /// repeat gets the cached response again, and not too often.
    pub(crate) requests_seen: std::collections::BTreeMap<u32, RequestSeen>,
    /// The peer's requests accepted and not answered yet (waiting for
    /// the parent).
    pub(crate) in_progress: std::collections::BTreeSet<u32>,
    pub(crate) child: ChildOffer,
    /// Established CHILD SAs.
    pub(crate) children: Vec<ChildRef>,
    /// Where the established SA stands (rekeying, replaced, deleting).
    pub(crate) life: super::lifecycle::Life,
    /// Exchanges still to start.
    pub(crate) work: std::collections::VecDeque<super::lifecycle::Work>,
    /// CREATE_CHILD_SA steps waiting for the parent: request id, the step,
    /// and its deadline (unanswered by then, it is taken as refused).
    pub(crate) waits: Vec<(u64, super::lifecycle::ParentWait, Now)>,
    /// When the IKE SA is rekeyed.
    pub(crate) rekey_at: Option<Now>,
    /// When its initiator reauthenticates (carried over by rekeys).
    pub(crate) reauth_at: Option<Now>,
    /// Largest IKE message before we fragment (RFC 7383), once both
    /// sides announced support.
    pub(crate) frag_size: Option<usize>,
    /// Fragments of the peer's message being collected: its message ID.
    pub(crate) reassembly: Option<(u32, crate::ike::protect::Reassembly)>,
    /// When an authenticated message last came from the peer (DPD).
    pub(crate) last_heard: Now,
    /// When the SA was created.
    pub(crate) created: Now,
    /// When its hard lifetime ends (set once established).
    pub(crate) expires_at: Option<Now>,
    /// The peer's authenticated identity.
    pub(crate) peer_id: Option<crate::ike::wire::Identification>,
    /// The id of our request to the parent still unanswered.
    pub(crate) parent_request: Option<u64>,
    /// When the IKE SA is dropped if the parent has not answered
    /// `parent_request` (a lost answer must not keep it, and what it
    /// holds, for ever).
    pub(crate) parent_deadline: Option<Now>,
    /// IKE_SA_INIT requests sent (initiator; COOKIE and INVALID_KE retries).
    pub(crate) init_attempts: u8,
    /// The peer announced CHILDLESS_IKEV2_SUPPORTED (RFC 6023).
    pub(crate) peer_childless: bool,
    /// Our address is translated: we keep the NAT mapping open.
    pub(crate) behind_nat: bool,
    /// When the next NAT keepalive is due.
    pub(crate) keepalive_at: Option<Now>,
    /// This SA was started to replace that one (reauthentication,
    /// `reauth_time`), which is deleted once this one has its CHILD SA
    /// (make before break).
    pub(crate) replaces: Option<super::SaId>,
}

impl IkeSa {
    /// Records an established CHILD SA, with its lifetime from its policy.
    pub(crate) fn add_child(
        &mut self,
        keys: &ChildSaKeys,
        policy: std::sync::Arc<super::policy::EnginePolicy>,
        now: Now,
    ) {
        self.children.push(ChildRef {
            spi_in: keys.spi_in,
            spi_out: keys.spi_out,
            expires_at: policy.child_expire.map(|d| now + d),
            policy,
            local_ts: keys.local_ts.clone(),
            remote_ts: keys.remote_ts.clone(),
            transport: keys.transport,
            state: super::lifecycle::ChildState::Installed,
            outbound: true,
            delete_reason: "deleted",
            created: now,
            retry_at: None,
        });
    }

    /// Marks the CHILD SAs with these inbound SPIs as being deleted (`why`
    /// is logged when they are gone) and queues their INFORMATIONAL DELETE.
    pub(crate) fn delete_children(&mut self, spis: Vec<u32>, why: &'static str) {
        for spi in &spis {
            if let Some(c) = self.child_mut(*spi) {
                c.state = super::lifecycle::ChildState::Deleting;
                c.delete_reason = why;
            }
        }
        self.work
            .push_back(super::lifecycle::Work::DeleteChildren(spis));
    }

    /// The CHILD SA with our inbound SPI `spi_in`.
    pub(crate) fn child_mut(&mut self, spi_in: u32) -> Option<&mut ChildRef> {
        self.children.iter_mut().find(|c| c.spi_in == spi_in)
    }

    /// True while a CHILD SA of `policy` other than `spi_in` is being
    /// rekeyed, replaced or deleted, or waits for its outbound SA: a rekey
    /// of `spi_in` waits for that to settle, so that no more than two CHILD
    /// SAs per policy ever exist.
    pub(crate) fn policy_settling(&self, policy: &str, spi_in: u32) -> bool {
        self.children.iter().any(|c| {
            c.policy.name == policy
                && c.spi_in != spi_in
                && (c.state != super::lifecycle::ChildState::Installed || !c.outbound)
        })
    }

    /// For our rekey of CHILD SA `old` of `policy`: true when `old` went
    /// meanwhile and the policy has another CHILD SA (the peer's rekey
    /// made it), so that ours would be a duplicate.
    pub(crate) fn rekey_is_duplicate(&self, old: Option<u32>, policy: &str) -> bool {
        old.is_some_and(|old| {
            !self.children.iter().any(|c| c.spi_in == old)
                && self.children.iter().any(|c| {
                    c.policy.name == policy && c.state != super::lifecycle::ChildState::Deleting
                })
        })
    }

    /// True while CHILD SAs of the IKE SA are being created, rekeyed or
    /// deleted, by us (requests out, parent steps, work started) or by the
    /// peer (its requests being answered, besides `except`): an IKE SA
    /// rekey waits for that (§2.25.1).
    pub(crate) fn child_work_under_way(&self, except: Option<u32>) -> bool {
        use super::lifecycle::{ChildState, Purpose, Work};
        self.requests
            .values()
            .any(|p| matches!(p.purpose, Purpose::Child(_) | Purpose::DeleteChildren(_)))
            || !self.waits.is_empty()
            || self.in_progress.iter().any(|m| Some(*m) != except)
            || self
                .children
                .iter()
                .any(|c| matches!(c.state, ChildState::Rekeying { .. }))
            || self.work.iter().any(|w| matches!(w, Work::Send(_)))
    }

    /// True when another request fits in the peer's window (§2.3).
    pub(crate) fn window_open(&self) -> bool {
        let oldest = self
            .requests
            .keys()
            .next()
            .copied()
            .unwrap_or(self.next_request_id);
        self.next_request_id.wrapping_sub(oldest) < self.peer_window.max(1)
    }

    /// A new SA in its first state (`InitSent`; the responder moves it on):
    /// `spis` (initiator's, responder's), `addrs` (ours, the peer's).
    pub(crate) fn new(
        role: Role,
        spis: (u64, u64),
        addrs: (SocketAddr, SocketAddr),
        policy: std::sync::Arc<super::policy::EnginePolicy>,
        ni: Vec<u8>,
        now: Now,
    ) -> Self {
        Self {
            role,
            spi_i: spis.0,
            spi_r: spis.1,
            local: addrs.0,
            remote: addrs.1,
            natt: false,
            nat: false,
            policy,
            state: State::InitSent,
            ni,
            nr: Vec::new(),
            ke: None,
            chosen: None,
            keys: None,
            out: None,
            inb: None,
            init_ours: Vec::new(),
            init_peers: Vec::new(),
            peer_hashes: Vec::new(),
            next_request_id: 0,
            next_peer_id: 0,
            requests: std::collections::BTreeMap::new(),
            peer_window: 1,
            responses: std::collections::BTreeMap::new(),
            requests_seen: std::collections::BTreeMap::new(),
            in_progress: std::collections::BTreeSet::new(),
            child: ChildOffer::default(),
            children: Vec::new(),
            life: super::lifecycle::Life::Active,
            work: std::collections::VecDeque::new(),
            waits: Vec::new(),
            rekey_at: None,
            reauth_at: None,
            frag_size: None,
            reassembly: None,
            last_heard: now,
            created: now,
            expires_at: None,
            peer_id: None,
            behind_nat: false,
            parent_request: None,
            parent_deadline: None,
            init_attempts: 0,
            peer_childless: false,
            keepalive_at: None,
            replaces: None,
        }
    }

    /// Takes the next parent request id from `counter` as this SA's
    /// outstanding request; the answer must carry it back.
    pub(crate) fn ask_parent(&mut self, counter: &mut u64, now: Now) -> u64 {
        let request = *counter;
        *counter += 1;
        self.parent_request = Some(request);
        self.parent_deadline = Some(now + PARENT_ANSWER_TIMEOUT);
        request
    }

    /// A CREATE_CHILD_SA step waits for the parent's answer to `request`.
    pub(crate) fn wait_for_parent(
        &mut self,
        request: u64,
        wait: super::lifecycle::ParentWait,
        now: Now,
    ) {
        self.waits
            .push((request, wait, now + PARENT_ANSWER_TIMEOUT));
    }

    /// The waits whose answer is overdue at `now`, with whether each
    /// waits for an SPI (else for an install).
    pub(crate) fn overdue_waits(&self, now: Now) -> Vec<(u64, bool)> {
        self.waits
            .iter()
            .filter(|(_, _, deadline)| *deadline <= now)
            .map(|(r, w, _)| (*r, matches!(w, super::lifecycle::ParentWait::Spi(_))))
            .collect()
    }

    /// The SA is up: from now on it keeps the NAT mapping open if we are
    /// the side behind the NAT.
    pub(crate) fn established(&mut self, now: Now, rng: &mut dyn super::rng::Rng) {
        self.state = State::Established;
        // Both AUTHs are done: the IKE_SA_INIT messages they covered are
        // not needed again (a retransmitted IKE_SA_INIT request is matched
        // by its hash in `requests_seen`).
        self.init_ours = Vec::new();
        self.init_peers = Vec::new();
        self.expires_at = self.policy.ike_expire.map(|d| now + d);
        self.rekey_at = self
            .policy
            .ike_rekey
            .map(|d| now + super::rng::jittered(d, rng));
        self.reauth_at = self
            .policy
            .ike_reauth
            .map(|d| now + super::rng::jittered(d, rng));
        if self.behind_nat && self.natt {
            self.keepalive_at = Some(now + super::info::KEEPALIVE);
        }
    }

    /// `9f3a..:0c41..` for log lines.
    /// Our SPI: the engine's id of this SA.
    pub(crate) fn our_spi(&self) -> u64 {
        match self.role {
            Role::Initiator => self.spi_i,
            Role::Responder => self.spi_r,
        }
    }

    pub(crate) fn tag(&self) -> String {
        format!(
            "ike {:016x}:{:016x} peer {}",
            self.spi_i,
            self.spi_r,
            self.remote.ip()
        )
    }

    /// A header for a message of ours.
    pub(crate) fn header(&self, exchange: ExchangeType, response: bool, message_id: u32) -> Header {
        Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            exchange,
            initiator: self.role == Role::Initiator,
            response,
            higher_version: false,
            message_id,
        }
    }

    /// A datagram to the peer from our current addresses.
    pub(crate) fn datagram(&self, bytes: Vec<u8>) -> Datagram {
        Datagram {
            local: self.local,
            remote: self.remote,
            natt: self.natt,
            bytes,
        }
    }

    /// Seals `inner` into a protected message (SK) with a fresh IV, or
    /// into SKF fragments when it is larger than the negotiated fragment
    /// size (RFC 7383 §2.5). Returns the datagrams' bytes.
    pub(crate) fn seal(
        &self,
        exchange: ExchangeType,
        response: bool,
        message_id: u32,
        inner: &[Payload],
        rng: &mut dyn super::rng::Rng,
    ) -> Result<Vec<Vec<u8>>, String> {
        let out = self.out.as_ref().ok_or("no keys yet")?;
        let header = self.header(exchange, response, message_id);
        let iv = rng.bytes(out.iv_len());
        // A message too large for one SK payload (65,535 bytes: several
        // certificates) can still go in fragments.
        let whole = crate::ike::protect::seal_message(&header, inner, out, &iv);
        // The non-ESP marker takes 4 bytes of the datagram on 4500.
        let marker = if self.natt { 4 } else { 0 };
        match (self.frag_size, whole) {
            (Some(limit), whole) if whole.as_ref().map_or(true, |w| w.len() + marker > limit) => {
                let iv_len = out.iv_len();
                crate::ike::protect::seal_fragments(
                    &header,
                    inner,
                    out,
                    limit - marker.min(limit),
                    &mut || rng.bytes(iv_len),
                )
                .map_err(|e| e.to_string())
            }
            (_, whole) => whole.map(|w| vec![w]).map_err(|e| e.to_string()),
        }
    }
}
