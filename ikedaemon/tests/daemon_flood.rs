//! A live responder under attack (issue 13), with strongSwan's charon as
//! the real peer in the other namespace:
//! - 16 IKE_SA_INIT requests spoofed with charon's address fill its
//!   half-open slots; charon still connects, through a COOKIE;
//! - bare headers replayed with those requests' SPIs from the spoofed
//!   address reflect nothing (0 bytes);
//! - 16 source addresses each run IKE initiators whose IKE_AUTH is a
//!   300 KiB message in fragments; the negotiator's memory stays bounded,
//!   charon connects again (twice) during the flood, and the half-open
//!   SAs are gone after the timeout;
//! - 200 bad IKE_AUTHs against a certificate policy: each is refused, the
//!   parent makes no AUTH of its own for any of them (a responder signs
//!   only for a verified peer), and it answers ikectl all along (the
//!   verification runs on its custody worker and in the ca process).

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "engine_common/mod.rs"]
mod engine_common;
#[path = "interop_common/mod.rs"]
mod interop;
#[path = "torture_common/mod.rs"]
mod torture;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::Daemon;
use ikedaemon::ike::engine::*;
use interop::{CHARON_CONN, Charon};
use torture::*;

fn site_config(chroot: &std::path::Path) -> String {
    responder_config(chroot).replace(
        "    local_ts: [198.51.100.1/32]\n    remote_ts: [203.0.113.1/32]\n",
        "    ike: [aes128gcm16-prfsha256-x25519]\n    esp: [aes128gcm16]\n    local_ts: [198.51.100.1/32]\n    remote_ts: [203.0.113.1/32]\n",
    )
}

fn connect(charon: &Charon, d: &Daemon) {
    let (ok, out) = charon.try_initiate_child("net");
    assert!(
        ok && out.contains("CHILD_SA net{"),
        "charon did not connect: {out}\n{}\n{}",
        charon.log(),
        d.log_text()
    );
}

