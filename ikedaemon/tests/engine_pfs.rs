//! A PFS group in an ESP proposal (issue 14, item 1): the first CHILD SA,
//! made in IKE_AUTH, has no key exchange of its own (RFC 7296 §1.2), so
//! its proposals go without KE transforms and KE transforms a peer put
//! there are ignored; the group applies to CREATE_CHILD_SA. A policy with
//! `aes128gcm16-x25519` and one with plain `aes128gcm16` agree on the first
//! CHILD SA whichever side initiates (as charon does).

#[path = "engine_common/mod.rs"]
mod common;

use common::*;
use ikedaemon::ike::engine::*;
use ikedaemon::ike::proposal::SaProtocol;

/// The standard pair with these ESP proposals on a and b.
fn with_esp(a: &str, b: &str) -> World {
    let mut w = pair_with(EngineConfig::default(), |pb| {
        pb.esp = vec![prop(b, SaProtocol::Esp)];
    });
    let mut pa = policy_a("aes128-sha256-x25519");
    pa.esp = vec![prop(a, SaProtocol::Esp)];
    w.a.engine.set_policies(vec![pa]);
    w
}

#[test]
fn an_initiator_with_a_pfs_group_gets_its_first_child_sa() {
    let mut w = with_esp("aes128gcm16-x25519", "aes128gcm16");
    w.start();
    assert_established(&w);
}

#[test]
fn a_responder_with_a_pfs_group_gives_the_first_child_sa() {
    let mut w = with_esp("aes128gcm16", "aes128gcm16-x25519");
    w.start();
    assert_established(&w);
}

#[test]
fn both_with_a_pfs_group_agree_and_name_no_group_for_the_first_child_sa() {
    let mut w = with_esp("aes128gcm16-x25519", "aes128gcm16-x25519");
    w.start();
    assert_established(&w);
    let keys = World::children(&w.b.events);
    assert!(
        !keys[0].algorithms.contains("x25519"),
        "{}",
        keys[0].algorithms
    );
}
