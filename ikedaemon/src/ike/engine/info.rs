//! INFORMATIONAL exchanges (RFC 7296 §1.4): answering the peer's DELETE of
//! the IKE SA or of CHILD SAs and its liveness checks (empty requests), and
//! deleting our IKE SAs (`ikectl reset sa`, shutdown).

use crate::ike::wire::{DeletePayload, ExchangeType, Message, Payload, ProtocolId};

use super::endpoint::Engine;
use super::io::{Datagram, Event, Now, Outputs, SaId};
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
                // §1.4.1: answer with the SPIs of our halves of the pairs.
                let theirs = del.spis_u32();
                let mut ours = Vec::new();
                sa.children.retain(|c| {
                    if theirs.contains(&c.spi_out) {
                        ours.push(c.spi_in);
                        false
                    } else {
                        true
                    }
                });
                for spi in &ours {
                    out.events.push(Event::ChildDeleted {
                        sa: id,
                        spi_in: *spi,
                        reason: "deleted by the peer",
                    });
                }
                if !ours.is_empty() {
                    answer.push(Payload::Delete(DeletePayload::child(del.protocol, &ours)));
                }
            }
        }
        let mid = outer.header.message_id;
        let Ok(bytes) = sa.seal(
            ExchangeType::INFORMATIONAL,
            true,
            mid,
            &answer,
            self.rng.as_mut(),
        ) else {
            return;
        };
        self.respond(id, mid, bytes, out);
        if delete_ike {
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
        let Some(m) = self.inbound(id, d, outer, now, out) else {
            return;
        };
        if let Some(sa) = self.sas.get_mut(&id)
            && sa
                .pending
                .as_ref()
                .is_some_and(|p| p.message_id == m.header.message_id)
        {
            sa.pending = None;
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
    fn delete_where(&mut self, pick: impl Fn(&IkeSa) -> bool, reason: &str) -> (usize, Outputs) {
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
            .filter(|(_, sa)| matches!(sa.state, State::Established) && sa.pending.is_none())
            .filter(|(_, sa)| sa.policy.dpd.is_some_and(|iv| now >= sa.last_heard + iv))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.informational(id, &[], now, out);
        }
    }

    /// Sends our INFORMATIONAL request with `inner` payloads (retransmitted
    /// until answered).
    fn informational(&mut self, id: SaId, inner: &[Payload], now: Now, out: &mut Outputs) {
        let Some(sa) = self.sas.get(&id) else { return };
        let mid = sa.next_request_id;
        if let Ok(bytes) = sa.seal(
            ExchangeType::INFORMATIONAL,
            false,
            mid,
            inner,
            self.rng.as_mut(),
        ) {
            self.request(id, mid, bytes, now, out);
        }
    }

    /// Sends an INFORMATIONAL DELETE for the CHILD SA whose inbound SPI
    /// is `spi_in` (§1.4.1).
    pub(super) fn delete_child(&mut self, id: SaId, spi_in: u32, now: Now, out: &mut Outputs) {
        let inner = [Payload::Delete(DeletePayload::child(
            ProtocolId::ESP,
            &[spi_in],
        ))];
        self.informational(id, &inner, now, out);
    }

    /// Hard lifetimes (the policy's `lifetime.*.expire`): an expired IKE
    /// SA is deleted with its CHILD SAs; an expired CHILD SA is deleted
    /// with an INFORMATIONAL DELETE, one exchange at a time. Rekeying
    /// before expiry comes with CREATE_CHILD_SA.
    pub(super) fn expire(&mut self, now: Now, out: &mut Outputs) {
        let due = |t: Option<Now>| t.is_some_and(|t| t <= now);
        let (_, o) = self.delete_where(|sa| due(sa.expires_at), "its lifetime expired");
        out.send.extend(o.send);
        out.events.extend(o.events);
        let ids: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(_, sa)| sa.pending.is_none() && sa.children.iter().any(|c| due(c.expires_at)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(sa) = self.sas.get_mut(&id) else {
                continue;
            };
            let Some(i) = sa.children.iter().position(|c| due(c.expires_at)) else {
                continue;
            };
            let c = sa.children.remove(i);
            out.events.push(Event::ChildDeleted {
                sa: id,
                spi_in: c.spi_in,
                reason: "deleted: its lifetime expired",
            });
            self.delete_child(id, c.spi_in, now, out);
        }
    }

    /// The kernel reports that the CHILD SA with our inbound SPI `spi_in`
    /// reached a lifetime. Hard: the kernel deleted an SA of it, so it is
    /// deleted at the peer too. Soft: the IKE SA is recreated (see
    /// `recreate`). Returns a line naming the IKE SA and policy for a
    /// soft expiry; None when no CHILD SA has that SPI.
    pub fn child_expired(
        &mut self,
        spi_in: u32,
        hard: bool,
        now: Now,
    ) -> (Option<String>, Outputs) {
        let mut out = Outputs::default();
        let Some((&id, sa)) = self
            .sas
            .iter_mut()
            .find(|(_, sa)| sa.children.iter().any(|c| c.spi_in == spi_in))
        else {
            return (None, out);
        };
        if !hard {
            let line = self.recreate(id, spi_in, now, &mut out);
            return (Some(line), out);
        }
        sa.children.retain(|c| c.spi_in != spi_in);
        out.events.push(Event::ChildDeleted {
            sa: id,
            spi_in,
            reason: "deleted: its hard lifetime expired in the kernel",
        });
        self.delete_child(id, spi_in, now, &mut out);
        (None, out)
    }

    /// A CHILD SA of IKE SA `old` reached its soft lifetime. Until
    /// CREATE_CHILD_SA rekeying exists, the side that initiated the IKE
    /// SA recreates it: a new IKE SA with a new CHILD SA for the same
    /// policy, and the old one is deleted once the new CHILD SA is
    /// installed (make before break; its flows take over the traffic).
    /// The responder leaves it to the initiator. Returns the line to log.
    fn recreate(&mut self, old: SaId, spi_in: u32, now: Now, out: &mut Outputs) -> String {
        let Some(sa) = self.sas.get(&old) else {
            return String::new();
        };
        let head = format!(
            "IKE SA {old:016x} policy {}: CHILD SA {spi_in:08x} reached its soft lifetime in the kernel",
            sa.policy.name
        );
        if sa.role != super::sa::Role::Initiator {
            return format!("{head}; the peer initiated this IKE SA and recreates it");
        }
        if let Some((new, _)) = self.sas.iter().find(|(_, s)| s.replaces == Some(old)) {
            return format!("{head}; IKE SA {new:016x} is already replacing it");
        }
        let (policy, local) = (sa.policy.name.clone(), sa.local);
        let local = std::net::SocketAddr::new(local.ip(), self.cfg.ike_port);
        match self.start_initiator(&policy, local, now, out) {
            Some(new) => {
                if let Some(n) = self.sas.get_mut(&new) {
                    n.replaces = Some(old);
                }
                format!(
                    "{head}; recreating it (no CREATE_CHILD_SA rekeying yet): IKE SA {new:016x} replaces it once its CHILD SA is installed"
                )
            }
            None => format!("{head}; it cannot be recreated, it is deleted at its hard lifetime"),
        }
    }

    /// When the next SA or CHILD SA lifetime ends.
    pub(super) fn next_expiry(&self) -> Option<Now> {
        self.sas
            .values()
            .flat_map(|sa| {
                let children = sa.children.iter().filter_map(|c| c.expires_at);
                sa.expires_at.into_iter().chain(children)
            })
            .min()
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
            .filter(|sa| matches!(sa.state, State::Established) && sa.pending.is_none())
            .filter_map(|sa| {
                let iv = sa.policy.dpd?;
                Some(sa.last_heard + iv)
            })
            .min();
        [keepalive, dpd].into_iter().flatten().min()
    }
}
