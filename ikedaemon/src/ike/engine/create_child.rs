//! CREATE_CHILD_SA for CHILD SAs as initiator (RFC 7296 §1.3.1, §1.3.3,
//! §2.8): a new CHILD SA on an existing IKE SA, and the rekey of one
//! (REKEY_SA, optional PFS with KE), with the old SA deleted once the new
//! one is installed (make before break); a crossing rekey of the peer's
//! (§2.8.1) decided by the lowest nonce — a redundant CHILD SA of ours is
//! never installed; TEMPORARY_FAILURE retried later and CHILD_SA_NOT_FOUND
//! handled as §2.25 says. The parent reserves our inbound SPI and installs
//! each new CHILD SA before it is used. The responder side is
//! child_answer.rs.

use std::sync::Arc;

use crate::ike::crypto::dh::{DhGroup, KeyExchange};
use crate::ike::proposal::accept_answer;
use crate::ike::wire::{
    ExchangeType, KePayload, Message, NotifyData, NotifyPayload, NotifyType, Payload, ProtocolId,
    SaPayload, TsRange,
};

use super::child::{Fresh, selectors};
use super::endpoint::Engine;
use super::io::{ChildSaKeys, Event, Now, Outputs, ParentRequest, SaId};
use super::lifecycle::{ChildExchange, ChildState, Life, ParentWait, Purpose, Work};
use super::policy::EnginePolicy;
use super::ts;

/// The peer's rekey replaced a CHILD SA of ours: if the peer never
/// deletes the old one, we do after this long.
pub(super) const REKEYED_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

pub(super) fn nonce(m: &Message) -> Option<Vec<u8>> {
    m.find_map(|p| match p {
        Payload::Nonce(n) => Some(n.clone()),
        _ => None,
    })
    .filter(|n| (16..=256).contains(&n.len()))
}

pub(super) fn ke_payload(m: &Message) -> Option<KePayload> {
    m.find_map(|p| match p {
        Payload::Ke(k) => Some(k.clone()),
        _ => None,
    })
}

pub(super) fn notify(kind: NotifyType) -> Payload {
    Payload::Notify(NotifyPayload::flag(kind))
}

/// Whether our rekey `ex` lost to the peer's (§2.8.1), and why: the
/// peer's crossing rekey has the lowest nonce (the old CHILD SA is then
/// marked replaced by it), or it already replaced and deleted the old one.
/// Returns the peer's CHILD SA (our inbound SPI, 0 if not known yet).
fn rekey_lost(
    sa: &mut super::sa::IkeSa,
    ex: &ChildExchange,
    now: Now,
) -> Option<(u32, &'static str)> {
    let replaced = "the peer's rekey already replaced the old CHILD SA";
    if let Some(by) = ex.superseded {
        return Some((by, replaced));
    }
    if sa.rekey_is_duplicate(ex.rekeys, &ex.policy.name) {
        return Some((0, replaced));
    }
    let c = sa.child_mut(ex.rekeys?)?;
    let ChildState::Rekeying { peer: Some(x) } = &c.state else {
        return None;
    };
    if !x.ours_is_redundant((&ex.ni, &ex.nr)) {
        return None;
    }
    let by = x.child_spi();
    c.state = ChildState::Rekeyed {
        by,
        delete_at: now + REKEYED_GRACE,
    };
    Some((by, "ours has the lowest nonce"))
}

/// The group an INVALID_KE_PAYLOAD answer asks for, if it is one of
/// `offered` (RFC 7296 §1.3: the request is repeated with that group,
/// once).
pub(super) fn wanted_group(m: &Message, offered: &[DhGroup]) -> Option<DhGroup> {
    m.notifies().find_map(|n| match n.data {
        NotifyData::InvalidKe(g) if n.kind == NotifyType::INVALID_KE_PAYLOAD => {
            DhGroup::from_id(g).filter(|g| offered.contains(g))
        }
        _ => None,
    })
}

/// The first group of the policy's ESP proposals: PFS in CREATE_CHILD_SA.
fn pfs_group(policy: &EnginePolicy) -> Option<DhGroup> {
    policy.esp.first().and_then(|c| c.ke.first().copied())
}

