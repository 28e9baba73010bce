//! From the parsed YAML to a [`Config`]: fills in the global defaults,
//! checks ranges and cross-field rules of the global settings, and hands
//! each policy to `policy` — every error positioned at the node it is
//! about.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::error::{ConfigError, ErrorSink, Position};
use super::model::{Config, DosLimits, Fragmentation, Global, KernelBackend, LogLevel};
use super::raw::{RawConfig, RawDos, RawFragmentation};

/// Global defaults.
pub(crate) mod defaults {
    /// Unprivileged user.
    pub(crate) const USER: &str = "_ikedaemon";
    /// Chroot directory.
    pub(crate) const CHROOT: &str = "/var/empty";
    /// Control socket.
    pub(crate) const SOCKET: &str = crate::control_proto::DEFAULT_SOCKET;
    /// PID file.
    pub(crate) const PID_FILE: &str = "/var/run/ikedaemon.pid";
    /// Listen addresses.
    pub(crate) const LISTEN: [&str; 2] = ["0.0.0.0", "::"];
    /// IKE port.
    pub(crate) const IKE_PORT: u16 = 500;
    /// NAT-T port.
    pub(crate) const NATT_PORT: u16 = 4500;
    /// Half-open SAs before cookies.
    pub(crate) const COOKIE_THRESHOLD: u32 = 64;
    /// Half-open SAs per peer.
    pub(crate) const MAX_HALF_OPEN_PER_PEER: u32 = 8;
    /// Half-open SAs in total.
    pub(crate) const MAX_HALF_OPEN: u32 = 4096;
    /// IPv6 peers counted per this prefix.
    pub(crate) const IPV6_PREFIX: u8 = 64;
    /// CHILD SAs per IKE SA.
    pub(crate) const MAX_CHILD_SAS_PER_IKE: u32 = 64;
    /// CHILD SAs in total.
    pub(crate) const MAX_CHILD_SAS: u32 = 65536;
    pub(crate) const MAX_MESSAGE: u32 = 65536;
    pub(crate) const MAX_INIT_MESSAGE: u32 = 10000;
    /// Fragmentation size.
    pub(crate) const FRAGMENT_SIZE: u16 = 1280;
    /// DPD interval in seconds.
    pub(crate) const DPD_SECS: u64 = 30;
}

/// What the builders need besides the YAML: where errors go, the
/// directory relative paths are resolved against, and the configuration
/// file's mode when known (for the inline-psk check).
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) errors: ErrorSink,
    pub(crate) file: &'a str,
    pub(crate) base_dir: &'a Path,
    pub(crate) config_mode: Option<u32>,
}

impl Ctx<'_> {
    /// A path from the configuration: relative paths are taken relative
    /// to the configuration file's directory.
    pub(crate) fn path(&self, s: &Spanned<String>, key: &str) -> Result<PathBuf, ConfigError> {
        if s.value.is_empty() {
            return Err(self.errors.value(
                Position::of(s),
                format!("{key}: expected a file name, found \"\""),
            ));
        }
        let p = Path::new(&s.value);
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        })
    }

    /// A path that must be absolute (daemon runtime paths).
    fn absolute(
        &self,
        s: Option<Spanned<String>>,
        default: &str,
        key: &str,
    ) -> Result<PathBuf, ConfigError> {
        let Some(s) = s else {
            return Ok(PathBuf::from(default));
        };
        if !Path::new(&s.value).is_absolute() {
            return Err(self.errors.value(
                Position::of(&s),
                format!("{key}: expected an absolute path, found \"{}\"", s.value),
            ));
        }
        Ok(PathBuf::from(s.value))
    }
}

/// True for user and group names we accept: `[A-Za-z0-9._-]`, not
/// starting with `-`, at most 32 characters.
fn valid_account_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn account(ctx: &Ctx<'_>, s: &Spanned<String>, what: &str) -> Result<String, ConfigError> {
    if valid_account_name(&s.value) {
        Ok(s.value.clone())
    } else {
        Err(ctx.errors.value(
            Position::of(s),
            format!(
                "expected a {what} name ([A-Za-z0-9._-], at most 32), found \"{}\"",
                s.value
            ),
        ))
    }
}

