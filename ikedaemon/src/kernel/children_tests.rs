//! KernelState over the in-memory backend: install order and refusals,
//! flows handed back to traps and other CHILD SAs, decouple/couple,
//! emulated expiry turned into notices, cleanup by reqid.

use std::time::Duration;

use super::*;
use crate::ike::wire::TsRange;
use crate::kernel::none::NoKernel;
use crate::kernel::{FlowDir, Owned};

const CONFIG: &str = "\
kernel: none
policies:
  - name: site
    local: {address: 192.0.2.1}
    remote: {address: 192.0.2.2}
    auth: {psk: x}
    esp: [aes128gcm16]
    local_ts: [198.51.100.0/24]
    remote_ts: [203.0.113.0/24]
    lifetime:
      child: {rekey: 1s, expire: 2s}
  - name: trap
    start: on-demand
    local: {address: 192.0.2.1}
    remote: {address: 192.0.2.3}
    auth: {psk: x}
    esp: [aes128gcm16]
    local_ts: [198.51.100.0/25]
    remote_ts: [203.0.113.0/24]
";

fn config() -> Config {
    crate::config::parse(CONFIG, "t.conf").unwrap()
}

fn ts(a: &str, b: &str) -> TsRange {
    TsRange::between(a.parse().unwrap(), b.parse().unwrap())
}

fn keys(policy: &str, peer: &str, spi_in: u32) -> ChildSaKeys {
    ChildSaKeys {
        ike: 9,
        local: "192.0.2.1:500".parse().unwrap(),
        remote: format!("{peer}:500").parse().unwrap(),
        policy: policy.into(),
        spi_in,
        spi_out: 0x2000,
        algorithms: "aes128gcm16".into(),
        keys_in: (vec![1; 20].into(), Vec::new().into()),
        keys_out: (vec![2; 20].into(), Vec::new().into()),
        local_ts: vec![if policy == "trap" {
            ts("198.51.100.0", "198.51.100.127")
        } else {
            ts("198.51.100.0", "198.51.100.255")
        }],
        remote_ts: vec![ts("203.0.113.0", "203.0.113.255")],
        transport: false,
        udp_encap: false,
    }
}

fn state() -> KernelState {
    let mut k = KernelState::new(Box::new(NoKernel::default()));
    k.start(&config());
    k
}

fn kernel_flows(k: &mut KernelState) -> Vec<Flow> {
    k.backend.owned().unwrap().flows
}

#[test]
fn an_spi_not_allocated_by_the_parent_is_refused() {
    let mut k = state();
    let e = k
        .install(keys("site", "192.0.2.2", 0x1234), &config(), true)
        .unwrap_err();
    assert!(
        e.contains("inbound SPI 00001234 was not allocated by the parent"),
        "{e}"
    );
    // Reserved for another peer: refused too.
    let spi = k
        .reserve(
            9,
            "site",
            "192.0.2.1:500".parse().unwrap(),
            "192.0.2.7:500".parse().unwrap(),
        )
        .unwrap();
    let e = k
        .install(keys("site", "192.0.2.2", spi), &config(), true)
        .unwrap_err();
    assert!(
        e.contains("was not allocated by the parent for 192.0.2.2 -> 192.0.2.1"),
        "{e}"
    );
    let e = k
        .install(keys("nosuch", "192.0.2.2", 0), &config(), true)
        .unwrap_err();
    assert!(e.contains("no policy \"nosuch\" is loaded"), "{e}");
    assert_eq!(k.len(), 0);
}

