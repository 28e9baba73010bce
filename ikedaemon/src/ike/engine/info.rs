//! INFORMATIONAL exchanges (RFC 7296 §1.4): answering the peer's DELETE of
//! the IKE SA or of CHILD SAs (also when it crosses ours or a rekey,
//! §2.25) and its liveness checks (empty requests), our DELETEs and DPD,
//! and deleting our IKE SAs at once (`ikectl reset sa`, shutdown).

use crate::ike::wire::{DeletePayload, ExchangeType, Message, Payload, ProtocolId};

use super::endpoint::Engine;
use super::io::{Datagram, Event, Now, Outputs, SaId};
use super::lifecycle::{ChildState, Life, Purpose};
use super::sa::{IkeSa, State};

/// NAT keepalive interval (RFC 3948 §4 suggests 20 seconds).
pub(super) const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(20);

impl Engine {
    /// The peer's INFORMATIONAL request.
    pub(super) fn on_info_request(
        &mut self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(m) = self.inbound(id, d, outer, now, out) else {
            return;
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if !matches!(sa.state, State::Established) {
            return;
        }
        let tag = sa.tag();
        let mut answer = Vec::new();
        let mut delete_ike = false;
        for p in &m.payloads {
            let Payload::Delete(del) = p else { continue };
            if del.protocol == ProtocolId::IKE {
                delete_ike = true;
            } else if del.protocol == ProtocolId::ESP || del.protocol == ProtocolId::AH {
                // §1.4.1: answer with the SPIs of our halves of the pairs,
                // except those we are deleting ourselves (the requests
                // crossed: each side's response names none of them).
                let theirs = del.spis_u32();
                let mut ours = Vec::new();
                let mut successors = Vec::new();
                let mut superseded = Vec::new();
                let mut gone = Vec::new();
                sa.children.retain(|c| {
                    if !theirs.contains(&c.spi_out) {
                        return true;
                    }
                    if c.state != ChildState::Deleting {
                        ours.push(c.spi_in);
                    }
                    // The peer's rekey replaced it: the peer has the new
                    // inbound SA, so our outbound one may go in now.
                    match &c.state {
                        ChildState::Rekeyed { by, .. } => successors.push(*by),
                        ChildState::Rekeying { peer: Some(x) } => {
                            let by = x.child_spi();
                            successors.push(by);
                            superseded.push((c.spi_in, by));
                        }
                        _ => {}
                    }
                    gone.push(c.spi_in);
                    false
                });
                if !ours.is_empty() {
                    answer.push(Payload::Delete(DeletePayload::child(del.protocol, &ours)));
                }
                // The new outbound SA goes in before the old one leaves,
                // so that the kernel always has one to send with.
                for spi in successors {
                    Self::activate(sa, id, spi, out);
                }
                for spi_in in gone {
                    out.events.push(Event::ChildDeleted {
                        sa: id,
                        spi_in,
                        reason: "deleted by the peer",
                    });
                }
                for (old, by) in superseded {
                    Self::supersede(sa, old, by);
                }
            }
        }
        let mid = outer.header.message_id;
        if self
            .answer(id, ExchangeType::INFORMATIONAL, mid, &answer, out)
            .is_err()
        {
            return;
        }
        if delete_ike {
            // §2.25.2: a DELETE crossing our rekey of this IKE SA wins;
            // if we answered the peer's own rekey, its new IKE SA is the
            // one that lives on and takes the CHILD SAs.
            if let Some(sa) = self.sas.get(&id)
                && let Life::Rekeying { peer: Some(c) } = &sa.life
            {
                let new = c.created;
                self.move_children(id, new, out);
            }
            crate::log_verbose!("{tag}: deleted by the peer");
            self.remove(id, "deleted by the peer", out);
        }
    }

    /// The answer to one of our INFORMATIONAL requests.
    pub(super) fn on_info_response(
        &mut self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some((_, p)) = self.response(id, d, outer, now, out) else {
            return;
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        match p.purpose {
            Purpose::DeleteChildren(spis) => {
                sa.children.retain(|c| {
                    if !spis.contains(&c.spi_in) {
                        return true;
                    }
                    out.events.push(Event::ChildDeleted {
                        sa: id,
                        spi_in: c.spi_in,
                        reason: c.delete_reason,
                    });
                    false
                });
            }
            Purpose::DeleteIke => self.remove(id, "deleted", out),
            _ => {}
        }
    }

    /// Deletes every established IKE SA: sends each peer a DELETE and
    /// forgets the SA (the peer's answer, if any, finds nothing). Returns
    /// how many.
    pub fn delete_all(&mut self) -> (usize, Outputs) {
        self.delete_where(|_| true, "deleted by request")
    }

    /// Deletes the IKE SAs of policy `target`, or the one with `target`
    /// as either SPI (hex, as `show sa` prints it, or both halves
    /// `spi_i:spi_r`). Returns how many.
    pub fn terminate(&mut self, target: &str) -> (usize, Outputs) {
        let spi = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
        let (a, b) = match target.split_once(':') {
            Some((i, r)) => (spi(i), spi(r)),
            None => (spi(target), None),
        };
        let picked = |sa: &IkeSa| {
            sa.policy.name == target
                || match (a, b) {
                    (Some(i), Some(r)) => sa.spi_i == i && sa.spi_r == r,
                    (Some(x), None) => x != 0 && (sa.spi_i == x || sa.spi_r == x),
                    _ => false,
                }
        };
        self.delete_where(picked, "deleted by request")
    }

    /// Sends a DELETE (not retransmitted: the SA is gone at once) for each
    /// established SA `pick` chooses and forgets them, saying `reason`.
    pub(super) fn delete_where(
        &mut self,
        pick: impl Fn(&IkeSa) -> bool,
        reason: &str,
    ) -> (usize, Outputs) {
        let mut out = Outputs::default();
        let ids: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(_, sa)| pick(sa))
            .map(|(id, _)| *id)
            .collect();
        let n = ids.len();
        for id in ids {
            self.delete_ike(id, reason, &mut out);
        }
        (n, out)
    }

    /// Sends a DELETE for IKE SA `id` if it is established (not
    /// retransmitted: the SA is gone at once) and forgets it.
    pub(super) fn delete_ike(&mut self, id: SaId, reason: &str, out: &mut Outputs) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        if matches!(sa.state, State::Established) {
            let mid = sa.next_request_id;
            let inner = [Payload::Delete(DeletePayload::ike())];
            if let Ok(bytes) = sa.seal(
                ExchangeType::INFORMATIONAL,
                false,
                mid,
                &inner,
                self.rng.as_mut(),
            ) {
                out.send.extend(bytes.into_iter().map(|b| sa.datagram(b)));
            }
        }
        self.remove(id, reason, out);
    }
}

