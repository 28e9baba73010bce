//! Choosing one proposal from a peer's offer (RFC 7296 §2.7, §3.3.6): the
//! first configured proposal, in our order of preference, that some
//! offered proposal can satisfy with one transform of each type. When none
//! can, the error says which transform types had no overlap.

use std::fmt;

use super::super::crypto::dh::DhGroup;
use super::super::crypto::encr::EncrSpec;
use super::super::crypto::integ::IntegAlg;
use super::super::crypto::prf::PrfAlg;
use super::super::wire::{Attribute, Proposal, Transform, TransformType};
use super::{ProposalConfig, SaProtocol, encr_transform};

/// The negotiated algorithms: one transform of each type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// IKE, ESP or AH.
    pub protocol: SaProtocol,
    /// The Proposal Num of the accepted offer (echoed in the response).
    pub number: u8,
    /// The peer's SPI from the accepted proposal.
    pub peer_spi: Vec<u8>,
    /// Cipher (None for AH).
    pub encr: Option<EncrSpec>,
    /// Integrity (None with AEAD).
    pub integ: Option<IntegAlg>,
    /// PRF (IKE only).
    pub prf: Option<PrfAlg>,
    /// Key exchange method (None for a CHILD SA without PFS).
    pub ke: Option<DhGroup>,
    /// Extended sequence numbers (CHILD SAs).
    pub esn: bool,
}

impl Selected {
    /// The proposal for the response: the accepted number, our SPI, one
    /// transform of each type.
    pub fn to_wire(&self, our_spi: Vec<u8>) -> Proposal {
        let mut transforms = Vec::new();
        if let Some(e) = self.encr {
            transforms.push(encr_transform(e));
        }
        if let Some(p) = self.prf {
            transforms.push(Transform::new(TransformType::PRF, p.id()));
        }
        if let Some(i) = self.integ {
            transforms.push(Transform::new(TransformType::INTEG, i.id()));
        }
        if let Some(g) = self.ke {
            transforms.push(Transform::new(TransformType::KE, g.id()));
        }
        if self.protocol != SaProtocol::Ike {
            transforms.push(Transform::new(TransformType::ESN, u16::from(self.esn)));
        }
        Proposal {
            number: self.number,
            protocol: self.protocol.protocol_id(),
            spi: our_spi,
            transforms,
        }
    }
}

impl fmt::Display for Selected {
    /// `aes256gcm16-prfsha384-x25519`, `aes128-sha256-noesn`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<&str> = Vec::new();
        parts.extend(self.encr.map(|e| e.name()));
        parts.extend(self.integ.map(|i| i.name()));
        parts.extend(self.prf.map(|p| p.name()));
        parts.extend(self.ke.map(|g| g.name()));
        if self.protocol != SaProtocol::Ike && self.esn {
            parts.push("esn");
        }
        f.write_str(&parts.join("-"))
    }
}

/// Nothing in the offer matched: what the peer offered, what we accept and
/// which transform types had no algorithm in common (for the closest
/// pair of proposals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoProposalChosen {
    /// The offered proposals, strongSwan style (`aes128-sha1-prfsha1-modp1024`).
    pub offered: Vec<String>,
    /// Our proposals, same style.
    pub configured: Vec<String>,
    /// Transform types without overlap: "encryption", "integrity", "PRF",
    /// "DH group", "ESN", or "protocol" / "unsupported transform type".
    pub missing: Vec<&'static str>,
}

impl fmt::Display for NoProposalChosen {
    /// `peer offered aes128-sha1-modp1024, policy accepts
    /// aes256gcm16-prfsha384-x25519 (no common DH group, encryption)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "peer offered {}, policy accepts {} (no common {})",
            if self.offered.is_empty() { "nothing".to_string() } else { self.offered.join(", ") },
            self.configured.join(", "),
            self.missing.join(", ")
        )
    }
}

