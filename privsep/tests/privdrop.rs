//! Privilege drop, as root (CI runs as root; elsewhere the run fails
//! and says why). The failing cases run in this process: they fail before
//! changing anything. The drop itself runs in a child re-exec'd from this
//! binary with role "drop": it drops to `nobody` inside a temporary chroot
//! and reports its `/proc/self/status` (opened before the chroot) and what
//! it sees; the parent also checks `/proc/PID/status` and `/proc/PID/root`.

mod common;

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use privsep::channel::{Channel, ChannelError};
use privsep::privdrop::{DropError, DropSpec, drop_privileges};
use privsep::spawn::{inherited_channel, role_from_args, spawn_child};

const VERSION: u32 = 1;
const NOBODY: u32 = 65534;

privsep::ipc_enum! {
    /// From the dropped child.
    #[derive(Debug)]
    enum Report {
        /// The drop failed.
        Failed(String) = 1,
        /// The drop worked; what the child sees afterwards.
        Dropped {
            uid: u32,
            gid: u32,
            status: String,
            cwd: String,
            root_entries: Vec<String>,
            setuid0: String,
        } = 2,
    }
}

fn status_field<'a>(status: &'a str, name: &str) -> Vec<&'a str> {
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} line in status"));
    line[name.len() + 1..].split_whitespace().collect()
}

/// The status lines a fully dropped process has.
fn assert_dropped_status(status: &str) {
    let n = NOBODY.to_string();
    assert_eq!(status_field(status, "Uid"), [n.as_str(); 4], "Uid");
    assert_eq!(status_field(status, "Gid"), [n.as_str(); 4], "Gid");
    assert_eq!(status_field(status, "Groups"), [n.as_str()], "Groups");
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status_field(status, cap), ["0000000000000000"], "{cap}");
    }
    assert_eq!(status_field(status, "NoNewPrivs"), ["1"], "NoNewPrivs");
}

fn drop_child(args: Vec<OsString>) -> i32 {
    let chroot = PathBuf::from(&args[0]);
    // Opened before the chroot; read after the drop, it shows the new state.
    let mut status_file = File::open("/proc/self/status").unwrap();
    let ch = inherited_channel().unwrap();
    ch.handshake(VERSION).unwrap();
    let report = match drop_privileges(&DropSpec {
        user: "nobody".into(),
        chroot,
    }) {
        Err(e) => Report::Failed(e.to_string()),
        Ok(d) => {
            let mut status = String::new();
            status_file.read_to_string(&mut status).unwrap();
            let mut root_entries: Vec<String> = std::fs::read_dir("/")
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            root_entries.sort();
            Report::Dropped {
                uid: d.uid,
                gid: d.gid,
                status,
                cwd: std::env::current_dir()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                root_entries,
                setuid0: format!("{:?}", nix::unistd::setuid(nix::unistd::Uid::from_raw(0))),
            }
        }
    };
    ch.send(0, &report, &[]).unwrap();
    // Stay alive until the parent has looked at us.
    match ch.recv::<Report>() {
        Err(ChannelError::Closed) => 0,
        other => panic!("child: {other:?}"),
    }
}

fn drops_to_nobody_in_a_chroot() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("marker"), b"").unwrap();
    let chroot = dir.path().canonicalize().unwrap();

    let (a, b) = Channel::pair().unwrap();
    let mut child = spawn_child("drop", &[chroot.clone().into()], b).unwrap();
    a.handshake(VERSION).unwrap();
    let report = a.recv::<Report>().unwrap().msg;
    let Report::Dropped {
        uid,
        gid,
        status,
        cwd,
        root_entries,
        setuid0,
    } = report
    else {
        panic!("child: {report:?}");
    };
    assert_eq!((uid, gid), (NOBODY, NOBODY));
    assert_dropped_status(&status);
    assert_eq!(cwd, "/");
    assert_eq!(root_entries, ["marker"]);
    assert_eq!(setuid0, "Err(EPERM)");

    // The same, seen from outside.
    let pid = child.pid();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        chroot
    );
    assert_dropped_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap());

    drop(a);
    let st = child.wait().unwrap();
    assert!(st.success(), "child: {st}");
}

fn missing_user() {
    let e = drop_privileges(&DropSpec {
        user: "privsep-no-such-user".into(),
        chroot: "/".into(),
    })
    .unwrap_err();
    assert!(matches!(&e, DropError::NoSuchUser(u) if u == "privsep-no-such-user"));
    assert_eq!(
        e.to_string(),
        "user \"privsep-no-such-user\" does not exist"
    );
    assert_untouched();
}

fn missing_chroot() {
    let e = drop_privileges(&DropSpec {
        user: "nobody".into(),
        chroot: "/nonexistent/privsep-chroot".into(),
    })
    .unwrap_err();
    assert!(
        matches!(&e, DropError::NoSuchChroot(p) if p == Path::new("/nonexistent/privsep-chroot"))
    );
    assert_eq!(
        e.to_string(),
        "chroot directory /nonexistent/privsep-chroot does not exist"
    );
    assert_untouched();
}

fn chroot_not_a_directory() {
    let f = tempfile::NamedTempFile::new().unwrap();
    let e = drop_privileges(&DropSpec {
        user: "nobody".into(),
        chroot: f.path().into(),
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("chroot path {} is not a directory", f.path().display())
    );
    assert_untouched();
}

fn root_is_refused() {
    let e = drop_privileges(&DropSpec {
        user: "root".into(),
        chroot: "/".into(),
    })
    .unwrap_err();
    assert!(matches!(e, DropError::RootUser(_)), "{e}");
    assert_untouched();
}

/// The failed drops changed nothing: still root, capabilities intact.
fn assert_untouched() {
    assert!(nix::unistd::geteuid().is_root());
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    assert_ne!(status_field(&status, "CapBnd"), ["0000000000000000"]);
    assert_eq!(status_field(&status, "NoNewPrivs"), ["0"]);
}

fn main() {
    if let Some((role, args)) = role_from_args(std::env::args_os()) {
        assert_eq!(role, "drop");
        std::process::exit(drop_child(args));
    }
    if !nix::unistd::geteuid().is_root() {
        // Not a silent skip: these checks are the point of the crate.
        eprintln!("privdrop tests need root (CI runs them as root)");
        println!("test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out");
        std::process::exit(1);
    }
    common::run(&[
        ("drops_to_nobody_in_a_chroot", drops_to_nobody_in_a_chroot),
        ("missing_user", missing_user),
        ("missing_chroot", missing_chroot),
        ("chroot_not_a_directory", chroot_not_a_directory),
        ("root_is_refused", root_is_refused),
    ]);
}
