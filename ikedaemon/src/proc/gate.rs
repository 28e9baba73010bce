//! The parent's record of which policy each IKE SA may use, and the check
//! of every CHILD SA request against it (DESIGN.md "Key custody"): the
//! parent trusts nothing the negotiator says about authorization.
//!
//! What the parent itself saw is recorded here: the policy an IKE SA made
//! our AUTH under (the initiator signs before the peer is authenticated),
//! and the policy and peer identity it authenticated under (the parent's own
//! OK verdict). A CHILD SA of that IKE SA — the first, an additional one or
//! a rekey — is reserved or installed only under that policy, or under one
//! whose authentication is identical: the same pre-shared key (compared
//! here, where the keys live), or the same CA set, and in both cases a
//! `remote_id` that is unset or the identity the peer authenticated with.
//! So neither a peer that asks nor a compromised negotiator that lies gets
//! a CHILD SA under a policy the peer never authenticated for.

use std::collections::HashMap;

use crate::config::{AuthSpec, Config, Policy};
use crate::ike::engine::SaId;
use crate::ike::wire::Identification;

/// IKE SAs with a binding at once; past this, new IKE SAs are refused (the
/// negotiator reports each IKE SA it drops, so only lost reports or a
/// negotiator that invents SAs get here).
const MAX_BOUND_IKE_SAS: usize = 200_000;

/// What an IKE SA is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// Our AUTH was made under this policy; the peer is not authenticated.
    Signed(String),
    /// The parent's OK verdict: the peer proved `peer_id` under `policy`.
    Authenticated {
        policy: String,
        peer_id: Identification,
    },
}

impl Binding {
    fn policy(&self) -> &str {
        match self {
            Binding::Signed(p) | Binding::Authenticated { policy: p, .. } => p,
        }
    }
}

/// The parent's bindings of IKE SAs to policies.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    ikes: HashMap<SaId, Binding>,
    /// Issued SPIs and the signing budget (gate_sign.rs), shared with
    /// the custody worker, which checks each AUTH computation with it.
    pub(crate) signing: std::sync::Arc<std::sync::Mutex<super::gate_sign::Signing>>,
}

impl Gate {
    /// Our AUTH for `sa` under `policy`: the first request binds the IKE SA
    /// to the policy; later ones must name the same policy.
    pub(crate) fn sign(&mut self, sa: SaId, policy: &str) -> Result<(), String> {
        self.may_authenticate(sa, policy)?;
        self.ikes
            .entry(sa)
            .or_insert_with(|| Binding::Signed(policy.to_string()));
        Ok(())
    }

    /// Before the peer's AUTH is verified under `policy` (and before our
    /// AUTH is made): an IKE SA that signed or authenticated under another
    /// policy may not switch, and a new one needs room.
    pub(crate) fn may_authenticate(&self, sa: SaId, policy: &str) -> Result<(), String> {
        match self.ikes.get(&sa) {
            Some(b) if b.policy() != policy => Err(format!(
                "IKE SA {sa:016x} is bound to policy {:?}, not {policy:?}",
                b.policy()
            )),
            None if self.ikes.len() >= MAX_BOUND_IKE_SAS => Err(format!(
                "IKE SA {sa:016x}: {MAX_BOUND_IKE_SAS} IKE SAs are bound already"
            )),
            _ => Ok(()),
        }
    }

    /// The parent's OK verdict: `peer_id` authenticated under `policy`.
    pub(crate) fn authenticated(&mut self, sa: SaId, policy: &str, peer_id: &Identification) {
        self.ikes.insert(
            sa,
            Binding::Authenticated {
                policy: policy.to_string(),
                peer_id: peer_id.clone(),
            },
        );
    }

    /// An inbound SPI reserved together with our AUTH (the initiator's first
    /// CHILD SA, before the peer is authenticated): only under the policy
    /// the IKE SA is bound to.
    pub(crate) fn may_reserve_first(&self, sa: SaId, policy: &str) -> Result<(), String> {
        match self.ikes.get(&sa) {
            Some(b) if b.policy() == policy => Ok(()),
            Some(b) => Err(format!(
                "SPI refused: IKE SA {sa:016x} is bound to policy {:?}, not {policy:?}",
                b.policy()
            )),
            None => Err(format!(
                "SPI refused: IKE SA {sa:016x} made no AUTH under policy {policy:?}"
            )),
        }
    }