/// Builds the whole configuration.
pub(crate) fn build(raw: RawConfig, ctx: &Ctx<'_>) -> Result<Config, ConfigError> {
    let global = build_global(&raw, ctx)?;
    let mut seen: HashMap<String, Position> = HashMap::new();
    let mut policies = Vec::with_capacity(raw.policies.len());
    for p in raw.policies {
        let pos = Position::of(&p.name);
        if let Some(first) = seen.get(&p.name.value) {
            return Err(ctx.errors.semantic(
                pos,
                format!(
                    "duplicate policy name \"{}\" (first used at line {})",
                    p.name.value, first.line
                ),
            ));
        }
        seen.insert(p.name.value.clone(), pos);
        policies.push(super::policy::build_policy(p, &global, ctx)?);
    }
    Ok(Config { global, policies })
}

fn build_global(raw: &RawConfig, ctx: &Ctx<'_>) -> Result<Global, ConfigError> {
    let user = match &raw.user {
        Some(u) => account(ctx, u, "user")?,
        None => defaults::USER.to_string(),
    };
    let socket_group = raw
        .socket_group
        .as_ref()
        .map(|g| account(ctx, g, "group"))
        .transpose()?;
    let listen = match &raw.listen {
        None => defaults::LISTEN
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect(),
        Some(l) => {
            if l.value.is_empty() {
                return Err(ctx.errors.value(
                    Position::of(l),
                    "listen: expected at least one address (0.0.0.0 and \"::\" by default)",
                ));
            }
            let mut out = Vec::with_capacity(l.value.len());
            for a in &l.value {
                if out.contains(&a.0) {
                    return Err(ctx
                        .errors
                        .semantic(Position::of(l), format!("listen: {} is listed twice", a.0)));
                }
                out.push(a.0);
            }
            out
        }
    };
    let ike_port = port(ctx, raw.ike_port.as_ref(), defaults::IKE_PORT, "ike_port")?;
    let natt_port = port(
        ctx,
        raw.natt_port.as_ref(),
        defaults::NATT_PORT,
        "natt_port",
    )?;
    if ike_port == natt_port {
        let pos = raw
            .natt_port
            .as_ref()
            .or(raw.ike_port.as_ref())
            .map_or(Position::START, Position::of);
        return Err(ctx.errors.semantic(
            pos,
            format!("ike_port and natt_port must differ (both are {ike_port})"),
        ));
    }
    Ok(Global {
        user,
        chroot: ctx.absolute(raw.chroot.clone(), defaults::CHROOT, "chroot")?,
        socket: ctx.absolute(raw.socket.clone(), defaults::SOCKET, "socket")?,
        socket_group,
        pid_file: ctx.absolute(raw.pid_file.clone(), defaults::PID_FILE, "pid_file")?,
        kernel: raw.kernel.unwrap_or(KernelBackend::Auto),
        listen,
        ike_port,
        natt_port,
        log_level: raw.log_level.unwrap_or(LogLevel::Brief),
        allow_sha1_certificates: raw.allow_sha1_certificates.unwrap_or(false),
        dos: build_dos(raw.dos.as_ref(), ctx)?,
        fragmentation: build_fragmentation(raw.fragmentation.as_ref(), ctx)?,
        dpd: raw
            .dpd
            .map_or(Duration::from_secs(defaults::DPD_SECS), |d| d.0),
    })
}

fn port(
    ctx: &Ctx<'_>,
    p: Option<&Spanned<u16>>,
    default: u16,
    key: &str,
) -> Result<u16, ConfigError> {
    match p {
        None => Ok(default),
        Some(p) if p.value == 0 => Err(ctx.errors.value(
            Position::of(p),
            format!("{key}: expected a port from 1 to 65535, found 0"),
        )),
        Some(p) => Ok(p.value),
    }
}

fn at_least_one(
    ctx: &Ctx<'_>,
    v: Option<&Spanned<u32>>,
    default: u32,
    key: &str,
) -> Result<u32, ConfigError> {
    match v {
        None => Ok(default),
        Some(v) if v.value == 0 => Err(ctx.errors.value(
            Position::of(v),
            format!("{key}: expected at least 1, found 0"),
        )),
        Some(v) => Ok(v.value),
    }
}