impl Engine {
    /// INITIAL_CONTACT (RFC 7296 §2.4): forgets every other IKE SA of
    /// `policy` with the same authenticated peer identity.
    pub(super) fn forget_others(
        &mut self,
        keep: SaId,
        policy: &str,
        peer_id: Option<&crate::ike::wire::Identification>,
        out: &mut Outputs,
    ) {
        let Some(peer_id) = peer_id else { return };
        let stale: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(id, sa)| {
                **id != keep && sa.policy.name == policy && sa.peer_id.as_ref() == Some(peer_id)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.remove(id, "replaced: the peer sent INITIAL_CONTACT", out);
        }
    }

    /// DPD (RFC 7296 §2.4): an empty INFORMATIONAL request to every
    /// established IKE SA whose peer has been silent for its policy's
    /// interval; the retransmission limit then deletes a dead peer's SA.
    pub(super) fn liveness(&mut self, now: Now, out: &mut Outputs) {
        let due: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(_, sa)| matches!(sa.state, State::Established) && sa.requests.is_empty())
            .filter(|(_, sa)| sa.policy.dpd.is_some_and(|iv| now >= sa.last_heard + iv))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.informational(id, &[], Purpose::Dpd, now, out);
        }
    }

    /// Sends our INFORMATIONAL request with `inner` payloads (retransmitted
    /// until answered); the caller checked the window.
    pub(super) fn informational(
        &mut self,
        id: SaId,
        inner: &[Payload],
        purpose: Purpose,
        now: Now,
        out: &mut Outputs,
    ) {
        let _ = self.send_request(id, ExchangeType::INFORMATIONAL, inner, purpose, now, out);
    }

    /// Deletes the CHILD SAs with these inbound SPIs (§1.4.1): they are
    /// marked as being deleted and an INFORMATIONAL DELETE goes out when
    /// the window allows; they leave the kernel when it is answered.
    pub(super) fn delete_children(&mut self, id: SaId, spis: Vec<u32>, why: &'static str) {
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.delete_children(spis, why);
        }
    }

    /// NAT keepalives (RFC 3948 §4) from the side behind the NAT, every
    /// `KEEPALIVE` on established IKE SAs.
    pub(super) fn keepalives(&mut self, now: Now, out: &mut Outputs) {
        for sa in self.sas.values_mut() {
            if !(sa.behind_nat && sa.natt && matches!(sa.state, State::Established)) {
                continue;
            }
            if sa.keepalive_at.is_some_and(|t| t <= now) {
                out.send.push(sa.datagram(vec![0xff]));
                sa.keepalive_at = Some(now + KEEPALIVE);
            }
        }
    }

    /// When the next liveness check is due.
    pub(super) fn next_liveness(&self) -> Option<Now> {
        let keepalive = self.sas.values().filter_map(|sa| sa.keepalive_at).min();
        let dpd = self
            .sas
            .values()
            .filter(|sa| matches!(sa.state, State::Established) && sa.requests.is_empty())
            .filter_map(|sa| {
                let iv = sa.policy.dpd?;
                Some(sa.last_heard + iv)
            })
            .min();
        [keepalive, dpd].into_iter().flatten().min()
    }
}
