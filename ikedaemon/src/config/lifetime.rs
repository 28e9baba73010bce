//! A policy's `lifetime:`: defaults (IKE 4h/4h30m, CHILD 1h/1h10m, no
//! byte limits), the rule that expiry comes after rekeying, and filling
//! in one of the two from the other with the default margin.

use std::time::Duration;

use serde_saphyr::Spanned;

use super::build::Ctx;
use super::error::{ConfigError, Position};
use super::model::{ChildLifetime, Lifetimes, SaLifetime};
use super::raw::{RawChildLifetime, RawLifetimes, RawSaLifetime};
use super::scalar::{TimeSpan, format_duration};

/// Default IKE SA rekey time.
pub const IKE_REKEY: Duration = Duration::from_secs(4 * 3600);
/// Default IKE SA expiry (rekey + 30m).
pub const IKE_EXPIRE: Duration = Duration::from_secs(4 * 3600 + 30 * 60);
/// Default CHILD SA rekey time.
pub const CHILD_REKEY: Duration = Duration::from_secs(3600);
/// Default CHILD SA expiry (rekey + 10m).
pub const CHILD_EXPIRE: Duration = Duration::from_secs(3600 + 10 * 60);

/// Builds the lifetimes of one policy.
pub(crate) fn build_lifetimes(
    raw: Option<RawLifetimes>,
    ctx: &Ctx<'_>,
) -> Result<Lifetimes, ConfigError> {
    let (ike, child) = match raw {
        Some(r) => (r.ike, r.child),
        None => (None, None),
    };
    let (ike, reauth) = match ike {
        Some(RawSaLifetime {
            rekey,
            expire,
            reauth_time,
        }) => {
            let reauth = match reauth_time {
                Some(r) if r.value.0.is_zero() => {
                    return Err(ctx.errors.value(
                        Position::of(&r),
                        "reauth_time: expected a duration longer than 0s",
                    ));
                }
                r => r.map(|r| r.value.0),
            };
            (times(rekey, expire, IKE_REKEY, IKE_EXPIRE, ctx)?, reauth)
        }
        None => ((IKE_REKEY, IKE_EXPIRE), None),
    };
    let child = match child {
        Some(c) => child_lifetime(c, ctx)?,
        None => ChildLifetime {
            rekey: CHILD_REKEY,
            expire: CHILD_EXPIRE,
            rekey_bytes: 0,
            expire_bytes: 0,
        },
    };
    Ok(Lifetimes {
        ike: SaLifetime {
            rekey: ike.0,
            expire: ike.1,
            reauth,
        },
        child,
    })
}

fn child_lifetime(c: RawChildLifetime, ctx: &Ctx<'_>) -> Result<ChildLifetime, ConfigError> {
    let (rekey, expire) = times(c.rekey, c.expire, CHILD_REKEY, CHILD_EXPIRE, ctx)?;
    let rekey_bytes = c.rekey_bytes.as_ref().map_or(0, |b| b.value.0);
    let expire_bytes = c.expire_bytes.as_ref().map_or(0, |b| b.value.0);
    if let Some(e) = &c.expire_bytes
        && rekey_bytes != 0
        && expire_bytes != 0
        && expire_bytes <= rekey_bytes
    {
        return Err(ctx.errors.semantic(
            Position::of(e),
            format!(
                "expire_bytes ({expire_bytes}) must be greater than rekey_bytes ({rekey_bytes})"
            ),
        ));
    }
    Ok(ChildLifetime {
        rekey,
        expire,
        rekey_bytes,
        expire_bytes,
    })
}

/// Rekey and expiry from what was given: both, one (the other at the
/// default margin), or neither (the defaults).
fn times(
    rekey: Option<Spanned<TimeSpan>>,
    expire: Option<Spanned<TimeSpan>>,
    default_rekey: Duration,
    default_expire: Duration,
    ctx: &Ctx<'_>,
) -> Result<(Duration, Duration), ConfigError> {
    let margin = default_expire.saturating_sub(default_rekey);
    if let Some(r) = &rekey
        && r.value.0.is_zero()
    {
        return Err(ctx
            .errors
            .value(Position::of(r), "rekey: expected a duration longer than 0s"));
    }
    match (rekey, expire) {
        (None, None) => Ok((default_rekey, default_expire)),
        (Some(r), None) => Ok((r.value.0, r.value.0.saturating_add(margin))),
        (None, Some(e)) => {
            if e.value.0 <= margin {
                return Err(ctx.errors.semantic(
                    Position::of(&e),
                    format!(
                        "expire ({}) leaves no time to rekey (rekey defaults to {} before \
                         expire); give rekey too",
                        e.value,
                        format_duration(margin)
                    ),
                ));
            }
            Ok((e.value.0 - margin, e.value.0))
        }
        (Some(r), Some(e)) => {
            if e.value.0 <= r.value.0 {
                return Err(ctx.errors.semantic(
                    Position::of(&e),
                    format!(
                        "expire ({}) must be longer than rekey ({})",
                        e.value, r.value
                    ),
                ));
            }
            Ok((r.value.0, e.value.0))
        }
    }
}
