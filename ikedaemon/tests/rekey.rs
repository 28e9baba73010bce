//! CREATE_CHILD_SA between two engines with a fake clock (RFC 7296 §1.3,
//! §2.8, §2.25): CHILD and IKE SA rekeys started by either side, a new
//! CHILD SA on an existing IKE SA, and every collision ordering — crossing
//! CHILD rekeys and crossing IKE rekeys (both nonce orders), a rekey
//! crossing a DELETE, an IKE rekey crossing a CHILD rekey, a rekey of a
//! CHILD SA the peer no longer has — with loss and reordering injected.
//! The invariants of rekey_common are checked after every step.

#[path = "rekey_common/mod.rs"]
mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::*;

const ESP: &str = "aes128gcm16";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The single CHILD SA of policy `p` on a node.
fn child(sim: &Sim, on_a: bool) -> u32 {
    let v = sim.inbound(on_a, "p");
    assert_eq!(v.len(), 1, "{}", sim.dump());
    v[0]
}

fn settle(sim: &mut Sim) {
    sim.run_for(secs(90));
    assert!(sim.quiet(), "not quiet:\n{}", sim.dump());
}

#[test]
fn child_sa_rekeyed_by_either_side_replaces_the_old_one() {
    for pfs in [false, true] {
        let esp = if pfs { "aes128gcm16-x25519" } else { ESP };
        let mut sim = Sim::new(7, esp, false);
        let (a0, b0) = (child(&sim, true), child(&sim, false));
        let line = sim.soft_expire(true, a0).unwrap();
        assert!(line.ends_with("rekeying it"), "{line}");
        settle(&mut sim);
        sim.check_quiescent(&["p"]);
        let (a1, b1) = (child(&sim, true), child(&sim, false));
        assert!(a1 != a0 && b1 != b0, "{}", sim.dump());
        assert_eq!(sim.a.engine.rekey_stats().child_rekeys, 1);
        assert_eq!(sim.b.engine.rekey_stats().child_rekeys_answered, 1);
        // The responder of the IKE SA rekeys too.
        sim.soft_expire(false, b1).unwrap();
        settle(&mut sim);
        sim.check_quiescent(&["p"]);
        assert!(child(&sim, false) != b1);
        assert_eq!(sim.b.engine.rekey_stats().child_rekeys, 1);
        assert!(
            sim.a.failures.is_empty() && sim.b.failures.is_empty(),
            "{}",
            sim.dump()
        );
    }
}

#[test]
fn the_responder_sends_on_the_new_sa_only_after_the_old_one_is_deleted() {
    let mut sim = Sim::new(3, ESP, false);
    let b0 = child(&sim, false);
    // Hold a's DELETE of the old CHILD SA: until it arrives, b keeps
    // sending on the old SA although it answered the rekey.
    sim.hold_if = Some(Box::new(|from_a, s| {
        from_a && s.contains("INFORMATIONAL request")
    }));
    let a0 = child(&sim, true);
    sim.soft_expire(true, a0);
    sim.run_for(secs(1));
    assert_eq!(
        sim.b.kernel.current_out("p").unwrap().spi_out,
        a0,
        "{}",
        sim.dump()
    );
    assert_eq!(sim.inbound(false, "p").len(), 2);
    sim.hold_if = None;
    sim.release(false);
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    assert_ne!(child(&sim, false), b0);
    assert_ne!(sim.b.kernel.current_out("p").unwrap().spi_out, a0);
}

#[test]
fn ike_sa_rekeyed_by_either_side_keeps_its_child_sas() {
    let mut sim = Sim::new(11, ESP, false);
    let spis0 = sim.a.engine.summaries()[0].spis.clone();
    let (a0, b0) = (child(&sim, true), child(&sim, false));
    assert!(sim.rekey_ike(true));
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    let spis1 = sim.a.engine.summaries()[0].spis.clone();
    assert_ne!(spis0, spis1);
    // The CHILD SA moved, untouched, to the new IKE SA.
    assert_eq!((child(&sim, true), child(&sim, false)), (a0, b0));
    let new_id = sim.a.engine.summaries()[0].id;
    assert_eq!(sim.a.kernel.sas[&a0].ike, new_id);
    // It is rekeyed on the new IKE SA, and b rekeys the IKE SA.
    sim.soft_expire(false, b0);
    settle(&mut sim);
    assert!(sim.rekey_ike(false));
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    assert_ne!(sim.b.engine.summaries()[0].spis, spis1);
    assert_eq!(sim.a.engine.rekey_stats().ike_rekeys, 1);
    assert_eq!(sim.b.engine.rekey_stats().ike_rekeys, 1);
    assert!(
        sim.a.failures.is_empty() && sim.b.failures.is_empty(),
        "{}",
        sim.dump()
    );
}

