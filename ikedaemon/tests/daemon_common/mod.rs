//! Harness for the daemon tests: runs a real `ikedaemon -d` as root in a
//! network namespace of its own (so parallel tests can all bind 500/4500),
//! with a temporary configuration, chroot and test user, and inspects the
//! processes through /proc.
#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The unprivileged user the tests run the children as.
pub const TEST_USER: &str = "_ikedtest";

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "the daemon tests start ikedaemon as root (CI runs them as root)"
    );
}

/// Creates the test user once (idempotent) and returns (uid, gid).
pub fn test_user() -> (u32, u32) {
    if nix::unistd::User::from_name(TEST_USER)
        .ok()
        .flatten()
        .is_none()
    {
        let st = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--home-dir",
                "/var/empty",
                "--shell",
                "/usr/sbin/nologin",
                TEST_USER,
            ])
            .status()
            .expect("useradd");
        // Another test may have created it at the same time.
        assert!(
            st.success()
                || nix::unistd::User::from_name(TEST_USER)
                    .ok()
                    .flatten()
                    .is_some()
        );
    }
    let u = nix::unistd::User::from_name(TEST_USER).unwrap().unwrap();
    (u.uid.as_raw(), u.gid.as_raw())
}

/// A network namespace, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!(
            "ikdt-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run(&["ip", "netns", "add", &name]);
        run(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Netns(name)
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", &self.0];
        full.extend_from_slice(args);
        Command::new(full[0])
            .args(&full[1..])
            .output()
            .expect("ip netns exec")
    }

    /// Calls `f` with this thread inside the namespace (sockets created
    /// there stay there).
    pub fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        use nix::sched::{CloneFlags, setns};
        let home = fs::File::open("/proc/thread-self/ns/net").expect("own netns");
        let target = fs::File::open(format!("/var/run/netns/{}", self.0)).expect("netns file");
        setns(target.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns");
        let out = f();
        setns(home.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns back");
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

pub fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect(args[0]);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn ikedaemon_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ikedaemon"))
}

/// The ikectl binary (another package): built next to ikedaemon, by this
/// helper if `cargo test` did not build it (cargo builds other packages'
/// binaries only for their own tests).
pub fn ikectl_bin() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let p = ikedaemon_bin().with_file_name("ikectl");
    BUILT.call_once(|| {
        // Inside the test VM the host's files are read-only and cargo is
        // slow: the caller built ikectl before booting it.
        if std::env::var_os("IKEDAEMON_IN_VM").is_some() && p.exists() {
            return;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikectl/Cargo.toml");
        let st = Command::new(cargo)
            .args(["build", "--quiet", "--bin", "ikectl", "--manifest-path"])
            .arg(manifest)
            .status()
            .expect("run cargo build for ikectl");
        assert!(st.success(), "cargo build -p ikectl failed");
    });
    assert!(
        p.exists(),
        "{} missing after cargo build -p ikectl",
        p.display()
    );
    p
}
/// A policy block for test configurations.
pub fn policy(name: &str, remote: &str) -> String {
    format!(
        "  - name: {name}\n    remote: {{ address: {remote} }}\n    auth: {{ psk: \"test secret for {name}\" }}\n"
    )
}

/// A whole configuration with the test user and chroot.
pub fn config(chroot: &Path, extra: &str, policies: &[String]) -> String {
    format!(
        "user: {TEST_USER}\nchroot: {}\nkernel: none\nlisten: [0.0.0.0]\n{extra}policies:\n{}",
        chroot.display(),
        if policies.is_empty() {
            "  []\n".to_string()
        } else {
            policies.concat()
        }
    )
}

pub struct Daemon {
    pub child: Option<Child>,
    pub ns: Netns,
    pub dir: tempfile::TempDir,
    pub chroot: PathBuf,
    pub socket: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Writes `config_text` (mode 0600) and starts `ikedaemon -d -v` in a
    /// fresh namespace; waits until ikectl gets an answer.
    pub fn start_with(ns: Netns, make_config: impl FnOnce(&Path) -> String) -> Daemon {
        Daemon::start_wrapped(ns, &[], make_config)
    }

    /// `start_with`, with ikedaemon run through `wrapper` (a command and
    /// its arguments that execs the rest, e.g. setpriv).
    pub fn start_wrapped(
        ns: Netns,
        wrapper: &[&str],
        make_config: impl FnOnce(&Path) -> String,
    ) -> Daemon {
        require_root();
        test_user();
        let dir = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let chroot = dir.path().join("empty");
        fs::create_dir(&chroot).unwrap();
        let config = dir.path().join("ikedaemon.conf");
        fs::write(&config, make_config(&chroot)).unwrap();
        fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).unwrap();
        let socket = dir.path().join("ikedaemon.sock");
        let log = dir.path().join("stderr.log");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .args(wrapper)
            .arg(ikedaemon_bin())
            .args(["-d", "-v", "-f"])
            .arg(&config)
            .arg("-s")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("start ikedaemon");
        let mut d = Daemon {
            child: Some(child),
            ns,
            dir,
            chroot,
            socket,
            config,
            log,
        };
        d.wait_ready();
        d
    }

    pub fn start(policies: &[String]) -> Daemon {
        let policies = policies.to_vec();
        Daemon::start_with(Netns::new("d"), move |chroot| config(chroot, "", &policies))
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "ikedaemon exited during start-up ({st}): {}",
                    self.log_text()
                );
            }
            if self.socket.exists()
                && self.ikectl(&["show", "stats"]).status.success()
                && self.log_text().contains("control ready")
                && self.log_text().contains("negotiator ready")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("ikedaemon did not become ready: {}", self.log_text());
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn ikectl(&self, args: &[&str]) -> Output {
        Command::new(ikectl_bin())
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("ikectl")
    }

    pub fn ikectl_ok(&self, args: &[&str]) -> String {
        let out = self.ikectl(args);
        assert!(
            out.status.success(),
            "ikectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// (pid, role) of the children.
    pub fn children(&self) -> Vec<(u32, String)> {
        children_of(self.pid())
    }

    pub fn role_pid(&self, role: &str) -> u32 {
        self.children()
            .into_iter()
            .find(|(_, r)| r == role)
            .unwrap_or_else(|| panic!("no {role}"))
            .0
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig).unwrap();
    }

    /// Waits for the parent to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("log never said {needle:?}: {}", self.log_text());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take()
            && c.try_wait().ok().flatten().is_none()
        {
            let pids: Vec<u32> = children_of(c.id()).into_iter().map(|(p, _)| p).collect();
            let _ = c.kill();
            let _ = c.wait();
            for p in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// The children of `pid` with their role (from `--privsep-role ROLE`).
pub fn children_of(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.get(1).and_then(|x| x.parse::<u32>().ok()) != Some(pid)
            || fields.first() == Some(&"Z")
        {
            continue;
        }
        let cmd = fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let role = args
            .iter()
            .position(|a| a == "--privsep-role")
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_default();
        out.push((p, role));
    }
    out
}

/// `Key:` lines of /proc/PID/status.
pub fn status_field(pid: u32, key: &str) -> String {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in status"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Socket inodes among a process's fds.
pub fn socket_inodes(pid: u32) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    for e in fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        let Ok(fd) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(t) = fs::read_link(e.path()) {
            let t = t.to_string_lossy().into_owned();
            if let Some(i) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                out.push((fd, i.parse().unwrap()));
            }
        }
    }
    out
}

