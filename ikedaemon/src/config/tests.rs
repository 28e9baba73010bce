//! Unit tests of the configuration entry points: the minimal file, the
//! defaults of a policy, and positions of errors found after parsing.

use std::time::Duration;

use super::*;

const MINIMAL: &str = "policies: []\n";

#[test]
fn minimal_file_gets_global_defaults() {
    let c = parse(MINIMAL, "t.conf").unwrap();
    let g = &c.global;
    assert_eq!(g.user, "_ikedaemon");
    assert_eq!(g.chroot, Path::new("/var/empty"));
    assert_eq!(g.socket, Path::new("/var/run/ikedaemon.sock"));
    assert_eq!(g.socket_group, None);
    assert_eq!(g.pid_file, Path::new("/var/run/ikedaemon.pid"));
    assert_eq!(g.kernel, KernelBackend::Auto);
    assert_eq!(g.listen.len(), 2);
    assert_eq!((g.ike_port, g.natt_port), (500, 4500));
    assert_eq!(g.log_level, LogLevel::Brief);
    assert_eq!(
        g.dos,
        DosLimits {
            cookie_threshold: 64,
            max_half_open_per_peer: 8,
            max_half_open: 4096,
            ipv6_prefix: 64,
            max_child_sas_per_ike: 64,
            max_child_sas: 65536,
            max_message: 65536,
            max_init_message: 10000,
        }
    );
    assert_eq!(
        g.fragmentation,
        Fragmentation {
            enabled: true,
            size: 1280
        }
    );
    assert_eq!(g.dpd, Duration::from_secs(30));
    assert!(c.policies.is_empty());
}

#[test]
fn policies_key_is_required() {
    let e = parse("user: x\n", "t.conf").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingKey);
    assert!(e.to_string().starts_with("t.conf:1:1: "), "{e}");
}

#[test]
fn redacted_psk_in_debug_output() {
    let c = parse(
        "policies:\n  - name: a\n    remote: { address: 192.0.2.1 }\n    auth: { psk: hunter2 }\n",
        "t.conf",
    )
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("hunter2"));
    assert!(dbg.contains("<redacted>"));
}

#[test]
fn semantic_errors_point_at_the_node() {
    let text = "policies:\n  - name: a\n    start: active\n    remote: { address: 0.0.0.0/0 }\n    auth: { psk: x }\n";
    let e = parse(text, "t.conf").unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.conf:3:12: start: active needs a single remote address to contact, not 0.0.0.0/0 \
         (use start: passive)"
    );
}

#[test]
fn end_positions() {
    assert_eq!(end_position(""), Position { line: 1, column: 1 });
    assert_eq!(end_position("ab\ncé"), Position { line: 2, column: 3 });
}