#[test]
fn the_ike_sa_rekeys_itself_at_its_rekey_time_with_jitter() {
    // Policies with a 60 s IKE rekey time, for a fresh IKE SA.
    let mut sim = Sim::new(5, ESP, false);
    sim.a.engine.set_policies(vec![with_ike_rekey(true, 60)]);
    sim.b.engine.set_policies(vec![with_ike_rekey(false, 60)]);
    let (_, out) = sim.a.engine.terminate("p");
    sim.apply(true, out);
    sim.run_for(secs(5));
    let out = sim.a.engine.initiate("p", sim.a.addr, sim.now);
    sim.apply(true, out);
    sim.run_for(secs(5));
    let spis0 = sim.a.engine.summaries()[0].spis.clone();
    let rekey_at = sim.a.engine.summaries()[0].rekey_at.unwrap();
    let created = sim.a.engine.summaries()[0].created;
    let due = rekey_at - created;
    assert!(
        due <= secs(60) && due >= secs(54),
        "jittered rekey time {due:?}"
    );
    sim.run_for(secs(70));
    assert!(
        sim.quiet(),
        "{}\na {:#?}\nb {:#?}",
        sim.dump(),
        sim.a.engine.summaries(),
        sim.b.engine.summaries()
    );
    sim.check_quiescent(&["p"]);
    assert_ne!(sim.a.engine.summaries()[0].spis, spis0);
    let s = sim.a.engine.rekey_stats().ike_rekeys + sim.b.engine.rekey_stats().ike_rekeys;
    assert!(s >= 1, "{}", sim.dump());
}

fn with_ike_rekey(a: bool, s: u64) -> ikedaemon::ike::engine::EnginePolicy {
    let mut p = if a {
        policy(
            "p",
            "192.0.2.2",
            ("198.51.100.1", "198.51.100.1"),
            ("203.0.113.1", "203.0.113.1"),
            ESP,
        )
    } else {
        policy(
            "p",
            "192.0.2.1",
            ("203.0.113.1", "203.0.113.1"),
            ("198.51.100.1", "198.51.100.1"),
            ESP,
        )
    };
    p.ike_rekey = Some(secs(s));
    p
}

/// Both sides rekey the same CHILD SA at the same instant, over `model`;
/// returns which side's rekey had the lowest nonce (the redundant one).
fn crossing_child_rekeys(seed: u64, model: WireModel) -> bool {
    let mut sim = Sim::new(seed, ESP, false);
    sim.model = model;
    let (a0, b0) = (child(&sim, true), child(&sim, false));
    sim.soft_expire(true, a0);
    sim.soft_expire(false, b0);
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    let (na, nb) = (child(&sim, true), child(&sim, false));
    assert!(na != a0 && nb != b0, "{}", sim.dump());
    let lost_a = sim
        .a
        .lines
        .iter()
        .any(|l| l.contains("has the lowest nonce"));
    let lost_b = sim
        .b
        .lines
        .iter()
        .any(|l| l.contains("has the lowest nonce"));
    let (ca, cb) = (
        sim.a.engine.rekey_stats().child_collisions,
        sim.b.engine.rekey_stats().child_collisions,
    );
    assert!(ca + cb >= 1, "no collision seen:\n{}", sim.dump());
    assert!(!(lost_a && lost_b), "both lost:\n{}", sim.dump());
    lost_a
}

#[test]
fn crossing_child_rekeys_keep_one_sa_whichever_nonce_is_lower() {
    let mut outcomes = [false; 2];
    for seed in 1..40 {
        let lost_a = crossing_child_rekeys(seed, WireModel::PERFECT);
        outcomes[usize::from(lost_a)] = true;
        if outcomes == [true, true] {
            return;
        }
    }
    panic!("only one nonce order seen: {outcomes:?}");
}

