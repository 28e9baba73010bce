//! Lifetimes of IKE and CHILD SAs: the IKE SA's own rekey timer (rekey
//! with CREATE_CHILD_SA, or reauthentication when the policy says so),
//! the kernel's soft and hard expiry of CHILD SAs, hard lifetimes, the
//! retries of rekeys that failed for a while (§2.25: never at once), and
//! replaced SAs the peer never deleted.

use std::time::Duration;

use super::endpoint::Engine;
use super::io::{Event, Now, Outputs, SaId};
use super::lifecycle::{ChildState, Life, Work};
use super::sa::{Role, State};

impl Engine {
    /// How long to wait before trying a rekey again after
    /// TEMPORARY_FAILURE or another refusal: 5 to 15 seconds.
    pub(super) fn retry_delay(&mut self) -> Duration {
        Duration::from_millis(5000 + super::rng::below(self.rng.as_mut(), 10_000))
    }

    /// Hard lifetimes (the policy's `lifetime.*.expire`): an expired IKE
    /// SA is deleted with its CHILD SAs at once; an expired CHILD SA is
    /// deleted with an INFORMATIONAL DELETE. SAs replaced by the peer's
    /// rekey that it did not delete within the grace time are deleted too.
    pub(super) fn expire(&mut self, now: Now, out: &mut Outputs) {
        let due = |t: Option<Now>| t.is_some_and(|t| t <= now);
        let (_, o) = self.delete_where(|sa| due(sa.expires_at), "its lifetime expired");
        out.send.extend(o.send);
        out.events.extend(o.events);
        for (id, sa) in &mut self.sas {
            let mut gone = Vec::new();
            let mut successors = Vec::new();
            for c in &mut sa.children {
                if let ChildState::Rekeyed { by, delete_at } = c.state
                    && delete_at <= now
                {
                    // The peer never deleted what its rekey replaced.
                    successors.push(by);
                    c.delete_reason =
                        "deleted: replaced by the peer's rekey, which did not delete it";
                } else if !due(c.expires_at) || c.state == ChildState::Deleting {
                    continue;
                } else {
                    c.delete_reason = "deleted: its lifetime expired";
                }
                c.state = ChildState::Deleting;
                gone.push(c.spi_in);
            }
            // An outbound SA held back longer than the grace time: the
            // peer's DELETE of what it replaced never came; send on it.
            successors.extend(
                sa.children
                    .iter()
                    .filter(|c| {
                        !c.outbound && c.created + super::create_child::REKEYED_GRACE <= now
                    })
                    .map(|c| c.spi_in),
            );
            for spi in successors {
                Self::activate(sa, *id, spi, out);
            }
            if !gone.is_empty() {
                sa.work.push_back(Work::DeleteChildren(gone));
            }
            if matches!(sa.life, Life::Rekeyed { delete_at, .. } if delete_at <= now) {
                sa.life = Life::Deleting;
                sa.work.push_back(Work::DeleteIke);
            }
        }
    }