/// An offered proposal as a string: transform names joined by `-`.
pub fn offer_string(p: &Proposal) -> String {
    p.transforms
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

/// Selects the first configured proposal (in our order) that an offered
/// proposal satisfies; within it, our preferred algorithm of each type.
pub fn select(offer: &[Proposal], local: &[ProposalConfig]) -> Result<Selected, NoProposalChosen> {
    let mut best: Option<Vec<&'static str>> = None;
    for conf in local {
        for p in offer {
            match match_one(p, conf) {
                Ok(s) => return Ok(s),
                Err(missing) => {
                    if best.as_ref().is_none_or(|b| missing.len() < b.len()) {
                        best = Some(missing);
                    }
                }
            }
        }
    }
    Err(NoProposalChosen {
        offered: offer.iter().map(offer_string).collect(),
        configured: local.iter().map(|c| c.to_string()).collect(),
        missing: best.unwrap_or_else(|| vec!["proposal (none offered or none configured)"]),
    })
}

/// True when the transform carries only attributes we understand (RFC 7296
/// §3.3.6: a transform with an unknown attribute is rejected).
fn attributes_understood(t: &Transform) -> bool {
    t.attributes
        .iter()
        .all(|a| matches!(a, Attribute::KeyLength(_)))
}

fn pick<T: Copy + PartialEq>(ours: &[T], offered: &[T]) -> Option<T> {
    ours.iter().copied().find(|x| offered.contains(x))
}

fn match_one(p: &Proposal, conf: &ProposalConfig) -> Result<Selected, Vec<&'static str>> {
    if p.protocol != conf.protocol.protocol_id() {
        return Err(vec!["protocol"]);
    }
    let mut encr = Vec::new();
    let mut integ = Vec::new();
    let mut prf = Vec::new();
    let mut ke = Vec::new();
    let mut ke_none = false;
    let mut esn = Vec::new();
    let mut has_ke = false;
    let mut unsupported_type = false;
    let mut addke_without_none = false;
    for t in p.transforms.iter().filter(|t| attributes_understood(t)) {
        match t.kind {
            TransformType::ENCR => encr.extend(EncrSpec::from_transform(t.id, t.key_length())),
            TransformType::INTEG if t.id == 0 => {}
            TransformType::INTEG => integ.extend(IntegAlg::from_id(t.id)),
            TransformType::PRF => prf.extend(PrfAlg::from_id(t.id)),
            TransformType::KE => {
                has_ke = true;
                if t.id == 0 {
                    ke_none = true;
                }
                ke.extend(DhGroup::from_id(t.id));
            }
            TransformType::ESN if t.id <= 1 => esn.push(t.id == 1),
            TransformType::ESN => {}
            k if k.is_key_exchange() => {
                // RFC 9370 additional key exchanges: acceptable only if the
                // peer lets us decline them with NONE.
                if !p.transforms.iter().any(|x| x.kind == k && x.id == 0) {
                    addke_without_none = true;
                }
            }
            _ => unsupported_type = true,
        }
    }
    let mut missing = Vec::new();
    if unsupported_type {
        missing.push("unsupported transform type");
    }
    if addke_without_none {
        missing.push("additional key exchange (RFC 9370)");
    }
    let encr_pick = pick(&conf.encr, &encr);
    if conf.protocol != SaProtocol::Ah && encr_pick.is_none() {
        missing.push("encryption");
    }
    let aead = encr_pick.is_some_and(|e| e.is_aead());
    let integ_pick = if aead {
        // RFC 5282 §8 / §3.3: no integrity transform (or only NONE) with AEAD.
        if !integ.is_empty() {
            missing.push("integrity (offered with an AEAD cipher)");
        }
        None
    } else {
        let i = pick(&conf.integ, &integ);
        if i.is_none() {
            missing.push("integrity");
        }
        i
    };
    let prf_pick = if conf.protocol == SaProtocol::Ike {
        let f = pick(&conf.prf, &prf);
        if f.is_none() {
            missing.push("PRF");
        }
        f
    } else {
        None
    };
    let ke_pick = match conf.protocol {
        SaProtocol::Ike => {
            let g = pick(&conf.ke, &ke);
            if g.is_none() {
                missing.push("DH group");
            }
            g
        }
        _ if conf.ke.is_empty() => {
            if has_ke && !ke_none {
                missing.push("DH group (peer requires PFS, policy has none)");
            }
            None
        }
        _ => {
            let g = pick(&conf.ke, &ke);
            if g.is_none() {
                missing.push("DH group");
            }
            g
        }
    };
    let esn_pick = if conf.protocol == SaProtocol::Ike {
        false
    } else if esn.is_empty() {
        // RFC 7296 §3.3.3 makes ESN mandatory in ESP/AH proposals; a peer
        // that leaves it out means "no ESN".
        if conf.esn.contains(&false) {
            false
        } else {
            missing.push("ESN");
            false
        }
    } else {
        match pick(&conf.esn, &esn) {
            Some(e) => e,
            None => {
                missing.push("ESN");
                false
            }
        }
    };
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(Selected {
        protocol: conf.protocol,
        number: p.number,
        peer_spi: p.spi.clone(),
        encr: encr_pick,
        integ: integ_pick,
        prf: prf_pick,
        ke: ke_pick,
        esn: esn_pick,
    })
}
