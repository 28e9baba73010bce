//! ikedaemon: the IKEv2 keying daemon.
//!
//! - `ike/`: the sans-IO IKEv2 layer (wire codec, crypto suite, protected
//!   messages, proposals);
//! - `config/`: the YAML configuration, its defaults and validation;
//! - `proc/`: the privileged parent and the unprivileged negotiator and
//!   control processes, wired together over `ipc`;
//! - `control_proto`: the protocol `ikectl` speaks on the control socket.
//!
//! - `kernel/`: the parent's kernel backends (PF_KEY, XFRM, none).

pub mod config;
pub mod control_proto;
pub mod ike;
pub mod ipc;
mod kernel;
pub mod logging;
pub mod proc;
mod sys;

#[cfg(target_os = "linux")]
pub use sys::udp_encap;
