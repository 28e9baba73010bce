//! Rekeying against strongSwan 5.9.8 charon (kernel-libipsec, so its CHILD
//! SAs live in charon; ikedaemon runs `kernel: none`, whose emulated soft
//! lifetimes start its CHILD rekeys), in both directions, with short
//! rekey times so that several rekeys happen within each test:
//!
//! 1. charon rekeys (its `rekey_time`s short, ours long): ikedaemon answers
//!    CHILD and IKE SA rekeys;
//! 2. ikedaemon rekeys (our lifetimes short, charon's long): charon
//!    answers ours;
//! 3. both short: either side starts, collisions may happen.
//!
//! After each round, once settled (REKEYED, DELETING and DELETED states
//! are transient), `swanctl --list-sas` shows one IKE SA and one CHILD SA,
//! and `ikectl show sa` agrees on their SPIs. Rekey times are 12 s and
//! more, so that there are quiet seconds between rekeys.

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "interop_common/mod.rs"]
mod interop;

use common::Daemon;
use interop::{Charon, raw_field};

/// charon's connection `ikd` with the given IKE and CHILD rekey times.
fn conn(ike_rekey: &str, child_rekey: &str) -> String {
    format!(
        r#"connections {{
  ikd {{
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    version = 2
    proposals = aes128gcm16-prfsha256-x25519
    rekey_time = {ike_rekey}
    over_time = 120s
    rand_time = 1s
    local {{ auth = psk
            id = 192.0.2.2 }}
    remote {{ auth = psk
             id = 192.0.2.1 }}
    children {{
      net {{ local_ts = 203.0.113.1/32
            remote_ts = 198.51.100.1/32
            esp_proposals = aes128gcm16
            rekey_time = {child_rekey}
            life_time = 300s
            rand_time = 1s }}
    }}
  }}
}}
secrets {{
  ike-1 {{ secret = "interop test secret" }}
}}
"#
    )
}

/// Our policy's proposals and lifetimes.
fn ours(ike_rekey: &str, child_rekey: &str) -> String {
    format!(
        "    ike: [aes128gcm16-prfsha256-x25519]\n    esp: [aes128gcm16]\n    lifetime:\n      ike: {{ rekey: {ike_rekey}, expire: 300s }}\n      child: {{ rekey: {child_rekey}, expire: 300s }}\n"
    )
}

/// The IKE SA lines of charon's `--list-sas --raw`.
fn charon_sas(c: &Charon) -> Vec<String> {
    c.list_sas()
        .lines()
        .filter(|l| l.contains("ikd {"))
        .map(str::to_string)
        .collect()
}

/// Waits until both sides show exactly one IKE SA and one CHILD SA, all
/// established and installed, with the same SPIs; returns charon's line.
fn settled(charon: &Charon, d: &Daemon, secs: u64) -> String {
    let got = interop::wait_for(secs, || {
        let lines = charon_sas(charon);
        let [line] = lines.as_slice() else {
            return None;
        };
        // One CHILD SA, installed: charon also lists a rekeyed one as
        // REKEYED, DELETING and then DELETED for a few seconds
        // (delete_rekeyed_delay).
        if raw_field(line, "state") != Some("ESTABLISHED")
            || line.matches("name=net ").count() != 1
            || line.matches("state=INSTALLED").count() != 1
        {
            return None;
        }
        let j = interop::show_sa_json(d);
        let ours = j.as_array()?;
        let [sa] = ours.as_slice() else { return None };
        let children = sa["children"].as_array()?;
        let [child] = children.as_slice() else {
            return None;
        };
        let spis = format!(
            "{}:{}",
            raw_field(line, "initiator-spi")?,
            raw_field(line, "responder-spi")?
        );
        (sa["spis"] == spis.as_str()
            && sa["state"] == "ESTABLISHED"
            && child["spi_in"] == raw_field(line, "spi-out")?
            && child["spi_out"] == raw_field(line, "spi-in")?)
        .then(|| line.clone())
    });
    got.unwrap_or_else(|| {
        panic!(
            "never settled\ncharon: {}\nikedaemon: {}\n{}",
            charon.list_sas(),
            interop::show_sa_json(d),
            d.log_text()
        )
    })
}

/// Counts log lines of ours with `what` and without "(peer initiated)" /
/// "by the peer" when `own`.
fn count(d: &Daemon, what: &str, own: bool) -> usize {
    d.log_text()
        .lines()
        .filter(|l| l.contains(what))
        .filter(|l| !own || !(l.contains("(peer initiated)") || l.contains("by the peer")))
        .count()
}

/// Runs rounds until `enough` holds, checking that both sides settle on
/// one IKE SA and one CHILD SA after each round.
fn rounds(charon: &Charon, d: &Daemon, enough: impl Fn(&Daemon, &Charon) -> bool) {
    let mut spis = Vec::new();
    for _ in 0..30 {
        let line = settled(charon, d, 30);
        let now = (
            raw_field(&line, "initiator-spi").unwrap().to_string(),
            raw_field(&line, "spi-in").unwrap().to_string(),
        );
        if spis.last() != Some(&now) {
            spis.push(now);
        }
        if enough(d, charon) {
            assert!(spis.len() >= 3, "SPIs seen: {spis:?}");
            let log = d.log_text();
            assert!(!log.contains("giving up"), "{log}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    panic!(
        "not enough rekeys\ncharon: {}\nikedaemon: {}",
        charon.log(),
        d.log_text()
    );
}

#[test]
fn charon_rekeys_child_and_ike_sas_ikedaemon_answers() {
    let (a, b) = interop::pair();
    let d = Daemon::start_with(a, |c| {
        interop::config(c, true, "passive", &ours("280s", "250s"))
    });
    let charon = Charon::start(&b, true, &conn("25s", "12s"));
    charon.initiate_child("net");
    rounds(&charon, &d, |d, _| {
        count(d, "rekeyed CHILD SA", false) - count(d, "rekeyed CHILD SA", true) >= 3
            && count(d, "IKE SA rekeyed by the peer", false) >= 2
    });
    // ikedaemon only answered.
    assert_eq!(d.log_text().matches("rekeying it").count(), 0);
}

#[test]
fn ikedaemon_rekeys_child_and_ike_sas_charon_answers() {
    let (a, b) = interop::pair();
    let charon = Charon::start(&b, true, &conn("280s", "250s"));
    let d = Daemon::start_with(a, |c| {
        interop::config(c, true, "active", &ours("25s", "12s"))
    });
    rounds(&charon, &d, |d, _| {
        count(d, "rekeyed CHILD SA", true) >= 3 && count(d, "IKE SA rekeyed, now", false) >= 2
    });
    let log = charon.log();
    assert!(log.contains("rekeying"), "{log}");
}

#[test]
fn both_rekey_with_short_times_and_settle() {
    let (a, b) = interop::pair();
    let charon = Charon::start(&b, true, &conn("25s", "12s"));
    let d = Daemon::start_with(a, |c| {
        interop::config(c, true, "active", &ours("25s", "12s"))
    });
    rounds(&charon, &d, |d, _| {
        count(d, "rekeyed CHILD SA", false) >= 4 && count(d, "IKE SA rekeyed", false) >= 2
    });
}
