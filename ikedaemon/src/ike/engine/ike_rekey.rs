//! Rekeying the IKE SA with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18) in
//! both roles: new SPIs and nonces, a fresh key exchange, SKEYSEED from the
//! old SK_d; the CHILD SAs move to the new IKE SA and the rekey's initiator
//! deletes the old one. Crossing rekeys are resolved by the lowest nonce
//! (§2.8.2): the redundant new IKE SA is deleted by its initiator and the
//! CHILD SAs go to the survivor. A rekey request is refused with
//! TEMPORARY_FAILURE while CHILD SAs are being created, rekeyed or deleted,
//! or while the IKE SA is already replaced or being closed (§2.25).

use crate::ike::crypto::dh::KeyExchange;
use crate::ike::crypto::keys::{IkeKeys, skeyseed_rekey};
use crate::ike::proposal::{Selected, accept_answer, select};
use crate::ike::wire::{
    ExchangeType, KePayload, Message, NotifyData, NotifyPayload, NotifyType, Payload, SaPayload,
};

use super::create_child::{REKEYED_GRACE, ke_payload, nonce};
use super::endpoint::Engine;
use super::io::{Event, Now, Outputs, SaId};
use super::lifecycle::{Crossing, IkeRekeyOut, Life, Purpose, Work};
use super::sa::{IkeSa, Role};

/// The responder's plan for the peer's IKE SA rekey: the accepted
/// proposal, our key exchange, the peer's nonce and its new SPI.
/// The responder's plan for the peer's IKE SA rekey: the accepted
/// proposal, our key exchange, the peer's KE payload, its nonce and its
/// new SPI.
type RekeyPlan = (Selected, KeyExchange, KePayload, Vec<u8>, u64);

fn spi64(b: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(b)
        .ok()
        .map(u64::from_be_bytes)
        .filter(|s| *s != 0)
}

/// The new IKE SA's keys: SKEYSEED = prf(SK_d old, g^ir new | Ni | Nr)
/// with the old PRF, then the seven keys with the new algorithms.
fn rekeyed_keys(
    old: &IkeSa,
    chosen: &Selected,
    g_ir: &[u8],
    (ni, nr): (&[u8], &[u8]),
    (spi_i, spi_r): (u64, u64),
) -> Result<IkeKeys, String> {
    let old_prf = old.chosen.as_ref().and_then(|c| c.prf).ok_or("no PRF")?;
    let old_keys = old.keys.as_ref().ok_or("no keys")?;
    let (Some(encr), Some(prf)) = (chosen.encr, chosen.prf) else {
        return Err("no encryption or PRF selected".into());
    };
    let seed = skeyseed_rekey(old_prf, &old_keys.sk_d, g_ir, ni, nr).map_err(|e| e.to_string())?;
    IkeKeys::derive(
        prf,
        &seed,
        ni,
        nr,
        &spi_i.to_be_bytes(),
        &spi_r.to_be_bytes(),
        encr,
        chosen.integ,
    )
    .map_err(|e| e.to_string())
}

impl Engine {
    /// The IKE SA that replaces `old`, established, without CHILD SAs
    /// (they move once it is decided which new IKE SA survives).
    #[allow(clippy::too_many_arguments)]
    fn successor(
        &mut self,
        old: SaId,
        role: Role,
        spis: (u64, u64),
        chosen: Selected,
        keys: IkeKeys,
        (ni, nr): (Vec<u8>, Vec<u8>),
        now: Now,
    ) -> Result<SaId, String> {
        let o = self.sas.get(&old).ok_or("gone")?;
        let encr = chosen.encr.ok_or("no encryption")?;
        let (out_c, in_c) = keys
            .sk_ciphers(encr, chosen.integ, role == Role::Initiator)
            .map_err(|e| e.to_string())?;
        let mut sa = IkeSa::new(role, spis, (o.local, o.remote), o.policy.clone(), ni, now);
        sa.nr = nr;
        sa.natt = o.natt;
        sa.nat = o.nat;
        sa.behind_nat = o.behind_nat;
        sa.peer_id = o.peer_id.clone();
        sa.peer_hashes = o.peer_hashes.clone();
        sa.peer_childless = o.peer_childless;
        sa.frag_size = o.frag_size;
        sa.peer_window = o.peer_window;
        sa.keys = Some(keys);
        sa.out = Some(out_c);
        sa.inb = Some(in_c);
        sa.chosen = Some(chosen);
        sa.established(now, self.rng.as_mut());
        sa.reauth_at = o.reauth_at;
        let id = sa.our_spi();
        if role == Role::Responder {
            self.by_initiator.insert((sa.spi_i, sa.remote.ip()), id);
        }
        self.sas.insert(id, sa);
        Ok(id)
    }

