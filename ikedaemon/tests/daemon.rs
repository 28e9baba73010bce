//! The privilege-separated daemon for real: `ikedaemon -d` started as
//! root (each test in its own network namespace), its four processes
//! (parent, negotiator, control, ca) inspected through /proc, driven with
//! ikectl and signals.

#[path = "daemon_common/mod.rs"]
mod common;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;

#[test]
fn children_unprivileged_in_the_chroot_and_only_the_negotiator_on_the_network() {
    let d = Daemon::start(&[policy("alpha", "198.51.100.2")]);
    let (uid, gid) = test_user();
    let kids = d.children();
    let mut roles: Vec<&str> = kids.iter().map(|(_, r)| r.as_str()).collect();
    roles.sort();
    assert_eq!(roles, ["ca", "control", "negotiator"], "children: {kids:?}");
    // The ca process, which parses peers' certificates, has no network
    // socket.
    assert_eq!(udp_ports(d.role_pid("ca")), Vec::<u16>::new());
    assert_eq!(
        status_field(d.pid(), "Uid"),
        "0 0 0 0",
        "the parent stays root"
    );
    for (pid, role) in &kids {
        assert_eq!(
            status_field(*pid, "Uid"),
            format!("{uid} {uid} {uid} {uid}"),
            "{role}"
        );
        assert_eq!(
            status_field(*pid, "Gid"),
            format!("{gid} {gid} {gid} {gid}"),
            "{role}"
        );
        assert_eq!(status_field(*pid, "Groups"), gid.to_string(), "{role}");
        for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert_eq!(status_field(*pid, cap), "0000000000000000", "{role} {cap}");
        }
        assert_eq!(status_field(*pid, "NoNewPrivs"), "1", "{role}");
        let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
        assert_eq!(root, d.chroot, "{role} root");
    }
}

