//! Command-line flags of `ikedaemon`, in the style of iked(8):
//! `ikedaemon [-46dnv] [-f file] [-s socket]`.

use std::ffi::OsString;
use std::path::PathBuf;

/// Default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/ikedaemon.conf";

/// The parsed flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `-4`: IPv4 only.
    pub only_v4: bool,
    /// `-6`: IPv6 only.
    pub only_v6: bool,
    /// `-d`: stay in the foreground, log to stderr.
    pub foreground: bool,
    /// `-n`: check the configuration and exit.
    pub check_only: bool,
    /// `-v` count.
    pub verbose: u8,
    /// `-f file`.
    pub config: PathBuf,
    /// `-s socket`.
    pub socket: Option<PathBuf>,
}

/// The usage line.
pub const USAGE: &str = "usage: ikedaemon [-46dnv] [-f file] [-s socket]";

/// Parses the flags (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut a = Args {
        only_v4: false,
        only_v6: false,
        foreground: false,
        check_only: false,
        verbose: 0,
        config: PathBuf::from(DEFAULT_CONFIG),
        socket: None,
    };
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Short('4') => a.only_v4 = true,
            Short('6') => a.only_v6 = true,
            Short('d') => a.foreground = true,
            Short('n') => a.check_only = true,
            Short('v') => a.verbose = a.verbose.saturating_add(1),
            Short('f') => a.config = p.value().map_err(|e| e.to_string())?.into(),
            Short('s') => a.socket = Some(p.value().map_err(|e| e.to_string())?.into()),
            other => return Err(other.unexpected().to_string()),
        }
    }
    if a.only_v4 && a.only_v6 {
        return Err("-4 and -6 exclude each other".into());
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Result<Args, String> {
        parse(s.iter().map(OsString::from))
    }

    #[test]
    fn flags_combine_like_iked() {
        let a = p(&["-dvv", "-f", "/tmp/x.conf", "-s/tmp/s.sock", "-4"]).unwrap();
        assert!(a.foreground && a.only_v4 && !a.check_only);
        assert_eq!(a.verbose, 2);
        assert_eq!(a.config, PathBuf::from("/tmp/x.conf"));
        assert_eq!(a.socket, Some(PathBuf::from("/tmp/s.sock")));
        assert_eq!(p(&[]).unwrap().config, PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn bad_flags_are_refused() {
        assert_eq!(p(&["-x"]).unwrap_err(), "invalid option '-x'");
        assert!(p(&["-f"]).unwrap_err().contains("missing argument"));
        assert_eq!(
            p(&["-4", "-6"]).unwrap_err(),
            "-4 and -6 exclude each other"
        );
        assert!(p(&["extra"]).is_err());
    }
}
