//! Two ikedaemons with full privilege separation in two network
//! namespaces: one initiates, with PSK or ECDSA certificates; both
//! establish the IKE SA and the CHILD SA and `ikectl show sa` agrees on
//! both sides (SPIs, algorithms); initiate, terminate, monitor, and a
//! reload that moves the ports.

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "interop_common/mod.rs"]
mod interop;

use common::Daemon;

#[test]
fn two_daemons_establish_with_psk_and_agree() {
    let (a, b) = interop::pair();
    let db = Daemon::start_with(b, |c| interop::config(c, false, "passive", ""));
    let da = Daemon::start_with(a, |c| interop::config(c, true, "active", ""));
    let both = interop::wait_for(10, || {
        let (sa, sb) = (interop::sas(&da), interop::sas(&db));
        (!sa.is_empty() && !sb.is_empty()).then_some((sa, sb))
    });
    let (sa, sb) =
        both.unwrap_or_else(|| panic!("no SA\nA: {}\nB: {}", da.log_text(), db.log_text()));
    // "site SPIi:SPIr peer ESTABLISHED algorithms ..."
    let field = |l: &str, i: usize| l.split_whitespace().nth(i).unwrap().to_string();
    assert_eq!(field(&sa[0], 1), field(&sb[0], 1), "same SPIs");
    assert_eq!(field(&sa[0], 4), "aes256gcm16-prfsha384-x25519");
    assert_eq!(field(&sa[0], 4), field(&sb[0], 4));
    assert_eq!(field(&sa[0], 2), "192.0.2.2:500");
    assert_eq!(field(&sb[0], 2), "192.0.2.1:500");
    for d in [&da, &db] {
        d.wait_log("recorded, not installed (kernel backend none)");
    }
    assert!(
        da.log_text().contains("CHILD SA site")
            && da.log_text().contains("198.51.100.1/32 === 203.0.113.1/32")
    );
    // The PSK never reached the negotiators: it is not in their memory
    // maps' readable text (checked through the log, which names the policy,
    // not the secret).
    assert!(!da.log_text().contains("interop test secret"));
    // The CHILD SAs the parents recorded (kernel: none), under their IKE
    // SAs: each side's inbound SPI is the other's outbound one.
    let ja = interop::show_sa_json(&da);
    let jb = interop::show_sa_json(&db);
    let (ca, cb) = (&ja[0]["children"][0], &jb[0]["children"][0]);
    assert_eq!(ca["spi_in"], cb["spi_out"], "{ja}\n{jb}");
    assert_eq!(ca["spi_out"], cb["spi_in"]);
    assert_eq!(ca["algorithms"], cb["algorithms"]);
    assert_eq!(ca["local_ts"], cb["remote_ts"]);
    assert_eq!(ca["mode"], "tunnel");
    assert_eq!(ca["installed"], "recorded (kernel: none)");
    // The default hard lifetimes (4h30m, 1h10m) count down on both.
    let secs = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    assert!(
        (16_100..=16_200).contains(&secs(&ja[0]["expires_in"])),
        "{ja}"
    );
    assert!((4_100..=4_200).contains(&secs(&ca["expires_in"])), "{ja}");
    assert_eq!(ja[0]["peer_id"], "192.0.2.2", "{ja}");
    let text = da.ikectl_ok(&["show", "sa"]);
    assert!(
        text.contains(&format!(
            "  CHILD {}/{} ",
            ca["spi_in"].as_str().unwrap(),
            ca["spi_out"].as_str().unwrap()
        )),
        "{text}"
    );
    // initiate is refused while the policy has an IKE SA.
    let busy = da.ikectl(&["initiate", "site"]);
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("already has IKE SA"));
    // terminate by our half of the SPIs: DELETE goes out, the peer
    // forgets the IKE SA and its CHILD SA, and monitor says so.
    let mut mon = std::process::Command::new(common::ikectl_bin())
        .arg("-s")
        .arg(&db.socket)
        .arg("monitor")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let spi_i = ja[0]["spis"].as_str().unwrap().split(':').next().unwrap();
    assert_eq!(
        da.ikectl_ok(&["terminate", spi_i]).trim(),
        "1 IKE SA deleted"
    );
    assert!(
        interop::wait_for(5, || interop::sas(&db).is_empty().then_some(())).is_some(),
        "{}",
        db.log_text()
    );
    assert_eq!(interop::stat(&db, "child_sas"), 0);
    // initiate brings it back.
    assert!(
        da.ikectl_ok(&["initiate", "site"])
            .contains("initiating policy \"site\" to 192.0.2.2")
    );
    assert!(
        interop::wait_for(10, || (interop::sas(&db).len() == 1).then_some(())).is_some(),
        "{}",
        da.log_text()
    );
    assert_eq!(interop::stat(&db, "child_sas"), 1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = mon.kill();
    let events = String::from_utf8_lossy(&mon.wait_with_output().unwrap().stdout).to_string();
    assert!(events.contains("deleted: deleted by the peer"), "{events}");
    assert!(events.contains("established"), "{events}");
    let none = da.ikectl(&["terminate", "nosuch"]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no IKE SA matches \"nosuch\""));
    // reset sa sends DELETE; the peer forgets the SA too.
    assert_eq!(da.ikectl_ok(&["reset", "sa"]).trim(), "1 IKE SAs deleted");
    assert!(
        interop::wait_for(5, || interop::sas(&db).is_empty().then_some(())).is_some(),
        "{}",
        db.log_text()
    );
}

