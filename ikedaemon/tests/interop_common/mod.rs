//! Shared by the two-daemon and strongSwan interop tests: a namespace pair
//! from tests/interop/netns-pair, an ikedaemon in namespace A configured
//! for the pair, and a charon in namespace B driven through
//! tests/interop/peer-strongswan.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Daemon, Netns, TEST_USER};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop")
        .join(name)
}

/// Runs a harness script; panics with its output when it fails.
pub fn harness(name: &str, args: &[&str]) -> String {
    let out = Command::new(script(name)).args(args).output().expect(name);
    assert!(
        out.status.success(),
        "{name} {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Namespaces A (192.0.2.1, TS 198.51.100.1) and B (192.0.2.2, TS
/// 203.0.113.1) on a veth pair.
pub fn pair() -> (Netns, Netns) {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (a, b) = (
        format!("ikdi-{}-{n}-a", std::process::id()),
        format!("ikdi-{}-{n}-b", std::process::id()),
    );
    harness("netns-pair", &[&a, &b]);
    (Netns(a), Netns(b))
}

/// An ikedaemon configuration for one end of the pair.
pub fn config(chroot: &Path, side_a: bool, start: &str, extra_policy: &str) -> String {
    let (me, peer, lts, rts) = if side_a {
        (
            "192.0.2.1",
            "192.0.2.2",
            "198.51.100.1/32",
            "203.0.113.1/32",
        )
    } else {
        (
            "192.0.2.2",
            "192.0.2.1",
            "203.0.113.1/32",
            "198.51.100.1/32",
        )
    };
    format!(
        "user: {TEST_USER}\nchroot: {}\nkernel: none\nlisten: [0.0.0.0]\npolicies:\n  - name: site\n    start: {start}\n    local: {{ address: {me} }}\n    remote: {{ address: {peer} }}\n    auth: {{ psk: \"interop test secret\" }}\n    local_ts: [{lts}]\n    remote_ts: [{rts}]\n{extra_policy}",
        chroot.display()
    )
}

/// `config` with FQDN IDs: initiator.example on side A, responder.example
/// on side B (as the certificate harnesses name them).
pub fn fqdn_config(chroot: &Path, side_a: bool, start: &str, extra_policy: &str) -> String {
    let (me, peer, my_id, peer_id) = if side_a {
        ("192.0.2.1", "192.0.2.2", "initiator", "responder")
    } else {
        ("192.0.2.2", "192.0.2.1", "responder", "initiator")
    };
    config(chroot, side_a, start, extra_policy)
        .replace(
            &format!("local: {{ address: {me} }}"),
            &format!("local: {{ address: {me}, id: {{ fqdn: {my_id}.example }} }}"),
        )
        .replace(
            &format!("remote: {{ address: {peer} }}"),
            &format!("remote: {{ address: {peer}, id: {{ fqdn: {peer_id}.example }} }}"),
        )
}

/// `ikectl --json show sa`: the array of IKE SAs.
pub fn show_sa_json(d: &Daemon) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(d.ikectl_ok(&["--json", "show", "sa"]).trim()).unwrap();
    v["sas"].clone()
}

/// One counter of `ikectl --json show stats`.
pub fn stat(d: &Daemon, key: &str) -> u64 {
    let v: serde_json::Value =
        serde_json::from_str(d.ikectl_ok(&["--json", "show", "stats"]).trim()).unwrap();
    v["stats"][key].as_u64().unwrap()
}

/// Polls `f` until it returns `Some` or `secs` pass.
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `show sa` lines of a daemon.
pub fn sas(d: &Daemon) -> Vec<String> {
    d.ikectl_ok(&["show", "sa"])
        .lines()
        .filter(|l| l.contains("ESTABLISHED"))
        .map(str::to_string)
        .collect()
}

/// A charon in namespace `ns`, stopped on drop.
pub struct Charon {
    pub ns: String,
    pub dir: tempfile::TempDir,
}

impl Charon {
    pub fn start(ns: &Netns, libipsec: bool, connections: &str) -> Charon {
        Charon::start_with(ns, libipsec, None, connections)
    }

    /// With `cert` ("ecdsa" or "rsa"), charon gets a certificate for
    /// responder.example and exports one for initiator.example (and the
    /// CA) in `export/` for ikedaemon.
    pub fn start_with(ns: &Netns, libipsec: bool, cert: Option<&str>, connections: &str) -> Charon {
        assert!(
            Path::new("/usr/lib/ipsec/charon").exists(),
            "strongSwan is not installed: run tests/interop/install-peers (tests/setup does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let mut args = vec!["start", "--ns", &ns.0, "--dir", &d];
        if libipsec {
            args.push("--libipsec");
        }
        if let Some(c) = cert {
            args.extend(["--cert", c]);
        }
        harness("peer-strongswan", &args);
        let conf = dir.path().join("conn.conf");
        std::fs::write(&conf, connections).unwrap();
        harness(
            "peer-strongswan",
            &["load", conf.to_str().unwrap(), "--ns", &ns.0, "--dir", &d],
        );
        Charon {
            ns: ns.0.clone(),
            dir,
        }
    }

    fn d(&self) -> String {
        self.dir.path().to_str().unwrap().to_string()
    }

    /// `swanctl --list-sas --raw`.
    pub fn list_sas(&self) -> String {
        harness(
            "peer-strongswan",
            &["list-sas", "--ns", &self.ns, "--dir", &self.d()],
        )
    }

    /// `swanctl --initiate --child NAME`.
    pub fn initiate_child(&self, name: &str) -> String {
        harness(
            "peer-strongswan",
            &[
                "initiate",
                "--child",
                name,
                "--timeout",
                "15",
                "--ns",
                &self.ns,
                "--dir",
                &self.d(),
            ],
        )
    }

    /// `swanctl --initiate --child NAME` that may fail: (success, output).
    pub fn try_initiate_child(&self, name: &str) -> (bool, String) {
        let out = Command::new(script("peer-strongswan"))
            .args(["initiate", "--child", name, "--timeout", "15", "--ns"])
            .args([&self.ns, "--dir", &self.d()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// `swanctl --initiate --ike NAME` (no CHILD SA if the connection is
    /// `childless = force`).
    pub fn initiate_ike(&self, name: &str) -> String {
        harness(
            "peer-strongswan",
            &[
                "initiate",
                "--ike",
                name,
                "--timeout",
                "15",
                "--ns",
                &self.ns,
                "--dir",
                &self.d(),
            ],
        )
    }

    /// `swanctl --terminate --ike NAME`.
    pub fn terminate_ike(&self, name: &str) -> String {
        harness(
            "peer-strongswan",
            &[
                "terminate",
                "--ike",
                name,
                "--timeout",
                "10",
                "--ns",
                &self.ns,
                "--dir",
                &self.d(),
            ],
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("charon.log")).unwrap_or_default()
    }
}

impl Drop for Charon {
    fn drop(&mut self) {
        let _ = Command::new(script("peer-strongswan"))
            .args(["stop", "--ns", &self.ns, "--dir", &self.d()])
            .output();
    }
}

/// swanctl connections for charon in namespace B, PSK, one CHILD SA.
pub const CHARON_CONN: &str = r#"connections {
  ikd {
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    version = 2
    proposals = aes128gcm16-prfsha256-x25519,aes256-sha256-modp2048
    local { auth = psk
            id = 192.0.2.2 }
    remote { auth = psk
             id = 192.0.2.1 }
    children {
      net { local_ts = 203.0.113.1/32
            remote_ts = 198.51.100.1/32
            esp_proposals = aes128gcm16 }
    }
  }
}
secrets {
  ike-1 { secret = "interop test secret" }
}
"#;

/// The value of `key=` in a `swanctl --list-sas --raw` line.
pub fn raw_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!(" {key}=");
    let i = line.find(&pat)? + pat.len();
    line[i..].split([' ', '}']).next()
}

/// A pluto (libreswan) in namespace `ns`, stopped on drop.
pub struct Pluto {
    pub ns: String,
    pub dir: tempfile::TempDir,
}

impl Pluto {
    pub fn start(ns: &Netns, conn: &str, secrets: &str) -> Pluto {
        Pluto::start_with(ns, None, conn, secrets)
    }

    /// With `cert`, pluto is the initiator with a certificate for
    /// initiator.example and exports one for responder.example.
    pub fn start_with(ns: &Netns, cert: Option<&str>, conn: &str, secrets: &str) -> Pluto {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let mut args = vec!["start", "--ns", &ns.0, "--dir", &d];
        if let Some(c) = cert {
            args.extend(["--cert", c, "--role", "initiator"]);
        }
        harness("peer-libreswan", &args);
        let (c, s) = (
            dir.path().join("conn.conf"),
            dir.path().join("conn.secrets"),
        );
        std::fs::write(&c, conn).unwrap();
        std::fs::write(&s, secrets).unwrap();
        harness(
            "peer-libreswan",
            &[
                "add",
                "--ns",
                &ns.0,
                "--dir",
                &d,
                c.to_str().unwrap(),
                s.to_str().unwrap(),
            ],
        );
        Pluto {
            ns: ns.0.clone(),
            dir,
        }
    }

    fn d(&self) -> String {
        self.dir.path().to_str().unwrap().to_string()
    }

    /// `whack --initiate` (childless when asked); the harness checks
    /// that the IKE SA is established.
    pub fn initiate(&self, name: &str, childless: bool) -> String {
        let d = self.d();
        let mut args = vec![
            "initiate",
            "--ns",
            &self.ns,
            "--dir",
            &d,
            name,
            "--timeout",
            "15",
        ];
        if childless {
            args.push("--childless");
        }
        harness("peer-libreswan", &args)
    }

    /// The harness's parsed `whack --showstates/--trafficstatus` lines.
    pub fn status(&self) -> String {
        harness(
            "peer-libreswan",
            &["status", "--ns", &self.ns, "--dir", &self.d()],
        )
    }
}

impl Drop for Pluto {
    fn drop(&mut self) {
        let _ = Command::new(script("peer-libreswan"))
            .args(["stop", "--ns", &self.ns, "--dir", &self.d()])
            .output();
    }
}

/// Copies a peer's exported certificate, key and CA next to ikedaemon's
/// configuration and returns the `auth:` block naming them.
pub fn take_exports(export: &Path, conf_dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    for f in ["ikedaemon.pem", "ikedaemon.key", "ca.pem"] {
        std::fs::copy(export.join(f), conf_dir.join(f)).unwrap();
    }
    std::fs::set_permissions(
        conf_dir.join("ikedaemon.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    "    auth:\n      certificate: ikedaemon.pem\n      private_key: ikedaemon.key\n      ca: [ca.pem]\n".to_string()
}

/// A CA and certificates for initiator.example and responder.example
/// (ECDSA P-256 or RSA-2048, ID = subjectAltName), made by the harness's
/// `gen_certs` in `dir`.
pub fn gen_certs(dir: &Path, kind: &str) {
    let lib = script("lib.sh");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            ". '{}' && gen_certs '{}' {kind}",
            lib.display(),
            dir.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies `who`'s certificate and key and the CA from `certs` (see
/// `gen_certs`) next to ikedaemon's configuration; the `auth:` block.
pub fn own_certs(certs: &Path, who: &str, conf_dir: &Path) -> String {
    let export = conf_dir.join("export");
    std::fs::create_dir_all(&export).unwrap();
    std::fs::copy(certs.join("ca.pem"), export.join("ca.pem")).unwrap();
    std::fs::copy(
        certs.join(format!("{who}.pem")),
        export.join("ikedaemon.pem"),
    )
    .unwrap();
    std::fs::copy(
        certs.join(format!("{who}.key")),
        export.join("ikedaemon.key"),
    )
    .unwrap();
    take_exports(&export, conf_dir)
}

/// A certificate policy for ikedaemon on side A (`initiator.example`) or
/// B (`responder.example`).
pub fn cert_config(chroot: &Path, side_a: bool, start: &str, auth: &str, extra: &str) -> String {
    let (me, peer, lts, rts, my_id, peer_id) = if side_a {
        (
            "192.0.2.1",
            "192.0.2.2",
            "198.51.100.1/32",
            "203.0.113.1/32",
            "initiator.example",
            "responder.example",
        )
    } else {
        (
            "192.0.2.2",
            "192.0.2.1",
            "203.0.113.1/32",
            "198.51.100.1/32",
            "responder.example",
            "initiator.example",
        )
    };
    format!(
        "user: {TEST_USER}\nchroot: {}\nkernel: none\nlisten: [0.0.0.0]\npolicies:\n  - name: site\n    start: {start}\n    local: {{ address: {me}, id: {{ fqdn: {my_id} }} }}\n    remote: {{ address: {peer}, id: {{ fqdn: {peer_id} }} }}\n{auth}    local_ts: [{lts}]\n    remote_ts: [{rts}]\n{extra}",
        chroot.display()
    )
}
