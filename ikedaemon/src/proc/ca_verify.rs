//! What the `ca` process checks of a peer's certificates (issue 13, M4):
//! the chain to the policy's CAs, the peer's ID in the leaf, and the
//! X.509 rules an operator expects — keyUsage and extendedKeyUsage that
//! allow signing IKE messages (RFC 4945 §5.1.3), RSA keys of 2048 bits or
//! more, no SHA-1 certificate signatures unless configured. The result is
//! the leaf's public key (SubjectPublicKeyInfo DER), all the parent needs
//! to verify the AUTH signature; attacker-supplied certificates are never
//! parsed by the root parent.

use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::stack::Stack;
use openssl::x509::store::X509Store;
use openssl::x509::{X509, X509ExtendedKeyUsage, X509KeyUsage, X509Ref, X509StoreContext};

use crate::ike::wire::{IdType, Identification};

/// The smallest RSA key taken in a peer's chain.
pub(crate) const MIN_RSA_BITS: u32 = 2048;

/// Builds a CA store from DER certificates.
pub(crate) fn store(cas: &[Vec<u8>]) -> Result<X509Store, String> {
    let mut b = openssl::x509::store::X509StoreBuilder::new().map_err(|e| e.to_string())?;
    for der in cas {
        let c = X509::from_der(der).map_err(|e| format!("a CA certificate does not parse: {e}"))?;
        b.add_cert(c).map_err(|e| e.to_string())?;
    }
    Ok(b.build())
}

/// Verifies the peer's chain (leaf first) against `cas` and the X.509
/// rules; returns the leaf's SubjectPublicKeyInfo (DER).
pub(crate) fn verify_chain(
    cas: &X509Store,
    certs: &[Vec<u8>],
    id: &Identification,
    allow_sha1: bool,
) -> Result<Vec<u8>, String> {
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
        .init(cas, &leaf, &chain, |c| {
            if !c.verify_cert()? {
                return Ok(Err(format!(
                    "the peer's certificate does not chain to a configured CA: {}",
                    c.error()
                )));
            }
            // The verified path, leaf first, trust anchor last.
            let path: Vec<X509> = c
                .chain()
                .map(|s| s.iter().map(|x| x.to_owned()).collect())
                .unwrap_or_default();
            Ok(path_rules(&path, allow_sha1))
        })
        .map_err(|e| e.to_string())?;
    verdict?;
    leaf_rules(&leaf)?;
    if !id_in_cert(&leaf, id) {
        return Err(format!("the peer's ID {id} is not in its certificate"));
    }
    leaf.public_key()
        .and_then(|k| k.public_key_to_der())
        .map_err(|e| e.to_string())
}

/// Key sizes and signature hashes along the verified path (the trust
/// anchor's own self-signature is not checked: it is trusted as is).
fn path_rules(path: &[X509], allow_sha1: bool) -> Result<(), String> {
    for (i, c) in path.iter().enumerate() {
        let who = if i == 0 {
            "the peer's certificate".to_string()
        } else {
            format!("CA certificate {i} of its chain")
        };
        let key = c
            .public_key()
            .map_err(|e| format!("{who}: no public key: {e}"))?;
        if key.id() == Id::RSA && key.bits() < MIN_RSA_BITS {
            return Err(format!(
                "{who} has a {}-bit RSA key (at least {MIN_RSA_BITS} are required)",
                key.bits()
            ));
        }
        let anchor = i + 1 == path.len();
        if !anchor && !allow_sha1 && sha1_signed(c) {
            return Err(format!(
                "{who} is signed with SHA-1 (refused unless allow_sha1_certificates is set)"
            ));
        }
    }
    Ok(())
}

fn sha1_signed(c: &X509Ref) -> bool {
    matches!(
        c.signature_algorithm().object().nid(),
        Nid::SHA1WITHRSAENCRYPTION | Nid::ECDSA_WITH_SHA1 | Nid::DSAWITHSHA1 | Nid::SHA1WITHRSA
    )
}

/// keyUsage and extendedKeyUsage of the leaf, when present, allow it to
/// sign IKE messages.
fn leaf_rules(leaf: &X509Ref) -> Result<(), String> {
    if let Some(ku) = leaf.key_usage()
        && !ku.intersects(X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::NON_REPUDIATION)
    {
        return Err(
            "the peer's certificate keyUsage allows neither digitalSignature nor nonRepudiation"
                .into(),
        );
    }
    // OpenSSL names only some purposes; an extension that lists only
    // others (ipsecIKE, RFC 4945) shows as empty and is accepted. One that
    // names only purposes such as codeSigning or emailProtection is not.
    if let Some(eku) = leaf.extended_key_usage()
        && !eku.is_empty()
        && !eku.intersects(
            X509ExtendedKeyUsage::SSL_SERVER
                | X509ExtendedKeyUsage::SSL_CLIENT
                | X509ExtendedKeyUsage::ANYEKU,
        )
    {
        return Err(
            "the peer's certificate extendedKeyUsage is for other purposes than IKE (no ipsecIKE, serverAuth, clientAuth or anyExtendedKeyUsage)"
                .into(),
        );
    }
    Ok(())
}

/// True when the ID is a subjectAltName of the certificate, or its subject
/// DN (RFC 7296 §3.5, RFC 4945 §3.1).
fn id_in_cert(cert: &X509Ref, id: &Identification) -> bool {
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

#[cfg(test)]
#[path = "ca_verify_tests.rs"]
mod tests;
