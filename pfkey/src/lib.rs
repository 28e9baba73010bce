//! PF_KEY v2 (RFC 2367): typed messages, a codec and a socket, in the three
//! dialects that exist in practice.
//!
//! No crate on crates.io implements PF_KEY, so this one is written by hand.
//! It knows nothing about IKE.
//!
//! - [`Message`] holds the `sadb_msg` header and its [`Extension`]s; each
//!   extension is a kind ([`ExtKind`], which fixes the wire number per
//!   dialect) and a body ([`ExtBody`], one struct per C layout).
//! - [`Dialect`] selects the numbering and layouts: Linux `af_key`, KAME
//!   (FreeBSD; NetBSD, DragonFly and macOS descend from it) and OpenBSD
//!   (flows instead of an SPD). [`Dialect::NATIVE`] follows `target_os`;
//!   all three are compiled and tested everywhere.
//! - [`Message::decode`] never panics and never trusts a length; every
//!   malformed input gives a [`DecodeError`] naming what and where.
//! - [`PfKeySocket`] opens the kernel socket, matches replies by seq and
//!   pid (dumps by pid and type until the last record), keeps kernel events
//!   apart from other processes' replies, and reports receive-queue
//!   overflow (ENOBUFS) so the caller can resynchronise. Only FreeBSD
//!   reports overflow; Linux af_key and OpenBSD drop the message silently,
//!   so there a timeout is the only sign and should also trigger a resync.
//!   OpenBSD dumps need sysctl (not the socket) and are refused for now.
//! - [`show`] prints SAs and policies the way `setkey -D` / `-DP` do.
//!
//! Differences handled per dialect, beyond numbering: OpenBSD numbers AH 1
//! and ESP 2 and its `sadb_address` has no proto/prefix fields; the
//! ipsecrequest header is 16 bytes with a 32-bit reqid on Linux, 8 bytes
//! with a 16-bit reqid in KAME; `sadb_sa_replay` counts packets on Linux
//! (at most 32) but bytes in FreeBSD, which has `sadb_x_sa_replay` (in
//! packets) for larger windows; `AF_INET6` is 10 on Linux, 28 on FreeBSD,
//! 24 on OpenBSD and NetBSD, 30 on macOS.
//!
//! NetBSD and macOS are compiled as KAME with their own `AF_INET6`; their
//! headers add a few numbers FreeBSD lacks (listed in the README) that this
//! crate does not model yet.

pub mod algorithms;
mod dialect;
pub mod error;
pub mod ext;
#[doc(hidden)]
pub mod fuzz_support;
pub mod ipsec;
pub mod matching;
mod message;
mod numbers;
pub mod show;
mod sockaddr;
mod socket;
mod sys;
mod wire;

pub use algorithms::{AuthAlgorithm, CompressAlgorithm, EncryptAlgorithm};
pub use dialect::Dialect;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, SizeRule};
pub use ext::{ExtBody, Extension};
pub use ipsec::{Direction, FlowType, Level, Mode, PolicyType};
pub use matching::Disposition;
pub use message::{HEADER_LEN, MAX_MESSAGE_LEN, Message, PF_KEY_V2};
pub use numbers::{ExtKind, Layout, MessageType, SaState, SaType};
pub use socket::{DEFAULT_TIMEOUT, Incoming, PfKeySocket, SocketError};
