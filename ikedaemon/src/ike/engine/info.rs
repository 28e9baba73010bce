//! INFORMATIONAL exchanges (RFC 7296 §1.4): answering the peer's DELETE of
//! the IKE SA or of CHILD SAs and its liveness checks (empty requests), and
//! deleting our IKE SAs (`ikectl reset sa`, shutdown).

use crate::ike::wire::{DeletePayload, ExchangeType, Payload, ProtocolId};

use super::endpoint::Engine;
use super::io::{Datagram, Event, Now, Outputs, SaId};
use super::sa::State;

impl Engine {
    /// The peer's INFORMATIONAL request.
    pub(super) fn on_info_request(&mut self, id: SaId, d: &Datagram, _now: Now, out: &mut Outputs) {
        let Some(m) = self.inbound(id, d, out) else {
            return;
        };
        let outer = m.clone();
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
                sa.children.retain(|(spi_in, spi_out)| {
                    if theirs.contains(spi_out) {
                        ours.push(*spi_in);
                        false
                    } else {
                        true
                    }
                });
                for spi in &ours {
                    out.events.push(Event::ChildDeleted {
                        sa: id,
                        spi_in: *spi,
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
        _now: Now,
        _out: &mut Outputs,
    ) {
        let Some(m) = self.inbound(id, d, _out) else {
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
    pub fn delete_all(&mut self, now: Now) -> (usize, Outputs) {
        let mut out = Outputs::default();
        let ids: Vec<SaId> = self.sas.keys().copied().collect();
        let mut n = 0;
        for id in ids {
            let Some(sa) = self.sas.get(&id) else {
                continue;
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
            let _ = now;
            self.remove(id, "deleted by request", &mut out);
            n += 1;
        }
        self.by_initiator.clear();
        (n, out)
    }
}
