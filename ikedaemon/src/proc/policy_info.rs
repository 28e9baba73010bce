//! The public view of a configured policy, for `ikectl show policies`
//! (never the secrets).

use std::collections::HashMap;

use super::certs::Credentials;

use crate::config::{AuthSpec, EndpointAddress, Mode, Policy, StartAction, TrafficSelector};
use crate::control_proto::PolicyInfo;
use crate::ike::engine::{RemoteMatch, TsSpec};
use crate::ipc::PolicySpec;

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

/// The negotiator's copy of a policy (no secrets).
/// Every policy of `config`, for the negotiator.
pub(crate) fn policy_specs(
    config: &crate::config::Config,
    creds: &HashMap<String, std::sync::Arc<Credentials>>,
) -> Vec<PolicySpec> {
    config
        .policies
        .iter()
        .map(|p| {
            // The class is the index of the first policy that
            // authenticates as this one does.
            let class = config
                .policies
                .iter()
                .position(|q| super::gate::same_authentication(q, p))
                .unwrap_or(0);
            policy_spec(p, u32::try_from(class).unwrap_or(u32::MAX), creds)
        })
        .collect()
}

fn policy_spec(
    p: &Policy,
    auth_class: u32,
    creds: &HashMap<String, std::sync::Arc<Credentials>>,
) -> PolicySpec {
    let c = creds.get(&p.name);
    let remote = match p.remote.address {
        EndpointAddress::Any => RemoteMatch::Any,
        EndpointAddress::Ip(ip) => RemoteMatch::Ip(ip),
        EndpointAddress::Prefix(pr) => RemoteMatch::Prefix(pr.addr(), pr.len()),
    };
    let ts =
        |v: &[TrafficSelector]| -> Vec<TsSpec> { v.iter().map(TrafficSelector::to_spec).collect() };
    PolicySpec {
        name: p.name.clone(),
        active: p.start == StartAction::Active,
        local_addr: p.local.address.ip(),
        local_id: p.local.id.as_ref().map(|i| i.to_identification()),
        remote_id: p.remote.id.as_ref().map(|i| i.to_identification()),
        auth_class,
        remote,
        remote_addr: p.remote.address.ip(),
        ike: p.ike.iter().map(|x| x.to_string()).collect(),
        esp: p.esp.iter().map(|x| x.to_string()).collect(),
        local_ts: ts(&p.local_ts),
        remote_ts: ts(&p.remote_ts),
        transport: p.mode == Mode::Transport,
        certs: c.map(|c| c.chain_der.clone()).unwrap_or_default(),
        ca_hashes: c.map(|c| c.ca_hashes.clone()).unwrap_or_default(),
        dpd_secs: p.dpd.as_secs(),
        childless: p.childless,
        ike_rekey_secs: p.lifetime.ike.rekey.as_secs(),
        ike_reauth_secs: p.lifetime.ike.reauth.map_or(0, |d| d.as_secs()),
        ike_expire_secs: p.lifetime.ike.expire.as_secs(),
        child_expire_secs: p.lifetime.child.expire.as_secs(),
    }
}
