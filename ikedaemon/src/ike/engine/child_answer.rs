//! CREATE_CHILD_SA for CHILD SAs as responder (RFC 7296 §1.3.1, §1.3.3):
//! the peer's new CHILD SA (under the IKE SA's policy, or another policy
//! for the same peer and identities) or its rekey of one, answered once the
//! parent has installed it — a rekey's outbound SA only later, when the old
//! SA is deleted; a rekey crossing ours (§2.8.1) recorded for the nonce
//! decision; TEMPORARY_FAILURE and CHILD_SA_NOT_FOUND as §2.25 says. The
//! IKE SA's own rekey is ike_rekey.rs; our side of the exchange is
//! create_child.rs.

use std::sync::Arc;

use crate::ike::crypto::dh::KeyExchange;
use crate::ike::proposal::{Selected, select};
use crate::ike::wire::{
    ExchangeType, KePayload, Message, NotifyData, NotifyPayload, NotifyType, Payload, ProtocolId,
    SaPayload, TsRange,
};

use super::child::Fresh;
use super::create_child::{REKEYED_GRACE, ke_payload, nonce, notify};
use super::endpoint::Engine;
use super::io::{ChildSaKeys, Event, Now, Outputs, ParentRequest, SaId};
use super::lifecycle::{ChildState, Crossing, Life, ParentWait};
use super::policy::EnginePolicy;
use super::ts;

/// Responder: a CREATE_CHILD_SA answer waiting for the parent's install.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The request's message ID.
    mid: u32,
    /// The CHILD SA it rekeys (our inbound SPI).
    rekeys: Option<u32>,
    /// The policy.
    policy: Arc<EnginePolicy>,
    /// The keys (inbound SPI 0 until installed).
    keys: ChildSaKeys,
    /// The accepted proposal.
    chosen: Selected,
    /// Narrowed TSi and TSr.
    tsi: Vec<TsRange>,
    tsr: Vec<TsRange>,
    /// Our nonce.
    nr: Vec<u8>,
    /// Our KE payload (PFS).
    ke: Option<KePayload>,
    /// The peer's nonce.
    ni: Vec<u8>,
    /// It crossed our own rekey of the same CHILD SA (§2.8.1).
    crossing: bool,
}

fn temporary() -> NotifyPayload {
    NotifyPayload::flag(NotifyType::TEMPORARY_FAILURE)
}

/// The CHILD SA the peer's REKEY_SA names (by our outbound SPI `theirs`)
/// and its policy, or the notify that refuses the rekey (§2.25.1):
/// CHILD_SA_NOT_FOUND when there is none; TEMPORARY_FAILURE when it is
/// being deleted or already replaced, when our own rekey of it is being
/// installed (it is as good as replaced; the peer learns of that when we
/// delete it), or while the previous rekey of its policy settles.
fn rekey_target(
    sa: &super::sa::IkeSa,
    theirs: u32,
) -> Result<(u32, Arc<EnginePolicy>), (NotifyPayload, String)> {
    let Some(c) = sa.children.iter().find(|c| c.spi_out == theirs) else {
        let mut n = NotifyPayload::flag(NotifyType::CHILD_SA_NOT_FOUND);
        n.protocol = ProtocolId::ESP;
        n.spi = theirs.to_be_bytes().to_vec();
        return Err((n, format!("no CHILD SA {theirs:08x} to rekey")));
    };
    let spi = c.spi_in;
    let installing = sa
        .waits
        .iter()
        .any(|(_, w, _)| matches!(w, ParentWait::InstallOurs(_, ex) if ex.rekeys == Some(spi)));
    let why = if matches!(c.state, ChildState::Deleting | ChildState::Rekeyed { .. }) {
        format!("CHILD SA {spi:08x} is already replaced or being deleted")
    } else if installing {
        format!("CHILD SA {spi:08x} is already being replaced")
    } else if sa.policy_settling(&c.policy.name, spi) {
        format!("the previous rekey of CHILD SA {spi:08x}'s policy is still being completed")
    } else {
        return Ok((spi, c.policy.clone()));
    };
    Err((temporary(), why))
}

