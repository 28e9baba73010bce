//! The daemon's log: one line per event, prefixed with the process role,
//! to stderr in the foreground (`-d`) or to syslog (facility daemon)
//! otherwise. The verbosity can change at run time (`ikectl log verbose`).
//!
//! Never log key material: callers pass values whose `Display` redacts
//! secrets.

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::sys;

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Errors only.
    Error = 0,
    /// Warnings.
    Warn = 1,
    /// Normal operation (SAs up and down, configuration loaded).
    Info = 2,
    /// More detail (`-v`, `ikectl log verbose`).
    Verbose = 3,
    /// Everything (`-vv`).
    Debug = 4,
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Standard error (`-d`).
    Stderr,
    /// syslog(3), facility daemon.
    Syslog,
}

static ROLE: OnceLock<&'static str> = OnceLock::new();
static TARGET: OnceLock<Target> = OnceLock::new();
static VERBOSITY: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets up logging for this process. For syslog this opens the log
/// connection at once (LOG_NDELAY), before a chroot hides /dev/log.
pub fn init(role: &'static str, target: Target, level: Level) {
    let _ = ROLE.set(role);
    let _ = TARGET.set(target);
    set_level(level);
    if target == Target::Syslog {
        sys::openlog_daemon();
    }
}

/// True once [`init`] has run (before that, errors go to stderr only).
pub fn initialized() -> bool {
    TARGET.get().is_some()
}

/// Changes the verbosity.
pub fn set_level(level: Level) {
    VERBOSITY.store(level as u8, Ordering::Relaxed);
}

/// The current verbosity.
pub fn level() -> Level {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Level::Error,
        1 => Level::Warn,
        2 => Level::Info,
        3 => Level::Verbose,
        _ => Level::Debug,
    }
}

/// True when a message at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level <= self::level()
}

/// Writes one line at `level`.
pub fn write(level: Level, args: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let role = ROLE.get().copied().unwrap_or("ikedaemon");
    let line = format!("{role}: {args}");
    match TARGET.get().copied().unwrap_or(Target::Stderr) {
        Target::Stderr => {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
        Target::Syslog => sys::syslog(level, &line),
    }
}

/// Logs an error.
#[macro_export]
macro_rules! log_error { ($($t:tt)*) => { $crate::logging::write($crate::logging::Level::Error, format_args!($($t)*)) } }
/// Logs a warning.
#[macro_export]
macro_rules! log_warn { ($($t:tt)*) => { $crate::logging::write($crate::logging::Level::Warn, format_args!($($t)*)) } }
/// Logs normal operation.
#[macro_export]
macro_rules! log_info { ($($t:tt)*) => { $crate::logging::write($crate::logging::Level::Info, format_args!($($t)*)) } }
/// Logs detail shown with `-v`.
#[macro_export]
macro_rules! log_verbose { ($($t:tt)*) => { $crate::logging::write($crate::logging::Level::Verbose, format_args!($($t)*)) } }
/// Logs debugging detail shown with `-vv`.
#[macro_export]
macro_rules! log_debug { ($($t:tt)*) => { $crate::logging::write($crate::logging::Level::Debug, format_args!($($t)*)) } }
