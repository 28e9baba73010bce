//! Starting the exchanges an IKE SA has queued (rekeys, new CHILD SAs,
//! deletes) when its state and the peer's window (RFC 7296 §2.3) allow:
//! one place decides what may run alongside what.

use super::endpoint::Engine;
use super::io::{Now, Outputs, SaId};
use super::lifecycle::{ChildState, Life, Purpose, Work};
use super::sa::State;
use crate::ike::wire::{DeletePayload, Payload, ProtocolId};

impl Engine {
    /// Starts what every IKE SA with queued work can start now (work moves
    /// between IKE SAs with a rekey, so not only the SA an input was for).
    pub(super) fn pump_all(&mut self, now: Now, out: &mut Outputs) {
        let ids: Vec<SaId> = self
            .sas
            .iter()
            .filter(|(_, sa)| !sa.work.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.pump_work(id, now, out);
        }
    }

    /// Starts what IKE SA `id` can start now; the rest waits.
    pub(super) fn pump_work(&mut self, id: SaId, now: Now, out: &mut Outputs) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if !matches!(sa.state, State::Established) {
            return;
        }
        let items: Vec<Work> = sa.work.drain(..).collect();
        let mut waiting = std::collections::VecDeque::new();
        for w in items {
            if let Some(w) = self.start_work(id, w, now, out) {
                waiting.push_back(w);
            }
        }
        if let Some(sa) = self.sas.get_mut(&id) {
            // Work added while starting (none today) comes after.
            waiting.extend(sa.work.drain(..));
            sa.work = waiting;
        }
    }

    /// Starts `w`, or hands it back when it has to wait.
    fn start_work(&mut self, id: SaId, w: Work, now: Now, out: &mut Outputs) -> Option<Work> {
        let sa = self.sas.get_mut(&id)?;
        let life = sa.life.clone();
        match w {
            // Our DELETE of the IKE SA: everything else is moot.
            Work::DeleteIke => {
                if !sa.window_open() {
                    return Some(w);
                }
                sa.life = Life::Deleting;
                let inner = [Payload::Delete(DeletePayload::ike())];
                self.informational(id, &inner, Purpose::DeleteIke, now, out);
                None
            }
            _ if matches!(
                life,
                Life::Deleting | Life::Rekeyed { .. } | Life::Provisional
            ) =>
            {
                if life == Life::Provisional {
                    // Decided (and then moved or dropped) when our own
                    // crossing rekey completes.
                    return Some(w);
                }
                // Replaced or closing: CHILD work moved with the CHILD SAs.
                if let Work::DeleteChildren(_) = w
                    && sa.window_open()
                {
                    return self.start_delete(id, w, now, out);
                }
                None
            }
            Work::DeleteChildren(_) => {
                if !sa.window_open() || matches!(life, Life::Rekeying { .. }) {
                    return Some(w);
                }
                self.start_delete(id, w, now, out)
            }
            Work::RekeyChild(spi) => {
                let c = sa.children.iter().find(|c| c.spi_in == spi)?;
                if c.state != ChildState::Installed {
                    return None;
                }
                if life != Life::Active || sa.policy_settling(&c.policy.name, spi) {
                    return Some(w);
                }
                let policy = c.policy.clone();
                self.begin_child(id, Some(spi), policy, now, out);
                None
            }
            Work::NewChild(policy) => {
                if life != Life::Active {
                    return Some(Work::NewChild(policy));
                }
                self.begin_child(id, None, policy, now, out);
                None
            }
            Work::Send(ex) => {
                if life != Life::Active || !sa.window_open() {
                    return Some(Work::Send(ex));
                }
                self.send_child_request(id, ex, now, out);
                None
            }
            Work::RekeyIke => {
                let busy = !sa.requests.is_empty() || sa.child_work_under_way(None);
                if life != Life::Active || busy {
                    return (life == Life::Active).then_some(w);
                }
                self.send_ike_rekey(id, None, now, out);
                None
            }
        }
    }

    fn start_delete(&mut self, id: SaId, w: Work, now: Now, out: &mut Outputs) -> Option<Work> {
        let Work::DeleteChildren(spis) = w else {
            return Some(w);
        };
        let inner = [Payload::Delete(DeletePayload::child(
            ProtocolId::ESP,
            &spis,
        ))];
        self.informational(id, &inner, Purpose::DeleteChildren(spis), now, out);
        None
    }
}