/// (local port, uid, inode) of each socket in /proc/PID/net/udp and udp6
/// (the namespace of that process).
pub fn udp_table(pid: u32) -> Vec<(u16, u32, u64)> {
    let mut out = Vec::new();
    for f in ["udp", "udp6"] {
        let text = fs::read_to_string(format!("/proc/{pid}/net/{f}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
                .unwrap();
            out.push((port, cols[7].parse().unwrap(), cols[9].parse().unwrap()));
        }
    }
    out
}

/// The UDP ports of the sockets `pid` holds, sorted.
pub fn udp_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<u64> = socket_inodes(pid).into_iter().map(|(_, i)| i).collect();
    let mut p: Vec<u16> = udp_table(pid)
        .into_iter()
        .filter(|(_, _, i)| inodes.contains(i))
        .map(|(p, _, _)| p)
        .collect();
    p.sort();
    p
}

/// A copy of another process's descriptor (pidfd_getfd, Linux 5.6+).
pub fn steal_fd(pid: u32, fd: i32) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: plain syscalls with integer arguments; the results are
    // checked before use and each new descriptor is owned exactly once.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0);
        assert!(
            pidfd >= 0,
            "pidfd_open: {}",
            std::io::Error::last_os_error()
        );
        let pidfd = OwnedFd::from_raw_fd(pidfd as i32);
        let copy = libc::syscall(
            libc::SYS_pidfd_getfd,
            std::os::fd::AsRawFd::as_raw_fd(&pidfd),
            fd,
            0,
        );
        assert!(
            copy >= 0,
            "pidfd_getfd: {}",
            std::io::Error::last_os_error()
        );
        OwnedFd::from_raw_fd(copy as i32)
    }
}