#[test]
fn spoofed_lockout_replays_and_a_fragment_flood_leave_the_real_peer_connecting() {
    let (a, b) = interop::pair();
    let d = Daemon::start_with(a, site_config);
    let charon = Charon::start(&b, true, CHARON_CONN);
    std::thread::sleep(Duration::from_millis(300));
    let rss_start = rss_kib(&d);

    // Spoofed requests with charon's address (another port: the spoofer
    // does not use what comes back).
    let spoof = b.enter(|| {
        let s = UdpSocket::bind("192.0.2.2:5000").unwrap();
        s.set_nonblocking(true).unwrap();
        s
    });
    let local: SocketAddr = spoof.local_addr().unwrap();
    let mut maker = init_maker(7, EngineConfig::default());
    let spoofed: Vec<Vec<u8>> = (0..16).map(|_| valid_init(&mut maker, local)).collect();
    for m in &spoofed {
        spoof.send_to(m, RESPONDER).unwrap();
    }
    let back: Vec<String> = drain(std::slice::from_ref(&spoof), Duration::from_millis(500))
        .iter()
        .map(|(_, b)| kind_of(b))
        .collect();
    assert_eq!(
        back.iter().filter(|k| *k == "INIT").count(),
        8,
        "8 half-open slots for the address, then COOKIEs: {back:?}"
    );
    assert!(back.iter().skip(8).all(|k| k == "N(COOKIE)"), "{back:?}");
    connect(&charon, &d);
    assert!(
        charon.log().contains("N(COOKIE)"),
        "charon went through a COOKIE: {}",
        charon.log()
    );

    // Bare headers with the spoofed requests' SPIs: nothing comes back.
    for m in &spoofed {
        let mut h = m[..28].to_vec();
        h[24..28].copy_from_slice(&28u32.to_be_bytes());
        for _ in 0..5 {
            spoof.send_to(&h, RESPONDER).unwrap();
        }
    }
    let reflected: usize = drain(std::slice::from_ref(&spoof), Duration::from_secs(1))
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    assert_eq!(reflected, 0, "bytes reflected to the spoofed address");

    // The fragment flood: 16 sources, one new IKE SA each per 500 ms for
    // 20 s, each IKE_AUTH 300 KiB.
    let socks = sources(&b, 10, 16, 40500);
    let mut attackers: Vec<Attacker> = socks
        .into_iter()
        .enumerate()
        .map(|(i, s)| Attacker::new(s, 100 + i as u64))
        .collect();
    let started = Instant::now();
    let mut sent = 0usize;
    let mut peak = rss_start;
    let mut reconnected = 0;
    while started.elapsed() < Duration::from_secs(20) {
        let now = started.elapsed();
        for a in &mut attackers {
            sent += a.step(now);
        }
        peak = peak.max(rss_kib(&d));
        // The real peer connects anew twice during the flood.
        if (now > Duration::from_secs(6) && reconnected == 0)
            || (now > Duration::from_secs(13) && reconnected == 1)
        {
            charon.terminate_ike("ikd");
            connect(&charon, &d);
            reconnected += 1;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(reconnected, 2);
    eprintln!(
        "flood: {} MiB sent; negotiator RSS {rss_start} KiB at the start, peak {peak} KiB",
        sent >> 20
    );
    assert!(
        sent > 50 << 20,
        "the flood sent only {sent} bytes\n{}",
        d.log_text()
            .lines()
            .filter(|l| l.contains("192.0.2.10") && !l.contains("received IKE_SA_INIT"))
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        peak < rss_start + 64 * 1024,
        "negotiator RSS peaked at {peak} KiB (started at {rss_start})"
    );
    // After the half-open timeout nothing of the flood is left.
    std::thread::sleep(Duration::from_secs(32));
    assert_eq!(interop::stat(&d, "half_open"), 0);
    let sas = interop::show_sa_json(&d);
    assert_eq!(sas.as_array().map_or(0, Vec::len), 1, "{sas}");
}

#[test]
fn bad_ike_auths_against_a_certificate_policy_get_no_signature_and_ikectl_is_answered() {
    let (a, b) = interop::pair();
    let d = Daemon::start_with(a, |chroot| {
        let auth = make_certs(chroot.parent().unwrap());
        format!(
            "user: {}\nchroot: {}\nkernel: none\nlisten: [0.0.0.0]\npolicies:\n{}",
            common::TEST_USER,
            chroot.display(),
            cert_policy_yaml("192.0.2.1", "192.0.2.0/24", &auth)
        )
    });
    let policy = bad_cert_attacker_policy();
    let socks = sources(&b, 10, 16, 40600);
    let mut attackers: Vec<Attacker> = socks
        .into_iter()
        .enumerate()
        .map(|(i, s)| Attacker::with_policy(s, 300 + i as u64, policy.clone()))
        .collect();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    while interop::stat(&d, "peers_refused") < 200 && started.elapsed() < Duration::from_secs(90) {
        let now = started.elapsed();
        for a in &mut attackers {
            a.step(now);
        }
        // The parent answers `show flows` itself.
        let t = Instant::now();
        let out = d.ikectl(&["show", "flows"]);
        assert!(out.status.success(), "{out:?}");
        slowest = slowest.max(t.elapsed());
        probes += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = interop::stat(&d, "peers_refused");
    eprintln!(
        "{refused} bad IKE_AUTHs refused in {:.1} s; {probes} ikectl requests answered, the slowest in {} ms",
        started.elapsed().as_secs_f64(),
        slowest.as_millis()
    );
    assert!(refused >= 200, "only {refused} refused\n{}", d.log_text());
    assert_eq!(
        interop::stat(&d, "auth_made"),
        0,
        "AUTH made for unverified peers"
    );
    assert_eq!(interop::stat(&d, "peers_verified"), 0);
    assert!(
        d.log_text()
            .contains("the peer's certificate does not parse"),
        "the ca process judged them: {}",
        d.log_text()
    );
}
