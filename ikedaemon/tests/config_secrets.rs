//! Secrets and the files the configuration names, through `load`: PSK
//! files (read, newline stripped, refused when too open or missing), the
//! configuration's own permissions, certificate and key files.

#[path = "config_common/mod.rs"]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::write;

use ikedaemon::config::{AuthSpec, ErrorKind, load};

/// A configuration with one policy whose auth lines are `auth`.
fn config(auth: &str) -> String {
    format!(
        "kernel: none\npolicies:\n  - name: site-b\n    remote: {{ address: 198.51.100.2 }}\n    auth:\n{auth}"
    )
}

fn load_err(path: &Path) -> (ErrorKind, String) {
    let e = load(path).expect_err("accepted");
    (e.kind(), e.to_string())
}

#[test]
fn psk_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secrets/site-b.psk", "s3cret\n", 0o600);
    let conf = write(
        dir.path(),
        "ikedaemon.conf",
        &config("      psk_file: secrets/site-b.psk\n"),
        0o644,
    );
    let c = load(&conf).unwrap();
    let AuthSpec::Psk(psk) = &c.policies[0].auth else {
        panic!("not a psk")
    };
    assert_eq!(psk.expose(), b"s3cret");
}

#[test]
fn psk_file_too_open() {
    let dir = tempfile::tempdir().unwrap();
    let psk = write(dir.path(), "site-b.psk", "s3cret\n", 0o644);
    let conf = write(
        dir.path(),
        "ikedaemon.conf",
        &config("      psk_file: site-b.psk\n"),
        0o600,
    );
    let (kind, msg) = load_err(&conf);
    assert_eq!(kind, ErrorKind::Permission);
    assert_eq!(
        msg,
        format!(
            "{}:6:17: psk_file {} is readable by group or others (mode 0644); chmod 600 it",
            conf.display(),
            psk.display()
        )
    );
}

#[test]
fn psk_file_missing() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "ikedaemon.conf",
        &config("      psk_file: /nonexistent/site-b.psk\n"),
        0o600,
    );
    let (kind, msg) = load_err(&conf);
    assert_eq!(kind, ErrorKind::File);
    assert_eq!(
        msg,
        format!(
            "{}:6:17: psk_file /nonexistent/site-b.psk: cannot open: No such file or directory (os error 2)",
            conf.display()
        )
    );
}

#[test]
fn inline_psk_in_a_group_readable_config() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "ikedaemon.conf",
        &config("      psk: s3cret\n"),
        0o640,
    );
    let (kind, msg) = load_err(&conf);
    assert_eq!(kind, ErrorKind::Permission);
    let name = conf.display();
    assert_eq!(
        msg,
        format!(
            "{name}:6:12: inline psk in {name}, which is readable by group or others (mode 0640); \
             chmod 600 it or use psk_file"
        )
    );
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(load(&conf).is_ok());
}

#[test]
fn config_writable_by_others() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(dir.path(), "ikedaemon.conf", "policies: []\n", 0o666);
    let (kind, msg) = load_err(&conf);
    assert_eq!(kind, ErrorKind::Permission);
    assert_eq!(
        msg,
        format!(
            "{}:1:1: the configuration is writable by group or others (mode 0666); chmod go-w it",
            conf.display()
        )
    );
}

#[test]
fn config_missing() {
    let (kind, msg) = load_err(Path::new("/nonexistent/ikedaemon.conf"));
    assert_eq!(kind, ErrorKind::File);
    assert_eq!(
        msg,
        "/nonexistent/ikedaemon.conf:1:1: cannot open the configuration: No such file or directory (os error 2)"
    );
}

#[test]
fn config_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ikedaemon.conf");
    fs::write(&conf, b"policies: []\nuser: ab\xffc\n").unwrap();
    let (kind, msg) = load_err(&conf);
    assert_eq!(kind, ErrorKind::Syntax);
    assert_eq!(
        msg,
        format!("{}:2:9: the file is not UTF-8 text", conf.display())
    );
}

fn cert_auth() -> &'static str {
    "      certificate: certs/gw.pem\n      private_key: private/gw.key\n      ca: [ca/ca.pem]\n"
}

#[test]
fn certificate_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(dir.path(), "ikedaemon.conf", &config(cert_auth()), 0o644);
    let (kind, msg) = load_err(&conf);
    assert_eq!(kind, ErrorKind::File);
    assert_eq!(
        msg,
        format!(
            "{}:6:20: certificate {}/certs/gw.pem: cannot open: No such file or directory (os error 2)",
            conf.display(),
            dir.path().display()
        )
    );
    write(dir.path(), "certs/gw.pem", "cert", 0o644);
    let key = write(dir.path(), "private/gw.key", "key", 0o640);
    write(dir.path(), "ca/ca.pem", "ca", 0o644);
    let (kind, msg) = load_err(&conf);
    assert_eq!(kind, ErrorKind::Permission);
    assert_eq!(
        msg,
        format!(
            "{}:7:20: private_key {} is readable by group or others (mode 0640); chmod 600 it",
            conf.display(),
            key.display()
        )
    );
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let c = load(&conf).unwrap();
    let AuthSpec::Certificate { cert, key, ca } = &c.policies[0].auth else {
        panic!("not a certificate")
    };
    assert_eq!(cert, &dir.path().join("certs/gw.pem"));
    assert_eq!(key, &dir.path().join("private/gw.key"));
    assert_eq!(ca, &[dir.path().join("ca/ca.pem")]);
}

/// `load` on `path` in a thread; its error, or a panic if it hangs.
fn load_err_within(path: &Path, limit: std::time::Duration) -> (ErrorKind, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(load_err(&p));
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("load({}) blocked", path.display()))
}

#[test]
fn a_fifo_named_as_the_config_or_a_psk_file_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ikedaemon.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (kind, msg) = load_err_within(&fifo, std::time::Duration::from_secs(5));
    assert_eq!(kind, ErrorKind::File);
    assert_eq!(msg, format!("{}:1:1: not a regular file", fifo.display()));

    nix::unistd::mkfifo(
        &dir.path().join("site-b.psk"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let conf = write(
        dir.path(),
        "psk.conf",
        &config("      psk_file: site-b.psk\n"),
        0o644,
    );
    let (kind, msg) = load_err_within(&conf, std::time::Duration::from_secs(5));
    assert_eq!(kind, ErrorKind::File);
    assert!(msg.contains("is not a regular file"), "{msg}");
}
