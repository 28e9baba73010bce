//! The gate against the kernel's contents: reservation and CHILD SA caps,
//! and no CHILD SA over another peer's selectors.

use crate::config::Config;
use crate::ike::engine::{ChildSaKeys, SaId};
use crate::ike::wire::{Identification, TsRange};

use super::super::gate::Gate;
use super::*;

/// One policy for many peers (a /24 of them), one of its subnets each.
const CONFIG: &str = "\
kernel: none
dos: {max_child_sas_per_ike: 2, max_child_sas: 6}
policies:
  - name: many
    local: {address: 192.0.2.1}
    remote: {address: 203.0.113.0/24}
    auth: {psk: shared}
    local_ts: [198.51.100.0/24]
    remote_ts: [10.0.0.0/8]
";

fn config() -> Config {
    crate::config::parse(CONFIG, "t.conf").unwrap()
}

/// A gate where IKE SA `sa` authenticated `id`.
fn gate(sas: &[(SaId, &str)]) -> Gate {
    let mut g = Gate::default();
    for (sa, id) in sas {
        g.authenticated(*sa, "many", &Identification::fqdn(id));
    }
    g
}

/// A CHILD SA of IKE SA `ike` with `peer` for remote subnet `net`.
fn child(ike: SaId, peer: &str, net: (&str, &str), spi_in: u32) -> ChildSaKeys {
    ChildSaKeys {
        ike,
        local: "192.0.2.1:500".parse().unwrap(),
        remote: format!("{peer}:500").parse().unwrap(),
        policy: "many".into(),
        spi_in,
        spi_out: 0x2000 + spi_in,
        algorithms: "aes128gcm16".into(),
        keys_in: (vec![1; 20].into(), Vec::new().into()),
        keys_out: (vec![2; 20].into(), Vec::new().into()),
        local_ts: vec![TsRange::between(
            "198.51.100.0".parse().unwrap(),
            "198.51.100.255".parse().unwrap(),
        )],
        remote_ts: vec![TsRange::between(
            net.0.parse().unwrap(),
            net.1.parse().unwrap(),
        )],
        transport: false,
        udp_encap: false,
    }
}

const ALICE_NET: (&str, &str) = ("10.1.0.0", "10.1.255.255");
const BOB_NET: (&str, &str) = ("10.2.0.0", "10.2.255.255");

#[test]
fn a_child_sa_over_another_peers_selectors_is_refused() {
    let c = config();
    let g = gate(&[(1, "alice.example"), (2, "bob.example")]);
    let alice = child(1, "203.0.113.5", ALICE_NET, 0x100);
    let installed = [&alice];
    // Bob's own subnet: fine.
    g.may_install(&c, 2, &child(2, "203.0.113.6", BOB_NET, 0x200), &installed)
        .unwrap();
    // Bob narrowing onto Alice's subnet (equal or inside it): refused.
    for net in [
        ALICE_NET,
        ("10.1.2.0", "10.1.2.255"),
        ("10.0.0.0", "10.255.255.255"),
    ] {
        let e = g
            .may_install(&c, 2, &child(2, "203.0.113.6", net, 0x200), &installed)
            .unwrap_err();
        assert!(
            e.contains("overlap CHILD SA 00000100 of another peer (alice.example, 203.0.113.5)"),
            "{e}"
        );
    }
}

#[test]
fn a_rekey_or_a_reauthentication_of_the_same_peer_may_overlap() {
    let c = config();
    let g = gate(&[(1, "alice.example"), (3, "alice.example")]);
    let alice = child(1, "203.0.113.5", ALICE_NET, 0x100);
    let installed = [&alice];
    // The same IKE SA (a CHILD SA rekey).
    g.may_install(
        &c,
        1,
        &child(1, "203.0.113.5", ALICE_NET, 0x101),
        &installed,
    )
    .unwrap();
    // A new IKE SA of the same identity from the same address.
    g.may_install(
        &c,
        3,
        &child(3, "203.0.113.5", ALICE_NET, 0x300),
        &installed,
    )
    .unwrap();
    // The same claimed identity from another address is another peer.
    assert!(
        g.may_install(
            &c,
            3,
            &child(3, "203.0.113.7", ALICE_NET, 0x300),
            &installed
        )
        .is_err()
    );
}

#[test]
fn child_sas_are_capped_per_ike_sa_and_in_total() {
    let c = config();
    let g = gate(&[
        (1, "a.example"),
        (2, "b.example"),
        (3, "c.example"),
        (4, "d.example"),
    ]);
    let nets = |i: u32| {
        let n = format!("10.{i}.0.0");
        let m = format!("10.{i}.255.255");
        (n, m)
    };
    let mk = |ike: SaId, i: u32| {
        let (n, m) = nets(i);
        child(ike, &format!("203.0.113.{ike}"), (&n, &m), 0x100 * i)
    };
    // Per IKE SA: twice max_child_sas_per_ike (a rekey holds two).
    let held: Vec<ChildSaKeys> = (1..=4).map(|i| mk(1, i)).collect();
    let refs: Vec<&ChildSaKeys> = held.iter().collect();
    let e = g.may_install(&c, 1, &mk(1, 5), &refs).unwrap_err();
    assert!(e.contains("IKE SA 0000000000000001 has 4 CHILD SAs"), "{e}");
    g.may_install(&c, 2, &mk(2, 5), &refs).unwrap();
    // In total: max_child_sas.
    let mut held = held;
    held.extend([mk(2, 5), mk(3, 6)]);
    let refs: Vec<&ChildSaKeys> = held.iter().collect();
    let e = g.may_install(&c, 4, &mk(4, 7), &refs).unwrap_err();
    assert!(
        e.contains("6 CHILD SAs are installed (dos.max_child_sas)"),
        "{e}"
    );
}

#[test]
fn unused_spis_are_capped_per_ike_sa_per_peer_and_in_total() {
    let g = Gate::default();
    let peer = |i: u32| -> std::net::IpAddr { format!("203.0.113.{}", i % 250).parse().unwrap() };
    let r = |ike: SaId, p: u32| Reservation { ike, peer: peer(p) };
    let four: Vec<_> = (0..4).map(|_| r(1, 1)).collect();
    let e = g.may_reserve_more(1, peer(1), &four).unwrap_err();
    assert!(e.contains("holds 4 unused SPIs"), "{e}");
    g.may_reserve_more(2, peer(1), &four).unwrap();
    let of_peer: Vec<_> = (0..MAX_RESERVED_PER_PEER as u64)
        .map(|i| r(i / 2, 1))
        .collect();
    let e = g.may_reserve_more(1000, peer(1), &of_peer).unwrap_err();
    assert!(e.contains("peer 203.0.113.1 holds 64 unused SPIs"), "{e}");
    let all: Vec<_> = (0..MAX_RESERVED as u64).map(|i| r(i, i as u32)).collect();
    let e = g.may_reserve_more(1_000_000, peer(251), &all).unwrap_err();
    assert!(e.contains("unused SPIs are reserved in total"), "{e}");
}
