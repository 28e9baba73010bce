//! The configuration: the YAML schema of `ikedaemon.conf`, its defaults
//! and its validation, producing a typed [`Config`] or one positioned
//! [`ConfigError`] (`FILE:LINE:COLUMN: what was expected`).
//!
//! This module is data: it reads the configuration file and the secret
//! and certificate files it names, and imports no process, socket, kernel
//! or privilege-separation code. See ikedaemon.conf(5) for the schema.
//!
//! Relative file names in the configuration (`psk_file`, `certificate`,
//! `private_key`, `ca`) are taken relative to the configuration file's
//! directory. Secret files, and the configuration file itself when it
//! holds an inline `psk`, must not be accessible by group or others.

mod address;
mod auth;
mod build;
mod error;
mod id;
mod lifetime;
mod model;
mod policy;
mod proposal;
mod raw;
mod scalar;
mod secret;
mod selector;
mod yaml;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub use address::{EndpointAddress, Prefix};
pub use error::{ConfigError, ErrorKind, Position};
pub use id::{ID_KINDS, IdSpec};
pub use lifetime::{CHILD_EXPIRE, CHILD_REKEY, IKE_EXPIRE, IKE_REKEY};
pub use model::{
    AuthSpec, ChildLifetime, Childless, Config, DosLimits, Endpoint, Fragmentation, Global,
    KernelBackend, Lifetimes, LogLevel, Mode, Policy, SaLifetime, StartAction,
};
pub use proposal::{DEFAULT_ESP, DEFAULT_IKE};
pub use scalar::{ByteSize, TimeSpan, format_duration};
pub use secret::{Redacted, read_private};
pub use selector::{PortRange, TrafficSelector, TsAddress};

use build::Ctx;
use error::ErrorSink;

/// Reads and checks the configuration file at `path`, and the secret and
/// certificate files it names.
///
/// Refused besides schema errors: a configuration file writable by group
/// or others, and one readable by group or others that holds an inline
/// `psk`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file_name = path.display().to_string();
    let errors = ErrorSink::new(&file_name);
    let whole = |kind, msg: String| errors.at(Position::START, kind, msg);
    let mut file = secret::open_nonblocking(path).map_err(|e| {
        whole(
            ErrorKind::File,
            format!("cannot open the configuration: {e}"),
        )
    })?;
    let meta = file.metadata().map_err(|e| {
        whole(
            ErrorKind::File,
            format!("cannot stat the configuration: {e}"),
        )
    })?;
    if !meta.is_file() {
        return Err(whole(ErrorKind::File, "not a regular file".into()));
    }
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(whole(
            ErrorKind::Permission,
            format!(
                "the configuration is writable by group or others (mode {:04o}); chmod go-w it",
                mode & 0o7777
            ),
        ));
    }
    if meta.len() > yaml::MAX_CONFIG_BYTES as u64 {
        return Err(whole(ErrorKind::Limit, too_large(meta.len())));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.by_ref()
        .take(yaml::MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            whole(
                ErrorKind::File,
                format!("cannot read the configuration: {e}"),
            )
        })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        errors.at(
            end_position(valid),
            ErrorKind::Syntax,
            "the file is not UTF-8 text",
        )
    })?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    parse_in(&text, &file_name, base_dir, Some(mode))
}

/// Checks configuration text; `file_name` names it in errors, and its
/// directory is where relative file names are looked up. Secret and
/// certificate files are read and checked as by [`load`]; the permissions
/// of the configuration itself are not (there is no file to check).
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
    let base_dir = match Path::new(file_name).parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    parse_in(text, file_name, base_dir, None)
}

fn parse_in(
    text: &str,
    file_name: &str,
    base_dir: &Path,
    config_mode: Option<u32>,
) -> Result<Config, ConfigError> {
    let errors = ErrorSink::new(file_name);
    if text.len() > yaml::MAX_CONFIG_BYTES {
        return Err(errors.at(
            Position::START,
            ErrorKind::Limit,
            too_large(text.len() as u64),
        ));
    }
    let raw: raw::RawConfig = yaml::from_str(text, file_name)?;
    let ctx = Ctx {
        errors,
        file: file_name,
        base_dir,
        config_mode,
    };
    build::build(raw, &ctx)
}

fn too_large(len: u64) -> String {
    format!(
        "the configuration is too large ({len} bytes, at most {})",
        yaml::MAX_CONFIG_BYTES
    )
}

/// The position just after `text`.
fn end_position(text: &str) -> Position {
    let line = text.matches('\n').count() as u64 + 1;
    let last = text.rsplit('\n').next().unwrap_or("");
    Position {
        line,
        column: last.chars().count() as u64 + 1,
    }
}

#[cfg(test)]
mod tests;
