//! ikedaemon against a real strongSwan 5.9.8 charon in network namespaces
//! (started by tests/interop/peer-strongswan; installed by
//! tests/interop/install-peers, which tests/setup runs): what charon
//! reports in `swanctl --list-sas` is asserted, not just an exit code.

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "interop_common/mod.rs"]
mod interop;

use common::Daemon;
use interop::{CHARON_CONN, Charon, raw_field};

const OUR_PROPOSALS: &str = "    ike: [aes128gcm16-prfsha256-x25519]\n    esp: [aes128gcm16]\n";

/// Case (2): charon with kernel-libipsec installs the CHILD SA; it fakes a
/// NAT, so IKE moves to 4500; SPIs and selectors agree.
#[test]
fn ikedaemon_initiates_to_charon_libipsec_child_installed() {
    let (a, b) = interop::pair();
    let charon = Charon::start(&b, true, CHARON_CONN);
    let d = Daemon::start_with(a, |c| interop::config(c, true, "active", OUR_PROPOSALS));
    let line = interop::wait_for(15, || {
        let s = charon.list_sas();
        s.contains("state=INSTALLED").then_some(s)
    })
    .unwrap_or_else(|| panic!("charon: {}\nikedaemon: {}", charon.list_sas(), d.log_text()));
    assert_eq!(raw_field(&line, "state"), Some("ESTABLISHED"));
    assert_eq!(
        raw_field(&line, "local-port"),
        Some("4500"),
        "IKE on the NAT-T port"
    );
    assert_eq!(raw_field(&line, "encap"), Some("yes"));
    let ours = interop::sas(&d);
    let spis = format!(
        "{}:{}",
        raw_field(&line, "initiator-spi").unwrap(),
        raw_field(&line, "responder-spi").unwrap()
    );
    assert!(ours[0].contains(&spis), "{ours:?} vs {spis}");
    assert!(ours[0].contains("192.0.2.2:4500"), "{ours:?}");
    // Our inbound SPI is charon's outbound one and vice versa.
    let (spi_in, spi_out) = (
        raw_field(&line, "spi-in").unwrap(),
        raw_field(&line, "spi-out").unwrap(),
    );
    d.wait_log(&format!(
        "CHILD SA site {spi_out}/{spi_in} aes128gcm16 198.51.100.1/32 === 203.0.113.1/32"
    ));
    assert!(
        line.contains("local-ts=[203.0.113.1/32] remote-ts=[198.51.100.1/32]"),
        "{line}"
    );
}

/// Case (3): charon with kernel-netlink cannot install the CHILD SA (no
/// ESP in this kernel): the IKE SA survives on both sides and charon's
/// notify is in our log.
#[test]
fn ikedaemon_initiates_to_charon_child_refused_ike_sa_survives() {
    let (a, b) = interop::pair();
    let charon = Charon::start(&b, false, CHARON_CONN);
    let d = Daemon::start_with(a, |c| interop::config(c, true, "active", OUR_PROPOSALS));
    d.wait_log("no CHILD SA: NO_PROPOSAL_CHOSEN");
    let line = charon.list_sas();
    assert_eq!(raw_field(&line, "state"), Some("ESTABLISHED"), "{line}");
    assert!(line.contains("child-sas {}"), "{line}");
    assert_eq!(interop::sas(&d).len(), 1);
    assert!(
        charon
            .log()
            .contains("failed to establish CHILD_SA, keeping IKE_SA")
    );
}

/// ikedaemon as responder: charon initiates with a CHILD SA.
#[test]
fn charon_initiates_to_ikedaemon() {
    let (a, b) = interop::pair();
    let d = Daemon::start_with(a, |c| interop::config(c, true, "passive", OUR_PROPOSALS));
    let charon = Charon::start(&b, true, CHARON_CONN);
    let out = charon.initiate_child("net");
    assert!(
        out.contains("CHILD_SA net{1} established"),
        "{out}\n{}",
        d.log_text()
    );
    let line = charon.list_sas();
    assert!(line.contains("state=INSTALLED"), "{line}");
    let ours = interop::sas(&d);
    assert_eq!(ours.len(), 1, "{}", d.log_text());
    assert!(ours[0].contains("aes128gcm16-prfsha256-x25519"));
    let (spi_in, spi_out) = (
        raw_field(&line, "spi-in").unwrap(),
        raw_field(&line, "spi-out").unwrap(),
    );
    d.wait_log(&format!("CHILD SA site {spi_out}/{spi_in} aes128gcm16"));
}

