//! Authorization between two engines (issue 13, C1): a CHILD SA on an
//! established IKE SA is created only under the policy the IKE SA
//! authenticated under, or one that authenticates peers identically (the
//! parent's auth class). The parent checks the same thing again on every
//! reservation and install (proc/gate.rs and its unit tests).

#[path = "rekey_common/mod.rs"]
mod common;

use common::*;

const ESP: &str = "aes128gcm16";

/// a (initiator) knows policies p and q with one credential; b (responder)
/// has p, and q under another credential (`same_auth`: or the same).
fn sim(seed: u64, same_auth: bool) -> Sim {
    Sim::with_policies(
        seed,
        vec![
            policy(
                "p",
                "192.0.2.2",
                ("198.51.100.1", "198.51.100.1"),
                ("203.0.113.1", "203.0.113.1"),
                ESP,
            ),
            policy(
                "q",
                "192.0.2.2",
                ("198.51.100.2", "198.51.100.2"),
                ("10.0.0.0", "10.255.255.255"),
                ESP,
            ),
        ],
        vec![
            policy(
                "p",
                "192.0.2.1",
                ("203.0.113.1", "203.0.113.1"),
                ("198.51.100.1", "198.51.100.1"),
                ESP,
            ),
            policy(
                "q",
                "192.0.2.1",
                ("10.0.0.0", "10.255.255.255"),
                ("198.51.100.2", "198.51.100.2"),
                ESP,
            ),
        ],
        |(is_a, p)| {
            if !*is_a && p.name == "q" && !same_auth {
                p.auth_class = 1;
            }
        },
    )
}

/// a asks b for a CHILD SA under q on the IKE SA of p; 5 s pass.
fn ask_for_q(sim: &mut Sim) {
    let now = sim.now;
    let (r, out) = sim.a.engine.create_child("q", now);
    assert!(r.is_ok(), "{r:?}");
    sim.apply(true, out);
    sim.run_for(std::time::Duration::from_secs(5));
}

#[test]
fn a_child_sa_under_a_policy_with_other_credentials_is_refused() {
    let mut sim = sim(5, false);
    sim.check_quiescent(&["p"]);
    ask_for_q(&mut sim);
    assert!(sim.inbound(false, "q").is_empty(), "{}", sim.dump());
    assert!(sim.inbound(true, "q").is_empty(), "{}", sim.dump());
    assert!(
        sim.a.failures.iter().any(|l| l.contains("TS_UNACCEPTABLE")),
        "{:#?}\n{}",
        sim.a.failures,
        sim.dump()
    );
    // The IKE SA and its CHILD SA under p are untouched.
    sim.check_quiescent(&["p"]);
}

#[test]
fn a_child_sa_under_a_policy_with_the_same_credentials_is_created() {
    let mut sim = sim(6, true);
    ask_for_q(&mut sim);
    sim.check_quiescent(&["p", "q"]);
}

#[test]
fn a_child_sa_past_max_child_sas_per_ike_gets_no_additional_sas() {
    let mut sim = sim(7, true);
    sim.b
        .engine
        .set_limits(ikedaemon::ike::engine::EngineConfig {
            max_child_sas_per_ike: 1,
            retransmit_tries: 10,
            ..Default::default()
        });
    ask_for_q(&mut sim);
    assert!(sim.inbound(false, "q").is_empty(), "{}", sim.dump());
    assert!(
        sim.a
            .failures
            .iter()
            .any(|l| l.contains("NO_ADDITIONAL_SAS")),
        "{:#?}\n{}",
        sim.a.failures,
        sim.dump()
    );
    assert!(
        sim.b
            .lines
            .iter()
            .any(|l| l.contains("dos.max_child_sas_per_ike is 1")),
        "{:#?}",
        sim.b.lines
    );
    // The CHILD SA under p is untouched and still rekeys (rekeys do not
    // count against the cap).
    sim.check_quiescent(&["p"]);
    let spi = sim.inbound(true, "p")[0];
    assert!(sim.soft_expire(true, spi).is_some());
    sim.run_for(std::time::Duration::from_secs(5));
    sim.check_quiescent(&["p"]);
    assert_ne!(sim.inbound(true, "p"), vec![spi], "rekeyed");
}