impl Engine {
    /// The peer's CREATE_CHILD_SA request: the IKE SA's rekey
    /// (ike_rekey.rs) or a CHILD SA's.
    pub(super) fn on_create_child_request(
        &mut self,
        id: SaId,
        d: &super::io::Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(m) = self.inbound(id, d, outer, now, out) else {
            return;
        };
        let Some(sa) = self.sas.get(&id) else { return };
        if !matches!(sa.state, super::sa::State::Established) {
            return;
        }
        let ike = m
            .find_map(|p| match p {
                Payload::Sa(s) => s.proposals.first().map(|p| p.protocol == ProtocolId::IKE),
                _ => None,
            })
            .unwrap_or(false);
        if ike {
            self.ike_rekey_request(id, m, now, out);
        } else {
            self.child_request(id, m, now, out);
        }
    }

    /// Answers the peer's request `mid` with just `kind` (and its data).
    pub(super) fn refuse_request(
        &mut self,
        id: SaId,
        mid: u32,
        n: NotifyPayload,
        why: &str,
        out: &mut Outputs,
    ) {
        if n.kind == NotifyType::TEMPORARY_FAILURE {
            self.rekeys.temporary_failures += 1;
        } else if n.kind == NotifyType::CHILD_SA_NOT_FOUND {
            self.rekeys.child_not_found += 1;
        }
        let Some(sa) = self.sas.get(&id) else { return };
        let line = format!("{}: CREATE_CHILD_SA refused: {:?}: {why}", sa.tag(), n.kind);
        let _ = self.answer(
            id,
            ExchangeType::CREATE_CHILD_SA,
            mid,
            &[Payload::Notify(n)],
            out,
        );
        out.events.push(Event::Info { sa: id, line });
    }

    /// Responder: the peer's CREATE_CHILD_SA for a CHILD SA.
    fn child_request(&mut self, id: SaId, m: Message, now: Now, out: &mut Outputs) {
        let mid = m.header.message_id;
        let Some(sa) = self.sas.get(&id) else { return };
        // §2.25.1: nothing new while the IKE SA is rekeyed or closed.
        if sa.life != Life::Active {
            let why = "the IKE SA is being rekeyed or deleted";
            return self.refuse_request(id, mid, temporary(), why, out);
        }
        let rekey = m
            .notify(NotifyType::REKEY_SA)
            .map(|n| <[u8; 4]>::try_from(n.spi.as_slice()).map_or(0, u32::from_be_bytes));
        let old = match rekey.map(|theirs| rekey_target(sa, theirs)) {
            None => None,
            Some(Ok(target)) => Some(target),
            Some(Err((n, why))) => return self.refuse_request(id, mid, n, &why, out),
        };
        // A new CHILD SA (not a rekey) beyond the cap: §3.10.1's
        // NO_ADDITIONAL_SAS. CHILD SAs being replaced do not count.
        let live = sa
            .children
            .iter()
            .filter(|c| matches!(c.state, ChildState::Installed | ChildState::Rekeying { .. }))
            .count()
            + sa.waits
                .iter()
                .filter(|(_, w, _)| matches!(w, ParentWait::InstallTheirs(_)))
                .count();
        if old.is_none() && live >= self.cfg.max_child_sas_per_ike {
            let why = format!(
                "the IKE SA has {live} CHILD SAs, dos.max_child_sas_per_ike is {}",
                self.cfg.max_child_sas_per_ike
            );
            let n = NotifyPayload::flag(NotifyType::NO_ADDITIONAL_SAS);
            return self.refuse_request(id, mid, n, &why, out);
        }
        let policy = match &old {
            Some((_, p)) => p.clone(),
            None => match self.policy_for_new_child(id, &m) {
                Ok(p) => p,
                Err((kind, why)) => {
                    return self.refuse_request(id, mid, NotifyPayload::flag(kind), &why, out);
                }
            },
        };
        let plan = self.plan_answer(id, &m, &policy, old.as_ref().map(|o| o.0));
        let ans = match plan {
            Ok(a) => a,
            Err(n) => {
                let why = match &n.data {
                    NotifyData::InvalidKe(g) => format!("the peer must use group {g}"),
                    _ => format!("policy \"{}\"", policy.name),
                };
                return self.refuse_request(id, mid, n, &why, out);
            }
        };
        let mut ans = ans;
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        // §2.8.1: the peer rekeys a CHILD SA we are rekeying too: answer
        // as usual and let the nonces decide once ours completes.
        if let Some((spi, _)) = &old
            && let Some(c) = sa.child_mut(*spi)
            && let ChildState::Rekeying { peer } = &mut c.state
        {
            ans.crossing = true;
            *peer = Some(Crossing {
                ni: ans.ni.clone(),
                nr: ans.nr.clone(),
                created: 0,
            });
        } else if let Some((spi, _)) = &old
            && let Some(c) = sa.child_mut(*spi)
            && c.state == ChildState::Installed
        {
            // Replaced from now on (the SPI of the new one is known once
            // the parent installed it): no rekey of ours starts meanwhile.
            c.state = ChildState::Rekeyed {
                by: 0,
                delete_at: now + REKEYED_GRACE,
            };
        }
        sa.in_progress.insert(mid);
        let request = self.next_request;
        self.next_request += 1;
        let child = Box::new(ans.keys.clone());
        // A rekey's outbound SA waits until the initiator deletes the old
        // CHILD SA: before that it may not have the new inbound one.
        let outbound = ans.rekeys.is_none();
        sa.wait_for_parent(request, ParentWait::InstallTheirs(Box::new(ans)), now);
        out.parent.push(ParentRequest::InstallChild {
            sa: id,
            request,
            child,
            outbound,
        });
    }

