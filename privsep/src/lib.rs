//! Process separation for ikedaemon, knowing nothing about IKE:
//!
//! - [`channel`]: the typed IPC channel (seqpacket socketpair, postcard
//!   payloads, descriptor passing) and the [`ipc_enum!`] macro;
//! - [`spawn`]: start a child by fork + re-exec of the own binary with a
//!   role argument, and pick up the channel on the child side;
//! - [`privdrop`]: chroot, drop to an unprivileged user, verify the drop;
//! - [`secret`]: a zeroizing, redacted wrapper for key material.
//!
//! All unsafe code is in the private `sys` module.

// `ipc_enum!` names serde through `privsep::` (serde's `crate` attribute
// takes a string, where `$crate` does not expand); this makes that path
// work inside this crate too.
extern crate self as privsep;

pub mod channel;
#[doc(hidden)]
pub mod fuzz_support;
pub mod privdrop;
pub mod secret;
pub mod spawn;
mod sys;

pub use channel::{Channel, ChannelError, IpcMessage, Received};
pub use secret::Secret;

/// What [`ipc_enum!`] expands to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
