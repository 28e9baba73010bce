//! The engine's view of a policy: only what negotiation needs, with no
//! secrets (those stay in the parent) and no configuration-file types (the
//! process layer translates the configuration into this).

use std::net::IpAddr;

use crate::ike::proposal::ProposalConfig;
use crate::ike::wire::{Identification, TsRange};

/// Which peers a policy is for, by address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RemoteMatch {
    /// Any address.
    Any,
    /// One address.
    Ip(IpAddr),
    /// A prefix.
    Prefix(IpAddr, u8),
}

impl RemoteMatch {
    /// True when `ip` matches.
    pub fn matches(&self, ip: IpAddr) -> bool {
        match self {
            Self::Any => true,
            Self::Ip(a) => *a == ip,
            Self::Prefix(net, len) => in_prefix(ip, *net, *len),
        }
    }

    /// How specific the match is (a single address beats a prefix beats
    /// any), for picking among several policies.
    pub fn specificity(&self) -> u16 {
        match self {
            Self::Any => 0,
            Self::Prefix(_, len) => 1 + u16::from(*len),
            Self::Ip(_) => 1000,
        }
    }
}

fn in_prefix(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// Whether IKE SAs of a policy are set up without a CHILD SA (RFC 6023),
/// as strongSwan's `childless` option.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Childless {
    /// Create the CHILD SA in IKE_AUTH; accept a peer's childless IKE SA.
    #[default]
    Allow,
    /// Initiate childless when the peer announces support, else as `allow`.
    Prefer,
    /// Always initiate childless; fail if the peer does not support it.
    Force,
    /// Neither announce nor accept childless IKE SAs.
    Never,
}

/// A traffic selector of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TsSpec {
    /// A fixed range.
    Range(TsRange),
    /// This end's IKE address, with a protocol and port range.
    Dynamic {
        /// IP protocol (0 = any).
        protocol: u8,
        /// First port.
        start_port: u16,
        /// Last port.
        end_port: u16,
    },
}

impl TsSpec {
    /// The range for an SA whose end has address `ip`.
    pub fn resolve(&self, ip: IpAddr) -> TsRange {
        match *self {
            Self::Range(r) => r,
            Self::Dynamic {
                protocol,
                start_port,
                end_port,
            } => TsRange {
                ip_protocol: protocol,
                start_port,
                end_port,
                start: ip,
                end: ip,
            },
        }
    }
}

/// One policy as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePolicy {
    /// Name (also the key the parent finds the secrets by).
    pub name: String,
    /// Our identity; `None`: our IP address.
    pub local_id: Option<Identification>,
    /// The identity the peer must prove; `None`: any.
    pub remote_id: Option<Identification>,
    /// Policies with equal classes authenticate peers identically (the
    /// same PSK or CA set, as the parent decides): a CHILD SA under another
    /// policy on an IKE SA needs the class the IKE SA authenticated with.
    pub auth_class: u32,
    /// Peers this policy is for.
    pub remote: RemoteMatch,
    /// The peer's address when we initiate.
    pub remote_addr: Option<IpAddr>,
    /// IKE proposals.
    pub ike: Vec<ProposalConfig>,
    /// ESP proposals.
    pub esp: Vec<ProposalConfig>,
    /// Our traffic selectors.
    pub local_ts: Vec<TsSpec>,
    /// The peer's traffic selectors.
    pub remote_ts: Vec<TsSpec>,
    /// Transport mode.
    pub transport: bool,
    /// Our certificate and the intermediate CA certificates after it
    /// (DER), each sent in a CERT payload; empty: none.
    pub certs: Vec<Vec<u8>>,
    /// CERTREQ data (SHA-1 hashes of our CAs' keys); empty: none sent.
    pub certreq: Vec<u8>,
    /// Liveness check after this long without hearing from the peer
    /// (RFC 7296 §2.4); `None`: off.
    pub dpd: Option<std::time::Duration>,
    /// IKE SAs without a CHILD SA (RFC 6023).
    pub childless: Childless,
    /// When the IKE SA is rekeyed (before jitter); `None`: never.
    pub ike_rekey: Option<std::time::Duration>,
    /// When the IKE SA's initiator reauthenticates (a new IKE SA with
    /// IKE_SA_INIT and IKE_AUTH, make before break), counted across
    /// rekeys; `None`: never.
    pub ike_reauth: Option<std::time::Duration>,
    /// Hard lifetime of the IKE SA (deleted then); `None`: none.
    pub ike_expire: Option<std::time::Duration>,
    /// Hard lifetime of its CHILD SAs.
    pub child_expire: Option<std::time::Duration>,
}

impl EnginePolicy {
    /// Our ID for an SA whose local address is `ip`.
    pub fn our_id(&self, ip: IpAddr) -> Identification {
        self.local_id
            .clone()
            .unwrap_or_else(|| Identification::ip(ip))
    }
}
