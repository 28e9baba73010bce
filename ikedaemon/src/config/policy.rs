//! One entry of `policies:` to a [`Policy`]: name syntax, endpoints and
//! their default IDs, start action against the remote address, proposals,
//! traffic selectors (defaults, `dynamic`, transport-mode limits),
//! lifetimes and DPD.

use crate::ike::proposal::{ProposalConfig, SaProtocol};
use serde_saphyr::Spanned;

use super::address::EndpointAddress;
use super::auth::build_auth;
use super::build::Ctx;
use super::error::{ConfigError, Position};
use super::id::{IdSpec, build_id};
use super::lifetime::build_lifetimes;
use super::model::{Endpoint, Global, Mode, Policy, StartAction};
use super::proposal;
use super::raw::RawPolicy;
use super::selector::{TrafficSelector, TsAddress};

/// True for `[A-Za-z0-9._-]{1,64}`.
fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Builds one policy; `global` supplies defaults (DPD).
pub(crate) fn build_policy(
    p: RawPolicy,
    global: &Global,
    ctx: &Ctx<'_>,
) -> Result<Policy, ConfigError> {
    let name_pos = Position::of(&p.name);
    if !valid_name(&p.name.value) {
        return Err(ctx.errors.value(
            name_pos,
            format!(
                "expected a policy name of 1 to 64 characters A-Z a-z 0-9 . _ -, found \"{}\"",
                p.name.value
            ),
        ));
    }
    let (local_addr, local_id) = match p.local {
        Some(l) => (l.address, l.id),
        None => (None, None),
    };
    let local_address = local_addr
        .as_ref()
        .map_or(EndpointAddress::Any, |a| a.value.0);
    let remote_address = p.remote.address.value.0;
    let remote_pos = Position::of(&p.remote.address);
    if let (Some(l), Some(r)) = (local_address.is_ipv4(), remote_address.is_ipv4())
        && l != r
    {
        return Err(ctx.errors.semantic(
            remote_pos,
            format!(
                "remote address {remote_address} and local address {local_address} are of \
                 different address families"
            ),
        ));
    }
    let start = p.start.as_ref().map_or(StartAction::Passive, |s| s.value);
    if let Some(s) = &p.start
        && s.value != StartAction::Passive
        && remote_address.ip().is_none()
    {
        return Err(ctx.errors.semantic(
            Position::of(s),
            format!(
                "start: {} needs a single remote address to contact, not {remote_address} \
                 (use start: passive)",
                if s.value == StartAction::Active {
                    "active"
                } else {
                    "on-demand"
                }
            ),
        ));
    }
    let local_id = local_id.map(|i| build_id(i, &ctx.errors)).transpose()?;
    let local = Endpoint {
        address: local_address,
        id: local_id.or_else(|| local_address.ip().map(IdSpec::from_ip)),
    };
    let remote = Endpoint {
        address: remote_address,
        id: p.remote.id.map(|i| build_id(i, &ctx.errors)).transpose()?,
    };
    let auth = build_auth(p.auth, &p.name, ctx)?;
    let ike = proposals(
        p.ike.map(|s| map_spanned(s, |v| v.0)),
        SaProtocol::Ike,
        "ike",
        ctx,
    )?;
    let esp = proposals(
        p.esp.map(|s| map_spanned(s, |v| v.0)),
        SaProtocol::Esp,
        "esp",
        ctx,
    )?;
    let mode = p.mode.unwrap_or(Mode::Tunnel);
    let local_ts = selectors(p.local_ts, &local, mode, "local_ts", ctx)?;
    let remote_ts = selectors(p.remote_ts, &remote, mode, "remote_ts", ctx)?;
    Ok(Policy {
        name: p.name.value,
        start,
        local,
        remote,
        auth,
        ike,
        esp,
        mode,
        local_ts,
        remote_ts,
        lifetime: build_lifetimes(p.lifetime, ctx)?,
        dpd: p.dpd.map_or(global.dpd, |d| d.0),
        childless: p.childless.unwrap_or_default(),
    })
}

fn map_spanned<T, U>(s: Spanned<Vec<T>>, f: impl Fn(T) -> U) -> Spanned<Vec<U>> {
    Spanned {
        value: s.value.into_iter().map(f).collect(),
        referenced: s.referenced,
        defined: s.defined,
    }
}

fn proposals(
    list: Option<Spanned<Vec<ProposalConfig>>>,
    protocol: SaProtocol,
    key: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<ProposalConfig>, ConfigError> {
    match list {
        None => Ok(proposal::defaults(protocol)),
        Some(l) if l.value.is_empty() => Err(ctx.errors.value(
            Position::of(&l),
            format!("{key}: expected at least one proposal (leave {key} out for the defaults)"),
        )),
        Some(l) => Ok(l.value),
    }
}

/// The selectors of one end: `[dynamic]` by default; `dynamic` resolved
/// when the end has a single address; in transport mode only the end's
/// own address.
fn selectors(
    list: Option<Spanned<Vec<Spanned<TrafficSelector>>>>,
    end: &Endpoint,
    mode: Mode,
    key: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<TrafficSelector>, ConfigError> {
    let given: Vec<Spanned<TrafficSelector>> = match list {
        None => Vec::new(),
        Some(l) if l.value.is_empty() => {
            return Err(ctx.errors.value(
                Position::of(&l),
                format!(
                    "{key}: expected at least one traffic selector (leave {key} out for the \
                         {} address)",
                    if key == "local_ts" { "local" } else { "remote" }
                ),
            ));
        }
        Some(l) => l.value,
    };
    let mut out = Vec::with_capacity(given.len().max(1));
    if given.is_empty() {
        out.push(TrafficSelector::DYNAMIC);
    }
    for ts in given {
        if mode == Mode::Transport
            && let TsAddress::Prefix(p) = ts.value.address
            && (!p.is_host() || end.address.ip().is_some_and(|ip| ip != p.addr()))
        {
            return Err(ctx.errors.semantic(
                Position::of(&ts),
                format!(
                    "{key}: transport mode protects traffic of the IKE addresses only; use \
                     dynamic{}, not {}",
                    end.address
                        .ip()
                        .map(|ip| format!(" or {ip}"))
                        .unwrap_or_default(),
                    ts.value
                ),
            ));
        }
        out.push(ts.value);
    }
    if let Some(ip) = end.address.ip() {
        for ts in &mut out {
            *ts = ts.resolve(ip);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("site-b"));
        assert!(valid_name("a.b_c-9"));
        assert!(!valid_name(""));
        assert!(!valid_name("has space"));
        assert!(!valid_name(&"x".repeat(65)));
    }
}
