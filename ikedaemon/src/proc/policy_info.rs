//! The public view of a configured policy, for `ikectl show policies`
//! (never the secrets).

use crate::config::{AuthSpec, Mode, Policy, StartAction};
use crate::control_proto::PolicyInfo;

/// Summarises a policy.
pub(crate) fn policy_info(p: &Policy) -> PolicyInfo {
    PolicyInfo {
        name: p.name.clone(),
        start: match p.start {
            StartAction::Active => "active",
            StartAction::Passive => "passive",
            StartAction::OnDemand => "on-demand",
        }
        .to_string(),
        local_address: p.local.address.to_string(),
        remote_address: p.remote.address.to_string(),
        local_id: p
            .local
            .id
            .as_ref()
            .map(|i| i.to_string())
            .unwrap_or_default(),
        remote_id: p
            .remote
            .id
            .as_ref()
            .map(|i| i.to_string())
            .unwrap_or_default(),
        auth: match p.auth {
            AuthSpec::Psk(_) => "psk",
            AuthSpec::Certificate { .. } => "certificate",
        }
        .to_string(),
        ike: p.ike.iter().map(|x| x.to_string()).collect(),
        esp: p.esp.iter().map(|x| x.to_string()).collect(),
        mode: match p.mode {
            Mode::Tunnel => "tunnel",
            Mode::Transport => "transport",
        }
        .to_string(),
        local_ts: p.local_ts.iter().map(|t| t.to_string()).collect(),
        remote_ts: p.remote_ts.iter().map(|t| t.to_string()).collect(),
    }
}
