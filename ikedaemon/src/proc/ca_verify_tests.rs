//! The `ca` process's checks on certificates made here with OpenSSL: a
//! good chain gives the leaf's key; a wrong ID, an unknown CA, a short
//! RSA key, a SHA-1 signature and a keyUsage or extendedKeyUsage for
//! other purposes are each refused with their own reason.

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};

use super::*;

fn ec_key() -> PKey<Private> {
    let g = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()
}

fn rsa_key(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

/// What a test certificate should look like.
struct Spec<'a> {
    cn: &'a str,
    key: &'a PKey<Private>,
    signer: Option<(&'a X509, &'a PKey<Private>)>,
    digest: MessageDigest,
    san: Option<&'a str>,
    ku: Option<KeyUsage>,
    eku: Option<ExtendedKeyUsage>,
}

fn cert(s: Spec<'_>) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", s.cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_pubkey(s.key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    let (issuer, signing_key) = match s.signer {
        Some((ca, k)) => (ca.subject_name().to_owned().unwrap(), k),
        None => {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            (name, s.key)
        }
    };
    b.set_issuer_name(&issuer).unwrap();
    if let Some(dns) = s.san {
        let ext = SubjectAlternativeName::new()
            .dns(dns)
            .build(&b.x509v3_context(s.signer.map(|(c, _)| c.as_ref()), None))
            .unwrap();
        b.append_extension(ext).unwrap();
    }
    if let Some(ku) = s.ku {
        b.append_extension(ku.build().unwrap()).unwrap();
    }
    if let Some(eku) = s.eku {
        b.append_extension(eku.build().unwrap()).unwrap();
    }
    b.sign(signing_key, s.digest).unwrap();
    b.build()
}

struct Pki {
    ca: X509,
    ca_key: PKey<Private>,
}

fn pki() -> Pki {
    let ca_key = ec_key();
    let ca = cert(Spec {
        cn: "Test CA",
        key: &ca_key,
        signer: None,
        digest: MessageDigest::sha256(),
        san: None,
        ku: None,
        eku: None,
    });
    Pki { ca, ca_key }
}

impl Pki {
    fn leaf(&self, key: &PKey<Private>, f: impl FnOnce(&mut Spec<'_>)) -> Vec<u8> {
        let mut s = Spec {
            cn: "peer",
            key,
            signer: Some((&self.ca, &self.ca_key)),
            digest: MessageDigest::sha256(),
            san: Some("peer.example"),
            ku: None,
            eku: None,
        };
        f(&mut s);
        cert(s).to_der().unwrap()
    }

    fn check(&self, leaf: Vec<u8>, id: &str, allow_sha1: bool) -> Result<Vec<u8>, String> {
        let st = store(&[self.ca.to_der().unwrap()]).unwrap();
        verify_chain(&st, &[leaf], &Identification::fqdn(id), allow_sha1)
    }
}

#[test]
fn a_good_chain_gives_the_leafs_key() {
    let p = pki();
    let key = ec_key();
    let spki = p
        .check(p.leaf(&key, |_| {}), "peer.example", false)
        .unwrap();
    assert_eq!(spki, key.public_key_to_der().unwrap());
}

#[test]
fn a_wrong_id_or_an_unknown_ca_is_refused() {
    let p = pki();
    let key = ec_key();
    let e = p
        .check(p.leaf(&key, |_| {}), "other.example", false)
        .unwrap_err();
    assert!(e.contains("is not in its certificate"), "{e}");
    let other = pki();
    let e = p
        .check(other.leaf(&key, |_| {}), "peer.example", false)
        .unwrap_err();
    assert!(e.contains("does not chain to a configured CA"), "{e}");
}

#[test]
fn a_short_rsa_key_is_refused() {
    let p = pki();
    let e = p
        .check(p.leaf(&rsa_key(1024), |_| {}), "peer.example", false)
        .unwrap_err();
    assert!(e.contains("1024-bit RSA key (at least 2048"), "{e}");
    p.check(p.leaf(&rsa_key(2048), |_| {}), "peer.example", false)
        .unwrap();
}

#[test]
fn a_sha1_signature_is_refused_unless_allowed() {
    let p = pki();
    let key = ec_key();
    let leaf = p.leaf(&key, |s| s.digest = MessageDigest::sha1());
    match p.check(leaf.clone(), "peer.example", false) {
        Err(e) => assert!(
            e.contains("signed with SHA-1") || e.contains("does not chain"),
            "{e}"
        ),
        Ok(_) => panic!("a SHA-1 signed certificate was taken"),
    }
    // OpenSSL's own security level may refuse SHA-1 too; when it does
    // not, the option lets it through.
    if let Err(e) = p.check(leaf, "peer.example", true) {
        assert!(e.contains("does not chain"), "{e}");
    }
}

#[test]
fn key_usages_for_other_purposes_are_refused() {
    let p = pki();
    let key = ec_key();
    let e = p
        .check(
            p.leaf(&key, |s| {
                let mut ku = KeyUsage::new();
                ku.key_cert_sign();
                s.ku = Some(ku);
            }),
            "peer.example",
            false,
        )
        .unwrap_err();
    assert!(e.contains("keyUsage allows neither"), "{e}");
    let e = p
        .check(
            p.leaf(&key, |s| {
                let mut eku = ExtendedKeyUsage::new();
                eku.code_signing();
                s.eku = Some(eku);
            }),
            "peer.example",
            false,
        )
        .unwrap_err();
    assert!(e.contains("extendedKeyUsage is for other purposes"), "{e}");
    // serverAuth, and ipsecIKE (which OpenSSL does not name), are fine.
    p.check(
        p.leaf(&key, |s| {
            let mut eku = ExtendedKeyUsage::new();
            eku.server_auth();
            s.eku = Some(eku);
        }),
        "peer.example",
        false,
    )
    .unwrap();
    p.check(
        p.leaf(&key, |s| {
            let mut eku = ExtendedKeyUsage::new();
            eku.other("1.3.6.1.5.5.7.3.17");
            s.eku = Some(eku);
        }),
        "peer.example",
        false,
    )
    .unwrap();
}
