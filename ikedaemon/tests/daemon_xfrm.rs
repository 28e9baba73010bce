//! The XFRM backend against this machine's kernel, which keeps XFRM
//! policies even without ESP: a policy with the same selector that
//! ikedaemon did not install is never replaced or deleted (issue 13, Low).

#[path = "daemon_common/mod.rs"]
mod common;

use common::*;

fn policies(ns: &Netns) -> String {
    String::from_utf8_lossy(&ns.exec(&["ip", "xfrm", "policy", "list"]).stdout).into_owned()
}

#[test]
fn a_foreign_policy_with_our_selector_is_left_alone() {
    let ns = Netns::new("foreign");
    let out = ns.exec(&[
        "ip",
        "xfrm",
        "policy",
        "add",
        "src",
        "198.51.100.0/24",
        "dst",
        "203.0.113.0/24",
        "dir",
        "out",
        "action",
        "block",
        "priority",
        "12345",
    ]);
    assert!(out.status.success(), "{out:?}");
    let mut d = Daemon::start_with(ns, |chroot| {
        config(
            chroot,
            "",
            &["  - name: site\n    start: on-demand\n    local: {address: 192.0.2.1}\n    remote: {address: 192.0.2.2}\n    auth: {psk: k}\n    esp: [aes128gcm16]\n    local_ts: [198.51.100.0/24]\n    remote_ts: [203.0.113.0/24]\n".to_string()],
        )
        .replace("kernel: none", "kernel: xfrm")
    });
    d.wait_log("that ikedaemon did not install is in the kernel; leaving it alone");
    let list = policies(&d.ns);
    assert!(
        list.contains("action block") && list.contains("priority 12345"),
        "{list}"
    );
    // The trap is not half-installed either: none of its flows is in.
    assert!(!list.contains("dir in"), "{list}");
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(d.wait_exit(std::time::Duration::from_secs(5)).is_some());
    let list = policies(&d.ns);
    assert!(
        list.contains("action block") && list.contains("priority 12345"),
        "the shutdown left it too: {list}"
    );
}
