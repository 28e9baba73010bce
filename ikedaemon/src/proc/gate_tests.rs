//! The gate's bindings: a CHILD SA only under the policy its IKE SA
//! authenticated under, or one with identical authentication.

use std::path::PathBuf;

use super::*;

const CONFIG: &str = "\
kernel: none
policies:
  - name: p
    local: {address: 192.0.2.1}
    remote: {address: 192.0.2.2}
    auth: {psk: guest}
    local_ts: [198.51.100.0/24]
    remote_ts: [203.0.113.0/24]
  - name: corp
    local: {address: 192.0.2.1}
    remote: {address: 192.0.2.2}
    auth: {psk: corporate secret}
    local_ts: [198.51.100.0/24]
    remote_ts: [10.0.0.0/8]
  - name: twin
    local: {address: 192.0.2.1}
    remote: {address: 192.0.2.2}
    auth: {psk: guest}
    local_ts: [198.51.100.0/24]
    remote_ts: [10.1.0.0/16]
  - name: twin-for-bob
    local: {address: 192.0.2.1}
    remote: {address: 192.0.2.2, id: {fqdn: bob.example}}
    auth: {psk: guest}
    local_ts: [198.51.100.0/24]
    remote_ts: [10.2.0.0/16]
";

const SA: SaId = 0x1111;

fn config() -> Config {
    crate::config::parse(CONFIG, "t.conf").unwrap()
}

fn fqdn(name: &str) -> Identification {
    Identification::fqdn(name)
}

fn authenticated_under_p() -> Gate {
    let mut g = Gate::default();
    g.may_authenticate(SA, "p").unwrap();
    g.authenticated(SA, "p", &fqdn("alice.example"));
    g
}

#[test]
fn a_child_sa_of_an_ike_sa_that_never_authenticated_is_refused() {
    let c = config();
    let mut g = Gate::default();
    let e = g.may_use(&c, SA, "p").unwrap_err();
    assert!(e.contains("has not authenticated its peer"), "{e}");
    // Having made our AUTH is not having authenticated the peer.
    g.sign(SA, "p").unwrap();
    assert!(g.may_use(&c, SA, "p").is_err());
}

#[test]
fn a_policy_with_another_psk_is_refused_its_own_is_allowed() {
    let c = config();
    let g = authenticated_under_p();
    g.may_use(&c, SA, "p").unwrap();
    let e = g.may_use(&c, SA, "corp").unwrap_err();
    assert!(e.contains("whose authentication differs"), "{e}");
    // Another IKE SA gets nothing from this one's verdict.
    assert!(g.may_use(&c, SA + 1, "p").is_err());
}

#[test]
fn a_policy_with_the_same_psk_is_allowed_unless_it_wants_another_id() {
    let c = config();
    let g = authenticated_under_p();
    g.may_use(&c, SA, "twin").unwrap();
    let e = g.may_use(&c, SA, "twin-for-bob").unwrap_err();
    assert!(e.contains("wants remote ID"), "{e}");
    let mut bob = Gate::default();
    bob.authenticated(SA, "p", &fqdn("bob.example"));
    bob.may_use(&c, SA, "twin-for-bob").unwrap();
}

#[test]
fn an_ike_sa_stays_with_the_policy_it_signed_under() {
    let mut g = Gate::default();
    g.sign(SA, "p").unwrap();
    g.sign(SA, "p").unwrap();
    g.may_reserve_first(SA, "p").unwrap();
    assert!(g.may_reserve_first(SA, "corp").is_err());
    assert!(g.may_reserve_first(SA + 1, "p").is_err());
    assert!(g.sign(SA, "corp").is_err());
    assert!(g.may_authenticate(SA, "corp").is_err());
    g.may_authenticate(SA, "p").unwrap();
}

#[test]
fn a_rekeyed_ike_sa_passes_its_binding_on_and_a_gone_one_loses_it() {
    let c = config();
    let mut g = authenticated_under_p();
    g.rekeyed(SA, SA + 7);
    assert!(g.may_use(&c, SA, "p").is_err());
    g.may_use(&c, SA + 7, "p").unwrap();
    assert!(g.may_use(&c, SA + 7, "corp").is_err());
    g.forget(SA + 7);
    assert!(g.may_use(&c, SA + 7, "p").is_err());
}

#[test]
fn certificate_policies_match_by_their_ca_set() {
    let c = config();
    let cert = |ca: &[&str]| {
        let mut p = c.policy("p").unwrap().clone();
        p.auth = AuthSpec::Certificate {
            cert: PathBuf::from("/etc/ikedaemon/me.pem"),
            key: PathBuf::from("/etc/ikedaemon/me.key"),
            ca: ca.iter().map(PathBuf::from).collect(),
        };
        p
    };
    assert!(same_authentication(
        &cert(&["/ca/a.pem", "/ca/b.pem"]),
        &cert(&["/ca/b.pem", "/ca/a.pem"])
    ));
    assert!(!same_authentication(
        &cert(&["/ca/a.pem"]),
        &cert(&["/ca/a.pem", "/ca/b.pem"])
    ));
    assert!(!same_authentication(
        &cert(&["/ca/a.pem"]),
        c.policy("p").unwrap()
    ));
    assert!(same_authentication(
        c.policy("p").unwrap(),
        c.policy("twin").unwrap()
    ));
    assert!(!same_authentication(
        c.policy("p").unwrap(),
        c.policy("corp").unwrap()
    ));
}
