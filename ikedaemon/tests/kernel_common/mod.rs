//! Helpers of the real-kernel tests (kernel_ipsec.rs): configurations for
//! the namespace pair in each address family and mode, what the kernel
//! says about an SA (`ip -s xfrm state`), outgoing-packet captures, and
//! the check that a tunnel really carries traffic over ESP.
#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Daemon, Netns, TEST_USER, run};
use crate::interop::{show_sa_json, wait_for};

pub const PSK: &str = "kernel test secret";

/// One site-to-site case: backend, mode, family, ESP proposal.
#[derive(Debug, Clone)]
pub struct Case4 {
    pub backend: &'static str,
    pub transport: bool,
    pub v6: bool,
    pub esp: &'static str,
}

impl Case4 {
    pub fn tunnel(backend: &'static str, esp: &'static str) -> Self {
        Case4 {
            backend,
            transport: false,
            v6: false,
            esp,
        }
    }
    pub fn tunnel6(backend: &'static str, esp: &'static str) -> Self {
        Case4 {
            backend,
            transport: false,
            v6: true,
            esp,
        }
    }
    pub fn transport(backend: &'static str, esp: &'static str) -> Self {
        Case4 {
            backend,
            transport: true,
            v6: false,
            esp,
        }
    }
    pub fn transport6(backend: &'static str, esp: &'static str) -> Self {
        Case4 {
            backend,
            transport: true,
            v6: true,
            esp,
        }
    }

    /// IKE addresses (A, B).
    pub fn ike(&self) -> (&'static str, &'static str) {
        if self.v6 {
            ("2001:db8::1", "2001:db8::2")
        } else {
            ("192.0.2.1", "192.0.2.2")
        }
    }

    /// Addresses the ping goes between (A, B).
    pub fn inner(&self) -> (&'static str, &'static str) {
        match (self.transport, self.v6) {
            (true, _) => self.ike(),
            (false, false) => ("198.51.100.1", "203.0.113.1"),
            (false, true) => ("2001:db8:a::1", "2001:db8:b::1"),
        }
    }

    /// The policy's selector lines for side A or B.
    fn selectors(&self, side_a: bool) -> String {
        if self.transport {
            return "    mode: transport\n".into();
        }
        let (a, b) = self.inner();
        let bits = if self.v6 { 128 } else { 32 };
        let (l, r) = if side_a { (a, b) } else { (b, a) };
        format!("    local_ts: [{l}/{bits}]\n    remote_ts: [{r}/{bits}]\n")
    }

    /// A whole configuration for side A or B.
    pub fn config(
        &self,
        chroot: &std::path::Path,
        side_a: bool,
        start: &str,
        extra: &str,
    ) -> String {
        let (a, b) = self.ike();
        let (me, peer) = if side_a { (a, b) } else { (b, a) };
        format!(
            "user: {TEST_USER}\nchroot: {}\nkernel: {}\nlisten: [\"{}\"]\npolicies:\n  - name: site\n    start: {start}\n    local: {{ address: \"{me}\" }}\n    remote: {{ address: \"{peer}\" }}\n    auth: {{ psk: \"{PSK}\" }}\n    ike: [aes128gcm16-prfsha256-x25519]\n    esp: [{}]\n{}{extra}",
            chroot.display(),
            self.backend,
            if self.v6 { "::" } else { "0.0.0.0" },
            self.esp,
            self.selectors(side_a),
        )
    }

    /// The namespace pair (as tests/interop/netns-pair makes it) with the
    /// routes and addresses this case needs.
    pub fn namespaces(&self) -> (Netns, Netns) {
        let mut extra_a = Vec::new();
        let mut extra_b = Vec::new();
        if !self.transport {
            let (ia, ib) = self.inner();
            let (ga, gb) = self.ike();
            if self.v6 {
                extra_a.push(format!("addr add {ia}/128 dev lo"));
                extra_b.push(format!("addr add {ib}/128 dev lo"));
            }
            extra_a.push(format!("route add {ib} via {gb}"));
            extra_b.push(format!("route add {ia} via {ga}"));
        }
        pair_with(&extra_a, &extra_b)
    }
}

/// `ip -batch` (one process: every process start is slow under TCG).
pub fn ip_batch(ns: Option<&Netns>, lines: &[String]) {
    use std::io::Write;
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["-n", &ns.0]);
    }
    let mut child = cmd
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip -batch");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ip -batch {lines:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Namespaces A (eth0 192.0.2.1/24, 2001:db8::1/64, lo 198.51.100.1) and
/// B (192.0.2.2, 2001:db8::2, lo 203.0.113.1) on a veth pair, plus
/// `extra_a`/`extra_b` (`ip` commands) in each.
pub fn pair_with(extra_a: &[String], extra_b: &[String]) -> (Netns, Netns) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let a = Netns(format!("ikdk-{}-{n}-a", std::process::id()));
    let b = Netns(format!("ikdk-{}-{n}-b", std::process::id()));
    ip_batch(
        None,
        &[
            format!("netns add {}", a.0),
            format!("netns add {}", b.0),
            format!(
                "link add eth0 netns {} type veth peer name eth0 netns {}",
                a.0, b.0
            ),
        ],
    );
    for (ns, me, me6, ts, extra) in [
        (
            &a,
            "192.0.2.1/24",
            "2001:db8::1/64",
            "198.51.100.1/32",
            extra_a,
        ),
        (
            &b,
            "192.0.2.2/24",
            "2001:db8::2/64",
            "203.0.113.1/32",
            extra_b,
        ),
    ] {
        let mut lines = vec![
            format!("addr add {me} dev eth0"),
            format!("addr add {me6} dev eth0 nodad"),
            format!("addr add {ts} dev lo"),
            "link set lo up".to_string(),
            "link set eth0 up".to_string(),
        ];
        lines.extend(extra.iter().cloned());
        ip_batch(Some(ns), &lines);
    }
    (a, b)
}