#[test]
fn after_a_reload_that_moves_the_ports_both_daemons_negotiate_on_the_new_ones() {
    let (a, b) = interop::pair();
    let db = Daemon::start_with(b, |c| interop::config(c, false, "passive", ""));
    let da = Daemon::start_with(a, |c| interop::config(c, true, "passive", ""));
    for d in [&da, &db] {
        let text = std::fs::read_to_string(&d.config).unwrap();
        std::fs::write(
            &d.config,
            format!("ike_port: 1500\nnatt_port: 14500\n{text}"),
        )
        .unwrap();
        assert!(
            d.ikectl_ok(&["reload"]).contains("reloaded"),
            "{}",
            d.log_text()
        );
        d.wait_log("IKE sockets now");
    }
    da.ikectl_ok(&["initiate", "site"]);
    let up = interop::wait_for(10, || {
        let s = interop::sas(&db);
        (s.len() == 1).then_some(s)
    })
    .unwrap_or_else(|| panic!("A: {}\nB: {}", da.log_text(), db.log_text()));
    assert!(up[0].contains("192.0.2.1:1500"), "{up:?}");
    assert!(interop::sas(&da)[0].contains("192.0.2.2:1500"));
}

#[test]
fn two_daemons_establish_with_ecdsa_certificates_and_agree() {
    let certs = tempfile::tempdir().unwrap();
    interop::gen_certs(certs.path(), "ecdsa");
    let (a, b) = interop::pair();
    let extra = "    ike: [aes256gcm16-prfsha384-ecp256]\n";
    let db = Daemon::start_with(b, |c| {
        let auth = interop::own_certs(certs.path(), "responder", c.parent().unwrap());
        interop::cert_config(c, false, "passive", &auth, extra)
    });
    let da = Daemon::start_with(a, |c| {
        let auth = interop::own_certs(certs.path(), "initiator", c.parent().unwrap());
        interop::cert_config(c, true, "active", &auth, extra)
    });
    let up = interop::wait_for(10, || {
        let (ja, jb) = (interop::show_sa_json(&da), interop::show_sa_json(&db));
        let both = |v: &serde_json::Value| v[0]["children"][0]["spi_in"].is_string();
        (both(&ja) && both(&jb)).then_some((ja, jb))
    });
    let (ja, jb) = up.unwrap_or_else(|| panic!("A: {}\nB: {}", da.log_text(), db.log_text()));
    assert_eq!(ja[0]["spis"], jb[0]["spis"]);
    assert_eq!(ja[0]["algorithms"], "aes256gcm16-prfsha384-ecp256");
    assert_eq!(ja[0]["algorithms"], jb[0]["algorithms"]);
    // Each side authenticated the other by its certificate's SAN.
    assert_eq!(ja[0]["peer_id"], "responder.example", "{ja}");
    assert_eq!(jb[0]["peer_id"], "initiator.example", "{jb}");
    let (ca, cb) = (&ja[0]["children"][0], &jb[0]["children"][0]);
    assert_eq!(ca["spi_in"], cb["spi_out"]);
    assert_eq!(ca["spi_out"], cb["spi_in"]);
    assert_eq!(ca["algorithms"], cb["algorithms"]);
}

