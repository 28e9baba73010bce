//! A malformed-packet run against a live responder with the default
//! limits (issue 13): ~20,000 datagrams in 19 classes, made from
//! well-formed IKE_SA_INIT requests with a seeded generator and sent from
//! 32 source addresses. After each class a legitimate probe must be
//! answered (an IKE_SA_INIT response, or a COOKIE under load — never
//! silence), every answer the class drew must be of the kind the RFC says
//! (nothing at all for most), and after the half-open timeout the
//! negotiator's memory is back within 20% of where it started.

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "engine_common/mod.rs"]
mod engine_common;
#[path = "interop_common/mod.rs"]
mod interop;
#[path = "torture_common/mod.rs"]
mod torture;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::Daemon;
use ikedaemon::ike::engine::Engine;
use ikedaemon::ike::engine::rng::{Rng, SeededRng};
use ikedaemon::ike::wire::{KePayload, Message, NotifyPayload, NotifyType, Payload, PayloadType};
use torture::*;

/// What a class may draw.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// No answer at all (no reflection).
    Nothing,
    /// At least one answer, every one of these kinds.
    Only(&'static [&'static str]),
    /// Answers to unproven senders, rate-limited: at most 64 (one per
    /// source and second), every one of these kinds, maybe none.
    Limited(&'static [&'static str]),
    /// Like `Limited`, but at least one.
    LimitedSome(&'static [&'static str]),
}

/// Makes the `i`-th datagram of a class from a fresh valid request.
type Make = fn(&mut Gen, Vec<u8>, usize) -> Vec<u8>;

struct Gen {
    rng: SeededRng,
}

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        let mut b = [0u8; 8];
        self.rng.fill(&mut b);
        (u64::from_be_bytes(b) % n.max(1) as u64) as usize
    }
}

fn set_len(b: &mut [u8]) {
    let n = b.len() as u32;
    b[24..28].copy_from_slice(&n.to_be_bytes());
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Message)) -> Vec<u8> {
    let mut m = Message::decode(bytes).unwrap();
    f(&mut m);
    m.encode().unwrap()
}