/// Runs a command in a namespace; panics with its output on failure.
pub fn ns_run(ns: &Netns, args: &[&str]) -> String {
    let mut full = vec!["ip", "netns", "exec", ns.0.as_str()];
    full.extend_from_slice(args);
    run(&full)
}

/// `ip -s xfrm state` in a namespace.
pub fn xfrm_state(ns: &Netns) -> String {
    run(&["ip", "-n", &ns.0, "-s", "xfrm", "state"])
}

/// `ip xfrm policy` in a namespace.
pub fn xfrm_policy(ns: &Netns) -> String {
    run(&["ip", "-n", &ns.0, "xfrm", "policy"])
}

/// The `ip -s xfrm state` block of the SA with this SPI, if any.
pub fn sa_block(state: &str, spi: u32) -> Option<String> {
    let needle = format!("spi 0x{spi:08x}");
    let at = state.find(&needle)?;
    let start = state[..at].rfind("src ").unwrap_or(0);
    let end = state[at..].find("\nsrc ").map_or(state.len(), |e| at + e);
    Some(state[start..end].to_string())
}

/// The packet counter of the SA with this SPI (`lifetime current:`).
pub fn packets(ns: &Netns, spi: u32) -> u64 {
    let state = xfrm_state(ns);
    let block = sa_block(&state, spi).unwrap_or_else(|| panic!("no SA {spi:08x} in:\n{state}"));
    let cur = block.find("lifetime current:").expect("lifetime current");
    let p = cur + block[cur..].find("(packets)").expect("packet counter");
    let n = block[..p].rsplit([' ', ',']).next().unwrap();
    n.trim()
        .parse()
        .unwrap_or_else(|_| panic!("packet counter in {block}"))
}

/// The first CHILD SA `ikectl show sa` lists once the kernel has it.
pub fn wait_child(d: &Daemon) -> serde_json::Value {
    wait_for(60, || {
        let sas = show_sa_json(d);
        sas.as_array()?
            .iter()
            .flat_map(|s| s["children"].as_array().cloned().unwrap_or_default())
            .find(|c| {
                c["installed"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("kernel"))
            })
    })
    .unwrap_or_else(|| panic!("no CHILD SA in the kernel; log:\n{}", d.log_text()))
}

pub fn spi(v: &serde_json::Value) -> u32 {
    u32::from_str_radix(v.as_str().expect("spi"), 16).expect("hex spi")
}

/// Our (inbound, outbound) SPIs of a CHILD SA from `show sa`.
pub fn spis(child: &serde_json::Value) -> (u32, u32) {
    (spi(&child["spi_in"]), spi(&child["spi_out"]))
}