    /// The kernel reports that the CHILD SA with our inbound SPI `spi_in`
    /// reached a lifetime. Soft: it is rekeyed with CREATE_CHILD_SA. Hard:
    /// the kernel deleted an SA of it, so it is deleted at the peer too.
    /// Returns a line saying what happens; None when no CHILD SA has that
    /// SPI.
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
        let head = format!(
            "IKE SA {id:016x} policy {}: CHILD SA {spi_in:08x} reached its {} lifetime in the kernel",
            sa.policy.name,
            if hard { "hard" } else { "soft" }
        );
        let Some(c) = sa.child_mut(spi_in) else {
            return (None, out);
        };
        let line = if hard {
            sa.children.retain(|c| c.spi_in != spi_in);
            out.events.push(Event::ChildDeleted {
                sa: id,
                spi_in,
                reason: "deleted: its hard lifetime expired in the kernel",
            });
            sa.work.push_back(Work::DeleteChildren(vec![spi_in]));
            format!("{head}; deleting it")
        } else {
            match c.state {
                ChildState::Installed => {
                    c.retry_at = None;
                    sa.work.push_back(Work::RekeyChild(spi_in));
                    format!("{head}; rekeying it")
                }
                ChildState::Rekeying { .. } => format!("{head}; already being rekeyed"),
                ChildState::Rekeyed { by, .. } => {
                    format!("{head}; already replaced by {by:08x}")
                }
                ChildState::Deleting => format!("{head}; already being deleted"),
            }
        };
        self.pump_work(id, now, &mut out);
        (Some(line), out)
    }

    /// Deletes the CHILD SA with our inbound SPI `spi_in` (an INFORMATIONAL
    /// DELETE; it stays installed until the peer answers). False when
    /// there is no such CHILD SA.
    pub fn delete_child(&mut self, spi_in: u32, now: Now) -> (bool, Outputs) {
        let mut out = Outputs::default();
        let Some((&id, _)) = self
            .sas
            .iter()
            .find(|(_, sa)| sa.children.iter().any(|c| c.spi_in == spi_in))
        else {
            return (false, out);
        };
        self.delete_children(id, vec![spi_in], "deleted by request");
        self.pump_work(id, now, &mut out);
        (true, out)
    }

    /// IKE SAs whose rekey time has come are rekeyed (or reauthenticated);
    /// CHILD SAs whose rekey failed earlier are tried again.
    pub(super) fn rekey_due(&mut self, now: Now, out: &mut Outputs) {
        let due = |t: Option<Now>| t.is_some_and(|t| t <= now);
        let mut reauth = Vec::new();
        for (id, sa) in &mut self.sas {
            if !matches!(sa.state, State::Established) {
                continue;
            }
            // Reauthentication is the initiator's job, so that the two
            // ends never both start a new IKE SA.
            if sa.life == Life::Active && sa.role == Role::Initiator && due(sa.reauth_at) {
                sa.reauth_at = None;
                reauth.push(*id);
            } else if sa.life == Life::Active && due(sa.rekey_at) {
                sa.rekey_at = None;
                sa.work.push_back(Work::RekeyIke);
            }
            for c in &mut sa.children {
                if c.state == ChildState::Installed && due(c.retry_at) {
                    c.retry_at = None;
                    sa.work.push_back(Work::RekeyChild(c.spi_in));
                }
            }
        }
        for id in reauth {
            self.reauthenticate(id, now, out);
        }
    }

    /// `reauth_time`: a new IKE SA with IKE_SA_INIT and IKE_AUTH for the
    /// same policy replaces `old`, which is deleted once the new one has
    /// its CHILD SA (make before break).
    fn reauthenticate(&mut self, old: SaId, now: Now, out: &mut Outputs) {
        let Some(sa) = self.sas.get(&old) else { return };
        let (policy, local, tag) = (sa.policy.name.clone(), sa.local, sa.tag());
        let local = std::net::SocketAddr::new(local.ip(), self.cfg.ike_port);
        match self.start_initiator(&policy, local, now, out) {
            Some(new) => {
                if let Some(n) = self.sas.get_mut(&new) {
                    n.replaces = Some(old);
                }
                out.events.push(Event::Info {
                    sa: old,
                    line: format!("{tag}: reauthenticating: IKE SA {new:016x} replaces it once its CHILD SA is installed"),
                });
            }
            None => out.events.push(Event::Failed {
                sa: old,
                line: format!("{tag}: cannot reauthenticate; it is deleted at its hard lifetime"),
            }),
        }
    }

    /// When the next SA or CHILD SA hard lifetime ends.
    pub(super) fn next_expiry(&self) -> Option<Now> {
        self.sas
            .values()
            .flat_map(|sa| {
                let children = sa.children.iter().filter_map(|c| c.expires_at);
                sa.expires_at.into_iter().chain(children)
            })
            .min()
    }

    /// When the next rekey, retry or grace time is due.
    pub(super) fn next_rekey(&self) -> Option<Now> {
        self.sas
            .values()
            .filter(|sa| matches!(sa.state, State::Established))
            .flat_map(|sa| {
                let reauth = sa.reauth_at.filter(|_| sa.role == Role::Initiator);
                let ike = match sa.life {
                    Life::Active => [sa.rekey_at, reauth].into_iter().flatten().min(),
                    Life::Rekeyed { delete_at, .. } => Some(delete_at),
                    _ => None,
                };
                let children = sa.children.iter().filter_map(|c| match c.state {
                    _ if !c.outbound => Some(c.created + super::create_child::REKEYED_GRACE),
                    ChildState::Installed => c.retry_at,
                    ChildState::Rekeyed { delete_at, .. } => Some(delete_at),
                    _ => None,
                });
                ike.into_iter().chain(children)
            })
            .min()
    }
}
