//! Process hardening of the running daemon (issue 13, Low): no process
//! can dump core, the unprivileged children are not dumpable (their /proc
//! files belong to root, so a process of the same user cannot read their
//! memory or attach to them), and the daemon runs with no more than the
//! capability bounding set and no_new_privs of its systemd unit.

#[path = "daemon_common/mod.rs"]
mod common;

use std::os::unix::fs::MetadataExt;

use common::*;

/// The soft and hard "Max core file size" of `pid`.
fn core_limit(pid: u32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap()
        .to_string();
    line.split_whitespace()
        .skip(4)
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn no_process_dumps_core_and_the_children_are_not_dumpable() {
    let d = Daemon::start(&[]);
    let (uid, _) = test_user();
    for (role, pid) in [
        ("parent", d.pid()),
        ("negotiator", d.role_pid("negotiator")),
        ("control", d.role_pid("control")),
    ] {
        assert_eq!(core_limit(pid), "0 0", "{role}");
        if role != "parent" {
            assert!(
                status_field(pid, "Uid").starts_with(&uid.to_string()),
                "{role}"
            );
            let owner = std::fs::metadata(format!("/proc/{pid}/status"))
                .unwrap()
                .uid();
            assert_eq!(
                owner, 0,
                "{role}: /proc files of a dumpable process belong to its user"
            );
        }
    }
}

/// The unit's `CapabilityBoundingSet=` as setpriv's `--bounding-set`.
fn unit_bounding_set() -> String {
    let unit =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/systemd/ikedaemon.service");
    let text = std::fs::read_to_string(unit).unwrap();
    let caps = text
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("CapabilityBoundingSet= in the unit");
    let mut set = String::from("-all");
    for c in caps.split_whitespace() {
        set.push_str(",+");
        set.push_str(&c.trim_start_matches("CAP_").to_lowercase());
    }
    set
}

#[test]
fn the_daemon_runs_within_the_units_capability_bounding_set() {
    let set = unit_bounding_set();
    let d = Daemon::start_wrapped(
        Netns::new("cap"),
        &["setpriv", "--bounding-set", &set, "--no-new-privs", "--"],
        |chroot| config(chroot, "", &[policy("p", "192.0.2.2")]),
    );
    // Ready (start_wrapped waited for both children), the children
    // dropped to the test user, and it answers on the IKE ports.
    let (uid, _) = test_user();
    for role in ["negotiator", "control"] {
        let pid = d.role_pid(role);
        assert!(
            status_field(pid, "Uid").starts_with(&uid.to_string()),
            "{role}"
        );
    }
    assert_eq!(udp_ports(d.role_pid("negotiator")), [500, 4500]);
    let out = d.ikectl_ok(&["show", "policies"]);
    assert!(out.contains('p'), "{out}");
    // A reload too (it opens no new socket here).
    d.signal(nix::sys::signal::Signal::SIGHUP);
    d.wait_log("configuration reloaded");
}
