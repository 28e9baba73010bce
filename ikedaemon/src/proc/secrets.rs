//! The parent's key custody (DESIGN.md "Key custody"): our AUTH payload
//! made with a policy's PSK or private key, and the verification of the
//! peer's AUTH. The secrets never leave this process; these functions run
//! on the custody worker thread (custody_worker.rs), never on the parent's
//! event loop, and only for requests the gate let through.

use std::sync::Arc;

use crate::config::{AuthSpec, Config, Redacted};
use crate::ike::crypto::auth_octets::{psk_auth, psk_verify};
use crate::ike::crypto::prf::PrfAlg;
use crate::ike::crypto::sig_algid::HashAlg;
use crate::ike::crypto::sign::{RsaPadding, choose_scheme, sign, verify};
use crate::ike::wire::{AuthMethod, AuthPayload, Identification};

use super::certs::Credentials;

/// A policy's secret, as the worker needs it for one request.
#[derive(Debug, Clone)]
pub(crate) enum PolicySecret {
    /// The pre-shared key.
    Psk(Redacted),
    /// Certificate, private key and CAs.
    Cert(Arc<Credentials>),
}

/// The secret of `policy` in `config` (certificate credentials from
/// `creds`).
pub(crate) fn policy_secret(
    config: &Config,
    creds: &std::collections::HashMap<String, Arc<Credentials>>,
    policy: &str,
) -> Result<PolicySecret, String> {
    let p = config
        .policy(policy)
        .ok_or_else(|| format!("no policy \"{policy}\""))?;
    match &p.auth {
        AuthSpec::Psk(psk) => Ok(PolicySecret::Psk(psk.clone())),
        AuthSpec::Certificate { .. } => creds
            .get(policy)
            .map(|c| PolicySecret::Cert(Arc::clone(c)))
            .ok_or_else(|| format!("policy \"{policy}\": credentials not loaded")),
    }
}

/// Our AUTH payload: the PSK MIC, or a signature with the policy's key
/// (RFC 7427 when the peer announced hash algorithms).
pub(crate) fn make_auth(
    secret: &PolicySecret,
    prf: u16,
    hashes: &[u16],
    octets: &[u8],
) -> Result<AuthPayload, String> {
    match secret {
        PolicySecret::Psk(psk) => {
            let prf = PrfAlg::from_id(prf).ok_or_else(|| format!("unknown PRF {prf}"))?;
            Ok(AuthPayload {
                method: AuthMethod::SHARED_KEY_MIC,
                data: psk_auth(prf, psk.expose(), octets)
                    .map_err(|e| e.to_string())?
                    .to_vec(),
            })
        }
        PolicySecret::Cert(c) => {
            let hashes: Vec<HashAlg> = hashes.iter().filter_map(|h| HashAlg::from_id(*h)).collect();
            let scheme =
                choose_scheme(&c.key, &hashes, RsaPadding::Pkcs1v15).map_err(|e| e.to_string())?;
            Ok(AuthPayload {
                method: AuthMethod(scheme.auth_method()),
                data: sign(scheme, &c.key, octets).map_err(|e| e.to_string())?,
            })
        }
    }
}

/// The peer's AUTH as it arrived, for verification.
#[derive(Debug, Clone)]
pub(crate) struct PeerAuth {
    /// The identity it claims.
    pub(crate) peer_id: Identification,
    /// AUTH method.
    pub(crate) method: AuthMethod,
    /// AUTH data.
    pub(crate) auth: Vec<u8>,
    /// The octets it signed.
    pub(crate) octets: Vec<u8>,
    /// Its certificates (DER), leaf first.
    pub(crate) certs: Vec<Vec<u8>>,
    /// The IKE SA's PRF.
    pub(crate) prf: u16,
}

/// Verifies the peer's AUTH against the policy's secret: the PSK MIC, or
/// a certificate chain to the policy's CAs that binds the peer's ID (the
/// `ca` process's verdict, through `chain`) and whose key verifies the
/// signature.
pub(crate) fn verify_peer_auth(
    secret: &PolicySecret,
    policy: &str,
    a: &PeerAuth,
    chain: &mut dyn super::ca_client::ChainCheck,
) -> Result<(), String> {
    let peer_id = &a.peer_id;
    match secret {
        PolicySecret::Psk(psk) if a.method == AuthMethod::SHARED_KEY_MIC => {
            let prf = PrfAlg::from_id(a.prf).ok_or_else(|| format!("unknown PRF {}", a.prf))?;
            psk_verify(prf, psk.expose(), &a.octets, &a.auth)
                .map_err(|_| format!("the pre-shared key of {peer_id} does not match"))
        }
        PolicySecret::Psk(_) => Err(format!(
            "the peer {peer_id} authenticated with {}, the policy expects a pre-shared key",
            a.method
        )),
        PolicySecret::Cert(_) => {
            let key = chain.check(policy, &a.certs, peer_id)?;
            verify(a.method.0, &a.auth, &key, &a.octets)
                .map_err(|e| format!("the signature of {peer_id} does not verify: {e}"))
        }
    }
}