/// ECDSA certificates (RFC 7427): ikedaemon initiates, charon (its
/// certificate and CA made by the harness) authenticates it, and we verify
/// charon's chain and signature in the parent.
#[test]
fn ecdsa_certificates_both_ways_verified() {
    let (a, b) = interop::pair();
    let conn = r#"connections {
  ikd {
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    version = 2
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = pubkey
            certs = responder.pem
            id = responder.example }
    remote { auth = pubkey
             id = initiator.example }
    children {
      net { local_ts = 203.0.113.1/32
            remote_ts = 198.51.100.1/32
            esp_proposals = aes128gcm16 }
    }
  }
}
"#;
    let charon = Charon::start_with(&b, true, Some("ecdsa"), conn);
    let export = charon.dir.path().join("export");
    let d = Daemon::start_with(a, |chroot| {
        let auth = interop::take_exports(&export, chroot.parent().unwrap());
        interop::cert_config(chroot, true, "active", &auth, OUR_PROPOSALS)
    });
    let line = interop::wait_for(15, || {
        let s = charon.list_sas();
        s.contains("state=INSTALLED").then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "charon: {}\n{}\nikedaemon: {}",
            charon.list_sas(),
            charon.log(),
            d.log_text()
        )
    });
    assert_eq!(raw_field(&line, "remote-id"), Some("initiator.example"));
    assert!(
        charon.log().contains(
            "authentication of 'initiator.example' with ECDSA_WITH_SHA256_DER successful"
        )
    );
    assert_eq!(interop::sas(&d).len(), 1, "{}", d.log_text());
    // Charon's certificate was validated by our ca process.
    assert!(
        d.log_text()
            .contains("ca: CA sets for 1 certificate policies")
    );
    assert!(
        d.log_text().contains("IKE SA established"),
        "{}",
        d.log_text()
    );
}

/// Issue 14, item 1: a PFS group in the ESP proposals on both sides. The
/// first CHILD SA (IKE_AUTH) has no KE transform, whoever initiates.
#[test]
fn a_pfs_group_in_esp_proposals_leaves_the_first_child_sa_up_both_ways() {
    let conn = CHARON_CONN.replace(
        "esp_proposals = aes128gcm16",
        "esp_proposals = aes128gcm16-x25519",
    );
    let ours = "    ike: [aes128gcm16-prfsha256-x25519]\n    esp: [aes128gcm16-x25519]\n";
    // charon initiates.
    let (a, b) = interop::pair();
    let d = Daemon::start_with(a, |c| interop::config(c, true, "passive", ours));
    let charon = Charon::start(&b, true, &conn);
    let out = charon.initiate_child("net");
    assert!(
        out.contains("CHILD_SA net{1} established"),
        "{out}\n{}",
        d.log_text()
    );
    assert_eq!(interop::sas(&d).len(), 1, "{}", d.log_text());
    drop(charon);
    drop(d);
    // ikedaemon initiates.
    let (a, b) = interop::pair();
    let charon = Charon::start(&b, true, &conn);
    let d = Daemon::start_with(a, |c| interop::config(c, true, "active", ours));
    let line = interop::wait_for(15, || {
        let s = charon.list_sas();
        s.contains("state=INSTALLED").then_some(s)
    })
    .unwrap_or_else(|| panic!("charon: {}\nikedaemon: {}", charon.list_sas(), d.log_text()));
    assert!(line.contains("state=ESTABLISHED"), "{line}");
    d.wait_log("CHILD SA site ");
    assert!(!d.log_text().contains("no CHILD SA"), "{}", d.log_text());
}
