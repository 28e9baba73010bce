//! The typed messages that cross process boundaries (DESIGN.md "Typed
//! IPC"): parent ↔ negotiator, parent ↔ control and parent ↔ ca. Each enum has stable
//! kind numbers; the frame header carries the kind and the peer id (the
//! ikectl client a request came from, so replies find their way back).
//!
//! What never crosses: PSKs and private keys (they stay in the parent).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::control_proto::{Event, Request, ResetWhat, Response, Stats};
use crate::ike::engine::{EnginePolicy, ParentAnswer, ParentRequest, RemoteMatch, TsSpec};
use crate::ike::proposal::{ProposalConfig, SaProtocol};
use crate::ike::wire::Identification;

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

/// A policy as the negotiator needs it: no secrets, proposals as their
/// canonical strings (parsed again on the other side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySpec {
    /// Name.
    pub name: String,
    /// Initiate at start-up.
    pub active: bool,
    /// Our address, when the policy names one.
    pub local_addr: Option<std::net::IpAddr>,
    /// Our ID (`None`: our address).
    pub local_id: Option<Identification>,
    /// The peer's required ID (`None`: any).
    pub remote_id: Option<Identification>,
    /// Policies with equal classes authenticate peers identically (same
    /// PSK or CA set, decided by the parent, which holds the secrets).
    pub auth_class: u32,
    /// Peers it applies to.
    pub remote: RemoteMatch,
    /// The peer's address when we initiate.
    pub remote_addr: Option<std::net::IpAddr>,
    /// IKE proposals.
    pub ike: Vec<String>,
    /// ESP proposals.
    pub esp: Vec<String>,
    /// Our traffic selectors.
    pub local_ts: Vec<TsSpec>,
    /// The peer's traffic selectors.
    pub remote_ts: Vec<TsSpec>,
    /// Transport mode.
    pub transport: bool,
    /// Our certificate and its intermediate CAs (DER), for CERT payloads
    /// (public data).
    pub certs: Vec<Vec<u8>>,
    /// SHA-1 of our CAs' public keys, for CERTREQ (public data).
    pub ca_hashes: Vec<[u8; 20]>,
    /// Liveness-check interval in seconds (0: off).
    pub dpd_secs: u64,
    /// IKE SAs without a CHILD SA (RFC 6023).
    pub childless: crate::ike::engine::Childless,
    /// IKE SA rekey time in seconds (0: never).
    pub ike_rekey_secs: u64,
    /// IKE SA reauthentication time in seconds (0: never).
    pub ike_reauth_secs: u64,
    /// IKE SA hard lifetime in seconds (0: none).
    pub ike_expire_secs: u64,
    /// CHILD SA hard lifetime in seconds (0: none).
    pub child_expire_secs: u64,
}

/// Seconds as a duration, 0 as none.
fn secs(s: u64) -> Option<std::time::Duration> {
    (s > 0).then(|| std::time::Duration::from_secs(s))
}

impl PolicySpec {
    /// The engine's policy.
    pub fn to_engine(&self) -> Result<EnginePolicy, String> {
        let parse = |v: &[String], p| -> Result<Vec<ProposalConfig>, String> {
            v.iter()
                .map(|s| ProposalConfig::parse(s, p).map_err(|e| e.to_string()))
                .collect()
        };
        Ok(EnginePolicy {
            name: self.name.clone(),
            local_id: self.local_id.clone(),
            remote_id: self.remote_id.clone(),
            auth_class: self.auth_class,
            remote: self.remote.clone(),
            remote_addr: self.remote_addr,
            ike: parse(&self.ike, SaProtocol::Ike)?,
            esp: parse(&self.esp, SaProtocol::Esp)?,
            local_ts: self.local_ts.clone(),
            remote_ts: self.remote_ts.clone(),
            transport: self.transport,
            certs: self.certs.clone(),
            certreq: self.ca_hashes.concat(),
            dpd: secs(self.dpd_secs),
            childless: self.childless,
            ike_rekey: secs(self.ike_rekey_secs),
            ike_reauth: secs(self.ike_reauth_secs),
            ike_expire: secs(self.ike_expire_secs),
            child_expire: secs(self.child_expire_secs),
        })
    }
}

