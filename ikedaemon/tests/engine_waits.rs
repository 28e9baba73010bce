//! Every state that waits for the parent has a deadline (issue 13, H2): a
//! CREATE_CHILD_SA step whose answer from the parent never comes (lost,
//! or a parent that hangs) is taken as refused after 30 s, the exchange
//! ends, and the IKE SA goes on.

#[path = "rekey_common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;

#[test]
fn a_create_child_sa_whose_parent_answer_never_comes_ends_and_the_ike_sa_stays() {
    let mut sim = Sim::new(21, "aes128gcm16", true);
    sim.check_quiescent(&["p"]);
    // From now on the parents answer after a minute.
    sim.parent_delay_ms = (60_000, 60_000);
    let now = sim.now;
    let (r, out) = sim.a.engine.create_child("q", now);
    assert!(r.is_ok(), "{r:?}");
    sim.apply(true, out);
    sim.run_for(Duration::from_secs(31));
    assert!(
        sim.a
            .failures
            .iter()
            .chain(sim.a.lines.iter())
            .any(|l| l.contains("the parent did not answer within 30s")),
        "{:#?}\n{}",
        sim.a.failures,
        sim.dump()
    );
    assert!(!sim.a.engine.busy(), "{:?}", sim.a.engine.busy_with());
    let sas = sim.a.engine.summaries();
    assert_eq!(sas.len(), 1);
    assert_eq!(sas[0].state, "ESTABLISHED");
}
