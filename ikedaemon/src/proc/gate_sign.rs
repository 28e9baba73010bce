//! The gate in front of key custody (issue 13, M5): what the parent checks
//! before it MACs or signs anything for the negotiator, so that even a
//! compromised negotiator gets no signing oracle out of it.
//!
//! - The octets must be what RFC 7296 §2.15 says we sign: our own
//!   IKE_SA_INIT message (exchange 34, message ID 0, the flags of our role,
//!   our SPI = the IKE SA's id), then the peer's nonce (16 to 256 bytes),
//!   then a PRF output of the IKE SA's PRF length.
//! - The IKE SA's id must be an SPI the parent issued (random, handed to
//!   the negotiator in batches), each used for at most two AUTH
//!   computations ever; an id retires with its IKE SA and is never valid
//!   again. Unused issued SPIs are capped, so the negotiator cannot hoard
//!   ids either.
//! - A global token bucket bounds private-key and PSK operations per
//!   second, whatever ids they come with.
//!
//! Every refusal is returned as the answer's error and logged by the
//! caller.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::ike::crypto::prf::PrfAlg;
use crate::ike::engine::SaId;
use crate::ike::engine::rng::Rng;
use crate::ike::wire::{ExchangeType, Header, Message, Payload};

/// AUTH computations one issued id may ever get (ours once; one more in
/// case a later extension such as EAP needs a second AUTH).
pub(crate) const MAX_SIGNS_PER_ID: u8 = 2;
/// SPIs in one batch handed to the negotiator.
pub(crate) const SPI_BATCH: usize = 256;
/// Issued SPIs not yet used for an AUTH, at most (a half-open table's
/// worth and a few batches besides).
const MAX_UNSIGNED: usize = 4096 + 8 * SPI_BATCH;
/// AUTH computations per second, sustained.
const SIGN_RATE: f64 = 500.0;
/// ... and in one burst.
const SIGN_BURST: f64 = 1000.0;

/// Which AUTH we compute: our role in the IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// We initiated: we sign our IKE_SA_INIT request.
    Initiator,
    /// We responded: we sign our IKE_SA_INIT response.
    Responder,
}

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Option<Instant>,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = self
            .at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        // A new bucket starts full (`Signing::default`).
        self.tokens = (self.tokens + elapsed.as_secs_f64() * SIGN_RATE).min(SIGN_BURST);
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Issued SPIs and the signing budget.
#[derive(Debug)]
pub(crate) struct Signing {
    /// Issued id → AUTH computations made for it.
    issued: HashMap<SaId, u8>,
    bucket: Bucket,
}

impl Default for Signing {
    fn default() -> Self {
        Self {
            issued: HashMap::new(),
            bucket: Bucket {
                tokens: SIGN_BURST,
                at: None,
            },
        }
    }
}

impl Signing {
    /// A batch of new SPIs for the negotiator, or fewer (none) when it
    /// holds too many it has not used.
    pub(crate) fn issue(&mut self, rng: &mut dyn Rng) -> Vec<SaId> {
        let unsigned = self.issued.values().filter(|n| **n == 0).count();
        let room = MAX_UNSIGNED.saturating_sub(unsigned).min(SPI_BATCH);
        let mut out = Vec::with_capacity(room);
        while out.len() < room {
            let spi = rng.nonzero_u64();
            if let std::collections::hash_map::Entry::Vacant(e) = self.issued.entry(spi) {
                e.insert(0);
                out.push(spi);
            }
        }
        out
    }

    /// Issued ids that made at least one AUTH.
    pub(crate) fn used_ids(&self) -> impl Iterator<Item = SaId> + '_ {
        self.issued
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(id, _)| *id)
    }

    /// The IKE SA `sa` is gone: its id is never valid again.
    pub(crate) fn retire(&mut self, sa: SaId) {
        self.issued.remove(&sa);
    }

    /// One AUTH computation for `sa` in `role` over `octets` with `prf`:
    /// checked, then counted.
    pub(crate) fn may_sign(
        &mut self,
        sa: SaId,
        role: Role,
        octets: &[u8],
        prf: u16,
        now: Instant,
    ) -> Result<(), String> {
        let Some(n) = self.issued.get(&sa).copied() else {
            return Err(format!(
                "AUTH refused: IKE SA {sa:016x} is not an SPI the parent issued (or it retired)"
            ));
        };
        if n >= MAX_SIGNS_PER_ID {
            return Err(format!(
                "AUTH refused: IKE SA {sa:016x} had its {MAX_SIGNS_PER_ID} AUTH computations"
            ));
        }
        our_init_octets(sa, role, octets, prf)?;
        if !self.bucket.take(now) {
            return Err(format!(
                "AUTH refused for IKE SA {sa:016x}: more than {SIGN_RATE} AUTH computations per second"
            ));
        }
        self.issued.insert(sa, n + 1);
        Ok(())
    }
}

/// Checks that `octets` are our §2.15 AUTH octets for IKE SA `sa`.
pub(crate) fn our_init_octets(sa: SaId, role: Role, octets: &[u8], prf: u16) -> Result<(), String> {
    let refuse = |why: String| Err(format!("AUTH refused for IKE SA {sa:016x}: {why}"));
    let Some(prf) = PrfAlg::from_id(prf) else {
        return refuse(format!("unknown PRF {prf}"));
    };
    // The message's own length field says where the nonce starts.
    let len = octets
        .get(24..28)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    if len > octets.len() {
        return refuse("the octets are shorter than the IKE message they start with".into());
    }
    let h = match Header::decode(&octets[..len]) {
        Ok(i) => i.header,
        Err(e) => return refuse(format!("the octets do not start with an IKE message: {e}")),
    };
    let want_flags = role == Role::Initiator;
    let our_spi = match role {
        Role::Initiator => h.spi_i,
        Role::Responder => h.spi_r,
    };
    if h.exchange != ExchangeType::IKE_SA_INIT || h.message_id != 0 {
        return refuse("the octets are not an IKE_SA_INIT message with ID 0".into());
    }
    if h.initiator != want_flags || h.response == want_flags {
        return refuse(format!(
            "the IKE_SA_INIT flags are not those of our {role:?} message"
        ));
    }
    if our_spi != sa || (role == Role::Initiator && h.spi_r != 0) {
        return refuse(format!(
            "the IKE_SA_INIT SPIs {:016x}:{:016x} are not ours",
            h.spi_i, h.spi_r
        ));
    }
    let nonce = octets
        .len()
        .checked_sub(len)
        .and_then(|rest| rest.checked_sub(prf.output_len()));
    if !nonce.is_some_and(|n| (16..=256).contains(&n)) {
        return refuse(
            "after the IKE_SA_INIT message there is not a 16-256 byte nonce and a PRF output"
                .into(),
        );
    }
    let msg = match Message::decode(&octets[..len]) {
        Ok(m) => m,
        Err(e) => return refuse(format!("the IKE_SA_INIT message does not parse: {e}")),
    };
    let has = |f: fn(&Payload) -> bool| msg.payloads.iter().any(f);
    if !(has(|p| matches!(p, Payload::Sa(_)))
        && has(|p| matches!(p, Payload::Ke(_)))
        && has(|p| matches!(p, Payload::Nonce(_))))
    {
        return refuse("the IKE_SA_INIT message lacks SA, KE or Nonce".into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "gate_sign_tests.rs"]
pub(crate) mod tests;
