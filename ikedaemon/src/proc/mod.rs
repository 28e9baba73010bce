//! The processes (DESIGN.md "Process model"): the privileged parent, the
//! unprivileged negotiator (IKE on UDP 500/4500), the unprivileged control
//! process (ikectl) and, as in iked, the unprivileged ca process that
//! validates peers' certificates. This is the only place that wires
//! configuration, engine and privsep together.

pub mod args;
mod ca;
mod ca_client;
mod ca_verify;
mod certs;
mod child;
mod control;
mod control_access;
mod custody_worker;
mod endpoint;
mod failure_log;
mod gate;
mod gate_kernel;
mod gate_sign;
mod kernel_view;
mod negotiator;
mod negotiator_engine;
mod parent;
mod parent_loop;
mod parent_requests;
mod policy_info;
mod reconcile;
mod secrets;
mod signals;
pub mod sockets;
pub mod udp;

use std::process::ExitCode;

/// The binary's entry point: a child role when re-executed with
/// `--privsep-role`, the parent otherwise.
pub fn main() -> ExitCode {
    if let Some((role, _rest)) = privsep::spawn::role_from_args(std::env::args_os()) {
        return ExitCode::from(match role.as_str() {
            "negotiator" => negotiator::run(),
            "control" => control::run(),
            "ca" => ca::run(),
            other => {
                eprintln!("ikedaemon: unknown role {other}");
                2
            }
        });
    }
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ikedaemon: {e}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    if args.check_only {
        return ExitCode::from(parent::check_only(&args));
    }
    match parent::start(args) {
        Ok(p) => ExitCode::from(p.event_loop()),
        Err(e) => {
            if crate::logging::initialized() {
                crate::log_error!("{e}");
            } else {
                eprintln!("ikedaemon: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
