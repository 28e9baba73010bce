//! The shipped example configuration (etc/ikedaemon.conf) loads as it is
//! (mode 0600), its commented-out certificate policy loads once
//! uncommented and the files it names exist, and the example is refused
//! when it is group-readable (it holds an inline psk).

#[path = "config_common/mod.rs"]
mod common;

use std::fs;
use std::path::Path;

use ikedaemon::config::{AuthSpec, EndpointAddress, ErrorKind, KernelBackend, load, parse};

const EXAMPLE: &str = include_str!("../../etc/ikedaemon.conf");

/// The example with its commented-out road-warrior policy enabled.
fn with_road_warriors() -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in EXAMPLE.lines() {
        if line.starts_with("  # - name: road-warriors") {
            inside = true;
        }
        match line.strip_prefix("  #") {
            Some(rest) if inside => out.push_str(&format!(" {rest}\n")),
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    assert!(inside, "the example has a road-warriors block");
    out
}

#[test]
fn example_loads_as_shipped() {
    let dir = tempfile::tempdir().unwrap();
    let conf = common::write(dir.path(), "ikedaemon.conf", EXAMPLE, 0o600);
    let c = load(&conf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.global.kernel, KernelBackend::None);
    assert_eq!(c.policies.len(), 1);
    let site = c.policy("site-b").unwrap();
    assert!(matches!(site.auth, AuthSpec::Psk(_)));
    assert_eq!(site.local_ts[0].to_string(), "192.0.2.0/24");
    assert_eq!(site.remote_ts[0].to_string(), "203.0.113.0/24");
}

#[test]
fn commented_certificate_policy_loads_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    common::example_files(dir.path());
    let conf = common::write(dir.path(), "ikedaemon.conf", &with_road_warriors(), 0o600);
    let c = load(&conf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.policies.len(), 2);
    let rw = c.policy("road-warriors").unwrap();
    assert_eq!(rw.remote.address, EndpointAddress::Any);
    assert_eq!(rw.remote.id, None);
    let AuthSpec::Certificate { cert, .. } = &rw.auth else {
        panic!("road warriors use certificates")
    };
    assert_eq!(cert, &dir.path().join("certs/gw-a.pem"));
}

#[test]
fn example_parses_in_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    common::example_files(dir.path());
    let name = dir.path().join("ikedaemon.conf");
    parse(&with_road_warriors(), &name.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn certificate_policy_without_its_files_says_which_file() {
    let e = parse(&with_road_warriors(), "/nonexistent/ikedaemon.conf").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::File);
    assert!(
        e.to_string()
            .contains(": certificate /nonexistent/certs/gw-a.pem: cannot open"),
        "{e}"
    );
}

#[test]
fn group_readable_example_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    common::example_files(dir.path());
    let conf = common::write(dir.path(), "ikedaemon.conf", EXAMPLE, 0o644);
    let e = load(&conf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission);
    let line = EXAMPLE
        .lines()
        .position(|l| l.trim_start().starts_with("psk: "))
        .unwrap()
        + 1;
    assert!(
        e.to_string()
            .starts_with(&format!("{}:{line}:12: inline psk in ", conf.display())),
        "{e}"
    );
    fs::remove_file(&conf).unwrap();
    assert!(!Path::new(&conf).exists());
}
