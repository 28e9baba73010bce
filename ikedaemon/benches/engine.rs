//! Benchmark: two engines in one process, handshakes through memory (no
//! sockets, no processes): handshakes per second and CPU per handshake for
//! PSK+X25519 and ECDSA-P256+X25519 (IKE aes128-sha256, one ESP CHILD SA),
//! the responder's share measured separately, and the heap each
//! established IKE SA (with its CHILD SA) keeps in the responder engine.
//!
//! Run: `cargo bench -p ikedaemon --bench engine` (`-- --quick` for a short
//! run). The "parent" here is in-process: it MACs or signs and verifies
//! exactly as the daemon's parent does, so its cost is included.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use ikedaemon::ike::crypto::auth_octets::{psk_auth, psk_verify};
use ikedaemon::ike::crypto::prf::PrfAlg;
use ikedaemon::ike::crypto::sig_algid::HashAlg;
use ikedaemon::ike::crypto::sig_keys::{EcCurve, KeyKind, PrivateKey, PublicKey};
use ikedaemon::ike::crypto::sign::{RsaPadding, choose_scheme, sign, verify};
use ikedaemon::ike::engine::*;
use ikedaemon::ike::proposal::{ProposalConfig, SaProtocol};
use ikedaemon::ike::wire::{AuthMethod, AuthPayload, TsRange};

/// Counts live heap bytes.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

enum Auth {
    Psk,
    Ecdsa { mine: PrivateKey, peer: PublicKey },
}

fn answer(auth: &Auth, r: ParentRequest) -> ParentAnswer {
    static NEXT_SPI: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0x100);
    let next_spi = || NEXT_SPI.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let make = |prf: u16, o: &[u8]| match auth {
        Auth::Psk => AuthPayload {
            method: AuthMethod::SHARED_KEY_MIC,
            data: psk_auth(PrfAlg::from_id(prf).unwrap(), b"bench psk", o)
                .unwrap()
                .to_vec(),
        },
        Auth::Ecdsa { mine, .. } => {
            let s = choose_scheme(mine, &[HashAlg::Sha256], RsaPadding::Pkcs1v15).unwrap();
            AuthPayload {
                method: AuthMethod(s.auth_method()),
                data: sign(s, mine, o).unwrap(),
            }
        }
    };
    match r {
        ParentRequest::Sign {
            sa,
            request,
            reserve_spi,
            octets,
            prf,
            ..
        } => ParentAnswer::Signed {
            sa,
            request,
            auth: Ok(make(prf, &octets)),
            spi_in: reserve_spi.then(|| Ok(next_spi())),
        },
        ParentRequest::Authenticate {
            sa,
            request,
            octets,
            auth: theirs,
            sign: ours,
            method,
            prf,
            child,
            ..
        } => {
            let verdict = match auth {
                Auth::Psk => psk_verify(
                    PrfAlg::from_id(prf).unwrap(),
                    b"bench psk",
                    &octets,
                    &theirs,
                )
                .map_err(|e| e.to_string()),
                Auth::Ecdsa { peer, .. } => {
                    verify(method.0, &theirs, peer, &octets).map_err(|e| e.to_string())
                }
            };
            ParentAnswer::Authenticated {
                sa,
                request,
                auth: ours.map(|o| Ok(make(prf, &o))),
                child: child
                    .filter(|_| verdict.is_ok())
                    .map(|c| Ok(if c.spi_in == 0 { next_spi() } else { c.spi_in })),
                verdict,
            }
        }
        ParentRequest::ReserveSpi { sa, request, .. } => ParentAnswer::Reserved {
            sa,
            request,
            spi_in: Ok(next_spi()),
        },
        ParentRequest::InstallChild {
            sa, request, child, ..
        } => ParentAnswer::Installed {
            sa,
            request,
            child: Ok(if child.spi_in == 0 {
                next_spi()
            } else {
                child.spi_in
            }),
        },
    }
}

fn policy(peer: &str, local_ts: &str, remote_ts: &str) -> EnginePolicy {
    let r = |s: &str| {
        TsSpec::Range(TsRange {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start: s.parse().unwrap(),
            end: s.parse().unwrap(),
        })
    };
    EnginePolicy {
        name: "bench".into(),
        local_id: None,
        remote_id: None,
        auth_class: 0,
        remote: RemoteMatch::Any,
        remote_addr: Some(peer.parse().unwrap()),
        ike: vec![ProposalConfig::parse("aes128-sha256-x25519", SaProtocol::Ike).unwrap()],
        esp: vec![ProposalConfig::parse("aes128gcm16", SaProtocol::Esp).unwrap()],
        local_ts: vec![r(local_ts)],
        remote_ts: vec![r(remote_ts)],
        transport: false,
        certs: Vec::new(),
        certreq: Vec::new(),
        dpd: None,
        childless: Default::default(),
        ike_rekey: None,
        ike_reauth: None,
        ike_expire: None,
        child_expire: None,
    }
}

