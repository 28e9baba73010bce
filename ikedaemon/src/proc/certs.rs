//! Certificate policies' credentials in the parent: each one's own
//! certificate, private key (never leaves this process) and trusted CAs,
//! loaded at start-up and reload from the configured files. The CAs go to
//! the `ca` process (`trust_sets`), which validates peers' certificates:
//! the parent parses only its own configured files, never what a peer
//! sends.

use std::collections::HashMap;

use openssl::x509::X509;

use crate::config::{AuthSpec, Config};
use crate::ike::crypto::sig_keys::PrivateKey;

/// One certificate policy's credentials.
pub(crate) struct Credentials {
    /// Our certificate and the intermediate CA certificates that follow
    /// it in its file (DER), each sent in a CERT payload.
    pub(crate) chain_der: Vec<Vec<u8>>,
    /// Our private key.
    pub(crate) key: PrivateKey,
    /// The CAs a peer's certificate must chain to (DER), for the `ca`
    /// process.
    pub(crate) ca_ders: Vec<Vec<u8>>,
    /// SHA-1 of each CA's SubjectPublicKeyInfo, for CERTREQ.
    pub(crate) ca_hashes: Vec<[u8; 20]>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("key", &"<redacted>")
            .field("cas", &self.ca_ders.len())
            .finish()
    }
}

fn read_pem_certs(path: &std::path::Path) -> Result<Vec<X509>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs = X509::stack_from_pem(&data).map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", path.display()));
    }
    Ok(certs)
}

/// Loads every certificate policy's credentials.
pub(crate) fn load(
    config: &Config,
) -> Result<HashMap<String, std::sync::Arc<Credentials>>, String> {
    let mut out = HashMap::new();
    for p in &config.policies {
        let AuthSpec::Certificate { cert, key, ca } = &p.auth else {
            continue;
        };
        let chain_der = read_pem_certs(cert)?
            .iter()
            .map(|c| c.to_der().map_err(|e| format!("{}: {e}", cert.display())))
            .collect::<Result<Vec<_>, _>>()?;
        let key_bytes = crate::config::read_private("private_key", key)?;
        let key = PrivateKey::load(&key_bytes).map_err(|e| format!("{}: {e}", key.display()))?;
        let mut cas = Vec::new();
        for c in ca {
            cas.extend(read_pem_certs(c)?);
        }
        let ca_hashes = cas
            .iter()
            .filter_map(|c| c.public_key().ok()?.public_key_to_der().ok())
            .map(|spki| openssl::sha::sha1(&spki))
            .collect();
        let ca_ders = cas
            .iter()
            .map(|c| c.to_der().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(
            p.name.clone(),
            std::sync::Arc::new(Credentials {
                chain_der,
                key,
                ca_ders,
                ca_hashes,
            }),
        );
    }
    Ok(out)
}

/// The CA sets for the `ca` process.
pub(crate) fn trust_sets(
    creds: &HashMap<String, std::sync::Arc<Credentials>>,
) -> Vec<crate::ipc::TrustSet> {
    creds
        .iter()
        .map(|(policy, c)| crate::ipc::TrustSet {
            policy: policy.clone(),
            cas: c.ca_ders.clone(),
        })
        .collect()
}
