//! ikectl's command line: `[-s socket] [--json] command [argument ...]`.

use std::ffi::OsString;
use std::path::PathBuf;

use ikedaemon::control_proto::{DEFAULT_SOCKET, LogMode, Request, ResetWhat};

const USAGE: &str = "usage: ikectl [-s socket] [--json] command [argument ...]
commands: show policies | show sa | show stats | reload | log verbose | log brief |
          reset sa | reset policy | reset all | monitor |
          initiate <policy> | terminate <policy|ike-sa-spi> |
          show flows | couple | decouple";

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cli {
    pub(crate) socket: PathBuf,
    pub(crate) json: bool,
    pub(crate) request: Request,
}

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    use lexopt::prelude::*;
    let mut socket = PathBuf::from(DEFAULT_SOCKET);
    let mut json = false;
    let mut words: Vec<String> = Vec::new();
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(|e| format!("{USAGE}\n{e}"))? {
        match arg {
            Short('s') | Long("socket") => socket = p.value().map_err(|e| e.to_string())?.into(),
            Long("json") => json = true,
            Short('h') | Long("help") => return Err(USAGE.to_string()),
            Value(v) => words.push(
                v.string()
                    .map_err(|_| "arguments must be UTF-8".to_string())?,
            ),
            other => return Err(format!("{USAGE}\n{}", other.unexpected())),
        }
    }
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let request = match w.as_slice() {
        ["show", "policies" | "policy"] => Request::ShowPolicies,
        ["show", "sa" | "sas"] => Request::ShowSa,
        ["show", "stats"] => Request::ShowStats,
        ["show", "flows" | "flow"] => Request::ShowFlows,
        ["couple"] => Request::Couple,
        ["decouple"] => Request::Decouple,
        ["reload"] => Request::Reload,
        ["log", "verbose"] => Request::Log(LogMode::Verbose),
        ["log", "brief"] => Request::Log(LogMode::Brief),
        ["reset", "sa"] => Request::Reset(ResetWhat::Sa),
        ["reset", "policy"] => Request::Reset(ResetWhat::Policy),
        ["reset", "all"] => Request::Reset(ResetWhat::All),
        ["monitor"] => Request::Monitor,
        ["initiate", policy] => Request::Initiate(policy.to_string()),
        ["terminate", target] => Request::Terminate(target.to_string()),
        [] => return Err(USAGE.to_string()),
        _ => return Err(format!("{USAGE}\nunknown command: {}", w.join(" "))),
    };
    Ok(Cli {
        socket,
        json,
        request,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Result<Cli, String> {
        parse(s.iter().map(OsString::from))
    }

    #[test]
    fn commands_and_flags() {
        let c = p(&["-s", "/tmp/x.sock", "--json", "show", "policies"]).unwrap();
        assert_eq!(c.socket, PathBuf::from("/tmp/x.sock"));
        assert!(c.json);
        assert_eq!(c.request, Request::ShowPolicies);
        assert_eq!(
            p(&["reset", "all"]).unwrap().request,
            Request::Reset(ResetWhat::All)
        );
        assert_eq!(
            p(&["log", "brief"]).unwrap().request,
            Request::Log(LogMode::Brief)
        );
        assert_eq!(
            p(&["initiate", "site"]).unwrap().request,
            Request::Initiate("site".into())
        );
        assert_eq!(
            p(&["terminate", "9f3a0c41d2e5b6a7"]).unwrap().request,
            Request::Terminate("9f3a0c41d2e5b6a7".into())
        );
        assert!(
            p(&["initiate"])
                .unwrap_err()
                .ends_with("unknown command: initiate")
        );
        assert_eq!(
            p(&["monitor"]).unwrap().socket,
            PathBuf::from(DEFAULT_SOCKET)
        );
    }

    #[test]
    fn bad_commands_print_usage() {
        assert!(p(&[]).unwrap_err().starts_with("usage:"));
        assert!(
            p(&["show", "everything"])
                .unwrap_err()
                .ends_with("unknown command: show everything")
        );
        assert!(p(&["-x", "reload"]).unwrap_err().starts_with("usage:"));
    }
}