    /// A CHILD SA of `sa` under `policy` (reservation or install): the IKE
    /// SA must have authenticated its peer under that policy or under one
    /// whose authentication is identical.
    pub(crate) fn may_use(&self, config: &Config, sa: SaId, policy: &str) -> Result<(), String> {
        let Some(Binding::Authenticated {
            policy: bound,
            peer_id,
        }) = self.ikes.get(&sa)
        else {
            return Err(format!(
                "refused for policy {policy:?}: IKE SA {sa:016x} has not authenticated its peer"
            ));
        };
        if bound == policy {
            return Ok(());
        }
        let (Some(a), Some(b)) = (config.policy(bound), config.policy(policy)) else {
            return Err(format!(
                "refused for policy {policy:?}: it or {bound:?} is not loaded"
            ));
        };
        if !same_authentication(a, b) {
            return Err(format!(
                "refused for policy {policy:?}: IKE SA {sa:016x} authenticated {peer_id} under policy {bound:?}, whose authentication differs"
            ));
        }
        if let Some(want) = &b.remote.id
            && !same_id(&want.to_identification(), peer_id)
        {
            return Err(format!(
                "refused for policy {policy:?}: it wants remote ID {want}, IKE SA {sa:016x} authenticated {peer_id}"
            ));
        }
        Ok(())
    }

    /// What `sa` is bound to.
    pub(super) fn binding(&self, sa: SaId) -> Option<&Binding> {
        self.ikes.get(&sa)
    }

    /// The IKE SA was rekeyed: the new one inherits the binding.
    pub(crate) fn rekeyed(&mut self, old: SaId, new: SaId) {
        if let Some(b) = self.ikes.remove(&old) {
            self.ikes.insert(new, b);
        }
    }

    /// The IKE SA is gone: its binding goes and its SPI retires.
    pub(crate) fn forget(&mut self, sa: SaId) {
        self.ikes.remove(&sa);
        if let Ok(mut s) = self.signing.lock() {
            s.retire(sa);
        }
    }

    /// The IKE SAs the gate holds anything for: a binding, or a signing
    /// record of an SPI that was used (unused issued SPIs wait in the
    /// negotiator's pool and are not live SAs).
    pub(crate) fn held_ids(&self) -> std::collections::HashSet<SaId> {
        let mut ids: std::collections::HashSet<SaId> = self.ikes.keys().copied().collect();
        if let Ok(s) = self.signing.lock() {
            ids.extend(s.used_ids());
        }
        ids
    }

    /// A batch of new IKE SPIs for the negotiator (gate_sign.rs).
    pub(crate) fn issue_spis(&self) -> Vec<SaId> {
        self.signing
            .lock()
            .map(|mut s| s.issue(&mut crate::ike::engine::OsRng))
            .unwrap_or_default()
    }
}

/// The same identity, whatever RESERVED bytes the peer sent.
pub(crate) fn same_id(a: &Identification, b: &Identification) -> bool {
    a.id_type == b.id_type && a.data == b.data
}

/// Whether a peer that authenticated under `a` has thereby authenticated
/// under `b` too: the same pre-shared key, or the same CA set (the peer's
/// certificate chains to exactly the CAs `b` trusts). Also what the
/// negotiator's `auth_class` groups by (policy_info.rs).
pub(crate) fn same_authentication(a: &Policy, b: &Policy) -> bool {
    match (&a.auth, &b.auth) {
        (AuthSpec::Psk(x), AuthSpec::Psk(y)) => {
            let (x, y) = (x.expose(), y.expose());
            x.len() == y.len() && openssl::memcmp::eq(x, y)
        }
        (AuthSpec::Certificate { ca: x, .. }, AuthSpec::Certificate { ca: y, .. }) => {
            let (mut x, mut y) = (x.clone(), y.clone());
            x.sort();
            x.dedup();
            y.sort();
            y.dedup();
            x == y
        }
        _ => false,
    }
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