    /// Adds the outbound SA of CHILD SA `spi_in` of `sa` if it waits for
    /// that (the responder of a rekey).
    pub(super) fn activate(sa: &mut super::sa::IkeSa, id: SaId, spi_in: u32, out: &mut Outputs) {
        if let Some(c) = sa.child_mut(spi_in)
            && !c.outbound
        {
            c.outbound = true;
            out.events.push(Event::ChildOutbound { sa: id, spi_in });
        }
    }

    /// Responder: the policy a new CHILD SA from the peer falls under:
    /// the IKE SA's own, else another for the same peer and identity that
    /// authenticates peers as the IKE SA's does (same PSK or CA set: the
    /// parent's auth class) and whose selectors fit. A policy the peer did
    /// not authenticate for is never chosen (the parent refuses it too).
    fn policy_for_new_child(
        &self,
        id: SaId,
        m: &Message,
    ) -> Result<Arc<EnginePolicy>, (NotifyType, String)> {
        let sa = self
            .sas
            .get(&id)
            .ok_or((NotifyType::NO_PROPOSAL_CHOSEN, "gone".to_string()))?;
        let own = sa.policy.clone();
        let mut first_err = match self.narrow(id, m, &own) {
            Ok(_) => return Ok(own),
            Err(e) => e,
        };
        for p in &self.policies {
            if p.name == own.name
                || p.auth_class != own.auth_class
                || !p.remote.matches(sa.remote.ip())
                || p.remote_id
                    .as_ref()
                    .is_some_and(|r| Some(r) != sa.peer_id.as_ref())
            {
                continue;
            }
            match self.narrow(id, m, p) {
                Ok(_) => return Ok(p.clone()),
                Err(e) if first_err.0 != NotifyType::TS_UNACCEPTABLE => first_err = e,
                Err(_) => {}
            }
        }
        Err(first_err)
    }

    /// Responder: proposal, key exchange, selectors and keys of the CHILD
    /// SA we answer with, or the notify that refuses it.
    fn plan_answer(
        &mut self,
        id: SaId,
        m: &Message,
        policy: &Arc<EnginePolicy>,
        rekeys: Option<u32>,
    ) -> Result<Answer, NotifyPayload> {
        let no = |k| NotifyPayload::flag(k);
        let offer = m
            .find_map(|p| match p {
                Payload::Sa(s) => Some(s.proposals.clone()),
                _ => None,
            })
            .ok_or_else(|| no(NotifyType::INVALID_SYNTAX))?;
        let ni = nonce(m).ok_or_else(|| no(NotifyType::INVALID_SYNTAX))?;
        let chosen = select(&offer, &policy.esp).map_err(|_| no(NotifyType::NO_PROPOSAL_CHOSEN))?;
        let (ke, g_ir) = match chosen.ke {
            None => (None, None),
            Some(group) => {
                let theirs = ke_payload(m)
                    .filter(|k| k.group == group.id())
                    .ok_or_else(|| {
                        NotifyPayload::new(
                            NotifyType::INVALID_KE_PAYLOAD,
                            NotifyData::InvalidKe(group.id()),
                        )
                    })?;
                let ours =
                    KeyExchange::generate(group).map_err(|_| no(NotifyType::NO_PROPOSAL_CHOSEN))?;
                let g_ir = ours
                    .shared_secret(&theirs.data)
                    .map_err(|_| no(NotifyType::INVALID_SYNTAX))?;
                let payload = KePayload {
                    group: group.id(),
                    data: ours.public().to_vec(),
                };
                (Some(payload), Some(g_ir))
            }
        };
        let (tsi, tsr) = self.narrow(id, m, policy).map_err(|(k, _)| no(k))?;
        let transport = policy.transport && m.notify(NotifyType::USE_TRANSPORT_MODE).is_some();
        let nr = self.rng.bytes(32);
        let fresh = Fresh {
            ni: &ni,
            nr: &nr,
            g_ir: g_ir.as_deref().map(|v| &v[..]),
            we_initiated: false,
            policy: &policy.name,
        };
        let keys = self
            .child_keys(id, &chosen, 0, (&tsr, &tsi), transport, Some(fresh))
            .ok_or_else(|| no(NotifyType::NO_PROPOSAL_CHOSEN))?;
        Ok(Answer {
            mid: m.header.message_id,
            rekeys,
            policy: policy.clone(),
            keys,
            chosen,
            tsi,
            tsr,
            nr,
            ke,
            ni,
            crossing: false,
        })
    }

