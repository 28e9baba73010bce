//! Parsing strongSwan-style proposal strings into [`ProposalConfig`].
//!
//! Keywords are separated by `-`; each names an algorithm of one transform
//! type. For IKE without an explicit PRF, each integrity algorithm implies
//! the PRF of the same hash (as strongSwan does), and with an AEAD cipher
//! an integrity keyword names the PRF (`aes256gcm16-sha384-x25519` means
//! prfsha384).

use std::fmt;

use super::super::crypto::dh::DhGroup;
use super::super::crypto::encr::{EncrAlg, EncrSpec};
use super::super::crypto::integ::IntegAlg;
use super::super::crypto::prf::PrfAlg;
use super::{ProposalConfig, SaProtocol};

/// Why a proposal string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalParseError {
    /// The whole proposal string.
    pub proposal: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ProposalParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proposal \"{}\": {}", self.proposal, self.reason)
    }
}

impl std::error::Error for ProposalParseError {}

/// One keyword's meaning.
enum Token {
    Encr(EncrSpec),
    Integ(IntegAlg),
    Prf(PrfAlg),
    Ke(DhGroup),
    Esn(bool),
}

fn parse_encr(word: &str) -> Option<EncrSpec> {
    if word == "chacha20poly1305" {
        return EncrSpec::new(EncrAlg::ChaCha20Poly1305, None).ok();
    }
    let rest = word.strip_prefix("aes")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let (bits, mode) = rest.split_at(digits);
    let bits: u16 = if bits.is_empty() {
        128
    } else {
        bits.parse().ok()?
    };
    let alg = match mode {
        "" => EncrAlg::AesCbc,
        "gcm8" | "gcm64" => EncrAlg::AesGcm8,
        "gcm12" | "gcm96" => EncrAlg::AesGcm12,
        "gcm16" | "gcm128" | "gcm" => EncrAlg::AesGcm16,
        "ccm8" | "ccm64" => EncrAlg::AesCcm8,
        "ccm12" | "ccm96" => EncrAlg::AesCcm12,
        "ccm16" | "ccm128" | "ccm" => EncrAlg::AesCcm16,
        _ => return None,
    };
    EncrSpec::new(alg, Some(bits)).ok()
}

/// The canonical names (`IntegAlg::name`) and strongSwan's aliases.
fn parse_integ(word: &str) -> Option<IntegAlg> {
    let word = match word {
        "sha" => "sha1",
        "sha2_256" => "sha256",
        "sha2_384" => "sha384",
        "sha2_512" => "sha512",
        w => w,
    };
    IntegAlg::ALL.into_iter().find(|a| a.name() == word)
}

fn parse_prf(word: &str) -> Option<PrfAlg> {
    PrfAlg::ALL.into_iter().find(|a| a.name() == word)
}

