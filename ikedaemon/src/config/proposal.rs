//! Proposal strings in the configuration (`ike:` and `esp:` lists): the
//! defaults, and `Deserialize` wrappers that parse each string with the
//! engine's proposal parser so that a bad string is reported at its
//! position with the parser's reason.

use crate::ike::proposal::{ProposalConfig, SaProtocol};
use serde::{Deserialize, Deserializer};

use super::scalar::deserialize_with;

/// The IKE proposals used when a policy gives none, most preferred first.
pub const DEFAULT_IKE: [&str; 2] = ["aes256gcm16-prfsha384-x25519", "aes128-sha256-x25519"];

/// The ESP proposals used when a policy gives none, most preferred first.
pub const DEFAULT_ESP: [&str; 2] = ["aes256gcm16", "aes128-sha256"];

/// Parses the default proposals for `protocol`.
pub(crate) fn defaults(protocol: SaProtocol) -> Vec<ProposalConfig> {
    let list: &[&str] = match protocol {
        SaProtocol::Ike => &DEFAULT_IKE,
        SaProtocol::Esp | SaProtocol::Ah => &DEFAULT_ESP,
    };
    list.iter()
        .filter_map(|s| ProposalConfig::parse(s, protocol).ok())
        .collect()
}

/// An IKE proposal string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IkeProposal(pub(crate) ProposalConfig);

/// An ESP proposal string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EspProposal(pub(crate) ProposalConfig);

impl<'de> Deserialize<'de> for IkeProposal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(
            d,
            "an IKE proposal like aes256gcm16-prfsha384-x25519",
            |s| {
                ProposalConfig::parse(s, SaProtocol::Ike)
                    .map(IkeProposal)
                    .map_err(|e| format!("bad IKE {e}"))
            },
        )
    }
}

impl<'de> Deserialize<'de> for EspProposal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with(d, "an ESP proposal like aes256gcm16", |s| {
            ProposalConfig::parse(s, SaProtocol::Esp)
                .map(EspProposal)
                .map_err(|e| format!("bad ESP {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_print_canonically() {
        let ike = defaults(SaProtocol::Ike);
        assert_eq!(ike.len(), DEFAULT_IKE.len());
        assert_eq!(ike[0].to_string(), "aes256gcm16-prfsha384-x25519");
        assert_eq!(ike[1].to_string(), "aes128-sha256-prfsha256-x25519");
        let esp = defaults(SaProtocol::Esp);
        assert_eq!(esp.len(), DEFAULT_ESP.len());
        assert_eq!(esp[0].to_string(), "aes256gcm16");
        assert_eq!(esp[1].to_string(), "aes128-sha256");
    }
}
