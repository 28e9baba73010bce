//! The file as YAML: serde structs that mirror the schema key for key
//! (`deny_unknown_fields` everywhere, optional keys as `Option`), with
//! `Spanned` wherever a later cross-check needs the value's position.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::address::{IpValue, LocalAddress, RemoteAddress};
use super::model::{Childless, KernelBackend, LogLevel, Mode, StartAction};
use super::proposal::{EspProposal, IkeProposal};
use super::scalar::{ByteSize, TimeSpan};
use super::selector::TrafficSelector;

/// The top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) user: Option<Spanned<String>>,
    pub(crate) chroot: Option<Spanned<String>>,
    pub(crate) socket: Option<Spanned<String>>,
    pub(crate) socket_group: Option<Spanned<String>>,
    pub(crate) pid_file: Option<Spanned<String>>,
    pub(crate) kernel: Option<KernelBackend>,
    pub(crate) listen: Option<Spanned<Vec<IpValue>>>,
    pub(crate) ike_port: Option<Spanned<u16>>,
    pub(crate) natt_port: Option<Spanned<u16>>,
    pub(crate) log_level: Option<LogLevel>,
    pub(crate) allow_sha1_certificates: Option<bool>,
    pub(crate) dos: Option<RawDos>,
    pub(crate) fragmentation: Option<RawFragmentation>,
    pub(crate) dpd: Option<TimeSpan>,
    pub(crate) policies: Vec<RawPolicy>,
}

/// `dos:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDos {
    pub(crate) cookie_threshold: Option<Spanned<u32>>,
    pub(crate) max_half_open_per_peer: Option<Spanned<u32>>,
    pub(crate) max_half_open: Option<Spanned<u32>>,
    pub(crate) ipv6_prefix: Option<Spanned<u32>>,
    pub(crate) max_child_sas_per_ike: Option<Spanned<u32>>,
    pub(crate) max_child_sas: Option<Spanned<u32>>,
    pub(crate) max_message: Option<Spanned<u32>>,
    pub(crate) max_init_message: Option<Spanned<u32>>,
}

/// `fragmentation:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFragmentation {
    pub(crate) enabled: Option<bool>,
    pub(crate) size: Option<Spanned<u32>>,
}

/// One entry of `policies:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub(crate) name: Spanned<String>,
    pub(crate) start: Option<Spanned<StartAction>>,
    pub(crate) local: Option<RawLocal>,
    pub(crate) remote: RawRemote,
    pub(crate) auth: Option<RawAuth>,
    pub(crate) ike: Option<Spanned<Vec<IkeProposal>>>,
    pub(crate) esp: Option<Spanned<Vec<EspProposal>>>,
    pub(crate) mode: Option<Mode>,
    pub(crate) local_ts: Option<Spanned<Vec<Spanned<TrafficSelector>>>>,
    pub(crate) remote_ts: Option<Spanned<Vec<Spanned<TrafficSelector>>>>,
    pub(crate) lifetime: Option<RawLifetimes>,
    pub(crate) dpd: Option<TimeSpan>,
    pub(crate) childless: Option<Childless>,
}

/// `local:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLocal {
    pub(crate) address: Option<Spanned<LocalAddress>>,
    pub(crate) id: Option<Spanned<RawId>>,
}

/// `remote:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRemote {
    pub(crate) address: Spanned<RemoteAddress>,
    pub(crate) id: Option<Spanned<RawId>>,
}

/// `auth:`: the forms are told apart after parsing, so that a mix of them
/// is reported with a clear message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    pub(crate) psk: Option<Spanned<String>>,
    pub(crate) psk_file: Option<Spanned<String>>,
    pub(crate) certificate: Option<Spanned<String>>,
    pub(crate) private_key: Option<Spanned<String>>,
    pub(crate) ca: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `lifetime:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLifetimes {
    pub(crate) ike: Option<RawSaLifetime>,
    pub(crate) child: Option<RawChildLifetime>,
}

/// `lifetime: { ike: ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSaLifetime {
    pub(crate) rekey: Option<Spanned<TimeSpan>>,
    pub(crate) expire: Option<Spanned<TimeSpan>>,
    pub(crate) reauth_time: Option<Spanned<TimeSpan>>,
}

/// `lifetime: { child: ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChildLifetime {
    pub(crate) rekey: Option<Spanned<TimeSpan>>,
    pub(crate) expire: Option<Spanned<TimeSpan>>,
    pub(crate) rekey_bytes: Option<Spanned<ByteSize>>,
    pub(crate) expire_bytes: Option<Spanned<ByteSize>>,
}

/// `id:`: exactly one key, checked after parsing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawId {
    pub(crate) fqdn: Option<Spanned<String>>,
    pub(crate) email: Option<Spanned<String>>,
    pub(crate) ipv4: Option<Spanned<String>>,
    pub(crate) ipv6: Option<Spanned<String>>,
    pub(crate) dn: Option<Spanned<String>>,
    pub(crate) keyid: Option<Spanned<String>>,
}