/// The engine settings from the configuration's global section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSettings {
    /// IKE fragmentation size, `None` when disabled.
    pub fragment_size: Option<u16>,
    /// Half-open IKE SAs before COOKIEs.
    pub cookie_threshold: u32,
    /// Half-open IKE SAs per peer.
    pub max_half_open_per_peer: u32,
    /// Half-open IKE SAs in total.
    pub max_half_open: u32,
    /// IPv6 half-open SAs counted per prefix of this length.
    pub ipv6_prefix: u8,
    /// CHILD SAs per IKE SA.
    pub max_child_sas_per_ike: u32,
    /// Largest IKE message accepted (reassembled).
    pub max_message: u32,
    /// Largest IKE_SA_INIT request accepted.
    pub max_init_message: u32,
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
        Policies(Vec<PolicySpec>) = 3,
        /// All sockets and policies have been sent.
        Start = 4,
        /// A control request for the negotiator (`show sa`, `show stats`, `reset`).
        Control(Request) = 5,
        /// New verbosity.
        LogLevel(u8) = 6,
        /// Orderly shutdown.
        Shutdown = 7,
        /// The answer to a `FromNegotiator::Parent` request.
        Answer(ParentAnswer) = 8,
        /// Engine settings (start-up and reload).
        Settings(EngineSettings) = 9,
        /// Traffic hit an on-demand policy's flow (a kernel ACQUIRE):
        /// negotiate that policy.
        Acquire(String) = 10,
        /// A CHILD SA (our inbound SPI) reached its soft or hard lifetime
        /// in the kernel.
        ChildExpired {
            /// Our inbound SPI.
            spi_in: u32,
            /// Hard: the kernel deleted it.
            hard: bool,
        } = 11,
        /// SPIs for new IKE SAs: the parent makes our AUTH only for IKE
        /// SAs whose SPI it issued (start-up, and on `NeedSpis`; empty
        /// when the negotiator holds too many unused).
        Spis(Vec<u64>) = 12,
        /// CHILD SAs the negotiator reported that the parent does not
        /// have (reconcile.rs): delete them.
        Missing(Vec<u32>) = 13,
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
        /// Sign or verify an AUTH payload with the policy's secret.
        Parent(ParentRequest) = 4,
        /// A CHILD SA is gone (deleted by either side, or with its IKE SA):
        /// the kernel backend removes it. Our inbound SPI names it.
        ChildGone(u32) = 6,
        /// An IKE SA is gone: the parent forgets its binding and retires
        /// its SPI.
        IkeGone(u64) = 7,
        /// An IKE SA was rekeyed: its CHILD SAs belong to the new one.
        IkeRekeyed {
            /// The old IKE SA.
            old: u64,
            /// The new one.
            new: u64,
        } = 8,
        /// Add the outbound SA of a CHILD SA installed inbound-only (the
        /// responder of a rekey, once the old CHILD SA is gone). Our
        /// inbound SPI names it.
        ActivateOutbound(u32) = 9,
        /// The pool of parent-issued IKE SPIs runs low.
        NeedSpis = 10,
        /// Part of the periodic report of live SAs (reconcile.rs).
        Live {
            /// IKE SA ids.
            ikes: Vec<u64>,
            /// CHILD SAs' inbound SPIs.
            children: Vec<u32>,
            /// The report's last part.
            last: bool,
        } = 11,
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
        Request::ShowSa
            | Request::ShowStats
            | Request::Reset(ResetWhat::Sa)
            | Request::Initiate(_)
            | Request::Terminate(_)
    )
}

/// Stats merged by the parent: the negotiator's counters plus its own.
pub fn merge_stats(mut neg: Stats, parent: &Stats) -> Stats {
    neg.uptime_secs = parent.uptime_secs;
    neg.config_loads = parent.config_loads;
    neg.config_rejected = parent.config_rejected;
    neg.control_requests = parent.control_requests;
    neg.child_sas = parent.child_sas;
    neg.auth_made = parent.auth_made;
    neg.peers_verified = parent.peers_verified;
    neg.peers_refused = parent.peers_refused;
    neg
}

/// One certificate policy's trusted CAs, for the `ca` process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustSet {
    /// The policy.
    pub policy: String,
    /// Its CA certificates (DER).
    pub cas: Vec<Vec<u8>>,
}

privsep::ipc_enum! {
    /// Parent → ca (the process that parses and validates peers'
    /// certificates, so that the root parent never does).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ToCa {
        /// First message: identity and logging. Sent before the privilege drop.
        Setup(ChildSetup) = 1,
        /// The CA sets (start-up and every reload); replaces the last.
        Trust {
            /// Per certificate policy.
            sets: Vec<TrustSet>,
            /// Take certificates signed with SHA-1.
            allow_sha1: bool,
        } = 2,
        /// Validate a peer's certificates for `policy` and its ID.
        Verify {
            /// Echoed in the answer.
            id: u64,
            /// The policy whose CAs apply.
            policy: String,
            /// The peer's certificates (DER), leaf first.
            certs: Vec<Vec<u8>>,
            /// The identity the peer claims.
            peer_id: Identification,
        } = 3,
        /// Orderly shutdown.
        Shutdown = 4,
        /// New verbosity.
        LogLevel(u8) = 5,
    }
}

privsep::ipc_enum! {
    /// ca → parent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum FromCa {
        /// The answer to `Verify`: the leaf's SubjectPublicKeyInfo (DER),
        /// or why the certificates are refused.
        Verified {
            /// The request's id.
            id: u64,
            /// The result.
            result: Result<Vec<u8>, String>,
        } = 1,
    }
}
