//! The `ikedaemon` command line: `-n` checks, start-up refusals with one
//! clear line, and the configuration examples of the man pages, each
//! checked with `ikedaemon -n` as the issue asks.

#[path = "daemon_common/mod.rs"]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("ikedaemon.conf");
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn ikedaemon() -> Command {
    Command::new(common::ikedaemon_bin())
}

/// `ikedaemon FLAG -f conf`, which must fail: its stderr.
fn refused(flag: &str, conf: &Path) -> String {
    let out = ikedaemon()
        .args([flag, "-f"])
        .arg(conf)
        .assert()
        .failure()
        .get_output()
        .clone();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_flag_says_configuration_ok() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(
        dir.path(),
        &common::config(dir.path(), "", &[common::policy("a", "192.0.2.7")]),
    );
    ikedaemon()
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .assert()
        .success()
        .stdout("configuration OK\n");
}

#[test]
fn check_flag_prints_the_positioned_error_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), "policies: []\nlisten: [192.0.2.300]\n");
    let out = ikedaemon()
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("{}:2:10: ", conf.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let out = ikedaemon().arg("-x").assert().code(2).get_output().clone();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("usage: ikedaemon [-46dnv] [-f file] [-s socket]")
    );
}

/// This machine's kernel has no af_key (the VM tests cover one that
/// has): `kernel: pfkey` is a one-line start-up error with a hint, and
/// `-n` says the algorithms could not be checked against the kernel.
#[test]
fn a_kernel_backend_that_cannot_open_is_a_one_line_error() {
    if std::path::Path::new("/proc/net/pfkey").exists() {
        eprintln!("this kernel has PF_KEY; kernel_ipsec covers the backend");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = common::config(dir.path(), "", &[]).replace("kernel: none", "kernel: pfkey");
    let conf = write_config(dir.path(), &text);
    let out = ikedaemon()
        .args(["-d", "-f"])
        .arg(&conf)
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("ikedaemon: cannot open PF_KEY: no PF_KEY in this kernel")
            && err.contains("load af_key, or use kernel: xfrm"),
        "{err}"
    );
    let out = ikedaemon()
        .args(["-n", "-f"])
        .arg(&conf)
        .assert()
        .success()
        .get_output()
        .clone();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with(
            "configuration OK (ESP algorithms not checked against the kernel: cannot open PF_KEY"
        ),
        "{said}"
    );
}

#[test]
fn missing_user_and_chroot_are_one_line_errors() {
    common::require_root();
    let dir = tempfile::tempdir().unwrap();
    let text = common::config(dir.path(), "", &[]).replace(common::TEST_USER, "_no_such_user_ikd");
    let conf = write_config(dir.path(), &text);
    let err = refused("-d", &conf);
    assert!(
        err.starts_with("ikedaemon: user _no_such_user_ikd does not exist"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    common::test_user();
    let missing = dir.path().join("no-such-dir");
    let text = common::config(&missing, "", &[]);
    let conf = write_config(dir.path(), &text);
    ikedaemon()
        .args(["-d", "-f"])
        .arg(&conf)
        .assert()
        .failure()
        .stderr(format!(
            "ikedaemon: chroot directory {} does not exist\n",
            missing.display()
        ));
}

#[test]
fn a_chroot_others_can_write_is_refused() {
    common::require_root();
    common::test_user();
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let chroot = dir.path().join("empty");
    std::fs::create_dir(&chroot).unwrap();
    std::fs::set_permissions(&chroot, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = write_config(dir.path(), &common::config(&chroot, "", &[]));
    let err = refused("-d", &conf);
    assert!(
        err.contains("must be owned by root and writable by root only")
            && err.contains("mode 0777"),
        "{err}"
    );
}

#[test]
fn a_private_key_not_owned_by_its_reader_is_refused() {
    common::require_root();
    let (uid, _) = common::test_user();
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.psk");
    std::fs::write(&key, "secret\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    nix::unistd::chown(&key, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
    let policy = format!(
        "  - name: p\n    remote: {{address: 192.0.2.2}}\n    auth: {{psk_file: {}}}\n",
        key.display()
    );
    let conf = write_config(dir.path(), &common::config(dir.path(), "", &[policy]));
    let err = refused("-n", &conf);
    assert!(
        err.contains(&format!("is owned by uid {uid}, not by uid 0 who reads it")),
        "{err}"
    );
}

/// Every `.Bd -literal` block under EXAMPLES of ikedaemon.conf(5) that is
/// a whole configuration passes `ikedaemon -n` (with the files it names
/// created next to it).
#[test]
fn man_page_examples_pass_the_check_flag() {
    let page = include_str!("../../man/ikedaemon.conf.5");
    let examples = page.split(".Sh EXAMPLES").nth(1).expect("EXAMPLES section");
    let examples = examples.split(".Sh ").next().unwrap();
    let mut checked = 0;
    for block in examples.split(".Bd -literal").skip(1) {
        let body = block.split(".Ed").next().unwrap();
        let text: String = body
            .lines()
            .skip(1)
            .map(|l| {
                l.replace("\\(dq", "\"")
                    .replace("\\e", "\\")
                    .replace("\\&", "")
            })
            .collect::<Vec<_>>()
            .join("\n");
        if !text.contains("policies:") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        make_named_files(dir.path(), &text);
        let conf = write_config(dir.path(), &text);
        let out = ikedaemon().arg("-n").arg("-f").arg(&conf).output().unwrap();
        assert!(
            out.status.success(),
            "example {checked} fails: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "configuration OK\n");
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} examples found");
}

/// Creates the certificate, key, CA and PSK files a configuration names.
fn make_named_files(dir: &Path, text: &str) {
    let (cert, key) = test_cert();
    for line in text.lines() {
        for (k, body, mode) in [
            ("certificate:", cert.as_str(), 0o644),
            ("private_key:", key.as_str(), 0o600),
            ("psk_file:", "a pre-shared key from a file", 0o600),
            ("ca:", cert.as_str(), 0o644),
        ] {
            let mut rest = line;
            while let Some(i) = rest.find(k) {
                // Only whole keys: `ca:` must not match inside another word.
                let whole = i == 0
                    || !rest.as_bytes()[i - 1].is_ascii_alphanumeric()
                        && rest.as_bytes()[i - 1] != b'_';
                rest = &rest[i + k.len()..];
                if !whole {
                    continue;
                }
                let value = rest.trim_start();
                let value = if let Some(list) = value.strip_prefix('[') {
                    list.split(']').next().unwrap_or("")
                } else {
                    value.split([',', '}', '#']).next().unwrap_or("")
                };
                for p in value.split(',') {
                    place(dir, p.trim(), body, mode);
                }
            }
        }
    }
}

fn place(dir: &Path, path: &str, body: &str, mode: u32) {
    let path = path.trim_matches('"');
    let p = if Path::new(path).is_absolute() {
        path.to_string()
    } else {
        dir.join(path).display().to_string()
    };
    let p = Path::new(&p);
    if p.starts_with(dir) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn test_cert() -> (String, String) {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "gw.example").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    let cert = String::from_utf8(b.build().to_pem().unwrap()).unwrap();
    (
        cert,
        String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
    )
}
