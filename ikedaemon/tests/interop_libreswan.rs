//! ikedaemon against a real libreswan 4.10 pluto in network namespaces
//! (tests/interop/peer-libreswan): pluto initiates a childless IKE SA
//! (RFC 6023) with PSK and FQDN IDs; both sides report it established.

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "interop_common/mod.rs"]
mod interop;

use common::Daemon;
use interop::Pluto;

const PLUTO_CONN: &str = "conn t
    ikev2=yes
    authby=secret
    left=192.0.2.1
    leftid=@initiator.example
    leftsubnet=198.51.100.1/32
    right=192.0.2.2
    rightid=@responder.example
    rightsubnet=203.0.113.1/32
    ike=aes128-sha2_256-dh31
    auto=add
";

#[test]
fn pluto_initiates_a_childless_ike_sa_to_ikedaemon() {
    let (a, b) = interop::pair();
    let ids = "    ike: [aes128-sha256-x25519]\n";
    let d = Daemon::start_with(b, |c| {
        interop::config(c, false, "passive", ids)
            .replace(
                "local: { address: 192.0.2.2 }",
                "local: { address: 192.0.2.2, id: { fqdn: responder.example } }",
            )
            .replace(
                "remote: { address: 192.0.2.1 }",
                "remote: { address: 192.0.2.1, id: { fqdn: initiator.example } }",
            )
    });
    let pluto = Pluto::start(
        &a,
        PLUTO_CONN,
        "@initiator.example @responder.example : PSK \"interop test secret\"\n",
    );
    let out = pluto.initiate("t", true);
    assert!(
        out.contains("authenticated peer using authby=secret and ID_FQDN '@responder.example'"),
        "{out}"
    );
    let status = pluto.status();
    assert!(
        status.contains("state=STATE_V2_ESTABLISHED_IKE_SA"),
        "{status}"
    );
    assert!(
        status.contains("summary ike-total=1 ike-authenticated=1 ipsec-total=0"),
        "{status}"
    );
    let ours = interop::sas(&d);
    assert_eq!(ours.len(), 1, "{}", d.log_text());
    assert!(
        ours[0].contains("aes128-sha256-prfsha256-x25519"),
        "{ours:?}"
    );
    d.wait_log("IKE SA established without a CHILD SA (RFC 6023)");
}

/// ECDSA certificates with pluto, whose IKE_AUTH is then large enough that
/// it fragments it (RFC 7383): we reassemble, verify its certificate and
/// signature, and answer; our counters show the fragments.
#[test]
fn pluto_fragmented_ike_auth_with_ecdsa_certificates() {
    let (a, b) = interop::pair();
    let conn = "conn c
    ikev2=yes
    authby=ecdsa
    left=192.0.2.1
    leftid=@initiator.example
    leftcert=initiator.example
    leftsubnet=198.51.100.1/32
    right=192.0.2.2
    rightid=@responder.example
    rightca=%same
    rightsubnet=203.0.113.1/32
    ike=aes128-sha2_256-dh31
    auto=add
";
    let pluto = Pluto::start_with(&a, Some("ecdsa"), conn, "");
    let export = pluto.dir.path().join("export");
    let d = Daemon::start_with(b, |chroot| {
        let auth = interop::take_exports(&export, chroot.parent().unwrap());
        interop::cert_config(
            chroot,
            false,
            "passive",
            &auth,
            "    ike: [aes128-sha256-x25519]\n",
        )
    });
    let out = pluto.initiate("c", true);
    assert!(
        out.contains("digital signature using peer certificate '@responder.example'"),
        "{out}"
    );
    let status = pluto.status();
    assert!(
        status.contains("state=STATE_V2_ESTABLISHED_IKE_SA"),
        "{status}"
    );
    let stats = d.ikectl_ok(&["--json", "show", "stats"]);
    let v: serde_json::Value = serde_json::from_str(stats.trim()).unwrap();
    let frags = v["stats"]["fragments_reassembled"].as_u64().unwrap();
    assert!(frags >= 2, "{stats}\n{}", d.log_text());
    assert!(d.log_text().contains("[ EF(1/"), "{}", d.log_text());
}