fn token(word: &str) -> Option<Token> {
    if let Some(e) = parse_encr(word) {
        return Some(Token::Encr(e));
    }
    if let Some(i) = parse_integ(word) {
        return Some(Token::Integ(i));
    }
    if let Some(p) = parse_prf(word) {
        return Some(Token::Prf(p));
    }
    if let Some(g) = DhGroup::from_name(word) {
        return Some(Token::Ke(g));
    }
    match word {
        "esn" => Some(Token::Esn(true)),
        "noesn" => Some(Token::Esn(false)),
        _ => None,
    }
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

impl ProposalConfig {
    /// Parses a proposal string for the given SA type.
    pub fn parse(text: &str, protocol: SaProtocol) -> Result<Self, ProposalParseError> {
        let fail = |reason: String| ProposalParseError {
            proposal: text.to_string(),
            reason,
        };
        let mut p = ProposalConfig {
            protocol,
            encr: Vec::new(),
            integ: Vec::new(),
            prf: Vec::new(),
            ke: Vec::new(),
            esn: Vec::new(),
        };
        if text.trim().is_empty() {
            return Err(fail("empty proposal".into()));
        }
        for word in text.trim().split('-') {
            let lower = word.to_ascii_lowercase();
            match token(&lower) {
                Some(Token::Encr(e)) => push_unique(&mut p.encr, e),
                Some(Token::Integ(i)) => push_unique(&mut p.integ, i),
                Some(Token::Prf(f)) => push_unique(&mut p.prf, f),
                Some(Token::Ke(g)) => push_unique(&mut p.ke, g),
                Some(Token::Esn(e)) => push_unique(&mut p.esn, e),
                None if word.is_empty() => {
                    return Err(fail("empty keyword (two '-' in a row?)".into()));
                }
                None => {
                    return Err(fail(format!(
                        "unknown or unsupported algorithm \"{word}\" (supported: aes128/192/256, \
                         aes*gcm8/12/16, aes*ccm8/12/16, chacha20poly1305, sha1, sha256, sha384, \
                         sha512, aesxcbc, aescmac, prfsha1/256/384/512, prfaesxcbc, prfaescmac, \
                         modp2048..modp8192, ecp256/384/521, x25519, x448, esn, noesn)"
                    )));
                }
            }
        }
        p.check(fail)
    }

    fn check(
        mut self,
        fail: impl Fn(String) -> ProposalParseError,
    ) -> Result<Self, ProposalParseError> {
        let aead = self.encr.iter().filter(|e| e.is_aead()).count();
        if aead != 0 && aead != self.encr.len() {
            return Err(fail(
                "mixes AEAD and non-AEAD ciphers; write them as two proposals".into(),
            ));
        }
        let aead = aead != 0;
        match self.protocol {
            SaProtocol::Ike => {
                if self.encr.is_empty() {
                    return Err(fail("no encryption algorithm".into()));
                }
                if aead {
                    // strongSwan reads integrity keywords next to an AEAD
                    // cipher as PRFs.
                    for i in std::mem::take(&mut self.integ) {
                        push_unique(&mut self.prf, i.prf());
                    }
                } else if self.integ.is_empty() {
                    return Err(fail("no integrity algorithm (e.g. sha256)".into()));
                }
                if self.prf.is_empty() {
                    if aead {
                        return Err(fail(
                            "an AEAD cipher needs a PRF (e.g. aes256gcm16-prfsha384-x25519)".into(),
                        ));
                    }
                    for i in self.integ.clone() {
                        push_unique(&mut self.prf, i.prf());
                    }
                }
                if self.ke.is_empty() {
                    return Err(fail("no key exchange method (e.g. x25519)".into()));
                }
                if !self.esn.is_empty() {
                    return Err(fail("esn/noesn apply to ESP and AH, not IKE".into()));
                }
            }
            SaProtocol::Esp | SaProtocol::Ah => {
                if !self.prf.is_empty() {
                    return Err(fail("a PRF applies to IKE proposals only".into()));
                }
                if self.protocol == SaProtocol::Esp && self.encr.is_empty() {
                    return Err(fail("no encryption algorithm".into()));
                }
                if self.protocol == SaProtocol::Ah && !self.encr.is_empty() {
                    return Err(fail(
                        "AH does not encrypt; give integrity algorithms only".into(),
                    ));
                }
                if aead && !self.integ.is_empty() {
                    return Err(fail(
                        "an AEAD cipher takes no integrity algorithm in ESP".into(),
                    ));
                }
                if !aead && self.integ.is_empty() {
                    return Err(fail("no integrity algorithm (e.g. sha256)".into()));
                }
                if self.esn.is_empty() {
                    self.esn.push(false);
                }
            }
        }
        Ok(self)
    }
}

impl std::str::FromStr for ProposalConfig {
    type Err = ProposalParseError;

    /// Parses an IKE proposal; use [`ProposalConfig::parse`] for ESP/AH.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s, SaProtocol::Ike)
    }
}
