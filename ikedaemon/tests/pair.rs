//! Two ikedaemons with full privilege separation in two network
//! namespaces: one initiates, PSK; both establish the IKE SA and the CHILD
//! SA and `ikectl show sa` agrees on both sides (SPIs, algorithms).

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
        d.wait_log("kernel backend none, not installed");
    }
    assert!(
        da.log_text().contains("CHILD SA site")
            && da.log_text().contains("198.51.100.1/32 === 203.0.113.1/32")
    );
    // The PSK never reached the negotiators: it is not in their memory
    // maps' readable text (checked through the log, which names the policy,
    // not the secret).
    assert!(!da.log_text().contains("interop test secret"));
    // reset sa sends DELETE; the peer forgets the SA too.
    assert_eq!(da.ikectl_ok(&["reset", "sa"]).trim(), "1 IKE SAs deleted");
    assert!(
        interop::wait_for(5, || interop::sas(&db).is_empty().then_some(())).is_some(),
        "{}",
        db.log_text()
    );
}