fn classes() -> Vec<(&'static str, usize, Make, Expect)> {
    use Expect::*;
    vec![
        (
            "truncated below the header",
            1000,
            |g, b, _| b[..g.below(28)].to_vec(),
            Nothing,
        ),
        (
            "truncated inside the payloads",
            1000,
            |g, b, _| {
                let cut = 29 + g.below(b.len() - 30);
                b[..cut].to_vec()
            },
            Nothing,
        ),
        (
            "header length disagrees",
            1000,
            |g, mut b, _| {
                let n = (b.len() as u32).wrapping_add(1 + g.below(1000) as u32);
                b[24..28].copy_from_slice(&n.to_be_bytes());
                b
            },
            Nothing,
        ),
        (
            "payload length overruns",
            1000,
            |g, mut b, _| {
                // The first payload's length field (bytes 30-31).
                let n = 0x100 + g.below(0xfe00) as u16;
                b[30..32].copy_from_slice(&n.to_be_bytes());
                b
            },
            Nothing,
        ),
        (
            "response flag on a request",
            1000,
            |_, mut b, _| {
                b[19] |= 0x20;
                b
            },
            Nothing,
        ),
        (
            "no Initiator flag",
            1000,
            |_, mut b, _| {
                b[19] &= !0x08;
                b
            },
            Nothing,
        ),
        (
            "initiator SPI zero",
            1000,
            |_, mut b, _| {
                b[..8].fill(0);
                b
            },
            Nothing,
        ),
        (
            "message ID not zero",
            1000,
            |g, mut b, _| {
                b[20..24].copy_from_slice(&(1 + g.below(1 << 30) as u32).to_be_bytes());
                b
            },
            Nothing,
        ),
        (
            "IKEv1 version",
            1000,
            |_, mut b, _| {
                b[17] = 0x10;
                b
            },
            Nothing,
        ),
        (
            "IKEv3 version",
            1000,
            |_, mut b, _| {
                b[17] = 0x30;
                b
            },
            LimitedSome(&["N(INVAL_MAJOR)"]),
        ),
        (
            "unknown critical payload",
            1000,
            |g, b, _| {
                edit(&b, |m| {
                    m.payloads.push(Payload::Unknown {
                        kind: PayloadType(200 + g.below(50) as u8),
                        critical: true,
                        data: vec![0; g.below(64)],
                    })
                })
            },
            LimitedSome(&["N(UNSUPP_CRIT)"]),
        ),
        (
            "KE data of the wrong size",
            1000,
            |g, b, _| {
                edit(&b, |m| {
                    for p in &mut m.payloads {
                        if let Payload::Ke(k) = p {
                            let n = [0, 1, 31, 33, 200][g.below(5)];
                            *k = KePayload {
                                group: k.group,
                                data: vec![7; n],
                            };
                        }
                    }
                })
            },
            Nothing,
        ),
        (
            "KE of a group not proposed first",
            1000,
            |_, b, _| {
                edit(&b, |m| {
                    for p in &mut m.payloads {
                        if let Payload::Ke(k) = p {
                            *k = KePayload {
                                group: 19,
                                data: vec![4; 64],
                            };
                        }
                    }
                })
            },
            Only(&["N(INVAL_KE)", "N(NO_PROP)"]),
        ),
        (
            "SKF without negotiated fragmentation",
            1000,
            |g, b, _| {
                // Our SPI unknown, exchange IKE_AUTH, an SKF with garbage.
                let mut d = b[..28].to_vec();
                d[8..16].copy_from_slice(&(1 + g.below(1 << 40) as u64).to_be_bytes());
                d[16] = 53;
                d[18] = 35;
                d[20..24].copy_from_slice(&1u32.to_be_bytes());
                let body = 8 + 40;
                d.extend_from_slice(&[0, 0]);
                d.extend_from_slice(&(body as u16).to_be_bytes());
                d.extend_from_slice(&1u16.to_be_bytes());
                d.extend_from_slice(&2u16.to_be_bytes());
                d.extend(std::iter::repeat_n(0x5a, 40));
                set_len(&mut d);
                d
            },
            Nothing,
        ),
        (
            "oversized IKE_SA_INIT",
            300,
            |_, b, _| {
                edit(&b, |m| {
                    m.payloads.push(Payload::Notify(NotifyPayload::new(
                        NotifyType(40000),
                        ikedaemon::ike::wire::NotifyData::Raw(vec![0; 12_000]),
                    )))
                })
            },
            Nothing,
        ),
        (
            "random bytes",
            1000,
            |g, _, _| {
                let mut d = vec![0u8; 28 + g.below(1200)];
                g.rng.fill(&mut d);
                d
            },
            Limited(&["N(INVAL_MAJOR)"]),
        ),
        (
            "no acceptable proposal",
            1000,
            |_, b, _| {
                edit(&b, |m| {
                    for p in &mut m.payloads {
                        if let Payload::Sa(s) = p {
                            for prop in &mut s.proposals {
                                for t in &mut prop.transforms {
                                    if t.kind == ikedaemon::ike::wire::TransformType::ENCR {
                                        t.id = 3; // 3DES
                                        t.attributes.clear();
                                    }
                                }
                            }
                        }
                    }
                })
            },
            Only(&["N(NO_PROP)"]),
        ),
        (
            "valid requests from many sources (load)",
            2500,
            |_, b, _| b,
            Only(&["INIT", "N(COOKIE)"]),
        ),
        (
            "header-only replays of answered requests",
            1000,
            |_, b, _| {
                let mut d = b[..28].to_vec();
                set_len(&mut d);
                d
            },
            Nothing,
        ),
    ]
}

