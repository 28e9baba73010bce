//! The parent's side of key custody (DESIGN.md "Key custody"): it answers
//! the negotiator's requests to MAC or sign AUTH octets and to verify the
//! peer's AUTH, using the PSK or private key of the named policy, which
//! never leave this process. Signing is rate-limited per IKE SA, and every
//! refusal is logged.

use std::collections::HashMap;

use crate::config::{AuthSpec, Config};
use crate::ike::crypto::auth_octets::{psk_auth, psk_verify};
use crate::ike::crypto::prf::PrfAlg;
use crate::ike::engine::{ParentAnswer, ParentRequest, SaId};
use crate::ike::wire::{AuthMethod, AuthPayload};
use crate::log_warn;

/// AUTH computations allowed per IKE SA (a negotiation needs one or two;
/// retries after COOKIE or INVALID_KE do not reach IKE_AUTH twice).
const MAX_SIGNS_PER_SA: u32 = 4;

/// The parent's signing state.
#[derive(Debug, Default)]
pub(crate) struct Custody {
    signed: HashMap<SaId, u32>,
}

impl Custody {
    fn allow(&mut self, sa: SaId) -> Result<(), String> {
        let n = self.signed.entry(sa).or_insert(0);
        *n += 1;
        if *n > MAX_SIGNS_PER_SA {
            log_warn!(
                "refused AUTH #{n} for IKE SA {sa:016x}: more than {MAX_SIGNS_PER_SA} per SA"
            );
            return Err("too many AUTH requests for this IKE SA".into());
        }
        if self.signed.len() > 100_000 {
            self.signed.clear();
        }
        Ok(())
    }

    fn mac(config: &Config, policy: &str, prf: u16, octets: &[u8]) -> Result<AuthPayload, String> {
        let p = config
            .policy(policy)
            .ok_or_else(|| format!("no policy \"{policy}\""))?;
        let prf = PrfAlg::from_id(prf).ok_or_else(|| format!("unknown PRF {prf}"))?;
        match &p.auth {
            AuthSpec::Psk(psk) => Ok(AuthPayload {
                method: AuthMethod::SHARED_KEY_MIC,
                data: psk_auth(prf, psk.expose(), octets)
                    .map_err(|e| e.to_string())?
                    .to_vec(),
            }),
            AuthSpec::Certificate { .. } => Err(format!(
                "policy \"{policy}\": certificate authentication is not implemented yet"
            )),
        }
    }

    /// Answers one request.
    pub(crate) fn answer(&mut self, config: &Config, req: ParentRequest) -> ParentAnswer {
        match req {
            ParentRequest::Sign {
                sa,
                policy,
                octets,
                prf,
                ..
            } => {
                let auth = self
                    .allow(sa)
                    .and_then(|()| Self::mac(config, &policy, prf, &octets));
                ParentAnswer::Signed { sa, auth }
            }
            ParentRequest::Authenticate {
                sa,
                policy,
                method,
                auth,
                octets,
                sign,
                prf,
                peer_id,
                ..
            } => {
                let verdict = match config.policy(&policy).map(|p| &p.auth) {
                    None => Err(format!("no policy \"{policy}\"")),
                    Some(AuthSpec::Psk(psk)) if method == AuthMethod::SHARED_KEY_MIC => {
                        match PrfAlg::from_id(prf) {
                            Some(prf) => {
                                psk_verify(prf, psk.expose(), &octets, &auth).map_err(|_| {
                                    format!("the pre-shared key of {peer_id} does not match")
                                })
                            }
                            None => Err(format!("unknown PRF {prf}")),
                        }
                    }
                    Some(AuthSpec::Psk(_)) => Err(format!(
                        "the peer {peer_id} authenticated with {method}, the policy expects a pre-shared key"
                    )),
                    Some(AuthSpec::Certificate { .. }) => {
                        Err("certificate authentication is not implemented yet".into())
                    }
                };
                let auth = sign.map(|o| {
                    self.allow(sa)
                        .and_then(|()| Self::mac(config, &policy, prf, &o))
                });
                ParentAnswer::Authenticated { sa, verdict, auth }
            }
        }
    }
}