    /// Moves the CHILD SAs (and the work for them) from IKE SA `old` to
    /// `new`, and tells the parent.
    pub(super) fn move_children(&mut self, old: SaId, new: SaId, out: &mut Outputs) {
        if old == new || !self.sas.contains_key(&new) {
            return;
        }
        let Some(o) = self.sas.get_mut(&old) else {
            return;
        };
        let children = std::mem::take(&mut o.children);
        // Work on the IKE SA itself stays; CHILD work moves.
        let (stay, work): (Vec<Work>, Vec<Work>) = o
            .work
            .drain(..)
            .partition(|w| matches!(w, Work::DeleteIke | Work::RekeyIke));
        o.work.extend(stay);
        if let Some(n) = self.sas.get_mut(&new) {
            n.children.extend(children);
            n.work.extend(work);
            if n.life == Life::Provisional {
                n.life = Life::Active;
            }
        }
        out.events.push(Event::IkeRekeyed { old, new });
    }

    /// The peer sent a request on IKE SA `id`, made by its rekey that
    /// crossed ours: the peer uses it, so its rekey won (or ours failed at
    /// its end). The CHILD SAs move to it now, and the old IKE SA waits
    /// for the peer's DELETE; our own new IKE SA is deleted when its
    /// answer comes.
    pub(super) fn promote(&mut self, id: SaId, now: Now, out: &mut Outputs) {
        if self
            .sas
            .get(&id)
            .is_none_or(|sa| sa.life != Life::Provisional)
        {
            return;
        }
        let old = self.sas.iter().find_map(|(o, sa)| match &sa.life {
            Life::Rekeying { peer: Some(x) } if x.created == id => Some(*o),
            _ => None,
        });
        let Some(old) = old else {
            if let Some(sa) = self.sas.get_mut(&id) {
                sa.life = Life::Active;
            }
            return;
        };
        if let Some(o) = self.sas.get_mut(&old) {
            o.life = Life::Rekeyed {
                by: id,
                delete_at: now + REKEYED_GRACE,
            };
        }
        self.move_children(old, id, out);
    }

    /// A fresh SPI for a new IKE SA, unused by any of ours.
    fn new_ike_spi(&mut self) -> SaId {
        loop {
            let spi = self.rng.nonzero_u64();
            if !self.sas.contains_key(&spi) {
                return spi;
            }
        }
    }