#[test]
fn a_reserved_spi_installs_sas_and_flows_and_removal_takes_them_out() {
    let mut k = state();
    let local = "192.0.2.1:500".parse().unwrap();
    let remote = "192.0.2.2:500".parse().unwrap();
    let spi = k.reserve(9, "site", local, remote).unwrap();
    assert_eq!(
        k.install(keys("site", "192.0.2.2", spi), &config(), true),
        Ok(spi)
    );
    let owned = k.backend.owned().unwrap();
    assert_eq!(owned.sas.len(), 2);
    // Trap of "trap" (out/in/fwd) + out/in/fwd of the CHILD SA.
    assert_eq!(owned.flows.len(), 6);
    let views = k.views();
    assert_eq!(views[0].0, 9);
    assert_eq!(views[0].1.spi_in, format!("{spi:08x}"));
    assert_eq!(views[0].1.installed, "recorded (kernel: none)");
    assert_eq!(views[0].1.local_ts, ["198.51.100.0/24"]);
    assert!(k.remove(spi));
    assert!(!k.remove(spi));
    assert_eq!(k.backend.owned().unwrap().sas.len(), 0);
    assert_eq!(kernel_flows(&mut k).len(), 3, "the trap stays");
}

#[test]
fn the_responder_gets_its_spi_at_install_and_the_trap_flow_comes_back() {
    let mut k = state();
    let traps = kernel_flows(&mut k);
    let dirs: Vec<FlowDir> = traps.iter().map(|f| f.dir).collect();
    assert_eq!(dirs, [FlowDir::Out, FlowDir::In, FlowDir::Fwd]);
    let trap = traps[0];
    // A CHILD SA for the on-demand policy reuses the trap's reqid, so
    // its out flow replaces the trap and gives it back on removal.
    let spi = k
        .install(keys("trap", "192.0.2.3", 0), &config(), true)
        .unwrap();
    assert!(spi >= 0x100);
    let flows = kernel_flows(&mut k);
    assert_eq!(flows.len(), 3);
    assert!(flows.iter().all(|f| f.sa.reqid == trap.sa.reqid));
    assert!(
        flows
            .iter()
            .any(|f| f.dir == FlowDir::Out && f.sa.spi == 0x2000)
    );
    assert!(k.remove(spi));
    assert_eq!(kernel_flows(&mut k), traps);
}

#[test]
fn decouple_unloads_and_couple_loads_again() {
    let mut k = state();
    let spi = k
        .install(keys("site", "192.0.2.2", 0), &config(), true)
        .unwrap();
    assert!(k.decouple().contains("1 CHILD SAs unloaded"));
    assert!(k.backend.owned().unwrap().sas.is_empty());
    assert_eq!(k.views()[0].1.installed, "decoupled (not in the kernel)");
    assert!(k.couple().contains("1 of 1 CHILD SAs loaded"));
    let owned = k.backend.owned().unwrap();
    assert!(owned.sas.iter().any(|s| s.spi == spi));
    assert_eq!(owned.flows.len(), 6);
}

#[test]
fn emulated_lifetimes_become_one_soft_and_then_hard_notices() {
    let mut k = state();
    let spi = k
        .install(keys("site", "192.0.2.2", 0), &config(), true)
        .unwrap();
    assert!(k.next_deadline().is_some());
    std::thread::sleep(Duration::from_millis(1100));
    let n = k.events(&config());
    assert_eq!(
        n,
        [Notice::Expired {
            spi_in: spi,
            hard: false
        }],
        "one per CHILD SA"
    );
    std::thread::sleep(Duration::from_millis(1000));
    let n = k.events(&config());
    assert!(
        n.iter().all(|x| *x
            == Notice::Expired {
                spi_in: spi,
                hard: true
            })
            && !n.is_empty()
    );
}

#[test]
fn remove_all_leaves_nothing_with_our_reqids() {
    let mut k = state();
    k.install(keys("site", "192.0.2.2", 0), &config(), true)
        .unwrap();
    k.reserve(
        3,
        "site",
        "192.0.2.1:500".parse().unwrap(),
        "192.0.2.2:500".parse().unwrap(),
    )
    .unwrap();
    k.remove_all("at shutdown");
    assert_eq!(k.backend.owned().unwrap(), Owned::default());
    assert_eq!(k.len(), 0);
}

