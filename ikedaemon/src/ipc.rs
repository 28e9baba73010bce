//! The typed messages that cross process boundaries (DESIGN.md "Typed
//! IPC"): parent ↔ negotiator and parent ↔ control. Each enum has stable
//! kind numbers; the frame header carries the kind and the peer id (the
//! ikectl client a request came from, so replies find their way back).
//!
//! What never crosses: PSKs and private keys (they stay in the parent).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::control_proto::{Event, PolicyInfo, Request, ResetWhat, Response, SaInfo, Stats};

/// Version of the IPC protocol, checked by the start-up handshake.
pub const IPC_VERSION: u32 = 1;

/// Where and how a child logs and which unprivileged identity it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSetup {
    /// User to switch to.
    pub user: String,
    /// Directory to chroot into.
    pub chroot: PathBuf,
    /// True: log to stderr (`-d`); false: syslog.
    pub log_stderr: bool,
    /// Verbosity (`logging::Level` as a number).
    pub log_level: u8,
}

/// One IKE socket handed to the negotiator (the fd travels with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketInfo {
    /// Bound address.
    pub local: SocketAddr,
    /// NAT-T port (non-ESP marker).
    pub natt: bool,
}

privsep::ipc_enum! {
    /// Parent → negotiator.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ToNegotiator {
        /// First message: identity and logging. Sent before the privilege drop.
        Setup(ChildSetup) = 1,
        /// An IKE socket; its fd is attached.
        Socket(SocketInfo) = 2,
        /// The policies in effect (start-up and every reload).
        Policies(Vec<PolicyInfo>) = 3,
        /// All sockets and policies have been sent.
        Start = 4,
        /// A control request for the negotiator (`show sa`, `show stats`, `reset`).
        Control(Request) = 5,
        /// New verbosity.
        LogLevel(u8) = 6,
        /// Orderly shutdown.
        Shutdown = 7,
    }
}

privsep::ipc_enum! {
    /// Negotiator → parent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum FromNegotiator {
        /// Privileges dropped, sockets received, running.
        Ready = 1,
        /// Answer to a forwarded control request (the peer id routes it).
        Reply(Response) = 2,
        /// Something `ikectl monitor` should show.
        Event(Event) = 3,
    }
}

privsep::ipc_enum! {
    /// Parent → control.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ToControl {
        /// First message: identity and logging. Sent before the privilege drop.
        Setup(ChildSetup) = 1,
        /// The listening control socket; its fd is attached.
        Listener = 2,
        /// Who may use the socket besides root: the socket's gid and the
        /// uids of its members (resolved by the parent, which sees
        /// /etc/group; the control process is chrooted).
        Access {
            /// The socket's group.
            gid: u32,
            /// Users with that group as a supplementary group.
            member_uids: Vec<u32>,
        } = 3,
        /// The answer for one client (peer id).
        Reply(Response) = 4,
        /// An event for every `monitor` client.
        Event(Event) = 5,
        /// New verbosity.
        LogLevel(u8) = 6,
        /// Orderly shutdown.
        Shutdown = 7,
    }
}

privsep::ipc_enum! {
    /// Control → parent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum FromControl {
        /// Privileges dropped, listening.
        Ready = 1,
        /// A client's request (peer id = client).
        Request(Request) = 2,
    }
}

/// The control requests the negotiator answers; the parent answers the
/// rest itself.
pub fn for_negotiator(r: &Request) -> bool {
    matches!(
        r,
        Request::ShowSa | Request::ShowStats | Request::Reset(ResetWhat::Sa)
    )
}

/// SAs for `show sa` (kept here so both sides agree on the empty case).
pub fn no_sas() -> Response {
    Response::Sas(Vec::<SaInfo>::new())
}

/// Stats merged by the parent: the negotiator's counters plus its own.
pub fn merge_stats(mut neg: Stats, parent: &Stats) -> Stats {
    neg.uptime_secs = parent.uptime_secs;
    neg.config_loads = parent.config_loads;
    neg.config_rejected = parent.config_rejected;
    neg.control_requests = parent.control_requests;
    neg
}