#[test]
fn crossing_child_rekeys_survive_loss_and_reordering() {
    let lossy = WireModel {
        loss_per_mille: 250,
        dup_per_mille: 100,
        delay_ms: (1, 400),
    };
    for seed in 100..130 {
        let mut sim = Sim::new(seed, ESP, false);
        sim.model = lossy;
        let (a0, b0) = (child(&sim, true), child(&sim, false));
        sim.soft_expire(true, a0);
        sim.run_for(Duration::from_millis(seed % 7 * 30));
        sim.soft_expire(false, b0);
        sim.run_for(secs(200));
        assert!(sim.quiet(), "seed {seed}:\n{}", sim.dump());
        sim.check_quiescent(&["p"]);
    }
}

/// Both sides rekey the IKE SA at once; returns whether a's was redundant.
fn crossing_ike_rekeys(seed: u64) -> bool {
    let mut sim = Sim::new(seed, ESP, false);
    let (a0, b0) = (child(&sim, true), child(&sim, false));
    let spis0 = sim.a.engine.summaries()[0].spis.clone();
    assert!(sim.rekey_ike(true) && sim.rekey_ike(false));
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    assert_ne!(sim.a.engine.summaries()[0].spis, spis0);
    assert_eq!((child(&sim, true), child(&sim, false)), (a0, b0));
    let new_id = sim.a.engine.summaries()[0].id;
    assert_eq!(sim.a.kernel.sas[&a0].ike, new_id, "{}", sim.dump());
    let (ca, cb) = (
        sim.a.engine.rekey_stats().ike_collisions,
        sim.b.engine.rekey_stats().ike_collisions,
    );
    assert_eq!((ca, cb), (1, 1), "{}", sim.dump());
    sim.a
        .lines
        .iter()
        .any(|l| l.contains("IKE SA rekey collision: ours"))
}

#[test]
fn crossing_ike_rekeys_keep_one_ike_sa_with_the_child_sas() {
    let mut outcomes = [false; 2];
    for seed in 1..40 {
        outcomes[usize::from(crossing_ike_rekeys(seed))] = true;
        if outcomes == [true, true] {
            return;
        }
    }
    panic!("only one nonce order seen: {outcomes:?}");
}

#[test]
fn a_rekey_crossing_the_delete_of_its_sa_gets_temporary_failure() {
    // a rekeys and wins at once (b's request is held back); a then
    // deletes the old CHILD SA; b's rekey of that SA arrives after the
    // DELETE went out: b gets TEMPORARY_FAILURE and takes a's new SA.
    let mut sim = Sim::new(21, ESP, false);
    let (a0, b0) = (child(&sim, true), child(&sim, false));
    sim.hold_if = Some(Box::new(|from_a, s| {
        (!from_a && s.contains("CREATE_CHILD_SA request"))
            || (from_a && s.contains("INFORMATIONAL request"))
    }));
    sim.soft_expire(false, b0);
    sim.soft_expire(true, a0);
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.held.len(), 2, "{}", sim.dump());
    // b's rekey and a's DELETE of the same CHILD SA cross on the wire.
    sim.hold_if = None;
    sim.release(false);
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    assert!(
        sim.a.engine.rekey_stats().temporary_failures >= 1,
        "{}",
        sim.dump()
    );
    assert!(child(&sim, true) != a0 && child(&sim, false) != b0);
}

#[test]
fn a_delete_crossing_a_rekey_wins() {
    // b deletes the CHILD SA while a rekeys it: b answers a's rekey with
    // TEMPORARY_FAILURE, a answers the DELETE as usual; a keeps the new
    // SA if b had answered first, and the two ends agree.
    for seed in [31, 32, 33, 34] {
        let mut sim = Sim::new(seed, ESP, false);
        let (a0, b0) = (child(&sim, true), child(&sim, false));
        sim.soft_expire(true, a0);
        let now = sim.now;
        let (found, out) = sim.b.engine.delete_child(b0, now);
        assert!(found);
        sim.apply(false, out);
        settle(&mut sim);
        let (ia, ib) = (sim.inbound(true, "p"), sim.inbound(false, "p"));
        assert_eq!(ia.len(), ib.len(), "{}", sim.dump());
        assert!(ia.len() <= 1, "{}", sim.dump());
        if let (Some(x), Some(y)) = (ia.first(), ib.first()) {
            assert_eq!(sim.a.kernel.sas[x].spi_out, *y);
        }
    }
}

