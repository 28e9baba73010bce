//! Periodic reconciliation of the parent's and the negotiator's views
//! (issue 13, M8). IPC frames are no longer dropped when a socket is full
//! (privsep's bounded outbound queue), but one can still be refused when
//! that queue is full, and a lost `ChildGone`, `IkeGone` or EXPIRE would
//! leave the kernel, the parent and the engine apart for good. So every
//! `INTERVAL` the negotiator reports the IKE SAs and CHILD SAs it has
//! (`FromNegotiator::Live`, in parts); the parent then
//! - removes CHILD SAs it installed that the negotiator did not report
//!   twice in a row (one report may predate an install),
//! - forgets IKE SA bindings and signing records likewise, and
//! - answers with the CHILD SAs the negotiator reported that the kernel
//!   state no longer has (`ToNegotiator::Missing`), which the engine then
//!   deletes as if they had expired.

use std::collections::HashSet;
use std::time::Duration;

use super::negotiator::Negotiator;
use super::parent::Parent;
use crate::ike::engine::SaId;
use crate::ipc::{FromNegotiator, ToNegotiator};
use crate::{log_error, log_warn};

/// How often the negotiator reports.
pub(crate) const INTERVAL: Duration = Duration::from_secs(60);
/// Entries per report part (each part stays far below the IPC maximum).
const PART: usize = 8192;
/// Entries of one report the parent accumulates at most.
const MAX_REPORTED: usize = 1 << 20;

/// The parent's side: the report being received, and what was missing
/// from the last one.
#[derive(Debug, Default)]
pub(crate) struct Reconciler {
    ikes: HashSet<SaId>,
    children: HashSet<u32>,
    overflow: bool,
    absent_ikes: HashSet<SaId>,
    absent_children: HashSet<u32>,
}

/// What one complete report means.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// IKE SAs to forget.
    pub(crate) gone_ikes: Vec<SaId>,
    /// CHILD SAs (inbound SPIs) to remove.
    pub(crate) gone_children: Vec<u32>,
    /// CHILD SAs the negotiator has and the parent does not.
    pub(crate) missing: Vec<u32>,
}

impl Reconciler {
    /// One part of a report; the verdict once `last` came, against what
    /// the parent holds (`ikes` bound or signed, `children` installed).
    pub(crate) fn part(
        &mut self,
        ikes: Vec<SaId>,
        children: Vec<u32>,
        last: bool,
        held: (&HashSet<SaId>, &HashSet<u32>),
    ) -> Option<Verdict> {
        if self.ikes.len() + self.children.len() + ikes.len() + children.len() > MAX_REPORTED {
            self.overflow = true;
        } else {
            self.ikes.extend(ikes);
            self.children.extend(children);
        }
        if !last {
            return None;
        }
        let (ikes, children) = (
            std::mem::take(&mut self.ikes),
            std::mem::take(&mut self.children),
        );
        if std::mem::take(&mut self.overflow) {
            log_error!(
                "reconciliation skipped: the negotiator reported more than {MAX_REPORTED} SAs"
            );
            return None;
        }
        let (held_ikes, held_children) = held;
        let absent_ikes: HashSet<SaId> = held_ikes.difference(&ikes).copied().collect();
        let absent_children: HashSet<u32> = held_children.difference(&children).copied().collect();
        let mut v = Verdict {
            gone_ikes: absent_ikes
                .intersection(&self.absent_ikes)
                .copied()
                .collect(),
            gone_children: absent_children
                .intersection(&self.absent_children)
                .copied()
                .collect(),
            missing: children.difference(held_children).copied().collect(),
        };
        v.gone_ikes.sort_unstable();
        v.gone_children.sort_unstable();
        v.missing.sort_unstable();
        self.absent_ikes = absent_ikes
            .difference(&v.gone_ikes.iter().copied().collect())
            .copied()
            .collect();
        self.absent_children = absent_children
            .difference(&v.gone_children.iter().copied().collect())
            .copied()
            .collect();
        Some(v)
    }
}

