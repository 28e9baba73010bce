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
    /// Whether the accepted proposal carried an ESN transform (the answer
    /// then carries exactly one, RFC 7296 §3.3.3).
    pub esn_offered: bool,
    /// NONE transforms to echo: one transform of each type the accepted
    /// proposal contained (RFC 7296 §3.3) — KE NONE for a CHILD SA without
    /// PFS, INTEG NONE next to an AEAD cipher, ADDKEn NONE (RFC 9370 §2.2).
    pub none_types: Vec<TransformType>,
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
        match self.integ {
            Some(i) => transforms.push(Transform::new(TransformType::INTEG, i.id())),
            None if self.none_types.contains(&TransformType::INTEG) => {
                transforms.push(Transform::new(TransformType::INTEG, 0));
            }
            None => {}
        }
        match self.ke {
            Some(g) => transforms.push(Transform::new(TransformType::KE, g.id())),
            None if self.none_types.contains(&TransformType::KE) => {
                transforms.push(Transform::new(TransformType::KE, 0));
            }
            None => {}
        }
        if self.esn_offered {
            transforms.push(Transform::new(TransformType::ESN, u16::from(self.esn)));
        }
        for k in self
            .none_types
            .iter()
            .filter(|k| k.0 >= TransformType::ADDKE1.0)
        {
            transforms.push(Transform::new(*k, 0));
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
            if self.offered.is_empty() {
                "nothing".to_string()
            } else {
                self.offered.join(", ")
            },
            self.configured.join(", "),
            self.missing.join(", ")
        )
    }
}

