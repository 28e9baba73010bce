//! ikectl: the control tool that talks to ikedaemon's control socket.
//!
//! `ikectl [-s socket] [--json] command [argument ...]`; the protocol is
//! `ikedaemon::control_proto`, shared with the daemon.

mod cli;
mod print;

use std::io;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use ikedaemon::control_proto::{FrameError, Request, Response, read_frame, write_frame};

fn connect(path: &std::path::Path) -> Result<UnixStream, String> {
    UnixStream::connect(path).map_err(|e| {
        let why = match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                "daemon not running?".to_string()
            }
            io::ErrorKind::PermissionDenied => {
                "permission denied (root or the socket's group is needed)".to_string()
            }
            _ => e.to_string(),
        };
        format!("cannot connect to {}: {why}", path.display())
    })
}

fn run() -> Result<ExitCode, String> {
    let cli = cli::parse(std::env::args_os().skip(1))?;
    let mut stream = connect(&cli.socket)?;
    write_frame(&mut stream, &cli.request).map_err(|e| format!("cannot send the request: {e}"))?;
    let streaming = cli.request == Request::Monitor;
    loop {
        let resp: Response = match read_frame(&mut stream) {
            Ok(r) => r,
            Err(FrameError::Closed) if streaming => return Ok(ExitCode::SUCCESS),
            Err(FrameError::Closed) => return Err("the daemon closed the connection".into()),
            Err(e) => return Err(format!("bad answer from the daemon: {e}")),
        };
        let failed = matches!(resp, Response::Error(_));
        if cli.json {
            println!("{}", serde_json::to_string(&resp).unwrap_or_default());
        } else {
            print::human(&resp);
        }
        if !streaming || failed {
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ikectl: {e}");
            if e.starts_with("usage:") {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
