//! The parent's side of key custody (DESIGN.md "Key custody"): it answers
//! the negotiator's requests to MAC or sign AUTH octets and to verify the
//! peer's AUTH, using the PSK or private key of the named policy, which
//! never leave this process. Signing is rate-limited per IKE SA, and every
//! refusal is logged.

use std::collections::HashMap;

use crate::config::{AuthSpec, Config};
use crate::ike::crypto::auth_octets::{psk_auth, psk_verify};
use crate::ike::crypto::prf::PrfAlg;
use crate::ike::crypto::sig_algid::HashAlg;
use crate::ike::crypto::sign::{RsaPadding, choose_scheme, sign, verify};
use crate::ike::engine::{ParentAnswer, ParentRequest, SaId};
use crate::ike::wire::{AuthMethod, AuthPayload};
use crate::log_warn;

/// AUTH computations allowed per IKE SA (a negotiation needs one or two;
/// retries after COOKIE or INVALID_KE do not reach IKE_AUTH twice).
const MAX_SIGNS_PER_SA: u32 = 4;

/// The parent's signing state and the certificate policies' credentials.
#[derive(Debug, Default)]
pub(crate) struct Custody {
    signed: HashMap<SaId, u32>,
    /// Certificate policies' credentials, by policy name.
    pub(crate) creds: HashMap<String, super::certs::Credentials>,
}

impl Custody {
    /// Custody of these credentials.
    pub(crate) fn with_credentials(creds: HashMap<String, super::certs::Credentials>) -> Self {
        Self {
            signed: HashMap::new(),
            creds,
        }
    }

    fn allow(&mut self, sa: SaId) -> Result<(), String> {
        let n = self.signed.entry(sa).or_insert(0);
        *n += 1;
        if *n > MAX_SIGNS_PER_SA {
            log_warn!(
                "refused AUTH #{n} for IKE SA {sa:016x}: more than {MAX_SIGNS_PER_SA} per SA"
            );
            return Err("too many AUTH requests for this IKE SA".into());
        }
        // The negotiator reports every SA it drops (`forget`); this bound
        // only matters if those reports were lost.
        if self.signed.len() > 100_000 {
            self.signed.clear();
        }
        Ok(())
    }

    /// The IKE SA is gone: its count goes too.
    pub(crate) fn forget(&mut self, sa: SaId) {
        self.signed.remove(&sa);
    }

    /// Our AUTH payload: the PSK MIC, or a signature with the policy's key
    /// (RFC 7427 when the peer announced hash algorithms).
    fn make_auth(
        &self,
        config: &Config,
        policy: &str,
        prf: u16,
        hashes: &[u16],
        octets: &[u8],
    ) -> Result<AuthPayload, String> {
        let p = config
            .policy(policy)
            .ok_or_else(|| format!("no policy \"{policy}\""))?;
        match &p.auth {
            AuthSpec::Psk(psk) => {
                let prf = PrfAlg::from_id(prf).ok_or_else(|| format!("unknown PRF {prf}"))?;
                Ok(AuthPayload {
                    method: AuthMethod::SHARED_KEY_MIC,
                    data: psk_auth(prf, psk.expose(), octets)
                        .map_err(|e| e.to_string())?
                        .to_vec(),
                })
            }
            AuthSpec::Certificate { .. } => {
                let c = self
                    .creds
                    .get(policy)
                    .ok_or_else(|| format!("policy \"{policy}\": credentials not loaded"))?;
                let hashes: Vec<HashAlg> =
                    hashes.iter().filter_map(|h| HashAlg::from_id(*h)).collect();
                let scheme = choose_scheme(&c.key, &hashes, RsaPadding::Pkcs1v15)
                    .map_err(|e| e.to_string())?;
                Ok(AuthPayload {
                    method: AuthMethod(scheme.auth_method()),
                    data: sign(scheme, &c.key, octets).map_err(|e| e.to_string())?,
                })
            }
        }
    }

    /// Answers one request.
    pub(crate) fn answer(&mut self, config: &Config, req: ParentRequest) -> ParentAnswer {
        match req {
            ParentRequest::Sign {
                sa,
                request,
                policy,
                octets,
                prf,
                peer_hashes,
                ..
            } => {
                let auth = self
                    .allow(sa)
                    .and_then(|()| self.make_auth(config, &policy, prf, &peer_hashes, &octets));
                ParentAnswer::Signed {
                    sa,
                    request,
                    auth,
                    spi_in: None,
                }
            }
            ParentRequest::Authenticate {
                sa,
                request,
                policy,
                peer_id,
                method,
                auth,
                octets,
                certs,
                sign: sign_octets,
                peer_hashes,
                prf,
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
                    Some(AuthSpec::Certificate { .. }) => match self.creds.get(&policy) {
                        None => Err(format!("policy \"{policy}\": credentials not loaded")),
                        Some(c) => super::certs::verify_peer(c, &certs, &peer_id).and_then(|key| {
                            verify(method.0, &auth, &key, &octets).map_err(|e| {
                                format!("the signature of {peer_id} does not verify: {e}")
                            })
                        }),
                    },
                };
                let auth = sign_octets.map(|o| {
                    self.allow(sa)
                        .and_then(|()| self.make_auth(config, &policy, prf, &peer_hashes, &o))
                });
                ParentAnswer::Authenticated {
                    sa,
                    request,
                    verdict,
                    auth,
                    child: None,
                }
            }
            // Kernel requests hold no secret; the parent loop hands them
            // to the kernel backend and never here.
            ParentRequest::ReserveSpi { sa, request, .. } => ParentAnswer::Reserved {
                sa,
                request,
                spi_in: Err("not a key custody request".into()),
            },
            ParentRequest::InstallChild { sa, request, .. } => ParentAnswer::Installed {
                sa,
                request,
                child: Err("not a key custody request".into()),
            },
        }
    }
}