impl Parent {
    /// A part of the negotiator's report.
    pub(crate) fn on_live(&mut self, ikes: Vec<SaId>, children: Vec<u32>, last: bool) {
        let held_ikes = self.gate.held_ids();
        let held_children: HashSet<u32> =
            self.kernel.installed().iter().map(|k| k.spi_in).collect();
        let Some(v) = self
            .reconciler
            .part(ikes, children, last, (&held_ikes, &held_children))
        else {
            return;
        };
        for spi in &v.gone_children {
            log_warn!("CHILD SA {spi:08x} removed: the negotiator has not had it for two reports");
            self.kernel.remove(*spi);
        }
        for sa in &v.gone_ikes {
            log_warn!("IKE SA {sa:016x} forgotten: the negotiator has not had it for two reports");
            self.gate.forget(*sa);
            self.kernel.ike_gone(*sa);
        }
        if !v.missing.is_empty() {
            log_warn!(
                "{} CHILD SAs of the negotiator are not installed; it deletes them",
                v.missing.len()
            );
            let _ = self
                .negotiator
                .channel
                .send(0, &ToNegotiator::Missing(v.missing), &[]);
        }
    }
}

impl Negotiator {
    /// Reports the live SAs to the parent when `INTERVAL` has passed.
    pub(super) fn report_live_when_due(&mut self) {
        let now = self.now();
        if now < self.next_report {
            return;
        }
        self.next_report = now + INTERVAL;
        let sas = self.engine.summaries();
        let ikes: Vec<SaId> = sas.iter().map(|s| s.id).collect();
        let children: Vec<u32> = sas
            .iter()
            .flat_map(|s| s.children.iter().map(|c| c.spi_in))
            .collect();
        let parts = ikes.len().max(children.len()).div_ceil(PART).max(1);
        for i in 0..parts {
            let slice = |v: &[u32]| v.iter().skip(i * PART).take(PART).copied().collect();
            let msg = FromNegotiator::Live {
                ikes: ikes.iter().skip(i * PART).take(PART).copied().collect(),
                children: slice(&children),
                last: i + 1 == parts,
            };
            if let Err(e) = self.channel.send(0, &msg, &[]) {
                log_error!("cannot report the live SAs to the parent: {e}");
                return;
            }
        }
    }

    /// The parent has no CHILD SA for these: delete them as if their hard
    /// lifetime had ended.
    pub(super) fn on_missing(&mut self, spis: Vec<u32>) {
        for spi in spis {
            let now = self.now();
            let (line, out) = self.engine.child_expired(spi, true, now);
            if let Some(line) = line {
                self.note(format!("{line} (the parent no longer has it)"));
            }
            self.apply(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<T: std::hash::Hash + Eq + Copy>(v: &[T]) -> HashSet<T> {
        v.iter().copied().collect()
    }

    #[test]
    fn what_is_absent_twice_goes_what_the_parent_lacks_is_missing() {
        let mut r = Reconciler::default();
        let held = (set(&[1, 2, 3]), set(&[10, 11, 12]));
        // First report: 3 and 12 absent once (may predate them).
        let v = r
            .part(vec![1], vec![10], false, (&held.0, &held.1))
            .map_or(Verdict::default(), |_| panic!("a part is no verdict"));
        assert_eq!(v, Verdict::default());
        let v = r
            .part(vec![2], vec![11, 13], true, (&held.0, &held.1))
            .unwrap();
        assert_eq!(v.gone_ikes, Vec::<SaId>::new());
        assert_eq!(v.gone_children, Vec::<u32>::new());
        assert_eq!(v.missing, vec![13]);
        // Second report: 3 and 12 still absent: gone; 2 absent once now.
        let v = r
            .part(vec![1], vec![10, 11], true, (&held.0, &held.1))
            .unwrap();
        assert_eq!(v.gone_ikes, vec![3]);
        assert_eq!(v.gone_children, vec![12]);
        assert_eq!(v.missing, Vec::<u32>::new());
        // 2 reappears: nothing goes.
        let held = (set(&[1, 2]), set(&[10, 11]));
        let v = r
            .part(vec![1, 2], vec![10, 11], true, (&held.0, &held.1))
            .unwrap();
        assert_eq!(v, Verdict::default());
    }
}
