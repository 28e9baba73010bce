//! The IKE ports belong to one ikedaemon (issue 13, H1 and M10): no other
//! user's socket can bind them next to ours (SO_REUSEPORT, never
//! SO_REUSEADDR), a second ikedaemon refuses to start on the same ports or
//! with the same pid file, and a reload that moves one port still binds
//! the other again.

#[path = "daemon_common/mod.rs"]
mod common;

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, bind, setsockopt, socket, sockopt,
};

/// Binds 0.0.0.0:`port` with SO_REUSEADDR or SO_REUSEPORT, as the
/// calling thread's user.
fn bind_with(port: u16, reuse_port: bool) -> nix::Result<()> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    if reuse_port {
        setsockopt(&fd, sockopt::ReusePort, &true)?;
    } else {
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    let addr: SocketAddr = format!("0.0.0.0:{port}").parse().unwrap();
    let SocketAddr::V4(a) = addr else {
        unreachable!()
    };
    bind(fd.as_raw_fd(), &SockaddrIn::from(a))
}

/// An IKE_SA_INIT header with major version 3 (answered with
/// INVALID_MAJOR_VERSION), behind the non-ESP marker for port 4500.
fn ikev3_on_4500() -> Vec<u8> {
    let mut m = vec![0u8; 4 + 28];
    m[4..12].copy_from_slice(&0x1122334455667788u64.to_be_bytes());
    m[4 + 17] = 0x30;
    m[4 + 18] = 34;
    m[4 + 19] = 0x08;
    m[4 + 24..4 + 28].copy_from_slice(&28u32.to_be_bytes());
    m
}

/// Sends the probe to 127.0.0.1:4500 in the daemon's namespace and waits
/// for the answer.
fn answered_on_4500(d: &Daemon) -> bool {
    let sock = d.ns.enter(|| UdpSocket::bind("127.0.0.1:0").unwrap());
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        sock.send_to(&ikev3_on_4500(), "127.0.0.1:4500").unwrap();
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return n > 4 && buf[..4] == [0; 4];
        }
    }
    false
}

#[test]
fn another_user_cannot_bind_the_ike_ports() {
    let d = Daemon::start(&[]);
    // As in a container: any user may bind ports below 1024 here.
    d.ns.exec(&[
        "sh",
        "-c",
        "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start",
    ]);
    let results = std::thread::scope(|s| {
        s.spawn(|| {
            // This thread only moves into the daemon's namespace and
            // becomes uid 65534, for good: it ends right after.
            let ns = std::fs::File::open(format!("/var/run/netns/{}", d.ns.0)).unwrap();
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            // The raw system call: glibc's setresuid would change every
            // thread of the test process.
            // SAFETY: setresuid takes three integers and changes only this
            // thread's credentials.
            let r = unsafe { libc::syscall(libc::SYS_setresuid, -1i32, 65534i32, -1i32) };
            assert_eq!(r, 0, "setresuid: {}", std::io::Error::last_os_error());
            [(500, false), (500, true), (4500, false), (4500, true)]
                .map(|(port, rp)| (port, rp, bind_with(port, rp)))
        })
        .join()
        .unwrap()
    });
    for (port, reuse_port, r) in results {
        let opt = if reuse_port {
            "SO_REUSEPORT"
        } else {
            "SO_REUSEADDR"
        };
        assert_eq!(
            r,
            Err(nix::errno::Errno::EADDRINUSE),
            "uid 65534 with {opt} on port {port}"
        );
    }
    assert!(answered_on_4500(&d), "{}", d.log_text());
}

#[test]
fn a_second_daemon_on_the_same_ports_refuses_to_start() {
    let d = Daemon::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("second.conf");
    std::fs::write(&conf, config(&d.chroot, "", &[])).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &d.ns.0])
        .arg(ikedaemon_bin())
        .args(["-d", "-f"])
        .arg(&conf)
        .arg("-s")
        .arg(dir.path().join("second.sock"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("cannot bind UDP 0.0.0.0:500")
            && err.contains("is another IKE daemon running?"),
        "{err}"
    );
    // The first one goes on answering.
    assert!(answered_on_4500(&d), "{}", d.log_text());
}

#[test]
fn a_second_daemon_with_the_same_pid_file_refuses_to_start() {
    let ns = Netns::new("p");
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chroot = dir.path().join("empty");
    std::fs::create_dir(&chroot).unwrap();
    let pid_file = dir.path().join("ikedaemon.pid");
    let start = |name: &str, port: u16| {
        let conf = dir.path().join(format!("{name}.conf"));
        let extra = format!(
            "pid_file: {}\nike_port: {port}\nnatt_port: {}\n",
            pid_file.display(),
            port + 1
        );
        std::fs::write(&conf, config(&chroot, &extra, &[])).unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::process::Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .arg(ikedaemon_bin())
            .arg("-f")
            .arg(&conf)
            .arg("-s")
            .arg(dir.path().join(format!("{name}.sock")))
            .output()
            .unwrap()
    };
    let first = start("first", 1500);
    assert!(first.status.success(), "{first:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = loop {
        if let Some(p) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break p;
        }
        assert!(Instant::now() < deadline, "no pid file");
        std::thread::sleep(Duration::from_millis(20));
    };
    // The detached daemon is ours (we read its pid file): stop it whatever
    // happens below.
    struct Stop(i32);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0), Signal::SIGTERM);
        }
    }
    let _stop = Stop(pid);
    // Other ports, same pid file: refused before it detaches, on stderr.
    let second = start("second", 2500);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "another ikedaemon (pid {pid}) holds the pid file {}",
            pid_file.display()
        )),
        "{err}"
    );
    let held = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(held.trim(), pid.to_string(), "the first daemon's pid stays");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the first daemon runs on"
    );
}

#[test]
fn a_reload_that_moves_one_port_binds_the_other_again() {
    let d = Daemon::start(&[]);
    let neg = d.role_pid("negotiator");
    assert_eq!(udp_ports(neg), [500, 4500]);
    std::fs::write(&d.config, config(&d.chroot, "ike_port: 1500\n", &[])).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_log("IKE sockets now");
    assert_eq!(udp_ports(neg), [1500, 4500], "{}", d.log_text());
    assert!(answered_on_4500(&d), "{}", d.log_text());
}

#[test]
fn the_ike_sockets_have_a_large_receive_buffer() {
    let d = Daemon::start(&[]);
    let neg = d.role_pid("negotiator");
    let table = udp_table(neg);
    let mut seen = 0;
    for (fd, inode) in socket_inodes(neg) {
        if !table.iter().any(|(_, _, i)| *i == inode) {
            continue;
        }
        let copy = steal_fd(neg, fd);
        let size = nix::sys::socket::getsockopt(&copy, sockopt::RcvBuf).unwrap();
        // Linux reports twice what was set (its bookkeeping overhead).
        assert!(
            size >= ikedaemon::proc::sockets::RECEIVE_BUFFER,
            "fd {fd}: SO_RCVBUF {size}"
        );
        seen += 1;
    }
    assert_eq!(seen, 2, "ports 500 and 4500");
}
