//! The gate's checks of what a request would add to the kernel (issue 13,
//! M6 and M7): caps on CHILD SAs and on reserved inbound SPIs, and the
//! refusal of a CHILD SA whose selectors overlap one of another peer's.
//!
//! Kernel policies are matched most-specific first and an identical
//! selector replaces the one installed, so a peer under a policy that
//! many peers share could otherwise take another peer's traffic by
//! narrowing its selectors onto that peer's. A CHILD SA may overlap only
//! CHILD SAs of its own IKE SA lineage (a rekey, carried over an IKE SA
//! rekey) or of an IKE SA that authenticated the same peer identity from
//! the same address (a reauthentication, a duplicate IKE SA).

use std::net::IpAddr;

use super::gate::{Binding, Gate};
use crate::config::Config;
use crate::ike::engine::ts::intersect;
use crate::ike::engine::{ChildSaKeys, SaId};
use crate::ike::wire::TsRange;
use crate::kernel::Reservation;

/// Unused inbound SPIs (larval SAs) one IKE SA may hold.
pub(crate) const MAX_RESERVED_PER_IKE: usize = 4;
/// ... one peer address may hold over all its IKE SAs.
pub(crate) const MAX_RESERVED_PER_PEER: usize = 64;
/// ... all peers together.
pub(crate) const MAX_RESERVED: usize = 4096;

/// Whether some traffic matches both selector sets.
fn overlap(
    a_local: &[TsRange],
    a_remote: &[TsRange],
    b_local: &[TsRange],
    b_remote: &[TsRange],
) -> bool {
    let any = |x: &[TsRange], y: &[TsRange]| {
        x.iter()
            .any(|p| y.iter().any(|q| intersect(p, q).is_some()))
    };
    any(a_local, b_local) && any(a_remote, b_remote)
}

impl Gate {
    /// One more unused inbound SPI for IKE SA `sa` toward `peer`, given
    /// those reserved already.
    pub(crate) fn may_reserve_more(
        &self,
        sa: SaId,
        peer: IpAddr,
        reserved: &[Reservation],
    ) -> Result<(), String> {
        let of_sa = reserved.iter().filter(|r| r.ike == sa).count();
        let of_peer = reserved.iter().filter(|r| r.peer == peer).count();
        if of_sa >= MAX_RESERVED_PER_IKE {
            return Err(format!(
                "SPI refused: IKE SA {sa:016x} holds {MAX_RESERVED_PER_IKE} unused SPIs"
            ));
        }
        if of_peer >= MAX_RESERVED_PER_PEER {
            return Err(format!(
                "SPI refused: peer {peer} holds {MAX_RESERVED_PER_PEER} unused SPIs"
            ));
        }
        if reserved.len() >= MAX_RESERVED {
            return Err(format!(
                "SPI refused: {MAX_RESERVED} unused SPIs are reserved in total"
            ));
        }
        Ok(())
    }

    /// CHILD SA `keys` of IKE SA `sa` into a kernel that holds
    /// `installed`: the policy is one the IKE SA may use, the caps hold,
    /// and its selectors overlap no other peer's CHILD SA.
    pub(crate) fn may_install(
        &self,
        config: &Config,
        sa: SaId,
        keys: &ChildSaKeys,
        installed: &[&ChildSaKeys],
    ) -> Result<(), String> {
        if keys.ike != sa {
            return Err(format!(
                "install refused: the CHILD SA names IKE SA {:016x}, the request {sa:016x}",
                keys.ike
            ));
        }
        self.may_use(config, sa, &keys.policy)
            .map_err(|e| format!("install {e}"))?;
        let dos = &config.global.dos;
        if installed.len() >= dos.max_child_sas as usize {
            return Err(format!(
                "install refused for policy {}: {} CHILD SAs are installed (dos.max_child_sas)",
                keys.policy,
                installed.len()
            ));
        }
        // A rekey holds the old and the new CHILD SA for a while.
        let per_ike = 2 * dos.max_child_sas_per_ike as usize;
        if installed.iter().filter(|c| c.ike == sa).count() >= per_ike {
            return Err(format!(
                "install refused for policy {}: IKE SA {sa:016x} has {per_ike} CHILD SAs (twice dos.max_child_sas_per_ike)",
                keys.policy
            ));
        }
        let me = self.peer_of(sa);
        for c in installed {
            if c.ike == sa || !overlap(&keys.local_ts, &keys.remote_ts, &c.local_ts, &c.remote_ts) {
                continue;
            }
            let same_peer =
                c.remote.ip() == keys.remote.ip() && me.is_some() && self.peer_of(c.ike) == me;
            if !same_peer {
                return Err(format!(
                    "install refused for policy {}: its selectors {} === {} overlap CHILD SA {:08x} of another peer ({}, {})",
                    keys.policy,
                    crate::ike::engine::ts::join(&keys.local_ts),
                    crate::ike::engine::ts::join(&keys.remote_ts),
                    c.spi_in,
                    self.peer_of(c.ike)
                        .map_or_else(|| "unauthenticated".to_string(), |id| id.to_string()),
                    c.remote.ip()
                ));
            }
        }
        Ok(())
    }

    /// The identity IKE SA `sa` authenticated, printed for comparison.
    fn peer_of(&self, sa: SaId) -> Option<&crate::ike::wire::Identification> {
        match self.binding(sa)? {
            Binding::Authenticated { peer_id, .. } => Some(peer_id),
            Binding::Signed(_) => None,
        }
    }
}

#[cfg(test)]
#[path = "gate_kernel_tests.rs"]
mod tests;