/// One handshake; returns the time spent in the responder (engine + its
/// parent work).
fn handshake(
    a: &mut Engine,
    b: &mut Engine,
    auth_a: &Auth,
    auth_b: &Auth,
    peer_port: u16,
) -> Duration {
    let a_addr: SocketAddr = format!("192.0.2.1:{peer_port}").parse().unwrap();
    let mut responder = Duration::ZERO;
    let mut queue = vec![(true, a.initiate("bench", a_addr, Duration::ZERO))];
    while let Some((from_a, out)) = queue.pop() {
        for r in out.parent {
            if from_a {
                let ans = answer(auth_a, r);
                queue.push((true, a.parent_answer(ans, Duration::ZERO)));
            } else {
                let t = Instant::now();
                let ans = answer(auth_b, r);
                let o = b.parent_answer(ans, Duration::ZERO);
                responder += t.elapsed();
                queue.push((false, o));
            }
        }
        for d in out.send {
            let got = Datagram {
                local: d.remote,
                remote: d.local,
                natt: d.natt,
                bytes: d.bytes,
            };
            if from_a {
                let t = Instant::now();
                let o = b.datagram(got, Duration::ZERO);
                responder += t.elapsed();
                queue.push((false, o));
            } else {
                queue.push((true, a.datagram(got, Duration::ZERO)));
            }
        }
        black_box(out.events);
    }
    responder
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: u32 = if quick { 200 } else { 2000 };
    let ka = PrivateKey::generate(KeyKind::Ec(EcCurve::P256)).unwrap();
    let kb = PrivateKey::generate(KeyKind::Ec(EcCurve::P256)).unwrap();
    let (pa, pb) = (ka.public_key().unwrap(), kb.public_key().unwrap());
    let suites = [
        ("PSK + X25519", Auth::Psk, Auth::Psk),
        (
            "ECDSA-P256 + X25519",
            Auth::Ecdsa { mine: ka, peer: pb },
            Auth::Ecdsa { mine: kb, peer: pa },
        ),
    ];
    println!(
        "two engines in one process, {n} handshakes each (IKE aes128-sha256-x25519, ESP aes128gcm16):"
    );
    println!(
        "  {:<22} {:>12} {:>14} {:>16} {:>18}",
        "suite", "handshakes/s", "us/handshake", "responder us", "heap/IKE SA (B)"
    );
    for (name, auth_a, auth_b) in &suites {
        let mut a = Engine::new(
            EngineConfig::default(),
            vec![policy("192.0.2.2", "198.51.100.1", "203.0.113.1")],
            Box::new(OsRng),
        );
        let mut b = Engine::new(
            EngineConfig::default(),
            vec![policy("192.0.2.1", "203.0.113.1", "198.51.100.1")],
            Box::new(OsRng),
        );
        // Warm-up, and a check that it really establishes.
        handshake(&mut a, &mut b, auth_a, auth_b, 500);
        assert_eq!(b.summaries()[0].state, "ESTABLISHED", "{name}");
        a.delete_all();
        b.delete_all();
        let heap0 = LIVE.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let mut resp = Duration::ZERO;
        for i in 0..n {
            // Distinct source ports: each handshake is a new peer.
            resp += handshake(&mut a, &mut b, auth_a, auth_b, 1024 + (i % 60000) as u16);
        }
        let total = t0.elapsed();
        let est = b
            .summaries()
            .iter()
            .filter(|s| s.state == "ESTABLISHED")
            .count();
        assert_eq!(est, n as usize, "{name}: all established");
        // Heap held by both engines for n SAs each; the responder's share
        // is half (the two sides keep the same state).
        let heap = (LIVE.load(Ordering::Relaxed) - heap0) as f64 / f64::from(n) / 2.0;
        println!(
            "  {:<22} {:>12.0} {:>14.1} {:>16.1} {:>18.0}",
            name,
            f64::from(n) / total.as_secs_f64(),
            total.as_secs_f64() * 1e6 / f64::from(n),
            resp.as_secs_f64() * 1e6 / f64::from(n),
            heap
        );
    }
    println!(
        "(both sides' CPU in us/handshake; responder us = the responder engine plus its parent's MAC/signature work)"
    );
}