    /// Initiator: sends our IKE SA rekey request (the caller checked that
    /// no other exchange is under way) with a KE of `group`, or of the
    /// group the IKE SA negotiated; a crossing rekey already recorded
    /// stays recorded.
    pub(super) fn send_ike_rekey(
        &mut self,
        id: SaId,
        group: Option<crate::ike::crypto::dh::DhGroup>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let group = group.or_else(|| {
            sa.chosen
                .as_ref()
                .and_then(|c| c.ke)
                .or_else(|| sa.policy.ike.first().and_then(|c| c.ke.first().copied()))
        });
        let Some(group) = group else { return };
        let ke = match KeyExchange::generate(group) {
            Ok(k) => k,
            Err(e) => {
                let line = format!("{}: IKE SA rekey: key exchange: {e}", sa.tag());
                out.events.push(Event::Failed { sa: id, line });
                return;
            }
        };
        let spi = self.new_ike_spi();
        let ni = self.rng.bytes(32);
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let proposals: Vec<_> = sa
            .policy
            .ike
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.to_wire(
                    u8::try_from(i + 1).unwrap_or(u8::MAX),
                    spi.to_be_bytes().to_vec(),
                )
            })
            .collect();
        let inner = [
            Payload::Sa(SaPayload {
                proposals: proposals.clone(),
            }),
            Payload::Nonce(ni.clone()),
            Payload::Ke(KePayload {
                group: group.id(),
                data: ke.public().to_vec(),
            }),
        ];
        if sa.life == Life::Active {
            sa.life = Life::Rekeying { peer: None };
        }
        let r = IkeRekeyOut {
            spi,
            ni,
            ke,
            proposals,
        };
        let purpose = Purpose::IkeRekey(Box::new(r));
        if self
            .send_request(id, ExchangeType::CREATE_CHILD_SA, &inner, purpose, now, out)
            .is_err()
            && let Some(sa) = self.sas.get_mut(&id)
            && sa.life == (Life::Rekeying { peer: None })
        {
            sa.life = Life::Active;
        }
    }

    /// Initiator: the answer to our IKE SA rekey.
    pub(super) fn ike_rekey_response(
        &mut self,
        id: SaId,
        m: &Message,
        r: IkeRekeyOut,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let tag = sa.tag();
        let made = self
            .rekey_answer(id, m, &r)
            .and_then(|(chosen, keys, spi_r, nr)| {
                self.successor(
                    id,
                    Role::Initiator,
                    (r.spi, spi_r),
                    chosen,
                    keys,
                    (r.ni.clone(), nr.clone()),
                    now,
                )
                .map(|new| (new, nr))
            });
        let (new, nr) = match made {
            Ok(x) => x,
            Err(why) => {
                // The peer wants another group of our proposals: asked
                // again at once with a KE of that group, once.
                let offered: Vec<crate::ike::crypto::dh::DhGroup> = self
                    .sas
                    .get(&id)
                    .map(|sa| {
                        sa.policy
                            .ike
                            .iter()
                            .flat_map(|c| c.ke.iter().copied())
                            .collect()
                    })
                    .unwrap_or_default();
                let first_try = self
                    .sas
                    .get(&id)
                    .and_then(|sa| sa.chosen.as_ref().and_then(|c| c.ke))
                    .is_none_or(|ours| ours == r.ke.group());
                if let Some(g) = super::create_child::wanted_group(m, &offered)
                    && first_try
                    && g != r.ke.group()
                    && self
                        .sas
                        .get(&id)
                        .is_some_and(|sa| matches!(sa.life, Life::Rekeying { .. }))
                {
                    out.events.push(Event::Info {
                        sa: id,
                        line: format!(
                            "{tag}: the peer wants group {} for the IKE SA rekey; asking again",
                            g.name()
                        ),
                    });
                    return self.send_ike_rekey(id, Some(g), now, out);
                }
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{tag}: IKE SA rekey refused: {why}"),
                });
                return self.ike_rekey_failed(id, now, out);
            }
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let crossing = match std::mem::replace(&mut sa.life, Life::Active) {
            Life::Rekeying { peer } => peer,
            other => {
                // The peer's crossing rekey was promoted meanwhile (the
                // peer uses its new IKE SA): ours is redundant.
                sa.life = other;
                self.rekeys.ike_collisions += 1;
                if let Some(n) = self.sas.get_mut(&new) {
                    n.life = Life::Deleting;
                    n.work.push_back(Work::DeleteIke);
                }
                let line = format!(
                    "{tag}: IKE SA rekey collision: the peer's new IKE SA is in use; ours ({new:016x}) is deleted"
                );
                out.events.push(Event::Info { sa: id, line });
                return;
            }
        };
        if crossing.is_some() {
            self.rekeys.ike_collisions += 1;
        }
        let line = match crossing {
            Some(x) if x.ours_is_redundant((&r.ni, &nr)) => {
                // §2.8.2: ours used the lowest nonce: we delete it; the
                // peer's new IKE SA takes the CHILD SAs and the peer
                // deletes the old one.
                let theirs = x.created;
                sa.life = Life::Rekeyed {
                    by: theirs,
                    delete_at: now + REKEYED_GRACE,
                };
                self.move_children(id, theirs, out);
                if let Some(n) = self.sas.get_mut(&new) {
                    n.life = Life::Deleting;
                    n.work.push_back(Work::DeleteIke);
                }
                format!(
                    "{tag}: IKE SA rekey collision: ours ({new:016x}) has the lowest nonce and is deleted, {theirs:016x} replaces this one"
                )
            }
            crossing => {
                self.rekeys.ike_rekeys += 1;
                sa.life = Life::Deleting;
                sa.work.push_back(Work::DeleteIke);
                self.move_children(id, new, out);
                // The peer's duplicate is the peer's to delete; should our
                // DELETE of the old IKE SA reach the peer before our
                // answer did, it never learns of it: then we do.
                if let Some(x) = &crossing
                    && let Some(dup) = self.sas.get_mut(&x.created)
                {
                    dup.life = Life::Rekeyed {
                        by: new,
                        delete_at: now + REKEYED_GRACE,
                    };
                }
                format!(
                    "{tag}: IKE SA rekeyed{}, now {new:016x}",
                    if crossing.is_some() {
                        " (collision won, the peer deletes its duplicate)"
                    } else {
                        ""
                    }
                )
            }
        };
        out.events.push(Event::Info { sa: id, line });
    }

    /// Initiator: checks the responder's answer and derives the keys:
    /// (accepted proposal, keys, the peer's new SPI, its nonce).
    fn rekey_answer(
        &self,
        id: SaId,
        m: &Message,
        r: &IkeRekeyOut,
    ) -> Result<(Selected, IkeKeys, u64, Vec<u8>), String> {
        let sa = self.sas.get(&id).ok_or("gone")?;
        let answer = m
            .find_map(|p| match p {
                Payload::Sa(s) => Some(s.proposals.clone()),
                _ => None,
            })
            .ok_or_else(|| {
                Self::error_notify(&m.payloads)
                    .map_or("no SA payload".to_string(), |k| format!("{k:?}"))
            })?;
        let chosen = accept_answer(&r.proposals, &answer)?;
        let spi_r = spi64(&chosen.peer_spi).ok_or("the responder's new SPI is not 8 bytes")?;
        let nr = nonce(m).ok_or("no valid nonce")?;
        if chosen.ke != Some(r.ke.group()) {
            return Err("the responder picked another key exchange than ours".into());
        }
        let theirs = ke_payload(m)
            .filter(|k| k.group == r.ke.group().id())
            .ok_or("no KE payload of our group")?;
        let g_ir =
            r.ke.shared_secret(&theirs.data)
                .map_err(|e| e.to_string())?;
        let keys = rekeyed_keys(sa, &chosen, &g_ir, (&r.ni, &nr), (r.spi, spi_r))?;
        Ok((chosen, keys, spi_r, nr))
    }

    /// Initiator: our IKE SA rekey failed; a crossing rekey of the peer's
    /// (answered by us) stands, else we try again later.
    fn ike_rekey_failed(&mut self, id: SaId, now: Now, out: &mut Outputs) {
        let delay = self.retry_delay();
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        match std::mem::replace(&mut sa.life, Life::Active) {
            Life::Rekeying { peer: Some(x) } => {
                sa.life = Life::Rekeyed {
                    by: x.created,
                    delete_at: now + REKEYED_GRACE,
                };
                self.move_children(id, x.created, out);
            }
            Life::Rekeying { peer: None } => sa.rekey_at = Some(now + delay),
            other => sa.life = other,
        }
    }

    /// Responder: the peer's rekey of the IKE SA.
    pub(super) fn ike_rekey_request(&mut self, id: SaId, m: Message, now: Now, out: &mut Outputs) {
        let mid = m.header.message_id;
        let Some(sa) = self.sas.get(&id) else { return };
        let temporary = || NotifyPayload::flag(NotifyType::TEMPORARY_FAILURE);
        if matches!(sa.life, Life::Rekeyed { .. } | Life::Deleting) {
            return self.refuse_request(
                id,
                mid,
                temporary(),
                "the IKE SA is already replaced or being deleted",
                out,
            );
        }
        if sa.life == Life::Provisional {
            return self.refuse_request(
                id,
                mid,
                temporary(),
                "this IKE SA's own rekey is not decided yet",
                out,
            );
        }
        if sa.child_work_under_way(Some(mid)) {
            return self.refuse_request(
                id,
                mid,
                temporary(),
                "CHILD SAs are being created, rekeyed or deleted",
                out,
            );
        }
        let plan = self.plan_ike_answer(id, &m);
        let (chosen, our_ke, theirs, ni, spi_i) = match plan {
            Ok(p) => p,
            Err((n, why)) => return self.refuse_request(id, mid, n, &why, out),
        };
        let spi_r = self.new_ike_spi();
        let nr = self.rng.bytes(32);
        let made = our_ke
            .shared_secret(&theirs.data)
            .map_err(|e| e.to_string())
            .and_then(|g_ir| {
                let sa = self.sas.get(&id).ok_or("gone")?;
                rekeyed_keys(sa, &chosen, &g_ir, (&ni, &nr), (spi_i, spi_r))
            })
            .and_then(|keys| {
                self.successor(
                    id,
                    Role::Responder,
                    (spi_i, spi_r),
                    chosen.clone(),
                    keys,
                    (ni.clone(), nr.clone()),
                    now,
                )
            });
        let new = match made {
            Ok(n) => n,
            Err(why) => {
                return self.refuse_request(
                    id,
                    mid,
                    NotifyPayload::flag(NotifyType::NO_PROPOSAL_CHOSEN),
                    &why,
                    out,
                );
            }
        };
        let inner = [
            Payload::Sa(SaPayload {
                proposals: vec![chosen.to_wire(spi_r.to_be_bytes().to_vec())],
            }),
            Payload::Nonce(nr.clone()),
            Payload::Ke(KePayload {
                group: our_ke.group().id(),
                data: our_ke.public().to_vec(),
            }),
        ];
        self.rekeys.ike_rekeys_answered += 1;
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let tag = sa.tag();
        let line = match &mut sa.life {
            Life::Rekeying { peer } => {
                // §2.8.2: both rekey at once: the nonces decide when ours
                // completes.
                *peer = Some(Crossing {
                    ni,
                    nr,
                    created: new,
                });
                if let Some(n) = self.sas.get_mut(&new) {
                    n.life = Life::Provisional;
                }
                format!(
                    "{tag}: the peer rekeys the IKE SA while we do ({new:016x}); the nonces decide"
                )
            }
            _ => {
                sa.life = Life::Rekeyed {
                    by: new,
                    delete_at: now + REKEYED_GRACE,
                };
                self.move_children(id, new, out);
                format!("{tag}: IKE SA rekeyed by the peer, now {new:016x}")
            }
        };
        out.events.push(Event::Info { sa: id, line });
        let _ = self.answer(id, ExchangeType::CREATE_CHILD_SA, mid, &inner, out);
    }

    /// Responder: the accepted proposal, our key exchange, the peer's
    /// nonce and new SPI, or the notify that refuses the rekey.
    fn plan_ike_answer(&self, id: SaId, m: &Message) -> Result<RekeyPlan, (NotifyPayload, String)> {
        let sa = self.sas.get(&id).ok_or((
            NotifyPayload::flag(NotifyType::NO_PROPOSAL_CHOSEN),
            "gone".to_string(),
        ))?;
        let syntax = |why: &str| {
            (
                NotifyPayload::flag(NotifyType::INVALID_SYNTAX),
                why.to_string(),
            )
        };
        let offer = m
            .find_map(|p| match p {
                Payload::Sa(s) => Some(s.proposals.clone()),
                _ => None,
            })
            .ok_or_else(|| syntax("no SA payload"))?;
        let chosen = select(&offer, &sa.policy.ike).map_err(|e| {
            (
                NotifyPayload::flag(NotifyType::NO_PROPOSAL_CHOSEN),
                e.to_string(),
            )
        })?;
        let spi_i = spi64(&chosen.peer_spi).ok_or_else(|| syntax("the new SPI is not 8 bytes"))?;
        let ni = nonce(m).ok_or_else(|| syntax("no valid nonce"))?;
        let group = chosen.ke.ok_or_else(|| syntax("no key exchange"))?;
        let Some(theirs) = ke_payload(m).filter(|k| k.group == group.id()) else {
            return Err((
                NotifyPayload::new(
                    NotifyType::INVALID_KE_PAYLOAD,
                    NotifyData::InvalidKe(group.id()),
                ),
                format!("the peer must use group {}", group.name()),
            ));
        };
        let ke = KeyExchange::generate(group).map_err(|e| {
            (
                NotifyPayload::flag(NotifyType::NO_PROPOSAL_CHOSEN),
                e.to_string(),
            )
        })?;
        Ok((chosen, ke, theirs, ni, spi_i))
    }
}
