//! The loaded configuration as the daemon uses it: plain typed values with
//! every default filled in and every cross-check done. Nothing here
//! parses; `build` produces these from the YAML.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::ike::proposal::ProposalConfig;
use serde::Deserialize;

use super::address::EndpointAddress;
use super::id::IdSpec;
use super::secret::Redacted;
use super::selector::TrafficSelector;

/// A whole configuration file. Equality compares secrets too (not in
/// constant time): it is for telling whether a reload changed anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Daemon-wide settings.
    pub global: Global,
    /// The policies, in file order (may be empty).
    pub policies: Vec<Policy>,
}

impl Config {
    /// The policy of this name.
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// Daemon-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Unprivileged user of the negotiator and control processes.
    pub user: String,
    /// Directory the unprivileged processes chroot into.
    pub chroot: PathBuf,
    /// Control socket path.
    pub socket: PathBuf,
    /// Group allowed to use the control socket (mode 0660); `None`: root
    /// only (group 0).
    pub socket_group: Option<String>,
    /// PID file path.
    pub pid_file: PathBuf,
    /// Kernel backend.
    pub kernel: KernelBackend,
    /// Addresses to bind the IKE and NAT-T UDP sockets on.
    pub listen: Vec<IpAddr>,
    /// IKE UDP port (500).
    pub ike_port: u16,
    /// NAT-T UDP port (4500).
    pub natt_port: u16,
    /// Log detail.
    pub log_level: LogLevel,
    /// Take peer certificates signed with SHA-1 (refused by default).
    pub allow_sha1_certificates: bool,
    /// Denial-of-service limits.
    pub dos: DosLimits,
    /// IKE fragmentation (RFC 7383).
    pub fragmentation: Fragmentation,
    /// Default liveness-check interval; zero is off.
    pub dpd: Duration,
}

/// The kernel backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelBackend {
    /// XFRM on Linux, PF_KEY elsewhere.
    Auto,
    /// PF_KEY v2.
    Pfkey,
    /// Linux XFRM netlink.
    Xfrm,
    /// Negotiate only, install nothing (tests and benchmarks).
    None,
}

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// One line per SA event and per failure.
    Brief,
    /// Also each exchange.
    Verbose,
    /// Also payload details (never key material).
    Debug,
}

/// Denial-of-service limits on half-open IKE SAs and message sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DosLimits {
    /// Half-open IKE SAs before COOKIEs are demanded.
    pub cookie_threshold: u32,
    /// Half-open IKE SAs allowed per peer address.
    pub max_half_open_per_peer: u32,
    /// Half-open IKE SAs allowed in total.
    pub max_half_open: u32,
    /// IPv6 peers are counted per prefix of this length (one host owns a
    /// whole /64).
    pub ipv6_prefix: u8,
    /// CHILD SAs one IKE SA may carry (rekeys aside).
    pub max_child_sas_per_ike: u32,
    /// CHILD SAs installed in total (the parent refuses more).
    pub max_child_sas: u32,
    /// Largest IKE message accepted, reassembled fragments included.
    pub max_message: u32,
    /// Largest IKE_SA_INIT request accepted.
    pub max_init_message: u32,
}

/// IKE fragmentation settings (RFC 7383).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fragmentation {
    /// Offer and accept fragmentation.
    pub enabled: bool,
    /// Largest IKE datagram sent before fragmenting, 576..=65535.
    pub size: u16,
}

/// Who starts the IKE SA of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartAction {
    /// Initiate at startup.
    Active,
    /// Wait for the peer.
    Passive,
    /// Initiate when the kernel sees matching traffic (ACQUIRE).
    OnDemand,
}

pub use crate::ike::engine::Childless;

/// IPsec mode of the CHILD SAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Tunnel mode.
    Tunnel,
    /// Transport mode (host to host).
    Transport,
}

/// One end of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The IKE address (remote: may be a prefix or any).
    pub address: EndpointAddress,
    /// The identity; `None`: local end: the IP of the address the IKE SA
    /// uses; remote end: any identity is accepted (authentication still
    /// applies).
    pub id: Option<IdSpec>,
}

/// How the peers authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSpec {
    /// Pre-shared key (inline or read from `psk_file` at load time).
    Psk(Redacted),
    /// Certificate and private key; the peer is verified against the CAs.
    Certificate {
        /// Our certificate (PEM).
        cert: PathBuf,
        /// Our private key (PEM; owner-only permissions checked at load).
        key: PathBuf,
        /// CA certificates the peer's certificate must chain to.
        ca: Vec<PathBuf>,
    },
}

/// Lifetimes of the IKE SA and the CHILD SAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lifetimes {
    /// IKE SA.
    pub ike: SaLifetime,
    /// CHILD SAs.
    pub child: ChildLifetime,
}

/// Rekey and expiry times of an IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SaLifetime {
    /// Rekey after this long.
    pub rekey: Duration,
    /// Delete after this long (greater than `rekey`).
    pub expire: Duration,
    /// Reauthenticate (a new IKE SA with IKE_AUTH) after this long,
    /// counted across rekeys; `None`: never.
    pub reauth: Option<Duration>,
}

/// Rekey and expiry limits of a CHILD SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildLifetime {
    /// Rekey after this long.
    pub rekey: Duration,
    /// Delete after this long (greater than `rekey`).
    pub expire: Duration,
    /// Rekey after this many bytes; 0: no byte limit.
    pub rekey_bytes: u64,
    /// Delete after this many bytes; 0: no byte limit.
    pub expire_bytes: u64,
}

/// One policy: a peer, how to authenticate it and what to protect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Unique name (`[A-Za-z0-9._-]{1,64}`).
    pub name: String,
    /// Who starts.
    pub start: StartAction,
    /// Our end.
    pub local: Endpoint,
    /// The peer's end.
    pub remote: Endpoint,
    /// Authentication.
    pub auth: AuthSpec,
    /// IKE proposals, most preferred first.
    pub ike: Vec<ProposalConfig>,
    /// ESP proposals, most preferred first.
    pub esp: Vec<ProposalConfig>,
    /// Tunnel or transport.
    pub mode: Mode,
    /// Our traffic selectors (`dynamic` already resolved when the local
    /// address is a single IP).
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's traffic selectors (`dynamic` already resolved when the
    /// remote address is a single IP).
    pub remote_ts: Vec<TrafficSelector>,
    /// SA lifetimes.
    pub lifetime: Lifetimes,
    /// Liveness-check interval; zero is off.
    pub dpd: Duration,
    /// IKE SAs without a CHILD SA (RFC 6023).
    pub childless: Childless,
}