    /// Responder: the parent installed (or refused) the CHILD SA; the
    /// response goes out now.
    pub(super) fn their_child_installed(
        &mut self,
        id: SaId,
        ans: Answer,
        installed: Result<u32, String>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let tag = sa.tag();
        let spi_in = match installed {
            Ok(spi) => spi,
            Err(e) => {
                // A crossing rekey we recorded, or the replacement we
                // expected, did not happen after all.
                if let Some(c) = ans.rekeys.and_then(|s| sa.child_mut(s)) {
                    match &mut c.state {
                        ChildState::Rekeying { peer } => *peer = None,
                        ChildState::Rekeyed { by: 0, .. } => c.state = ChildState::Installed,
                        _ => {}
                    }
                }
                let why = format!("the kernel refused it: {e}");
                return self.refuse_request(
                    id,
                    ans.mid,
                    NotifyPayload::flag(NotifyType::NO_PROPOSAL_CHOSEN),
                    &why,
                    out,
                );
            }
        };
        let mut inner = Vec::new();
        if ans.keys.transport {
            inner.push(notify(NotifyType::USE_TRANSPORT_MODE));
        }
        inner.push(Payload::Sa(SaPayload {
            proposals: vec![ans.chosen.to_wire(spi_in.to_be_bytes().to_vec())],
        }));
        inner.push(Payload::Nonce(ans.nr.clone()));
        if let Some(k) = &ans.ke {
            inner.push(Payload::Ke(k.clone()));
        }
        inner.push(Payload::TsI(ts::payload(&ans.tsi)));
        inner.push(Payload::TsR(ts::payload(&ans.tsr)));
        let mut keys = ans.keys;
        keys.spi_in = spi_in;
        sa.add_child(&keys, ans.policy.clone(), now);
        if ans.rekeys.is_some()
            && let Some(c) = sa.child_mut(spi_in)
        {
            c.outbound = false;
        }
        if ans.rekeys.is_some() {
            self.rekeys.child_rekeys_answered += 1;
        }
        let what = match ans.rekeys {
            Some(old) => format!("rekeyed CHILD SA {old:08x} (peer initiated)"),
            None => "new CHILD SA (peer initiated)".to_string(),
        };
        if let Some(old) = ans.rekeys
            && let Some(c) = sa.child_mut(old)
        {
            match &mut c.state {
                ChildState::Rekeying { peer: Some(x) } => x.created = u64::from(spi_in),
                // We lost the collision before the parent installed this.
                ChildState::Rekeyed { by, .. } if *by == 0 => *by = spi_in,
                ChildState::Installed => {
                    c.state = ChildState::Rekeyed {
                        by: spi_in,
                        delete_at: now + REKEYED_GRACE,
                    }
                }
                _ => {}
            }
        }
        out.events.push(Event::Info {
            sa: id,
            line: format!("{tag}: {what}: {}", super::auth::child_line(&keys)),
        });
        // Our own crossing rekey completed (and won) while the parent
        // installed this one: the peer finds its rekey redundant, never
        // installs it and deletes it; it leaves here at once.
        let lost = ans.crossing
            && ans
                .rekeys
                .and_then(|old| sa.children.iter().find(|c| c.spi_in == old))
                .is_none_or(|c| c.state == ChildState::Deleting);
        out.events.push(Event::ChildEstablished(Box::new(keys)));
        if let Err(e) = self.answer(id, ExchangeType::CREATE_CHILD_SA, ans.mid, &inner, out) {
            let line = format!("{tag}: cannot seal the CREATE_CHILD_SA response: {e}");
            out.events.push(Event::Failed { sa: id, line });
        }
        if lost {
            self.forget_child(id, spi_in, "redundant after a rekey collision", out);
        }
    }
}