#[test]
fn an_ike_rekey_crossing_a_child_rekey_is_retried_and_both_complete() {
    for seed in 40..46 {
        let mut sim = Sim::new(seed, ESP, false);
        let (a0, _) = (child(&sim, true), child(&sim, false));
        sim.soft_expire(true, a0);
        assert!(sim.rekey_ike(false));
        sim.run_for(secs(120));
        assert!(sim.quiet(), "{}", sim.dump());
        sim.check_quiescent(&["p"]);
        assert_ne!(child(&sim, true), a0);
        let s = sim.a.engine.rekey_stats().temporary_failures
            + sim.b.engine.rekey_stats().temporary_failures;
        assert!(s >= 1, "no TEMPORARY_FAILURE:\n{}", sim.dump());
        let ike = sim.b.engine.rekey_stats().ike_rekeys;
        assert_eq!(ike, 1, "the IKE rekey was retried:\n{}", sim.dump());
    }
}

#[test]
fn a_rekey_of_a_child_sa_the_peer_lost_makes_a_new_one() {
    let mut sim = Sim::new(51, ESP, false);
    let (a0, b0) = (child(&sim, true), child(&sim, false));
    // b forgets the CHILD SA (its kernel deleted it) and its DELETE is
    // lost twice; a then rekeys the SA b no longer has.
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    sim.drop_if = Some(Box::new(move |from_a, s| {
        let hit = !from_a && s.contains("INFORMATIONAL request") && d.get() < 2;
        if hit {
            d.set(d.get() + 1);
        }
        hit
    }));
    // b's kernel removed the SA at once: a sends to an SPI b lacks until
    // it hears, which no protocol can prevent.
    sim.lenient_send = true;
    let now = sim.now;
    let (_, out) = sim.b.engine.child_expired(b0, true, now);
    sim.apply(false, out);
    sim.soft_expire(true, a0);
    settle(&mut sim);
    assert_eq!(dropped.get(), 2);
    assert!(
        sim.b.engine.rekey_stats().child_not_found >= 1,
        "{}",
        sim.dump()
    );
    sim.check_quiescent(&["p"]);
    assert!(child(&sim, true) != a0 && child(&sim, false) != b0);
}

#[test]
fn two_exchanges_run_at_once_within_the_window() {
    let mut sim = Sim::new(61, ESP, true);
    // The second policy's CHILD SA on the same IKE SA (§1.3.1).
    let now = sim.now;
    let (r, out) = sim.a.engine.create_child("q", now);
    assert!(r.is_ok(), "{r:?}");
    sim.apply(true, out);
    settle(&mut sim);
    sim.check_quiescent(&["p", "q"]);
    let log_from = sim.log.len();
    let (p, q) = (sim.inbound(true, "p")[0], sim.inbound(true, "q")[0]);
    sim.soft_expire(true, p);
    sim.soft_expire(true, q);
    settle(&mut sim);
    sim.check_quiescent(&["p", "q"]);
    // Both CREATE_CHILD_SA requests left before the first answer came.
    let wire: Vec<&String> = sim.log[log_from..].iter().collect();
    let first_answer = wire
        .iter()
        .position(|l| l.contains("b->a") && l.contains("CREATE_CHILD_SA response"))
        .unwrap();
    let requests = wire[..first_answer]
        .iter()
        .filter(|l| l.contains("a->b") && l.contains("CREATE_CHILD_SA request"))
        .count();
    assert_eq!(requests, 2, "{wire:#?}");
    assert_eq!(sim.a.engine.rekey_stats().child_rekeys, 2);
}