#[test]
fn a_gone_ike_sa_releases_its_larval_sas() {
    let mut k = state();
    k.reserve(
        3,
        "site",
        "192.0.2.1:500".parse().unwrap(),
        "192.0.2.2:500".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(k.backend.owned().unwrap().sas.len(), 1);
    k.ike_gone(4);
    assert_eq!(k.backend.owned().unwrap().sas.len(), 1);
    k.ike_gone(3);
    assert!(k.backend.owned().unwrap().sas.is_empty());
}

/// Lost kernel events (ENOBUFS): the dump shows which CHILD SAs lost
/// their SAs meanwhile; those are reported as hard-expired, the others
/// are left alone.
#[test]
fn lost_events_resync_from_a_dump() {
    let kernel = NoKernel::default();
    let lose = kernel.lose_events.clone();
    let mut k = KernelState::new(Box::new(kernel));
    k.start(&config());
    let gone = k
        .install(keys("site", "192.0.2.2", 0), &config(), true)
        .unwrap();
    let mut other = keys("site", "192.0.2.2", 0);
    other.spi_out = 0x3000;
    other.remote_ts = vec![ts("203.0.113.7", "203.0.113.7")];
    let kept = k.install(other, &config(), true).unwrap();
    // The responder of a rekey: its outbound SA is held back, not lost.
    let mut held = keys("site", "192.0.2.2", 0);
    held.spi_out = 0x3001;
    held.remote_ts = vec![ts("203.0.113.8", "203.0.113.8")];
    let held = k.install(held, &config(), false).unwrap();
    let victim = k
        .children
        .iter()
        .find(|c| c.inbound.spi == gone)
        .unwrap()
        .outbound;
    // The kernel deleted it and the EXPIRE was lost.
    k.backend.delete_sa(&victim).unwrap();
    assert!(k.events(&config()).is_empty(), "nothing is known yet");
    lose.store(true, std::sync::atomic::Ordering::Relaxed);
    let n = k.events(&config());
    assert_eq!(
        n,
        [Notice::Expired {
            spi_in: gone,
            hard: true
        }]
    );
    assert!(!n.contains(&Notice::Expired {
        spi_in: kept,
        hard: true
    }));
    assert!(!n.contains(&Notice::Expired {
        spi_in: held,
        hard: true
    }));
}

#[test]
fn a_held_back_outbound_sa_goes_in_when_activated() {
    let mut k = state();
    let spi = k
        .install(keys("site", "192.0.2.2", 0), &config(), false)
        .unwrap();
    let c = k.children.iter().find(|c| c.inbound.spi == spi).unwrap();
    let (inbound, outbound) = (c.inbound, c.outbound);
    let sas = |k: &mut KernelState| k.backend.owned().unwrap().sas;
    assert!(sas(&mut k).contains(&inbound) && !sas(&mut k).contains(&outbound));
    k.activate_outbound(spi).unwrap();
    assert!(sas(&mut k).contains(&outbound));
    // Once is enough; an unknown SPI is an error, not a panic.
    k.activate_outbound(spi).unwrap();
    assert!(k.activate_outbound(0x0bad).is_err());
    // Removal takes both out.
    assert!(k.remove(spi));
    assert!(sas(&mut k).is_empty());
}

fn flows_of(k: &mut KernelState, dir: FlowDir) -> Vec<Flow> {
    kernel_flows(k)
        .into_iter()
        .filter(|f| f.dir == dir)
        .collect()
}

/// A replacement CHILD SA (same policy and peer) shares the reqid, and
/// removing the old one leaves the new one's in and fwd flows alone.
#[test]
fn removing_the_replaced_child_keeps_the_new_ones_flows() {
    let mut k = state();
    let old = k
        .install(keys("trap", "192.0.2.3", 0), &config(), true)
        .unwrap();
    let mut newer = keys("trap", "192.0.2.3", 0);
    newer.spi_out = 0x3000;
    let new = k.install(newer, &config(), true).unwrap();
    let reqids: Vec<u32> = k.children.iter().map(|c| c.reqid).collect();
    assert_eq!(reqids[0], reqids[1]);
    assert!(k.remove(old));
    assert_eq!(flows_of(&mut k, FlowDir::In).len(), 1);
    assert_eq!(flows_of(&mut k, FlowDir::Fwd).len(), 1);
    assert_eq!(flows_of(&mut k, FlowDir::Out)[0].sa.spi, 0x3000);
    assert!(k.remove(new));
    // Only the trap is left.
    assert_eq!(kernel_flows(&mut k).len(), 3);
    // Same for a policy without a trap: the replacement keeps the reqid,
    // and after the old one goes its three flows name the new SA.
    let a = k
        .install(keys("site", "192.0.2.2", 0), &config(), true)
        .unwrap();
    let mut b = keys("site", "192.0.2.2", 0);
    b.spi_out = 0x3000;
    let b = k.install(b, &config(), true).unwrap();
    let site = k.children[0].reqid;
    assert_eq!(k.children[1].reqid, site);
    assert!(k.remove(a));
    let of_site: Vec<(FlowDir, u32)> = kernel_flows(&mut k)
        .into_iter()
        .filter(|f| f.sa.reqid == site)
        .map(|f| (f.dir, f.sa.spi))
        .collect();
    assert_eq!(
        of_site,
        [(FlowDir::Out, 0x3000), (FlowDir::In, b), (FlowDir::Fwd, b)]
    );
}

/// A reload that turns the on-demand policy into a passive one drops its
/// trap, but a live CHILD SA that took over the trap's selector keeps
/// its outbound flow.
#[test]
fn dropping_a_trap_gives_its_selector_back_to_the_live_child() {
    let mut k = state();
    k.install(keys("trap", "192.0.2.3", 0), &config(), true)
        .unwrap();
    let reloaded =
        crate::config::parse(&CONFIG.replace("    start: on-demand\n", ""), "t.conf").unwrap();
    k.install_traps(&reloaded);
    let out = flows_of(&mut k, FlowDir::Out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].sa.spi, 0x2000, "the CHILD SA's flow, not deleted");
}

