//! Proposals as an operator writes them and as the engine negotiates them:
//! strongSwan-style strings (`aes256gcm16-prfsha384-x25519`,
//! `aes128-sha256-modp2048`, `chacha20poly1305-prfsha256-x25519-ecp256`),
//! their wire form, and the choice of one transform per type between a
//! peer's offer and the local configuration — with the reason when
//! nothing matches.

mod parse;
mod select;

use std::fmt;

use super::crypto::dh::DhGroup;
use super::crypto::encr::EncrSpec;
use super::crypto::integ::IntegAlg;
use super::crypto::prf::PrfAlg;
use super::wire::{ProtocolId, Transform, TransformType};

pub use parse::ProposalParseError;
pub use select::{NoProposalChosen, Selected, accept_answer, offer_string, select};

/// The SA a proposal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaProtocol {
    /// The IKE SA.
    Ike,
    /// An ESP CHILD SA.
    Esp,
    /// An AH CHILD SA.
    Ah,
}

impl SaProtocol {
    /// The wire protocol ID.
    pub fn protocol_id(self) -> ProtocolId {
        match self {
            SaProtocol::Ike => ProtocolId::IKE,
            SaProtocol::Esp => ProtocolId::ESP,
            SaProtocol::Ah => ProtocolId::AH,
        }
    }

    /// The protocol of a wire protocol ID, if it is one of ours.
    pub fn from_protocol_id(id: ProtocolId) -> Option<Self> {
        [SaProtocol::Ike, SaProtocol::Esp, SaProtocol::Ah]
            .into_iter()
            .find(|p| p.protocol_id() == id)
    }
}

/// One configured proposal: for each transform type, the algorithms we
/// accept, in order of preference. Built by parsing a proposal string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalConfig {
    /// IKE, ESP or AH.
    pub protocol: SaProtocol,
    /// Ciphers (all AEAD or all non-AEAD); empty for AH.
    pub encr: Vec<EncrSpec>,
    /// Integrity algorithms (empty with AEAD ciphers).
    pub integ: Vec<IntegAlg>,
    /// PRFs (IKE only).
    pub prf: Vec<PrfAlg>,
    /// Key exchange methods: required for IKE; for ESP/AH the PFS groups
    /// (empty = no PFS).
    pub ke: Vec<DhGroup>,
    /// Extended sequence numbers accepted (ESP/AH; `[false]` by default).
    pub esn: Vec<bool>,
}

impl ProposalConfig {
    /// True when the ciphers are AEAD (no integrity transform).
    pub fn is_aead(&self) -> bool {
        self.encr.first().is_some_and(|e| e.is_aead())
    }

    /// The transforms of this proposal in wire order (ENCR, PRF, INTEG,
    /// KE, ESN), for an offer.
    pub fn transforms(&self) -> Vec<Transform> {
        let mut out = Vec::new();
        for e in &self.encr {
            out.push(encr_transform(*e));
        }
        for p in &self.prf {
            out.push(Transform::new(TransformType::PRF, p.id()));
        }
        for i in &self.integ {
            out.push(Transform::new(TransformType::INTEG, i.id()));
        }
        for g in &self.ke {
            out.push(Transform::new(TransformType::KE, g.id()));
        }
        if self.protocol != SaProtocol::Ike {
            for e in &self.esn {
                out.push(Transform::new(TransformType::ESN, u16::from(*e)));
            }
        }
        out
    }

    /// This proposal as the first CHILD SA's, in IKE_AUTH: without key
    /// exchange methods (RFC 7296 §1.2: IKE_AUTH creates the CHILD SA from
    /// the IKE SA's key exchange; PFS groups apply to CREATE_CHILD_SA).
    pub fn without_ke(&self) -> ProposalConfig {
        ProposalConfig {
            ke: Vec::new(),
            ..self.clone()
        }
    }

    /// The wire proposal for an offer.
    pub fn to_wire(&self, number: u8, spi: Vec<u8>) -> super::wire::Proposal {
        super::wire::Proposal {
            number,
            protocol: self.protocol.protocol_id(),
            spi,
            transforms: self.transforms(),
        }
    }
}

fn encr_transform(e: EncrSpec) -> Transform {
    match e.key_len_attr() {
        Some(bits) => Transform::with_key_length(TransformType::ENCR, e.alg().id(), bits),
        None => Transform::new(TransformType::ENCR, e.alg().id()),
    }
}

impl fmt::Display for ProposalConfig {
    /// The canonical string: `aes256gcm16-prfsha384-x25519`,
    /// `aes128-sha256-modp2048` (PRFs implied by the integrity algorithms
    /// are written out: `aes128-sha256-prfsha256-modp2048`), `esn`/`noesn`
    /// only when not the default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<&str> = Vec::new();
        parts.extend(self.encr.iter().map(|e| e.name()));
        parts.extend(self.integ.iter().map(|i| i.name()));
        parts.extend(self.prf.iter().map(|p| p.name()));
        parts.extend(self.ke.iter().map(|g| g.name()));
        if self.protocol != SaProtocol::Ike && self.esn != [false] {
            parts.extend(self.esn.iter().map(|e| if *e { "esn" } else { "noesn" }));
        }
        f.write_str(&parts.join("-"))
    }
}