#[test]
fn udp_sockets_bound_by_the_parent_held_only_by_the_negotiator() {
    let d = Daemon::start(&[]);
    let neg = d.role_pid("negotiator");
    let ctl = d.role_pid("control");
    // Ports below this need privilege in the daemon's namespace, so the
    // unprivileged negotiator could not have bound 500 itself; both
    // sockets belong to uid 0 (checked below), i.e. the root parent
    // created them.
    let start =
        d.ns.exec(&["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]);
    let start: u16 = String::from_utf8_lossy(&start.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(start > 500, "ip_unprivileged_port_start is {start}");
    let table = udp_table(neg);
    let ike: Vec<(u16, u32, u64)> = table
        .into_iter()
        .filter(|(p, _, _)| *p == 500 || *p == 4500)
        .collect();
    assert_eq!(ike.len(), 2, "one IPv4 socket per port: {ike:?}");
    let neg_inodes: Vec<u64> = socket_inodes(neg).into_iter().map(|(_, i)| i).collect();
    for (port, owner, inode) in &ike {
        assert_eq!(*owner, 0, "port {port}: created by root (the parent)");
        assert!(
            neg_inodes.contains(inode),
            "port {port}: the negotiator holds it"
        );
        for other in [d.pid(), ctl] {
            let inodes: Vec<u64> = socket_inodes(other).into_iter().map(|(_, i)| i).collect();
            assert!(
                !inodes.contains(inode),
                "port {port}: pid {other} keeps a copy"
            );
        }
    }
}

#[test]
fn natt_socket_decapsulates_esp_in_udp() {
    let d = Daemon::start(&[]);
    let neg = d.role_pid("negotiator");
    let table = udp_table(neg);
    for (fd, inode) in socket_inodes(neg) {
        let Some((port, _, _)) = table.iter().find(|(_, _, i)| *i == inode) else {
            continue;
        };
        let copy = steal_fd(neg, fd);
        let encap = ikedaemon::udp_encap(copy.as_fd()).unwrap();
        match port {
            4500 => assert_eq!(encap, 2, "UDP_ENCAP_ESPINUDP on 4500"),
            500 => assert_eq!(encap, 0, "no encapsulation on 500"),
            _ => {}
        }
    }
}

/// An IKE_SA_INIT request header with major version 3.
fn ikev3_request() -> Vec<u8> {
    let mut m = vec![0u8; 28];
    m[..8].copy_from_slice(&0x1122334455667788u64.to_be_bytes());
    m[17] = 0x30;
    m[18] = 34;
    m[19] = 0x08;
    m[24..28].copy_from_slice(&28u32.to_be_bytes());
    m
}

#[test]
fn bypass_policy_lets_ike_out_and_replies_leave_from_the_address_asked() {
    // Two namespaces on a veth pair: the daemon's (192.0.2.1 and .3) and a
    // peer's (192.0.2.2). An XFRM policy in the daemon's namespace demands
    // ESP for all UDP to the peer; no SA exists, so such traffic is held
    // back — except on the daemon's sockets, which carry bypass policies.
    let ns = Netns::new("a");
    let peer = Netns::new("b");
    run(&[
        "ip", "link", "add", "ikdt-a", "netns", &ns.0, "type", "veth", "peer", "name", "ikdt-b",
        "netns", &peer.0,
    ]);
    for (n, dev, addrs) in [
        (&ns, "ikdt-a", vec!["192.0.2.1/24", "192.0.2.3/24"]),
        (&peer, "ikdt-b", vec!["192.0.2.2/24"]),
    ] {
        for a in addrs {
            run(&["ip", "-n", &n.0, "addr", "add", a, "dev", dev]);
        }
        run(&["ip", "-n", &n.0, "link", "set", dev, "up"]);
    }
    run(&[
        "ip",
        "-n",
        &ns.0,
        "xfrm",
        "policy",
        "add",
        "src",
        "192.0.2.0/24",
        "dst",
        "192.0.2.2/32",
        "proto",
        "udp",
        "dir",
        "out",
        "tmpl",
        "src",
        "192.0.2.1",
        "dst",
        "192.0.2.2",
        "proto",
        "esp",
        "mode",
        "transport",
    ]);
    let d = Daemon::start_with(ns, |chroot| config(chroot, "", &[]));
    let sock = peer.enter(|| std::net::UdpSocket::bind("192.0.2.2:0").unwrap());
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    // The veth needs a moment after coming up.
    let deadline = Instant::now() + Duration::from_secs(5);
    for target in ["192.0.2.1:500", "192.0.2.3:500"] {
        let mut buf = [0u8; 512];
        let (n, from) = loop {
            sock.send_to(&ikev3_request(), target).unwrap();
            match sock.recv_from(&mut buf) {
                Ok(r) => break r,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    continue;
                }
                Err(e) => panic!("no reply from {target}: {e}; daemon log: {}", d.log_text()),
            }
        };
        assert_eq!(
            from.to_string(),
            target,
            "the reply leaves from the address the request reached"
        );
        let m = ikedaemon::ike::wire::Message::decode(&buf[..n]).unwrap();
        assert_eq!(m.to_string(), "IKE_SA_INIT response 0 [ N(INVAL_MAJOR) ]");
    }
    // The policy really holds back ordinary UDP from that namespace.
    let plain =
        d.ns.enter(|| std::net::UdpSocket::bind("192.0.2.1:0").unwrap());
    let listener = peer.enter(|| std::net::UdpSocket::bind("192.0.2.2:9999").unwrap());
    listener
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let _ = plain.send_to(b"not bypassed", "192.0.2.2:9999");
    let mut buf = [0u8; 64];
    assert!(
        listener.recv_from(&mut buf).is_err(),
        "the XFRM policy did not hold plain UDP back"
    );
    let stats = d.ikectl_ok(&["--json", "show", "stats"]);
    assert!(stats.contains("\"datagrams_out\":"), "{stats}");
}

#[test]
fn ikectl_shows_policies_stats_and_sas() {
    let d = Daemon::start(&[policy("alpha", "198.51.100.2"), policy("beta", "any")]);
    let text = d.ikectl_ok(&["show", "policies"]);
    assert!(
        text.contains("policy alpha: passive, tunnel, psk"),
        "{text}"
    );
    assert!(text.contains("remote 198.51.100.2"), "{text}");
    assert!(text.contains("policy beta"), "{text}");
    assert!(!text.contains("test secret"), "no secret in the output");
    let json = d.ikectl_ok(&["--json", "show", "policies"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["policies"].as_array().unwrap().len(), 2);
    assert_eq!(d.ikectl_ok(&["show", "sa"]).trim(), "no SAs");
    assert!(
        d.ikectl_ok(&["show", "stats"])
            .contains("configuration loads")
    );
    assert_eq!(d.ikectl_ok(&["log", "verbose"]).trim(), "logging verbose");
    assert_eq!(d.ikectl_ok(&["reset", "sa"]).trim(), "0 IKE SAs deleted");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one_and_a_good_one_applies() {
    let d = Daemon::start(&[policy("alpha", "198.51.100.2")]);
    std::fs::write(&d.config, "policies: [ this is not yaml\n").unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_log("reload refused, keeping the current configuration");
    assert!(
        d.log_text().contains("ikedaemon.conf:1:"),
        "the error is positioned: {}",
        d.log_text()
    );
    assert!(d.ikectl_ok(&["show", "policies"]).contains("policy alpha"));
    let good = config(&d.chroot, "", &[policy("gamma", "203.0.113.9")]);
    std::fs::write(&d.config, good).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_log("configuration reloaded: 1 policies");
    let text = d.ikectl_ok(&["show", "policies"]);
    assert!(
        text.contains("policy gamma") && !text.contains("policy alpha"),
        "{text}"
    );
    assert!(
        d.ikectl_ok(&["--json", "show", "stats"])
            .contains("\"config_rejected\":1")
    );
}

#[test]
fn killing_the_negotiator_stops_everything_with_an_error() {
    let mut d = Daemon::start(&[]);
    let kids: Vec<u32> = d.children().into_iter().map(|(p, _)| p).collect();
    let neg = d.role_pid("negotiator");
    let t0 = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(neg as i32), Signal::SIGKILL).unwrap();
    let st = d
        .wait_exit(Duration::from_secs(1))
        .expect("the parent exits within a second");
    assert!(!st.success(), "exit status {st}");
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(
        d.log_text().contains("was killed by signal 9 (SIGKILL)"),
        "{}",
        d.log_text()
    );
    // No process is left behind (a zombie waiting for PID 1 counts as gone).
    std::thread::sleep(Duration::from_millis(100));
    for p in kids {
        let state = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let state = state
            .rsplit_once(')')
            .map(|(_, r)| r.trim().chars().next())
            .unwrap_or(None);
        assert!(matches!(state, None | Some('Z')), "pid {p} still runs");
    }
    assert!(!d.socket.exists(), "the control socket is removed");
}

#[test]
fn sigterm_exits_cleanly() {
    let mut d = Daemon::start(&[]);
    d.signal(Signal::SIGTERM);
    let st = d.wait_exit(Duration::from_secs(5)).expect("exits");
    assert!(st.success(), "exit status {st}: {}", d.log_text());
    assert!(!d.socket.exists());
    let out = d.ikectl(&["show", "sa"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("daemon not running?"));
}

#[test]
fn ikectl_needs_root_or_the_socket_group() {
    let d = Daemon::start(&[]);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(ikectl_bin())
        .arg("-s")
        .arg(&d.socket)
        .args(["show", "sa"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("permission denied"),
        "{out:?}"
    );
}

#[test]
fn socket_group_members_may_use_ikectl() {
    let group = "_ikedtestg";
    if nix::unistd::Group::from_name(group)
        .ok()
        .flatten()
        .is_none()
    {
        let _ = std::process::Command::new("groupadd")
            .args(["--system", group])
            .status();
    }
    let gid = nix::unistd::Group::from_name(group)
        .unwrap()
        .expect("test group")
        .gid
        .as_raw();
    let extra = format!("socket_group: {group}\n");
    let d = Daemon::start_with(Netns::new("g"), |chroot| config(chroot, &extra, &[]));
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o660);
    assert_eq!((meta.uid(), meta.gid()), (0, gid));
    // ikectl ARGS as a member of the group (uid nobody).
    let as_member = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args([
                "--reuid=nobody",
                &format!("--regid={gid}"),
                "--clear-groups",
            ])
            .arg(ikectl_bin())
            .arg("-s")
            .arg(&d.socket)
            .args(args)
            .output()
            .unwrap()
    };
    let out = as_member(&["show", "sa"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no SAs");
    // Members may look; changing state (here a reload) needs root.
    let out = as_member(&["reload"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs root"),
        "{out:?}"
    );
    assert!(!d.log_text().contains("configuration reloaded"));
}

#[test]
fn monitor_streams_events() {
    let d = Daemon::start(&[policy("alpha", "198.51.100.2")]);
    let mut mon = std::process::Command::new(ikectl_bin())
        .arg("-s")
        .arg(&d.socket)
        .arg("monitor")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        d.ikectl_ok(&["reload"])
            .contains("configuration reloaded: 1 policies")
    );
    std::thread::sleep(Duration::from_millis(300));
    let _ = mon.kill();
    let out = mon.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("parent: monitoring; 1 policies loaded"),
        "{text}"
    );
    assert!(
        text.contains("parent: configuration reloaded: 1 policies"),
        "{text}"
    );
}

#[test]
fn without_d_it_detaches_writes_a_pid_file_and_stops_on_sigterm() {
    require_root();
    test_user();
    let ns = Netns::new("p");
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chroot = dir.path().join("empty");
    std::fs::create_dir(&chroot).unwrap();
    let pid_file = dir.path().join("ikedaemon.pid");
    let socket = dir.path().join("s.sock");
    let conf = dir.path().join("c.conf");
    std::fs::write(
        &conf,
        config(&chroot, &format!("pid_file: {}\n", pid_file.display()), &[]),
    )
    .unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let st = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(ikedaemon_bin())
        .arg("-f")
        .arg(&conf)
        .arg("-s")
        .arg(&socket)
        .status()
        .unwrap();
    assert!(st.success(), "the foreground part returns 0 once detached");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(pid_file.exists() && socket.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // If an assertion below fails, the detached daemon (ours: we read its
    // pid file) must not outlive the test.
    struct StopOnPanic(i32);
    impl Drop for StopOnPanic {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0), Signal::SIGTERM);
            }
        }
    }
    let _stop = StopOnPanic(pid as i32);
    let alive = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .map(|s| {
                !s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with('Z'))
                    .unwrap_or(true)
            })
            .unwrap_or(false)
    };
    assert!(alive(pid));
    // Detached: a new session, no controlling terminal, stdio on /dev/null.
    let sid = nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(pid as i32))).unwrap();
    assert_eq!(sid.as_raw() as u32, pid);
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/2")).unwrap(),
        std::path::Path::new("/dev/null")
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while children_of(pid).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(children_of(pid).len(), 3);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "it stops on SIGTERM");
    assert!(!pid_file.exists(), "the pid file is removed");
    assert!(!socket.exists(), "the socket is removed");
}

#[test]
fn sighup_that_changes_ports_moves_the_sockets() {
    let d = Daemon::start(&[]);
    let neg = d.role_pid("negotiator");
    assert_eq!(udp_ports(neg), [500, 4500]);
    let moved = config(&d.chroot, "ike_port: 1500\nnatt_port: 14500\n", &[]);
    std::fs::write(&d.config, moved).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_log("IKE sockets now");
    assert_eq!(udp_ports(neg), [1500, 14500], "{}", d.log_text());
    assert!(udp_ports(d.pid()).is_empty(), "the parent keeps no copy");
    // The new sockets were opened by root and work.
    let owners: Vec<u32> = udp_table(neg)
        .into_iter()
        .filter(|(p, _, _)| *p == 1500)
        .map(|(_, u, _)| u)
        .collect();
    assert_eq!(owners, [0]);
}
