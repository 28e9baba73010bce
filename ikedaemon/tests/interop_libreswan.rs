//! ikedaemon against a real libreswan 4.10 pluto in network namespaces
//! (tests/interop/peer-libreswan): childless IKE SAs (RFC 6023; pluto
//! cannot install CHILD SAs without ESP in this kernel) with PSK and FQDN
//! IDs in both directions, and ECDSA certificates with a fragmented
//! IKE_AUTH; both sides report the SA established.

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
    let d = Daemon::start_with(b, |c| interop::fqdn_config(c, false, "passive", ids));
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
    let frags = interop::stat(&d, "fragments_reassembled");
    assert!(frags >= 2, "{frags}\n{}", d.log_text());
    assert!(d.log_text().contains("[ EF(1/"), "{}", d.log_text());
}

/// ikedaemon initiates to pluto: `childless: force` with PSK and
/// aes256-sha256-modp2048; pluto reports the IKE SA established with no
/// IPsec SA, and we agree.
#[test]
fn ikedaemon_initiates_a_childless_ike_sa_to_pluto() {
    let (a, b) = interop::pair();
    let conn = "conn t
    ikev2=yes
    authby=secret
    left=192.0.2.2
    leftid=@responder.example
    leftsubnet=203.0.113.1/32
    right=192.0.2.1
    rightid=@initiator.example
    rightsubnet=198.51.100.1/32
    ike=aes256-sha2_256;modp2048
    auto=add
";
    let pluto = Pluto::start(
        &b,
        conn,
        "@initiator.example @responder.example : PSK \"interop test secret\"\n",
    );
    let d = Daemon::start_with(a, |c| {
        let extra = "    ike: [aes256-sha256-modp2048]\n    childless: force\n";
        interop::fqdn_config(c, true, "active", extra)
    });
    let status = interop::wait_for(15, || {
        let s = pluto.status();
        s.contains("state=STATE_V2_ESTABLISHED_IKE_SA").then_some(s)
    })
    .unwrap_or_else(|| panic!("{}\n{}", pluto.status(), d.log_text()));
    assert!(
        status.contains("summary ike-total=1 ike-authenticated=1 ipsec-total=0"),
        "{status}"
    );
    d.wait_log("IKE SA established without a CHILD SA (RFC 6023)");
    let ours = interop::sas(&d);
    assert_eq!(ours.len(), 1, "{}", d.log_text());
    assert!(
        ours[0].contains("aes256-sha256-prfsha256-modp2048"),
        "{ours:?}"
    );
}