#[test]
fn spi_requests_are_checked_against_the_policy_and_counted() {
    let mut k = state();
    let c = config();
    let us = "192.0.2.1:500".parse().unwrap();
    let e = k
        .reserve_for(&c, 1, "nosuch", us, "192.0.2.2:500".parse().unwrap())
        .unwrap_err();
    assert!(e.contains("no policy \"nosuch\""), "{e}");
    let e = k
        .reserve_for(&c, 1, "site", us, "192.0.2.9:500".parse().unwrap())
        .unwrap_err();
    assert!(e.contains("are not its addresses"), "{e}");
    for _ in 0..4 {
        k.reserve_for(&c, 1, "site", us, "192.0.2.2:500".parse().unwrap())
            .unwrap();
    }
    // How many one IKE SA may hold is the gate's check; the kernel
    // state counts them for it.
    let r = k.reservations();
    assert_eq!(r.len(), 4);
    assert!(
        r.iter()
            .all(|r| r.ike == 1 && r.peer.to_string() == "192.0.2.2")
    );
}

/// The negotiator dropped an IKE SA while the parent installed its CHILD
/// SA: IkeGone takes the CHILD SA out of the kernel too.
#[test]
fn a_gone_ike_sa_takes_its_children_along() {
    let mut k = state();
    k.install(keys("site", "192.0.2.2", 0), &config(), true)
        .unwrap();
    assert_eq!(k.len(), 1);
    k.ike_gone(9);
    assert_eq!(k.len(), 0);
    assert!(k.backend.owned().unwrap().sas.is_empty());
}
