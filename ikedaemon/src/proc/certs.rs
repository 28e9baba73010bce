//! Certificate authentication in the parent: each certificate policy's
//! own certificate, private key (never leaves this process) and trusted
//! CAs, loaded at start-up and reload; verification of a peer's
//! certificate chain against those CAs, of its identity against the
//! certificate (subjectAltName, or the subject DN), and of its AUTH
//! signature (RFC 7296 §2.15, RFC 7427).

use std::collections::HashMap;

use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509, X509StoreContext};

use crate::config::{AuthSpec, Config};
use crate::ike::crypto::sig_keys::{PrivateKey, PublicKey};
use crate::ike::wire::{IdType, Identification};

/// One certificate policy's credentials.
pub(crate) struct Credentials {
    /// Our certificate (DER), sent in CERT payloads.
    pub(crate) cert_der: Vec<u8>,
    /// Our private key.
    pub(crate) key: PrivateKey,
    /// The CAs a peer's certificate must chain to, as a store built once
    /// at load time.
    pub(crate) cas: X509Store,
    /// How many CAs.
    ca_count: usize,
    /// SHA-1 of each CA's SubjectPublicKeyInfo, for CERTREQ.
    pub(crate) ca_hashes: Vec<[u8; 20]>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("key", &"<redacted>")
            .field("cas", &self.ca_count)
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
        let ours = read_pem_certs(cert)?.remove(0);
        let key_bytes = zeroize::Zeroizing::new(
            std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?,
        );
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
        let ca_count = cas.len();
        let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
        for c in cas {
            store.add_cert(c).map_err(|e| e.to_string())?;
        }
        out.insert(
            p.name.clone(),
            std::sync::Arc::new(Credentials {
                cert_der: ours.to_der().map_err(|e| e.to_string())?,
                key,
                cas: store.build(),
                ca_count,
                ca_hashes,
            }),
        );
    }
    Ok(out)
}

/// Verifies the peer's certificate chain (leaf first) against the CAs,
/// checks that `id` is in the leaf, and returns the leaf's public key.
pub(crate) fn verify_peer(
    creds: &Credentials,
    certs: &[Vec<u8>],
    id: &Identification,
) -> Result<PublicKey, String> {
    let leaf_der = certs.first().ok_or("the peer sent no certificate")?;
    let leaf = X509::from_der(leaf_der)
        .map_err(|e| format!("the peer's certificate does not parse: {e}"))?;
    let mut chain = Stack::new().map_err(|e| e.to_string())?;
    for der in certs.iter().skip(1) {
        if let Ok(c) = X509::from_der(der) {
            chain.push(c).map_err(|e| e.to_string())?;
        }
    }
    let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
    let verdict = ctx
        .init(&creds.cas, &leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            Ok(if ok {
                Ok(())
            } else {
                Err(c.error().to_string())
            })
        })
        .map_err(|e| e.to_string())?;
    verdict
        .map_err(|e| format!("the peer's certificate does not chain to a configured CA: {e}"))?;
    if !id_in_cert(&leaf, id) {
        return Err(format!("the peer's ID {id} is not in its certificate"));
    }
    PublicKey::from_certificate_der(leaf_der).map_err(|e| e.to_string())
}

/// True when the ID is a subjectAltName of the certificate, or its subject
/// DN (RFC 7296 §3.5, RFC 4945 §3.1).
fn id_in_cert(cert: &X509, id: &Identification) -> bool {
    let sans = cert.subject_alt_names();
    let any_san = |f: &dyn Fn(&openssl::x509::GeneralNameRef) -> bool| {
        sans.as_ref().is_some_and(|s| s.iter().any(f))
    };
    match id.id_type {
        IdType::FQDN => {
            let want = String::from_utf8_lossy(&id.data).to_ascii_lowercase();
            any_san(&|n| n.dnsname().is_some_and(|d| d.to_ascii_lowercase() == want))
        }
        IdType::RFC822_ADDR => {
            let want = String::from_utf8_lossy(&id.data).to_ascii_lowercase();
            any_san(&|n| n.email().is_some_and(|d| d.to_ascii_lowercase() == want))
        }
        IdType::IPV4_ADDR | IdType::IPV6_ADDR => {
            any_san(&|n| n.ipaddress() == Some(id.data.as_slice()))
        }
        IdType::DER_ASN1_DN => cert.subject_name().to_der().is_ok_and(|d| d == id.data),
        _ => false,
    }
}
