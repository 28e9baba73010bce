//! Two engines through many hours of simulated time, rekeying CHILD and
//! IKE SAs over a wire that loses, duplicates and reorders, with triggers
//! at random times that often collide. One seeded generator drives it all
//! (nonces, SPIs, loss, timing); the seed is printed, and
//! `REKEY_SEED=<n> cargo test --test rekey_random` replays a run
//! (`REKEY_TARGET` sets how many rekeys to complete, 10,000 by default).
//! The invariants of rekey_common are checked after every step; after
//! each round, once quiet, there is exactly one IKE SA and one CHILD SA
//! per policy, paired.

#[path = "rekey_common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use ikedaemon::ike::engine::{RekeyStats, SeededRng};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn total(sim: &Sim) -> RekeyStats {
    let (a, b) = (sim.a.engine.rekey_stats(), sim.b.engine.rekey_stats());
    RekeyStats {
        child_rekeys: a.child_rekeys + b.child_rekeys,
        ike_rekeys: a.ike_rekeys + b.ike_rekeys,
        child_rekeys_answered: a.child_rekeys_answered + b.child_rekeys_answered,
        ike_rekeys_answered: a.ike_rekeys_answered + b.ike_rekeys_answered,
        child_collisions: a.child_collisions + b.child_collisions,
        ike_collisions: a.ike_collisions + b.ike_collisions,
        temporary_failures: a.temporary_failures + b.temporary_failures,
        child_not_found: a.child_not_found + b.child_not_found,
    }
}

fn add(x: &mut RekeyStats, y: RekeyStats) {
    x.child_rekeys += y.child_rekeys;
    x.ike_rekeys += y.ike_rekeys;
    x.child_rekeys_answered += y.child_rekeys_answered;
    x.ike_rekeys_answered += y.ike_rekeys_answered;
    x.child_collisions += y.child_collisions;
    x.ike_collisions += y.ike_collisions;
    x.temporary_failures += y.temporary_failures;
    x.child_not_found += y.child_not_found;
}

/// One trigger of a round.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// The kernel's soft expiry of a CHILD SA of a policy, on a side.
    Child { on_a: bool, q: bool },
    /// An IKE SA rekey on a side.
    Ike { on_a: bool },
}

/// Runs one simulation (one IKE SA between two nodes, two policies) for
/// `rounds` rounds; returns its counters and the simulated time.
fn run(seed: u64, rounds: u32) -> (RekeyStats, Duration) {
    let mut sim = Sim::new(seed, "aes128gcm16", true);
    let mut r = SeededRng::new(seed.rotate_left(17) ^ 0xa5a5);
    let now = sim.now;
    let (ok, out) = sim.a.engine.create_child("q", now);
    assert!(ok.is_ok(), "{ok:?}");
    sim.apply(true, out);
    sim.run_for(Duration::from_secs(5));
    sim.check_quiescent(&["p", "q"]);
    let start = sim.now;
    for round in 0..rounds {
        // A wire of its own for each round.
        let worst = 20 + rng_below(&mut r, 300);
        sim.model = WireModel {
            loss_per_mille: rng_below(&mut r, 150),
            dup_per_mille: rng_below(&mut r, 50),
            delay_ms: (1, worst),
        };
        // The parent (key custody, kernel) answers at once or up to
        // 50 ms later, as over the daemon's IPC.
        sim.parent_delay_ms = if rng_below(&mut r, 2) == 0 {
            (0, 0)
        } else {
            (1, 1 + rng_below(&mut r, 50))
        };
        let n = 1 + rng_below(&mut r, 4);
        let tight = rng_below(&mut r, 2) == 0;
        let mut plan: Vec<(u64, Trigger)> = (0..n)
            .map(|_| {
                let at = if tight {
                    rng_below(&mut r, 40)
                } else {
                    rng_below(&mut r, 3000)
                };
                let on_a = rng_below(&mut r, 2) == 0;
                let t = match rng_below(&mut r, 10) {
                    0..=2 => Trigger::Ike { on_a },
                    x => Trigger::Child { on_a, q: x >= 7 },
                };
                (at, t)
            })
            .collect();
        plan.sort_by_key(|(at, _)| *at);
        let t0 = sim.now;
        for (at, t) in plan {
            sim.run_until(t0 + Duration::from_millis(at));
            match t {
                Trigger::Ike { on_a } => {
                    sim.rekey_ike(on_a);
                }
                Trigger::Child { on_a, q } => {
                    let policy = if q { "q" } else { "p" };
                    // The kernel reports the newest CHILD SA of the policy.
                    if let Some(spi) = sim.inbound(on_a, policy).into_iter().max() {
                        sim.soft_expire(on_a, spi);
                    }
                }
            }
        }
        // Quiet time: retransmissions, deletes and grace times run out.
        let mut waited = 0;
        while !sim.quiet() || waited == 0 {
            sim.model = WireModel::PERFECT;
            sim.run_for(Duration::from_secs(60));
            waited += 1;
            assert!(
                waited < 10,
                "seed {seed} round {round}: never quiet\n{}",
                sim.dump()
            );
        }
        sim.check_quiescent(&["p", "q"]);
        assert!(
            sim.a.failures.iter().chain(&sim.b.failures).all(|l| {
                l.contains("TEMPORARY_FAILURE")
                    || l.contains("CHILD_SA_NOT_FOUND")
                    || l.contains("IKE SA rekey refused")
            }),
            "seed {seed} round {round}: unexpected failure\n{}",
            sim.dump()
        );
        sim.a.failures.clear();
        sim.b.failures.clear();
    }
    (total(&sim), sim.now - start)
}

#[test]
fn ten_thousand_rekeys_with_collisions_loss_and_reordering() {
    let seed = env_u64("REKEY_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let target = env_u64("REKEY_TARGET").unwrap_or(10_000);
    eprintln!("rekey_random: seed {seed} (replay: REKEY_SEED={seed})");
    let mut sum = RekeyStats::default();
    let mut simulated = Duration::ZERO;
    let mut sims = 0u64;
    while sum.child_rekeys + sum.ike_rekeys < target {
        let s = seed.wrapping_add(sims.wrapping_mul(0x9e37_79b9));
        let result = std::panic::catch_unwind(|| run(s, 200));
        let (stats, t) = match result {
            Ok(x) => x,
            Err(e) => {
                eprintln!(
                    "rekey_random: FAILED with seed {seed} (simulation {sims}, its seed {s}); replay: REKEY_SEED={seed}"
                );
                std::panic::resume_unwind(e);
            }
        };
        add(&mut sum, stats);
        simulated += t;
        sims += 1;
    }
    eprintln!(
        "rekey_random: seed {seed}: {} rekeys ({} CHILD, {} IKE) in {:.1} h simulated over {sims} IKE SAs; \
         collisions: {} CHILD, {} IKE; TEMPORARY_FAILURE {}, CHILD_SA_NOT_FOUND {}",
        sum.child_rekeys + sum.ike_rekeys,
        sum.child_rekeys,
        sum.ike_rekeys,
        simulated.as_secs_f64() / 3600.0,
        sum.child_collisions,
        sum.ike_collisions,
        sum.temporary_failures,
        sum.child_not_found,
    );
    // Every kind of collision happened, many times.
    let scale = target / 100;
    assert!(sum.child_collisions >= scale, "{sum:?}");
    assert!(sum.ike_collisions >= scale / 4, "{sum:?}");
    assert!(sum.temporary_failures >= scale, "{sum:?}");
    assert!(sum.child_not_found >= scale / 10, "{sum:?}");
}