/// An offered proposal as a string: transform names joined by `-`, in
/// the order strongSwan writes them.
pub fn offer_string(p: &Proposal) -> String {
    // strongSwan's order: cipher, integrity, PRF, groups, the rest.
    let rank = |t: &Transform| match t.kind {
        TransformType::ENCR => 0,
        TransformType::INTEG => 1,
        TransformType::PRF => 2,
        TransformType::KE => 3,
        _ => 4,
    };
    let mut ts: Vec<&Transform> = p.transforms.iter().collect();
    ts.sort_by_key(|t| rank(t));
    ts.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

/// Selects the first configured proposal (in our order) that an offered
/// proposal satisfies; within it, our preferred algorithm of each type.
pub fn select(offer: &[Proposal], local: &[ProposalConfig]) -> Result<Selected, NoProposalChosen> {
    let mut best: Option<Vec<&'static str>> = None;
    let numbered = offer
        .iter()
        .enumerate()
        .all(|(i, p)| usize::from(p.number) == i + 1);
    if !numbered {
        // RFC 7296 §3.3.1: numbered 1, 2, 3, ...
        best = Some(vec!["valid proposal numbering (RFC 7296 §3.3.1)"]);
    }
    // Each offer classified once, then matched against each of ours.
    let classified: Vec<(&Proposal, Offered)> =
        offer.iter().map(|p| (p, Offered::classify(p))).collect();
    for conf in local.iter().filter(|_| numbered) {
        for (p, o) in &classified {
            match match_one(p, o, conf) {
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

/// What one offered proposal contains, classified by transform type.
#[derive(Default)]
struct Offered {
    encr: Vec<EncrSpec>,
    integ: Vec<IntegAlg>,
    /// Some INTEG transform other than NONE was offered (even one we do
    /// not implement).
    integ_real: bool,
    integ_none: bool,
    prf: Vec<PrfAlg>,
    prf_present: bool,
    ke: Vec<DhGroup>,
    ke_present: bool,
    ke_none: bool,
    esn: Vec<bool>,
    esn_present: bool,
    addke_types: Vec<TransformType>,
    addke_none: Vec<TransformType>,
    unsupported_type: bool,
}

impl Offered {
    fn classify(p: &Proposal) -> Self {
        let mut o = Offered::default();
        for t in &p.transforms {
            // A transform with an attribute we do not understand is
            // unacceptable (§3.3.6), but its type still counts.
            let ok = attributes_understood(t);
            match t.kind {
                TransformType::ENCR => {
                    if ok {
                        o.encr
                            .extend(EncrSpec::from_transform(t.id, t.key_length()));
                    }
                }
                TransformType::INTEG => {
                    if t.id == 0 {
                        o.integ_none = true;
                    } else {
                        o.integ_real = true;
                        if ok {
                            o.integ.extend(IntegAlg::from_id(t.id));
                        }
                    }
                }
                TransformType::PRF => {
                    o.prf_present = true;
                    if ok {
                        o.prf.extend(PrfAlg::from_id(t.id));
                    }
                }
                TransformType::KE => {
                    o.ke_present = true;
                    o.ke_none |= t.id == 0;
                    if ok {
                        o.ke.extend(DhGroup::from_id(t.id));
                    }
                }
                TransformType::ESN => {
                    o.esn_present = true;
                    if ok && t.id <= 1 {
                        o.esn.push(t.id == 1);
                    }
                }
                k if k.is_key_exchange() => {
                    if !o.addke_types.contains(&k) {
                        o.addke_types.push(k);
                    }
                    if t.id == 0 && ok && !o.addke_none.contains(&k) {
                        o.addke_none.push(k);
                    }
                }
                _ => o.unsupported_type = true,
            }
        }
        o
    }
}

fn match_one(
    p: &Proposal,
    o: &Offered,
    conf: &ProposalConfig,
) -> Result<Selected, Vec<&'static str>> {
    if p.protocol != conf.protocol.protocol_id() {
        return Err(vec!["protocol"]);
    }
    let ike = conf.protocol == SaProtocol::Ike;
    let mut missing = Vec::new();
    let spi_ok = match conf.protocol {
        SaProtocol::Ike => p.spi.is_empty() || p.spi.len() == 8,
        _ => p.spi.len() == 4,
    };
    if !spi_ok {
        missing.push("SPI size (RFC 7296 §3.3.1)");
    }
    if o.unsupported_type {
        missing.push("unsupported transform type");
    }
    if ike && o.esn_present {
        missing.push("ESN (not allowed in an IKE proposal)");
    }
    if !ike && o.prf_present {
        missing.push("PRF (not allowed in a CHILD SA proposal)");
    }
    if o.addke_types.len() != o.addke_none.len() {
        // RFC 9370: we do no additional key exchanges, so each one offered
        // must be declinable with NONE.
        missing.push("additional key exchange (RFC 9370)");
    }
    let encr_pick = pick(&conf.encr, &o.encr);
    if conf.protocol != SaProtocol::Ah && encr_pick.is_none() {
        missing.push("encryption");
    }
    let integ_pick = if conf.is_aead() {
        // RFC 5282 §8: no integrity transform (or only NONE) next to an
        // AEAD cipher.
        if encr_pick.is_some() && o.integ_real {
            missing.push("integrity (offered with an AEAD cipher)");
        }
        None
    } else {
        let i = pick(&conf.integ, &o.integ);
        if i.is_none() {
            missing.push("integrity");
        }
        i
    };
    let prf_pick = if ike {
        let f = pick(&conf.prf, &o.prf);
        if f.is_none() {
            missing.push("PRF");
        }
        f
    } else {
        None
    };
    let ke_pick = if !ike && conf.ke.is_empty() {
        if o.ke_present && !o.ke_none {
            missing.push("DH group (peer requires PFS, policy has none)");
        }
        None
    } else {
        let g = pick(&conf.ke, &o.ke);
        if g.is_none() {
            missing.push("DH group");
        }
        g
    };
    let esn_pick = if ike {
        false
    } else if !o.esn_present {
        // RFC 7296 §3.3.3 makes ESN mandatory in ESP/AH proposals; a peer
        // that leaves it out can only mean "no ESN".
        if !conf.esn.contains(&false) {
            missing.push("ESN");
        }
        false
    } else if let Some(e) = pick(&conf.esn, &o.esn) {
        e
    } else {
        missing.push("ESN");
        false
    };
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut none_types = o.addke_none.clone();
    if integ_pick.is_none() && o.integ_none {
        none_types.push(TransformType::INTEG);
    }
    if ke_pick.is_none() && o.ke_none {
        none_types.push(TransformType::KE);
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
        esn_offered: o.esn_present,
        none_types,
    })
}

/// Checks the responder's answer to our offer (RFC 7296 §2.7, §3.3.6):
/// exactly one proposal, numbered as one of ours and of the same protocol,
/// with exactly one transform of each type that proposal had, each one we
/// offered. Returns what was chosen, or why the answer is unacceptable.
pub fn accept_answer(offered: &[Proposal], answer: &[Proposal]) -> Result<Selected, String> {
    let [chosen] = answer else {
        return Err(format!(
            "answer has {} proposals, expected one",
            answer.len()
        ));
    };
    let ours = offered
        .iter()
        .find(|p| p.number == chosen.number && p.protocol == chosen.protocol)
        .ok_or_else(|| {
            format!(
                "answer names proposal {} ({}), which we did not offer",
                chosen.number, chosen.protocol
            )
        })?;
    for t in &chosen.transforms {
        if !ours.transforms.contains(t) {
            return Err(format!("answer picks {t}, which we did not offer"));
        }
    }
    let mut types: Vec<TransformType> = ours.transforms.iter().map(|t| t.kind).collect();
    types.dedup();
    for k in types {
        let n = chosen.transforms.iter().filter(|t| t.kind == k).count();
        if n != 1 {
            return Err(format!(
                "answer has {n} transforms of type {k}, expected one"
            ));
        }
    }
    let protocol = SaProtocol::from_protocol_id(chosen.protocol)
        .ok_or_else(|| format!("answer is for protocol {}", chosen.protocol))?;
    let o = Offered::classify(chosen);
    Ok(Selected {
        protocol,
        number: chosen.number,
        peer_spi: chosen.spi.clone(),
        encr: o.encr.first().copied(),
        integ: o.integ.first().copied(),
        prf: o.prf.first().copied(),
        ke: o.ke.first().copied(),
        esn: o.esn.first().copied().unwrap_or(false),
        esn_offered: o.esn_present,
        none_types: o.addke_none,
    })
}