/// A probe from the real peer's address (another port): answered with an
/// IKE_SA_INIT response or a COOKIE.
fn probe(maker: &mut Engine, sock: &UdpSocket) -> String {
    let local = sock.local_addr().unwrap();
    sock.send_to(&valid_init(maker, local), RESPONDER).unwrap();
    let mut buf = vec![0u8; 65536];
    for _ in 0..300 {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return kind_of(&buf[..n]);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    "silence".into()
}

#[test]
fn malformed_datagrams_from_32_sources_are_survived_with_the_right_answers() {
    let (a, b) = interop::pair();
    let d = Daemon::start_with(a, responder_config);
    let socks = sources(&b, 100, 32, 40000);
    let probe_sock = b.enter(|| {
        let s = UdpSocket::bind("192.0.2.2:6000").unwrap();
        s.set_nonblocking(true).unwrap();
        s
    });
    let mut prober = init_maker(1, Default::default());
    // One probe first: the code paths a normal exchange touches are then
    // paged in, and what is measured is what the run adds.
    assert_eq!(probe(&mut prober, &probe_sock), "INIT");
    let start_rss = rss_kib(&d);
    let mut g = Gen {
        rng: SeededRng::new(20261207),
    };
    let mut maker = init_maker(2, Default::default());
    let mut answered_inits: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut total = 0;
    let mut report = Vec::new();
    for (name, count, make, expect) in classes() {
        let mut answers = Vec::new();
        for i in 0..count {
            let mut s = i % socks.len();
            let local: SocketAddr = socks[s].local_addr().unwrap();
            let valid = valid_init(&mut maker, local);
            let bytes = if name.starts_with("header-only") {
                // From the address the request came from: its SA exists.
                let (s2, b) = &answered_inits[i % answered_inits.len()];
                s = *s2;
                make(&mut g, b.clone(), i)
            } else {
                make(&mut g, valid, i)
            };
            if name.starts_with("valid requests") {
                answered_inits.push((s, bytes.clone()));
            }
            let _ = socks[s].send_to(&bytes, RESPONDER);
            total += 1;
            if i % 64 == 63 {
                answers.extend(drain(&socks, Duration::ZERO));
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        answers.extend(drain(&socks, Duration::from_millis(400)));
        let kinds: Vec<String> = answers.iter().map(|(_, b)| kind_of(b)).collect();
        let mut distinct = kinds.clone();
        distinct.sort();
        distinct.dedup();
        match expect {
            Expect::Nothing => assert!(
                kinds.is_empty(),
                "{name}: answered {} times: {distinct:?}",
                kinds.len()
            ),
            Expect::Limited(allowed) | Expect::LimitedSome(allowed) => {
                assert!(
                    !matches!(expect, Expect::LimitedSome(_)) || !kinds.is_empty(),
                    "{name}: no answer at all"
                );
                assert!(
                    kinds.len() <= 64,
                    "{name}: {} answers, not rate-limited",
                    kinds.len()
                );
                assert!(
                    distinct.iter().all(|k| allowed.contains(&k.as_str())),
                    "{name}: answers {distinct:?}, expected only {allowed:?}"
                );
            }
            Expect::Only(allowed) => {
                assert!(
                    !kinds.is_empty(),
                    "{name}: no answer at all\n{}",
                    d.ikectl_ok(&["show", "stats"])
                );
                assert!(
                    distinct.iter().all(|k| allowed.contains(&k.as_str())),
                    "{name}: answers {distinct:?}, expected only {allowed:?}"
                );
            }
        }
        let p = probe(&mut prober, &probe_sock);
        assert!(
            p == "INIT" || p == "N(COOKIE)",
            "after {name}: probe got {p}\n{}",
            d.log_text()
        );
        report.push(format!(
            "{name}: {} sent, answers {distinct:?}, probe {p}",
            count
        ));
        if name.starts_with("valid requests") {
            assert_eq!(p, "N(COOKIE)", "under load the probe gets a COOKIE");
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(total >= 19_000, "{total} datagrams");
    let peak = rss_kib(&d);
    // Half-open SAs opened under load go after 10 s, the others after 30.
    std::thread::sleep(Duration::from_secs(33));
    let end = rss_kib(&d);
    eprintln!(
        "negotiator RSS: start {start_rss} KiB, peak {peak} KiB, after the timeout {end} KiB"
    );
    assert!(
        end * 10 <= start_rss * 12,
        "RSS {end} KiB after the half-open timeout, started at {start_rss} KiB (peak {peak})"
    );
    let stats = interop::stat(&d, "half_open");
    assert_eq!(stats, 0, "half-open SAs left");
}