/// Short lifetimes (kernel: none emulates the CHILD SAs' soft expiry, the
/// engine times the IKE SA's rekey): both daemons rekey CHILD and IKE SAs
/// with CREATE_CHILD_SA, again and again; between rekeys each side has one
/// IKE SA and one CHILD SA, and both agree on their SPIs.
#[test]
fn short_lifetimes_rekey_child_and_ike_sas_with_create_child_sa() {
    let lifetime = "    lifetime:\n      ike: { rekey: 6s, expire: 120s }\n      child: { rekey: 3s, expire: 120s }\n";
    let (a, b) = interop::pair();
    let db = Daemon::start_with(b, |c| interop::config(c, false, "passive", lifetime));
    let da = Daemon::start_with(a, |c| interop::config(c, true, "active", lifetime));
    let first = interop::wait_for(10, || {
        let j = interop::show_sa_json(&da);
        (j.as_array()?.len() == 1 && j[0]["children"].as_array()?.len() == 1).then_some(j)
    })
    .unwrap_or_else(|| panic!("{}", da.log_text()));
    let old_spis = first[0]["spis"].as_str().unwrap().to_string();
    let old_child = first[0]["children"][0]["spi_in"]
        .as_str()
        .unwrap()
        .to_string();
    // Several rounds of both kinds, from either side.
    let rounds = interop::wait_for(40, || {
        let (la, lb) = (da.log_text(), db.log_text());
        let both = format!("{la}{lb}");
        (both.matches("rekeyed CHILD SA").count() >= 6
            && both.matches("IKE SA rekeyed").count() >= 2)
            .then_some(())
    });
    assert!(
        rounds.is_some(),
        "A: {}\nB: {}",
        da.log_text(),
        db.log_text()
    );
    // Settled between rekeys: one IKE SA and one CHILD SA on each side,
    // new SPIs, the same on both ends.
    let settled = interop::wait_for(20, || {
        let (ja, jb) = (interop::show_sa_json(&da), interop::show_sa_json(&db));
        let one = |j: &serde_json::Value| {
            j.as_array().is_some_and(|a| a.len() == 1)
                && j[0]["state"] == "ESTABLISHED"
                && j[0]["children"].as_array().is_some_and(|c| c.len() == 1)
        };
        (one(&ja)
            && one(&jb)
            && ja[0]["spis"] == jb[0]["spis"]
            && ja[0]["children"][0]["spi_in"] == jb[0]["children"][0]["spi_out"])
            .then_some((ja, jb))
    });
    let (ja, _) = settled.unwrap_or_else(|| panic!("A: {}\nB: {}", da.log_text(), db.log_text()));
    assert_ne!(ja[0]["spis"], old_spis.as_str());
    assert_ne!(ja[0]["children"][0]["spi_in"], old_child.as_str());
    // show sa says when the IKE SA rekeys and expires.
    assert!(ja[0]["rekey_in"].as_u64().is_some_and(|s| s <= 6), "{ja}");
    assert!(
        ja[0]["expires_in"].as_u64().is_some_and(|s| s <= 120),
        "{ja}"
    );
    for d in [&da, &db] {
        let log = d.log_text();
        assert!(
            !log.contains("giving up") && !log.contains("recreating"),
            "{log}"
        );
    }
}

/// A second policy with the same peer: `ikectl initiate` creates its CHILD
/// SA on the existing IKE SA with CREATE_CHILD_SA (RFC 7296 §1.3.1); the
/// responder files it under its own second policy.
#[test]
fn a_second_policy_gets_its_child_sa_on_the_existing_ike_sa() {
    let second = |a: bool| {
        let (me, peer, l, r) = if a {
            (
                "192.0.2.1",
                "192.0.2.2",
                "198.51.100.2/32",
                "203.0.113.2/32",
            )
        } else {
            (
                "192.0.2.2",
                "192.0.2.1",
                "203.0.113.2/32",
                "198.51.100.2/32",
            )
        };
        format!(
            "  - name: site2\n    start: passive\n    local: {{ address: {me} }}\n    remote: {{ address: {peer} }}\n    auth: {{ psk: \"interop test secret\" }}\n    local_ts: [{l}]\n    remote_ts: [{r}]\n"
        )
    };
    let (a, b) = interop::pair();
    let db = Daemon::start_with(b, |c| interop::config(c, false, "passive", &second(false)));
    let da = Daemon::start_with(a, |c| interop::config(c, true, "active", &second(true)));
    interop::wait_for(10, || (interop::sas(&da).len() == 1).then_some(()))
        .unwrap_or_else(|| panic!("{}", da.log_text()));
    let out = da.ikectl(&["initiate", "site2"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("creating a CHILD SA for policy \"site2\" on it"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both = interop::wait_for(10, || {
        let (ja, jb) = (interop::show_sa_json(&da), interop::show_sa_json(&db));
        let two = |j: &serde_json::Value| {
            j.as_array().is_some_and(|a| a.len() == 1)
                && j[0]["children"].as_array().is_some_and(|c| c.len() == 2)
        };
        (two(&ja) && two(&jb)).then_some((ja, jb))
    });
    let (ja, _) = both.unwrap_or_else(|| panic!("A: {}\nB: {}", da.log_text(), db.log_text()));
    let ts: Vec<&str> = ja[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["local_ts"][0].as_str().unwrap())
        .collect();
    assert!(
        ts.contains(&"198.51.100.1/32") && ts.contains(&"198.51.100.2/32"),
        "{ja}"
    );
    db.wait_log("new CHILD SA (peer initiated): CHILD SA site2");
    // Initiating it again finds it.
    let again = da.ikectl(&["initiate", "site2"]);
    let text = String::from_utf8_lossy(&again.stdout).into_owned()
        + &String::from_utf8_lossy(&again.stderr);
    assert!(text.contains("already has"), "{text}");
}