/// ping from `src` to `dst` in `ns`; true when replies came.
pub fn ping(ns: &Netns, src: &str, dst: &str, count: u32) -> bool {
    let count = count.to_string();
    let mut args = vec!["ip", "netns", "exec", ns.0.as_str(), "ping"];
    if dst.contains(':') {
        args.push("-6");
    }
    args.extend(["-c", &count, "-i", "0.3", "-W", "3", "-I", src, dst]);
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Pings `count` times every `interval` seconds: (sent, answered), from
/// ping's summary line.
pub fn ping_count(ns: &Netns, src: &str, dst: &str, count: u32, interval: &str) -> (u32, u32) {
    ping_count_sized(ns, src, dst, count, interval, 56)
}

/// `ping_count` with `size` bytes of payload.
pub fn ping_count_sized(
    ns: &Netns,
    src: &str,
    dst: &str,
    count: u32,
    interval: &str,
    size: u32,
) -> (u32, u32) {
    let count = count.to_string();
    let size = size.to_string();
    let mut args = vec![
        "ip",
        "netns",
        "exec",
        ns.0.as_str(),
        "ping",
        "-q",
        "-s",
        &size,
    ];
    if dst.contains(':') {
        args.push("-6");
    }
    args.extend(["-c", &count, "-i", interval, "-W", "2", "-I", src, dst]);
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // "120 packets transmitted, 119 received, 0% packet loss, time ..."
    let line = text
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping summary: {text}"));
    let num = |what: &str| -> u32 {
        line.split(',')
            .find(|p| p.contains(what))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (num("transmitted"), num("received"))
}

/// tcpdump of the packets a namespace sends on an interface.
pub struct Capture {
    child: Option<Child>,
    file: PathBuf,
    err: PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    pub fn start(ns: &Netns, dev: &str) -> Capture {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.pcap");
        let err = dir.path().join("tcpdump.err");
        let child = Command::new("ip")
            .args([
                "netns", "exec", &ns.0, "tcpdump", "-Q", "out", "-n", "-U", "-i", dev, "-w",
            ])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .expect("tcpdump");
        let c = Capture {
            child: Some(child),
            file,
            err,
            _dir: dir,
        };
        let listening = wait_for(20, || {
            fs::read_to_string(&c.err)
                .ok()
                .filter(|s| s.contains("listening on"))
        });
        assert!(
            listening.is_some(),
            "tcpdump did not start: {:?}",
            fs::read_to_string(&c.err)
        );
        c
    }

    /// Stops the capture; the packets as `tcpdump -n -r` prints them.
    pub fn stop(mut self) -> Vec<String> {
        if let Some(mut c) = self.child.take() {
            // tcpdump under TCG is slow to drain its buffer.
            std::thread::sleep(Duration::from_millis(1500));
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let out = Command::new("tcpdump")
            .arg("-n")
            .arg("-r")
            .arg(&self.file)
            .output()
            .expect("tcpdump -r");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every captured packet is ESP, IKE (UDP 500/4500), ARP or IPv6
/// neighbour discovery; at least `min_esp` are ESP; none is a
/// cleartext ICMP echo.
pub fn assert_only_esp(lines: &[String], min_esp: usize) {
    let allowed = |l: &str| {
        l.contains(": ESP(")
            || l.contains(".500:")
            || l.contains(".4500:")
            || l.contains("isakmp")
            || l.contains("ARP,")
            || l.contains("neighbor solicitation")
            || l.contains("neighbor advertisement")
            || l.contains("router solicitation")
    };
    let bad: Vec<&String> = lines
        .iter()
        .filter(|l| !allowed(l) || l.contains("echo request") || l.contains("echo reply"))
        .collect();
    assert!(
        bad.is_empty(),
        "cleartext packets left the host:\n{}",
        bad.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let esp = lines.iter().filter(|l| l.contains(": ESP(")).count();
    assert!(
        esp >= min_esp,
        "only {esp} ESP packets captured:\n{}",
        lines.join("\n")
    );
}

/// The tunnel between the daemons in `a` and `b` carries a ping from
/// `src` (in A) to `dst` over ESP: counters, capture and SPIs checked.
pub fn assert_tunnel(da: &Daemon, db_spis: Option<(u32, u32)>, src: &str, dst: &str, dev: &str) {
    let child = wait_child(da);
    let (spi_in, spi_out) = spis(&child);
    if let Some((b_in, b_out)) = db_spis {
        assert_eq!(
            (b_in, b_out),
            (spi_out, spi_in),
            "SPIs of the two ends disagree"
        );
    }
    let state = xfrm_state(&da.ns);
    for s in [spi_in, spi_out] {
        assert!(
            sa_block(&state, s).is_some(),
            "SA {s:08x} of ikectl show sa is not in ip xfrm state:\n{state}"
        );
    }
    let (in0, out0) = (packets(&da.ns, spi_in), packets(&da.ns, spi_out));
    let cap = Capture::start(&da.ns, dev);
    let ok = ping(&da.ns, src, dst, 3);
    let lines = cap.stop();
    assert!(
        ok,
        "ping {src} -> {dst} failed; ip xfrm state:\n{}\nlog:\n{}",
        xfrm_state(&da.ns),
        da.log_text()
    );
    assert_only_esp(&lines, 3);
    let (in1, out1) = (packets(&da.ns, spi_in), packets(&da.ns, spi_out));
    assert!(
        out1 >= out0 + 3,
        "outbound SA {spi_out:08x}: packets {out0} -> {out1}"
    );
    assert!(
        in1 >= in0 + 3,
        "inbound SA {spi_in:08x}: packets {in0} -> {in1}"
    );
    // ikectl reports the kernel's counters.
    let child = wait_child(da);
    let pk = &child["packets"];
    assert!(
        pk[0].as_u64().is_some_and(|n| n >= 3) && pk[1].as_u64().is_some_and(|n| n >= 3),
        "show sa packets: {child}"
    );
}

/// The site-to-site case: B passive, A initiates; ping A → B.
pub fn site_to_site(case: &Case4) {
    let (a, b) = case.namespaces();
    let db = Daemon::start_with(b, |c| case.config(c, false, "passive", ""));
    let da = Daemon::start_with(a, |c| case.config(c, true, "active", ""));
    let cb = wait_child(&db);
    let (src, dst) = case.inner();
    assert_tunnel(&da, Some(spis(&cb)), src, dst, "eth0");
    // And the other way: B's counters rise too.
    let (b_in, b_out) = spis(&cb);
    let (i0, o0) = (packets(&db.ns, b_in), packets(&db.ns, b_out));
    assert!(ping(&db.ns, dst, src, 2), "ping {dst} -> {src} failed");
    assert!(packets(&db.ns, b_out) >= o0 + 2 && packets(&db.ns, b_in) >= i0 + 2);
}