#[test]
fn reauth_time_replaces_the_ike_sa_with_a_new_authenticated_one() {
    let mut sim = Sim::new(71, ESP, false);
    let mut pa = with_ike_rekey(true, 3600);
    pa.ike_reauth = Some(secs(40));
    sim.a.engine.set_policies(vec![pa]);
    sim.b.engine.set_policies(vec![with_ike_rekey(false, 3600)]);
    let (_, out) = sim.a.engine.terminate("p");
    sim.apply(true, out);
    sim.run_for(secs(5));
    let out = sim.a.engine.initiate("p", sim.a.addr, sim.now);
    sim.apply(true, out);
    sim.run_for(secs(5));
    let first = sim.a.engine.summaries()[0].clone();
    let reauth_at = first.reauth_at.expect("a reauthentication time");
    let due = reauth_at - first.created;
    assert!(due <= secs(40) && due >= secs(36), "jittered: {due:?}");
    let (a0, b0) = (child(&sim, true), child(&sim, false));
    sim.run_for(secs(60));
    assert!(sim.quiet(), "{}", sim.dump());
    sim.check_quiescent(&["p"]);
    // A new IKE SA from IKE_SA_INIT and IKE_AUTH, a new CHILD SA with it,
    // and the old ones gone on both sides.
    let now = sim.a.engine.summaries()[0].clone();
    assert_ne!(now.spis, first.spis);
    assert!(now.created > first.created);
    assert!(child(&sim, true) != a0 && child(&sim, false) != b0);
    assert!(
        sim.a.lines.iter().any(|l| l.contains("reauthenticating")),
        "{}",
        sim.dump()
    );
    // Rekeys carry the reauthentication time over; a fresh IKE SA starts
    // its own.
    assert!(now.reauth_at.is_some_and(|t| t > reauth_at));
    assert_eq!(sim.a.engine.rekey_stats().ike_rekeys, 0);
}

/// a's and b's policy "p" with these ESP and IKE proposals.
fn policies(
    esp: (&str, &str),
    ike: (&str, &str),
) -> (
    Vec<ikedaemon::ike::engine::EnginePolicy>,
    Vec<ikedaemon::ike::engine::EnginePolicy>,
) {
    use ikedaemon::ike::proposal::{ProposalConfig, SaProtocol};
    let side = |a: bool| {
        let mut p = with_ike_rekey(a, 3600);
        let (e, i) = if a { (esp.0, ike.0) } else { (esp.1, ike.1) };
        p.esp = vec![ProposalConfig::parse(e, SaProtocol::Esp).unwrap()];
        p.ike = vec![ProposalConfig::parse(i, SaProtocol::Ike).unwrap()];
        p
    };
    (vec![side(true)], vec![side(false)])
}

#[test]
fn a_pfs_group_the_responder_does_not_prefer_is_retried_with_its_own() {
    // a prefers x25519 for PFS, b only takes ecp256: b answers
    // INVALID_KE_PAYLOAD and a asks again with ecp256.
    let ike = "aes128gcm16-prfsha256-x25519";
    let (pa, pb) = policies(
        ("aes128gcm16-x25519-ecp256", "aes128gcm16-ecp256"),
        (ike, ike),
    );
    let mut sim = Sim::with_policies(81, pa, pb, |_| {});
    let a0 = child(&sim, true);
    sim.soft_expire(true, a0);
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    assert_ne!(child(&sim, true), a0);
    assert!(
        sim.a
            .lines
            .iter()
            .any(|l| l.contains("the peer wants PFS group ecp256")),
        "{}",
        sim.dump()
    );
    assert_eq!(sim.a.engine.rekey_stats().child_rekeys, 1);
    assert!(sim.a.failures.is_empty(), "{}", sim.dump());
}

#[test]
fn an_ike_rekey_group_the_responder_does_not_prefer_is_retried_with_its_own() {
    // IKE_SA_INIT settles on ecp256 (b's preference); when b rekeys with
    // it, a (which prefers x25519) answers INVALID_KE_PAYLOAD and b asks
    // again with x25519.
    let (pa, pb) = policies(
        (ESP, ESP),
        (
            "aes128gcm16-prfsha256-x25519-ecp256",
            "aes128gcm16-prfsha256-ecp256-x25519",
        ),
    );
    let mut sim = Sim::with_policies(83, pa, pb, |_| {});
    assert!(sim.a.engine.summaries()[0].algorithms.ends_with("ecp256"));
    let spis0 = sim.a.engine.summaries()[0].spis.clone();
    assert!(sim.rekey_ike(false));
    settle(&mut sim);
    sim.check_quiescent(&["p"]);
    let now = &sim.b.engine.summaries()[0];
    assert_ne!(now.spis, spis0);
    assert!(now.algorithms.ends_with("x25519"), "{}", now.algorithms);
    assert!(
        sim.b.lines.iter().any(|l| l.contains("wants group x25519")),
        "{}",
        sim.dump()
    );
    assert_eq!(sim.b.engine.rekey_stats().ike_rekeys, 1);
}