/// A byte count within `lo..=hi`, or `default`.
fn bounded(
    ctx: &Ctx<'_>,
    v: Option<&Spanned<u32>>,
    default: u32,
    key: &str,
    (lo, hi): (u32, u32),
) -> Result<u32, ConfigError> {
    match v {
        None => Ok(default),
        Some(v) if !(lo..=hi).contains(&v.value) => Err(ctx.errors.value(
            Position::of(v),
            format!("{key}: expected {lo} to {hi} bytes, found {}", v.value),
        )),
        Some(v) => Ok(v.value),
    }
}

/// `dos.ipv6_prefix`: 32 (a whole site) to 128 (each address).
fn ipv6_prefix(ctx: &Ctx<'_>, v: Option<&Spanned<u32>>) -> Result<u8, ConfigError> {
    match v {
        None => Ok(defaults::IPV6_PREFIX),
        Some(v) => u8::try_from(v.value)
            .ok()
            .filter(|p| (32..=128).contains(p))
            .ok_or_else(|| {
                ctx.errors.value(
                    Position::of(v),
                    format!(
                        "ipv6_prefix: expected a prefix length from 32 to 128, found {}",
                        v.value
                    ),
                )
            }),
    }
}

fn build_dos(raw: Option<&RawDos>, ctx: &Ctx<'_>) -> Result<DosLimits, ConfigError> {
    let dos = DosLimits {
        cookie_threshold: raw
            .and_then(|d| d.cookie_threshold.as_ref())
            .map_or(defaults::COOKIE_THRESHOLD, |v| v.value),
        max_half_open_per_peer: at_least_one(
            ctx,
            raw.and_then(|d| d.max_half_open_per_peer.as_ref()),
            defaults::MAX_HALF_OPEN_PER_PEER,
            "max_half_open_per_peer",
        )?,
        max_half_open: at_least_one(
            ctx,
            raw.and_then(|d| d.max_half_open.as_ref()),
            defaults::MAX_HALF_OPEN,
            "max_half_open",
        )?,
        ipv6_prefix: ipv6_prefix(ctx, raw.and_then(|d| d.ipv6_prefix.as_ref()))?,
        max_child_sas_per_ike: at_least_one(
            ctx,
            raw.and_then(|d| d.max_child_sas_per_ike.as_ref()),
            defaults::MAX_CHILD_SAS_PER_IKE,
            "max_child_sas_per_ike",
        )?,
        max_child_sas: at_least_one(
            ctx,
            raw.and_then(|d| d.max_child_sas.as_ref()),
            defaults::MAX_CHILD_SAS,
            "max_child_sas",
        )?,
        max_message: bounded(
            ctx,
            raw.and_then(|d| d.max_message.as_ref()),
            defaults::MAX_MESSAGE,
            "max_message",
            (1280, 1 << 20),
        )?,
        max_init_message: bounded(
            ctx,
            raw.and_then(|d| d.max_init_message.as_ref()),
            defaults::MAX_INIT_MESSAGE,
            "max_init_message",
            (1280, 65535),
        )?,
    };
    if dos.max_half_open_per_peer > dos.max_half_open {
        let pos = raw
            .and_then(|d| {
                d.max_half_open_per_peer
                    .as_ref()
                    .or(d.max_half_open.as_ref())
            })
            .map_or(Position::START, Position::of);
        return Err(ctx.errors.semantic(
            pos,
            format!(
                "max_half_open_per_peer ({}) must not exceed max_half_open ({})",
                dos.max_half_open_per_peer, dos.max_half_open
            ),
        ));
    }
    Ok(dos)
}

fn build_fragmentation(
    raw: Option<&RawFragmentation>,
    ctx: &Ctx<'_>,
) -> Result<Fragmentation, ConfigError> {
    let size = match raw.and_then(|f| f.size.as_ref()) {
        None => defaults::FRAGMENT_SIZE,
        Some(s) => match u16::try_from(s.value) {
            Ok(v) if v >= 576 => v,
            _ => {
                return Err(ctx.errors.value(
                    Position::of(s),
                    format!(
                        "fragmentation size: expected 576 to 65535, found {}",
                        s.value
                    ),
                ));
            }
        },
    };
    Ok(Fragmentation {
        enabled: raw.and_then(|f| f.enabled).unwrap_or(true),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names() {
        assert!(valid_account_name("_ikedaemon"));
        assert!(valid_account_name("wheel"));
        assert!(!valid_account_name(""));
        assert!(!valid_account_name("-x"));
        assert!(!valid_account_name("a b"));
        assert!(!valid_account_name("a:b"));
    }
}
