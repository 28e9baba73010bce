//! Helpers shared by the integration tests: a directory with the files
//! the example configurations name.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `body` to `dir/name` (creating parents) with `mode`.
pub(crate) fn write(dir: &Path, name: &str, body: &str, mode: u32) -> std::path::PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// Creates the certificate, key, CA and PSK files the shipped examples
/// name, relative to `dir` (the configuration's directory).
#[allow(dead_code)] // not every test crate uses it
pub(crate) fn example_files(dir: &Path) {
    write(dir, "certs/gw-a.pem", "certificate\n", 0o644);
    write(dir, "private/gw-a.key", "private key\n", 0o600);
    write(dir, "ca/ca.pem", "CA certificate\n", 0o644);
    write(dir, "web.psk", "web secret\n", 0o600);
    write(dir, "site-b.psk", "site-b secret\n", 0o600);
}