impl Engine {
    /// Initiator: prepares the exchange (nonce, PFS key) and asks the
    /// parent for the inbound SPI; the request goes out when it answers.
    pub(super) fn begin_child(
        &mut self,
        id: SaId,
        rekeys: Option<u32>,
        policy: Arc<EnginePolicy>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let (tsi, tsr, transport) =
            match rekeys.and_then(|s| sa.children.iter().find(|c| c.spi_in == s)) {
                Some(c) => (c.local_ts.clone(), c.remote_ts.clone(), c.transport),
                None => (
                    policy
                        .local_ts
                        .iter()
                        .map(|t| t.resolve(sa.local.ip()))
                        .collect(),
                    policy
                        .remote_ts
                        .iter()
                        .map(|t| t.resolve(sa.remote.ip()))
                        .collect(),
                    policy.transport,
                ),
            };
        let ke = match pfs_group(&policy).map(KeyExchange::generate) {
            Some(Ok(k)) => Some(k),
            Some(Err(e)) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{}: PFS key exchange: {e}", sa.tag()),
                });
                return;
            }
            None => None,
        };
        let ni = self.rng.bytes(32);
        let ex = ChildExchange {
            rekeys,
            policy: policy.clone(),
            spi_in: 0,
            proposals: Vec::new(),
            tsi,
            tsr,
            transport,
            ni,
            nr: Vec::new(),
            ke,
            superseded: None,
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if let Some(c) = rekeys.and_then(|s| sa.child_mut(s)) {
            c.state = ChildState::Rekeying { peer: None };
        }
        let request = self.next_request;
        self.next_request += 1;
        sa.wait_for_parent(request, ParentWait::Spi(Box::new(ex)), now);
        out.parent.push(ParentRequest::ReserveSpi {
            sa: id,
            request,
            policy: policy.name.clone(),
            local: sa.local,
            remote: sa.remote,
        });
    }

    /// A new CHILD SA for `policy` on an established IKE SA with the
    /// policy's peer (RFC 7296 §1.3.1), instead of a new IKE SA. Returns
    /// the line to log, or why there is no such IKE SA.
    pub fn create_child(&mut self, policy: &str, now: Now) -> (Result<String, String>, Outputs) {
        let mut out = Outputs::default();
        let Some(p) = self.policy(policy).cloned() else {
            return (Err(format!("no policy \"{policy}\"")), out);
        };
        let host = self.sas.iter().find(|(_, sa)| {
            matches!(sa.state, super::sa::State::Established)
                && sa.life == Life::Active
                && Some(sa.remote.ip()) == p.remote_addr
                && p.local_id == sa.policy.local_id
                && p.auth_class == sa.policy.auth_class
                && p.remote_id
                    .as_ref()
                    .is_none_or(|r| Some(r) == sa.peer_id.as_ref())
        });
        let Some((&id, sa)) = host else {
            return (
                Err(format!(
                    "no established IKE SA with the peer of policy \"{policy}\""
                )),
                out,
            );
        };
        let line = format!(
            "{}: creating a CHILD SA for policy \"{policy}\" on it",
            sa.tag()
        );
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.work.push_back(Work::NewChild(p));
        }
        self.pump_work(id, now, &mut out);
        (Ok(line), out)
    }

    /// Routes the parent's answer to a CREATE_CHILD_SA step.
    pub(super) fn on_child_answer(
        &mut self,
        a: super::io::ParentAnswer,
        now: Now,
        out: &mut Outputs,
    ) {
        let (id, request) = a.ids();
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let Some(pos) = sa.waits.iter().position(|(r, _, _)| *r == request) else {
            crate::log_verbose!("ike {id:016x}: stale answer {request} from the parent dropped");
            return;
        };
        let (_, wait, _) = sa.waits.remove(pos);
        match (wait, a) {
            (ParentWait::Spi(mut ex), super::io::ParentAnswer::Reserved { spi_in, .. }) => {
                match spi_in {
                    Ok(spi) => {
                        ex.spi_in = spi;
                        sa.work.push_back(Work::Send(ex));
                    }
                    Err(e) => {
                        let line = format!("{}: no inbound SPI for a CHILD SA: {e}", sa.tag());
                        out.events.push(Event::Failed { sa: id, line });
                        self.child_exchange_failed(id, &ex, now, out);
                    }
                }
            }
            (
                ParentWait::InstallOurs(keys, ex),
                super::io::ParentAnswer::Installed { child, .. },
            ) => self.our_child_installed(id, *keys, *ex, child, now, out),
            (ParentWait::InstallTheirs(ans), super::io::ParentAnswer::Installed { child, .. }) => {
                self.their_child_installed(id, *ans, child, now, out)
            }
            _ => {}
        }
    }

    /// Initiator: sends the CREATE_CHILD_SA request (the caller checked
    /// the window).
    pub(super) fn send_child_request(
        &mut self,
        id: SaId,
        mut ex: Box<ChildExchange>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let spi = ex.spi_in.to_be_bytes().to_vec();
        ex.proposals = ex
            .policy
            .esp
            .iter()
            .enumerate()
            .map(|(i, c)| c.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), spi.clone()))
            .collect();
        let mut inner = Vec::new();
        if let Some(old) = ex.rekeys {
            inner.push(Payload::Notify(NotifyPayload::rekey_sa(
                ProtocolId::ESP,
                old,
            )));
        }
        if ex.transport {
            inner.push(notify(NotifyType::USE_TRANSPORT_MODE));
        }
        inner.push(Payload::Sa(SaPayload {
            proposals: ex.proposals.clone(),
        }));
        inner.push(Payload::Nonce(ex.ni.clone()));
        if let Some(k) = &ex.ke {
            inner.push(Payload::Ke(KePayload {
                group: k.group().id(),
                data: k.public().to_vec(),
            }));
        }
        inner.push(Payload::TsI(ts::payload(&ex.tsi)));
        inner.push(Payload::TsR(ts::payload(&ex.tsr)));
        let mid = sa.next_request_id;
        match sa.seal(
            ExchangeType::CREATE_CHILD_SA,
            false,
            mid,
            &inner,
            self.rng.as_mut(),
        ) {
            Ok(bytes) => self.request(id, mid, bytes, Purpose::Child(ex), now, out),
            Err(e) => {
                let line = format!("{}: cannot seal CREATE_CHILD_SA: {e}", sa.tag());
                out.events.push(Event::Failed { sa: id, line });
                self.child_exchange_failed(id, &ex, now, out);
            }
        }
    }

    /// The response to one of our CREATE_CHILD_SA requests.
    pub(super) fn on_create_child_response(
        &mut self,
        id: SaId,
        d: &super::io::Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some((m, p)) = self.response(id, d, outer, now, out) else {
            return;
        };
        match p.purpose {
            Purpose::Child(ex) => self.child_response(id, &m, ex, now, out),
            Purpose::IkeRekey(r) => self.ike_rekey_response(id, &m, *r, now, out),
            _ => {}
        }
    }

    /// Initiator: the peer's answer to our CHILD SA request.
    fn child_response(
        &mut self,
        id: SaId,
        m: &Message,
        ex: Box<ChildExchange>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let tag = sa.tag();
        let answer = m.find_map(|p| match p {
            Payload::Sa(s) => Some(s.proposals.clone()),
            _ => None,
        });
        let keys = match answer {
            None => Err(Self::error_notify(&m.payloads)
                .map_or_else(|| "no SA payload".to_string(), |k| format!("{k:?}"))),
            Some(answer) => self.accept_child(id, m, &ex, &answer),
        };
        let mut ex = ex;
        let keys = match keys {
            Ok((k, nr)) => {
                ex.nr = nr;
                k
            }
            Err(why) => {
                // The peer wants another PFS group we offered: the same
                // request again (same SPI) with a KE of that group, once.
                let offered: Vec<DhGroup> = ex
                    .policy
                    .esp
                    .iter()
                    .flat_map(|c| c.ke.iter().copied())
                    .collect();
                let first_try = ex.ke.as_ref().map(|k| k.group()) == pfs_group(&ex.policy);
                if let Some(g) = wanted_group(m, &offered)
                    && first_try
                    && ex.ke.as_ref().is_some_and(|k| k.group() != g)
                    && let Ok(ke) = KeyExchange::generate(g)
                {
                    ex.ke = Some(ke);
                    ex.ni = self.rng.bytes(32);
                    out.events.push(Event::Info {
                        sa: id,
                        line: format!("{tag}: the peer wants PFS group {}; asking again", g.name()),
                    });
                    if let Some(sa) = self.sas.get_mut(&id) {
                        sa.work.push_front(Work::Send(ex));
                    }
                    return;
                }
                let what = ex.rekeys.map_or("new CHILD SA".to_string(), |s| {
                    format!("rekey of CHILD SA {s:08x}")
                });
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{tag}: {what} refused: {why}"),
                });
                if m.notify(NotifyType::CHILD_SA_NOT_FOUND).is_some()
                    && let Some(old) = ex.rekeys
                {
                    // §2.25: the peer has no such CHILD SA: ours goes
                    // silently, and a new one is made from scratch unless
                    // the policy has one (the peer's rekey made it).
                    self.forget_child(id, old, "the peer does not know it", out);
                    if let Some(sa) = self.sas.get_mut(&id)
                        && !sa.children.iter().any(|c| c.policy.name == ex.policy.name)
                    {
                        sa.work.push_back(Work::NewChild(ex.policy.clone()));
                    }
                }
                // The reserved SPI's larval SA expires in the parent.
                self.child_exchange_failed(id, &ex, now, out);
                return;
            }
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        // Ours lost to the peer's crossing rekey: it is never installed
        // (the peer deletes its half when we say so).
        if let Some((by, why)) = rekey_lost(sa, &ex, now) {
            sa.work.push_back(Work::DeleteChildren(vec![ex.spi_in]));
            Self::release_spi(id, &ex, out);
            self.rekeys.child_collisions += 1;
            let line = format!(
                "{}: CHILD SA rekey collision: {why}; ours ({:08x}) is dropped, the peer's ({by:08x}) replaces the old one",
                sa.tag(),
                ex.spi_in
            );
            out.events.push(Event::Info { sa: id, line });
            return;
        }
        let request = self.next_request;
        self.next_request += 1;
        let child = Box::new(keys.clone());
        sa.wait_for_parent(request, ParentWait::InstallOurs(Box::new(keys), ex), now);
        out.parent.push(ParentRequest::InstallChild {
            sa: id,
            request,
            child,
            outbound: true,
        });
    }

    /// Initiator: checks the accepted proposal, KE and selectors against
    /// our request and derives the keys.
    fn accept_child(
        &self,
        id: SaId,
        m: &Message,
        ex: &ChildExchange,
        answer: &[crate::ike::wire::Proposal],
    ) -> Result<(ChildSaKeys, Vec<u8>), String> {
        let chosen = accept_answer(&ex.proposals, answer)?;
        let nr = nonce(m).ok_or("no valid nonce")?;
        let g_ir = match (&ex.ke, chosen.ke) {
            (_, None) => None,
            (Some(k), Some(g)) if k.group() == g => {
                let theirs = ke_payload(m)
                    .filter(|p| p.group == g.id())
                    .ok_or("no KE payload of the accepted group")?;
                Some(k.shared_secret(&theirs.data).map_err(|e| e.to_string())?)
            }
            _ => return Err("the responder picked another PFS group than our KE".into()),
        };
        let (tsi, tsr) = selectors(m);
        let inside = |got: &[TsRange], asked: &[TsRange]| {
            !got.is_empty() && got.iter().all(|g| asked.iter().any(|a| ts::within(g, a)))
        };
        if !inside(&tsi, &ex.tsi) || !inside(&tsr, &ex.tsr) {
            return Err("the responder's traffic selectors are not within ours".into());
        }
        let transport = ex.transport && m.notify(NotifyType::USE_TRANSPORT_MODE).is_some();
        let fresh = Fresh {
            ni: &ex.ni,
            nr: &nr,
            g_ir: g_ir.as_deref().map(|v| &v[..]),
            we_initiated: true,
            policy: &ex.policy.name,
        };
        let mut keys = self
            .child_keys(id, &chosen, ex.spi_in, (&tsi, &tsr), transport, Some(fresh))
            .ok_or("KEYMAT")?;
        keys.spi_in = ex.spi_in;
        Ok((keys, nr))
    }

    /// Initiator: the new CHILD SA is installed; for a rekey, the old one
    /// (or, after a lost collision, ours) is deleted.
    fn our_child_installed(
        &mut self,
        id: SaId,
        keys: ChildSaKeys,
        ex: ChildExchange,
        installed: Result<u32, String>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let tag = sa.tag();
        if let Err(e) = installed {
            out.events.push(Event::Failed {
                sa: id,
                line: format!(
                    "{tag}: our kernel refused {}: {e}; deleting the peer's half",
                    super::auth::child_line(&keys)
                ),
            });
            sa.work.push_back(Work::DeleteChildren(vec![keys.spi_in]));
            self.child_exchange_failed(id, &ex, now, out);
            return;
        }
        // As in child_response, but the peer's crossing rekey (or its
        // DELETE of the old CHILD SA) came while the parent installed
        // ours: ours goes again.
        let lost = rekey_lost(sa, &ex, now);
        sa.add_child(&keys, ex.policy.clone(), now);
        let spi_new = keys.spi_in;
        if let Some((by, why)) = lost {
            sa.delete_children(vec![spi_new], "deleted: redundant after a rekey collision");
            self.rekeys.child_collisions += 1;
            let line = format!(
                "{tag}: CHILD SA rekey collision: {why}; ours ({spi_new:08x}) is deleted, the peer's ({by:08x}) replaces the old one"
            );
            out.events.push(Event::Info { sa: id, line });
            out.events.push(Event::ChildEstablished(Box::new(keys)));
            return;
        }
        let line = match ex.rekeys {
            None => format!("{tag}: new {}", super::auth::child_line(&keys)),
            Some(old) => {
                match sa.child_mut(old).map(|c| c.state.clone()) {
                    Some(ChildState::Rekeying { peer }) => {
                        // Won a collision: the peer's duplicate is only
                        // inbound here and the peer never installs it
                        // (it drops its own redundant SA and deletes it);
                        // it leaves at once.
                        let duplicate = peer.as_ref().map(|x| x.child_spi());
                        sa.delete_children(vec![old], "deleted: replaced by its rekey");
                        if let Some(dup) = duplicate.filter(|d| *d != 0) {
                            self.forget_child(id, dup, "redundant after a rekey collision", out);
                        }
                        self.rekeys.child_rekeys += 1;
                        if duplicate.is_some() {
                            self.rekeys.child_collisions += 1;
                        }
                        format!(
                            "{tag}: rekeyed CHILD SA {old:08x}{}: {}",
                            if duplicate.is_some() {
                                " (collision won, the peer deletes its duplicate)"
                            } else {
                                ""
                            },
                            super::auth::child_line(&keys)
                        )
                    }
                    // The old one went meanwhile (deleted by the peer):
                    // the new one simply stays.
                    _ => format!(
                        "{tag}: new {} (the CHILD SA it rekeyed is gone)",
                        super::auth::child_line(&keys)
                    ),
                }
            }
        };
        out.events.push(Event::Info { sa: id, line });
        out.events.push(Event::ChildEstablished(Box::new(keys)));
    }

    /// Initiator: the exchange ended without a new CHILD SA: the CHILD SA
    /// it rekeyed goes back to normal (a rekey is tried again later),
    /// unless the peer's crossing rekey replaced it meanwhile.
    pub(super) fn child_exchange_failed(
        &mut self,
        id: SaId,
        ex: &ChildExchange,
        now: Now,
        out: &mut Outputs,
    ) {
        let delay = self.retry_delay();
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        Self::release_spi(id, ex, out);
        let Some(c) = ex.rekeys.and_then(|s| sa.child_mut(s)) else {
            return;
        };
        match &c.state {
            ChildState::Rekeying { peer: Some(x) } => {
                c.state = ChildState::Rekeyed {
                    by: x.child_spi(),
                    delete_at: now + REKEYED_GRACE,
                }
            }
            ChildState::Rekeying { peer: None } => {
                c.state = ChildState::Installed;
                c.retry_at = Some(now + delay);
            }
            _ => {}
        }
    }

    /// The inbound SPI reserved for an exchange that installed nothing is
    /// given back (the parent deletes its larval SA).
    fn release_spi(id: SaId, ex: &ChildExchange, out: &mut Outputs) {
        if ex.spi_in != 0 {
            out.events.push(Event::ChildDeleted {
                sa: id,
                spi_in: ex.spi_in,
                reason: "not created; its reserved SPI is released",
            });
        }
    }

    /// The peer deleted CHILD SA `old` while our rekey of it is under way
    /// and after we answered its crossing rekey, which made `by`: our
    /// exchange is marked so that it ends without a new SA.
    pub(super) fn supersede(sa: &mut super::sa::IkeSa, old: u32, by: u32) {
        let mark = |ex: &mut ChildExchange| {
            if ex.rekeys == Some(old) {
                ex.superseded = Some(by);
            }
        };
        for p in sa.requests.values_mut() {
            if let Purpose::Child(ex) = &mut p.purpose {
                mark(ex);
            }
        }
        for (_, w, _) in &mut sa.waits {
            match w {
                ParentWait::Spi(ex) | ParentWait::InstallOurs(_, ex) => mark(ex),
                ParentWait::InstallTheirs(_) => {}
            }
        }
        for w in &mut sa.work {
            if let Work::Send(ex) = w {
                mark(ex);
            }
        }
    }

    /// Drops a CHILD SA without telling the peer.
    pub(super) fn forget_child(
        &mut self,
        id: SaId,
        spi_in: u32,
        why: &'static str,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let before = sa.children.len();
        sa.children.retain(|c| c.spi_in != spi_in);
        if sa.children.len() != before {
            out.events.push(Event::ChildDeleted {
                sa: id,
                spi_in,
                reason: why,
            });
        }
    }
}
