//! PF_KEY against a real kernel: REGISTER, GETSPI, ADD/UPDATE/GET/DUMP/
//! DELETE of ESP SAs, SPDADD/SPDDUMP/SPDDELETE of transport and tunnel
//! policies, FLUSH/SPDFLUSH, soft EXPIRE, and reply matching with another
//! process's broadcasts, each cross-checked with `ip xfrm`.
//!
//! Runs on the running kernel when it has PF_KEY; otherwise (as on the
//! build machines) it re-runs itself inside the qemu VM of `tests/vm`.
//! Custom harness: prints `test NAME ... ok|FAILED` and a closing
//! `kernel: N passed, M failed` line.

use std::net::{IpAddr, SocketAddr};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use pfkey::ext::{Address, IpsecRequest, Key, Lifetime, Policy, Sa, Sa2, SpiRange, Supported};
use pfkey::{
    AuthAlgorithm, Dialect, Direction, Disposition, EncryptAlgorithm, ExtBody, ExtKind, Level,
    Message, MessageType, Mode, PfKeySocket, PolicyType, SaState, SaType, SocketError, show,
};

type TestResult = Result<(), String>;
type TestFn = fn() -> TestResult;

const D: Dialect = Dialect::NATIVE;

fn main() -> ExitCode {
    // Helper role: another process adding an SA, for the reply-matching test.
    if let Ok(spi) = std::env::var("PFKEY_TEST_ADD_SPI") {
        return helper_add(&spi);
    }
    match PfKeySocket::open() {
        Ok(_) => run_all(),
        Err(SocketError::NoPfKey { .. }) if !testkit::vm::in_vm() => {
            testkit::vm::rerun_self_in_vm(300)
        }
        Err(e) => {
            eprintln!("kernel: cannot open PF_KEY: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_all() -> ExitCode {
    let tests: &[(&str, TestFn)] = &[
        ("register_lists_algorithms", register_lists_algorithms),
        ("getspi_update_delete_larval", getspi_update_delete_larval),
        (
            "add_get_dump_delete_aes_cbc_sha512",
            add_get_dump_delete_aes_cbc_sha512,
        ),
        ("spd_transport_and_tunnel", spd_transport_and_tunnel),
        ("flush_and_spdflush", flush_and_spdflush),
        ("socket_policies_in_spd_dump", socket_policies_in_spd_dump),
        ("soft_expire_is_decoded", soft_expire_is_decoded),
        (
            "other_process_replies_are_foreign",
            other_process_replies_are_foreign,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|p| name.contains(p.as_str())) {
            continue;
        }
        let _ = flush_all();
        let t0 = Instant::now();
        match f() {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.1}s)", t0.elapsed().as_secs_f64());
            }
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED\n    {e}");
            }
        }
    }
    let _ = flush_all();
    println!("\nkernel: {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---- helpers -------------------------------------------------------------

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check(cond: bool, what: impl FnOnce() -> String) -> TestResult {
    if cond { Ok(()) } else { Err(what()) }
}

fn sock() -> Result<PfKeySocket, String> {
    PfKeySocket::open().map_err(|e| e.to_string())
}

fn addr(s: &str) -> SocketAddr {
    SocketAddr::new(s.parse::<IpAddr>().unwrap(), 0)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn auth(a: AuthAlgorithm) -> u8 {
    a.to_wire(D).unwrap()
}

fn enc(e: EncryptAlgorithm) -> u8 {
    e.to_wire(D).unwrap()
}

fn flush_all() -> Result<(), String> {
    let mut s = sock()?;
    s.request(Message::new(MessageType::Flush, SaType::Unspec))
        .map_err(|e| e.to_string())?;
    s.request(Message::new(MessageType::XSpdFlush, SaType::Unspec))
        .map_err(|e| e.to_string())?;
    Ok(())
}

struct SaSpec<'a> {
    spi: u32,
    src: &'a str,
    dst: &'a str,
    auth: AuthAlgorithm,
    auth_key: Vec<u8>,
    enc: EncryptAlgorithm,
    enc_key: Vec<u8>,
    reqid: u32,
    mode: Mode,
}

fn sa_message(t: MessageType, s: &SaSpec<'_>) -> Result<Message, String> {
    let m = Message::new(t, SaType::Esp)
        .with(
            ExtKind::Sa,
            ExtBody::Sa(Sa {
                spi: s.spi,
                replay: 32,
                state: SaState::Mature,
                auth: auth(s.auth),
                encrypt: enc(s.enc),
                flags: 0,
            }),
        )
        .and_then(|m| {
            m.with(
                ExtKind::Sa2,
                ExtBody::Sa2(Sa2 {
                    mode: s.mode,
                    sequence: 0,
                    reqid: s.reqid,
                }),
            )
        })
        .and_then(|m| {
            m.with(
                ExtKind::AddressSrc,
                ExtBody::Address(Address::host(addr(s.src), D)),
            )
        })
        .and_then(|m| {
            m.with(
                ExtKind::AddressDst,
                ExtBody::Address(Address::host(addr(s.dst), D)),
            )
        })
        .and_then(|m| m.with(ExtKind::KeyAuth, ExtBody::Key(Key::new(&s.auth_key))))
        .and_then(|m| m.with(ExtKind::KeyEncrypt, ExtBody::Key(Key::new(&s.enc_key))))
        .map_err(|e| e.to_string())?;
    Ok(m)
}

fn sa_id_message(t: MessageType, spi: u32, src: &str, dst: &str) -> Message {
    Message::new(t, SaType::Esp)
        .with(
            ExtKind::Sa,
            ExtBody::Sa(Sa {
                spi,
                replay: 0,
                state: SaState::Mature,
                auth: 0,
                encrypt: 0,
                flags: 0,
            }),
        )
        .and_then(|m| {
            m.with(
                ExtKind::AddressSrc,
                ExtBody::Address(Address::host(addr(src), D)),
            )
        })
        .and_then(|m| {
            m.with(
                ExtKind::AddressDst,
                ExtBody::Address(Address::host(addr(dst), D)),
            )
        })
        .expect("valid message")
}

fn key_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

// ---- tests ---------------------------------------------------------------

fn register_lists_algorithms() -> TestResult {
    let mut s = sock()?;
    let reply = s.register(SaType::Esp).map_err(|e| e.to_string())?;
    let list = |k| match reply.get(k) {
        Some(ExtBody::Supported(Supported { algs })) => {
            algs.iter().map(|a| a.id).collect::<Vec<_>>()
        }
        _ => Vec::new(),
    };
    let auths = list(ExtKind::SupportedAuth);
    let encs = list(ExtKind::SupportedEncrypt);
    let names = |ids: &[u8], f: fn(Dialect, u8) -> String| {
        ids.iter().map(|&i| f(D, i)).collect::<Vec<_>>().join(" ")
    };
    println!(
        "    REGISTER esp: auth [{}]",
        names(&auths, show::auth_name)
    );
    println!(
        "    REGISTER esp: encrypt [{}]",
        names(&encs, show::encrypt_name)
    );
    for a in [
        AuthAlgorithm::HmacSha1,
        AuthAlgorithm::HmacSha2_256,
        AuthAlgorithm::HmacSha2_512,
    ] {
        check(auths.contains(&auth(a)), || {
            format!("{a:?} not announced: {auths:?}")
        })?;
    }
    check(encs.contains(&enc(EncryptAlgorithm::AesCbc)), || {
        format!("aes-cbc not announced: {encs:?}")
    })?;
    // Linux af_key cannot express AEAD: GCM is never announced.
    if D == Dialect::Linux {
        check(!encs.contains(&enc(EncryptAlgorithm::AesGcm16)), || {
            "af_key announced AES-GCM".into()
        })?;
    }
    let ah = s.register(SaType::Ah).map_err(|e| e.to_string())?;
    check(ah.get(ExtKind::SupportedAuth).is_some(), || {
        "REGISTER ah: no supported auth list".into()
    })
}

fn getspi_update_delete_larval() -> TestResult {
    let mut s = sock()?;
    let (lo, hi) = (0xc0de_0000u32, 0xc0de_00ffu32);
    let req = Message::new(MessageType::GetSpi, SaType::Esp)
        .with(
            ExtKind::Sa2,
            ExtBody::Sa2(Sa2 {
                mode: Mode::Tunnel,
                sequence: 0,
                reqid: 100,
            }),
        )
        .and_then(|m| {
            m.with(
                ExtKind::AddressSrc,
                ExtBody::Address(Address::host(addr("192.0.2.1"), D)),
            )
        })
        .and_then(|m| {
            m.with(
                ExtKind::AddressDst,
                ExtBody::Address(Address::host(addr("192.0.2.2"), D)),
            )
        })
        .and_then(|m| {
            m.with(
                ExtKind::SpiRange,
                ExtBody::SpiRange(SpiRange { min: lo, max: hi }),
            )
        })
        .map_err(|e| e.to_string())?;
    // The caller chooses the seq (an SA for an ACQUIRE must carry its seq).
    let mut req = req;
    req.seq = 0x5eed;
    let reply = s.request(req).map_err(|e| e.to_string())?;
    check(reply.seq == 0x5eed, || {
        format!("GETSPI reply seq {:#x}, sent 0x5eed", reply.seq)
    })?;
    let spi = reply.sa().ok_or("GETSPI reply without SA")?.spi;
    println!("    GETSPI allocated spi 0x{spi:08x} in [0x{lo:08x}, 0x{hi:08x}]");
    check((lo..=hi).contains(&spi), || {
        format!("spi 0x{spi:08x} outside the range")
    })?;
    let state = ip(&["xfrm", "state"])?;
    check(state.contains(&format!("spi 0x{spi:08x}")), || {
        format!("larval SA not in ip xfrm state:\n{state}")
    })?;

    let spec = SaSpec {
        spi,
        src: "192.0.2.1",
        dst: "192.0.2.2",
        auth: AuthAlgorithm::HmacSha1,
        auth_key: key_bytes(20, 0x40),
        enc: EncryptAlgorithm::AesCbc,
        enc_key: key_bytes(16, 0x10),
        reqid: 100,
        mode: Mode::Tunnel,
    };
    s.request(sa_message(MessageType::Update, &spec)?)
        .map_err(|e| format!("UPDATE: {e}"))?;
    let state = ip(&["xfrm", "state"])?;
    println!("    ip xfrm state after UPDATE:\n{}", indent(&state));
    for want in [
        format!("spi 0x{spi:08x} reqid 100 mode tunnel"),
        format!("auth-trunc hmac(sha1) 0x{} 96", hex(&spec.auth_key)),
        format!("enc cbc(aes) 0x{}", hex(&spec.enc_key)),
    ] {
        check(state.contains(&want), || {
            format!("ip xfrm state lacks {want:?}")
        })?;
    }
    let got = s
        .request(sa_id_message(
            MessageType::Get,
            spi,
            "192.0.2.1",
            "192.0.2.2",
        ))
        .map_err(|e| e.to_string())?;
    check(
        got.sa().map(|a| (a.state, a.auth, a.encrypt))
            == Some((SaState::Mature, auth(spec.auth), enc(spec.enc))),
        || format!("GET after UPDATE: {:?}", got.sa()),
    )?;
    check(
        got.key(ExtKind::KeyAuth).map(|k| k.data.to_vec()) == Some(spec.auth_key.clone())
            && got.key(ExtKind::KeyEncrypt).map(|k| k.data.to_vec()) == Some(spec.enc_key.clone()),
        || "GET after UPDATE: keys differ".into(),
    )?;
    let dump = s.dump(SaType::Esp).map_err(|e| e.to_string())?;
    check(
        dump.iter().any(|m| m.sa().map(|a| a.spi) == Some(spi)),
        || "DUMP lacks the updated SA".into(),
    )?;
    s.request(sa_id_message(
        MessageType::Delete,
        spi,
        "192.0.2.1",
        "192.0.2.2",
    ))
    .map_err(|e| format!("DELETE: {e}"))?;
    let state = ip(&["xfrm", "state"])?;
    check(!state.contains(&format!("spi 0x{spi:08x}")), || {
        format!("SA still present after DELETE:\n{state}")
    })
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("      {l}\n")).collect()
}

fn add_get_dump_delete_aes_cbc_sha512() -> TestResult {
    let mut s = sock()?;
    let spec = SaSpec {
        spi: 0x0000_1234,
        src: "192.0.2.1",
        dst: "192.0.2.2",
        auth: AuthAlgorithm::HmacSha2_512,
        auth_key: key_bytes(64, 0x80),
        enc: EncryptAlgorithm::AesCbc,
        enc_key: key_bytes(32, 0x01),
        reqid: 7,
        mode: Mode::Transport,
    };
    s.request(sa_message(MessageType::Add, &spec)?)
        .map_err(|e| format!("ADD: {e}"))?;
    let state = ip(&["xfrm", "state"])?;
    println!("    ip xfrm state after ADD:\n{}", indent(&state));
    for want in [
        "src 192.0.2.1 dst 192.0.2.2".to_string(),
        "proto esp spi 0x00001234 reqid 7 mode transport".to_string(),
        format!("auth-trunc hmac(sha512) 0x{} 256", hex(&spec.auth_key)),
        format!("enc cbc(aes) 0x{}", hex(&spec.enc_key)),
    ] {
        check(state.contains(&want), || {
            format!("ip xfrm state lacks {want:?}")
        })?;
    }
    // A second ADD of the same SA is refused with EEXIST.
    match s.request(sa_message(MessageType::Add, &spec)?) {
        Err(e) if e.kernel_errno() == Some(libc_eexist()) => {}
        other => return Err(format!("duplicate ADD: expected EEXIST, got {other:?}")),
    }
    let got = s
        .request(sa_id_message(
            MessageType::Get,
            0x1234,
            "192.0.2.1",
            "192.0.2.2",
        ))
        .map_err(|e| e.to_string())?;
    let sa = got.sa().ok_or("GET reply without SA")?;
    check(
        sa.spi == 0x1234 && sa.auth == auth(spec.auth) && sa.encrypt == enc(spec.enc),
        || format!("GET SA {sa:?}"),
    )?;
    check(
        got.key(ExtKind::KeyAuth).map(|k| k.data.to_vec()) == Some(spec.auth_key.clone()),
        || "GET auth key differs".into(),
    )?;
    check(
        got.key(ExtKind::KeyEncrypt).map(|k| k.data.to_vec()) == Some(spec.enc_key.clone()),
        || "GET enc key differs".into(),
    )?;
    check(
        got.sa2().map(|x| (x.mode, x.reqid)) == Some((Mode::Transport, 7)),
        || format!("GET sa2 {:?}", got.sa2()),
    )?;
    let dump = s.dump(SaType::Esp).map_err(|e| e.to_string())?;
    println!(
        "    SADB_DUMP:\n{}",
        indent(
            &dump
                .iter()
                .map(|m| show::sa_entry(m, D, false))
                .collect::<String>()
        )
    );
    check(
        dump.iter().any(|m| m.sa().map(|a| a.spi) == Some(0x1234)),
        || "DUMP lacks the SA".into(),
    )?;
    s.request(sa_id_message(
        MessageType::Delete,
        0x1234,
        "192.0.2.1",
        "192.0.2.2",
    ))
    .map_err(|e| format!("DELETE: {e}"))?;
    let state = ip(&["xfrm", "state"])?;
    check(!state.contains("spi 0x00001234"), || {
        format!("SA still present after DELETE:\n{state}")
    })?;
    let dump = s.dump(SaType::Esp).map_err(|e| e.to_string())?;
    check(dump.is_empty(), || {
        format!("DUMP not empty after DELETE: {} records", dump.len())
    })
}

fn libc_eexist() -> i32 {
    17
}

fn policy_message(
    t: MessageType,
    src: (&str, u8),
    dst: (&str, u8),
    dir: Direction,
    request: Option<IpsecRequest>,
) -> Result<Message, String> {
    let sel = |(a, p): (&str, u8)| {
        ExtBody::Address(Address {
            proto: 255,
            prefix_len: p,
            addr: addr(a),
        })
    };
    let mut m = Message::new(t, SaType::Unspec)
        .with(ExtKind::AddressSrc, sel(src))
        .and_then(|m| m.with(ExtKind::AddressDst, sel(dst)))
        .map_err(|e| e.to_string())?;
    if let Some(r) = request {
        m.push(
            ExtKind::Policy,
            ExtBody::Policy(Policy {
                policy_type: PolicyType::Ipsec,
                dir,
                scope: 0,
                id: 0,
                priority: 0,
                requests: vec![r],
            }),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(m)
}

fn spd_transport_and_tunnel() -> TestResult {
    let mut s = sock()?;
    let transport = IpsecRequest {
        proto: 50,
        mode: Mode::Transport,
        level: Level::Unique,
        reqid: 200,
        tunnel: None,
    };
    let tunnel = IpsecRequest {
        proto: 50,
        mode: Mode::Tunnel,
        level: Level::Unique,
        reqid: 201,
        tunnel: Some((addr("203.0.113.1"), addr("203.0.113.2"))),
    };
    let add_t = policy_message(
        MessageType::XSpdAdd,
        ("192.0.2.1", 32),
        ("192.0.2.2", 32),
        Direction::Outbound,
        Some(transport),
    )?;
    let add_u = policy_message(
        MessageType::XSpdAdd,
        ("192.0.2.0", 24),
        ("198.51.100.0", 24),
        Direction::Outbound,
        Some(tunnel),
    )?;
    s.request(add_t)
        .map_err(|e| format!("SPDADD transport: {e}"))?;
    s.request(add_u)
        .map_err(|e| format!("SPDADD tunnel: {e}"))?;
    let pol = ip(&["xfrm", "policy"])?;
    println!("    ip xfrm policy after SPDADD:\n{}", indent(&pol));
    for want in [
        "src 192.0.2.1/32 dst 192.0.2.2/32",
        "proto esp reqid 200 mode transport",
        "src 192.0.2.0/24 dst 198.51.100.0/24",
        "tmpl src 203.0.113.1 dst 203.0.113.2",
        "proto esp reqid 201 mode tunnel",
    ] {
        check(pol.contains(want), || {
            format!("ip xfrm policy lacks {want:?}")
        })?;
    }
    let dump = s.spd_dump().map_err(|e| e.to_string())?;
    println!(
        "    SADB_X_SPDDUMP:\n{}",
        indent(
            &dump
                .iter()
                .map(|m| show::policy_entry(m, D))
                .collect::<String>()
        )
    );
    check(dump.len() == 2, || {
        format!("SPDDUMP gave {} records, expected 2", dump.len())
    })?;
    let policy_of = |m: &Message| match m.get(ExtKind::Policy) {
        Some(ExtBody::Policy(p)) => Some(p.clone()),
        _ => None,
    };
    let tun = dump
        .iter()
        .find(|m| m.address(ExtKind::AddressSrc).map(|a| a.prefix_len) == Some(24))
        .and_then(policy_of)
        .ok_or("SPDDUMP lacks the tunnel policy")?;
    let r = tun
        .requests
        .first()
        .ok_or("tunnel policy without request")?;
    check(
        r.mode == Mode::Tunnel
            && r.reqid == 201
            && r.tunnel == Some((addr("203.0.113.1"), addr("203.0.113.2"))),
        || format!("tunnel request read back as {r:?}"),
    )?;
    // Delete the transport policy by selector, the tunnel policy by id.
    let del = policy_message(
        MessageType::XSpdDelete,
        ("192.0.2.1", 32),
        ("192.0.2.2", 32),
        Direction::Outbound,
        Some(IpsecRequest {
            proto: 50,
            mode: Mode::Transport,
            level: Level::Unique,
            reqid: 200,
            tunnel: None,
        }),
    )?;
    s.request(del).map_err(|e| format!("SPDDELETE: {e}"))?;
    let del2 = Message::new(MessageType::XSpdDelete2, SaType::Unspec)
        .with(
            ExtKind::Policy,
            ExtBody::Policy(Policy {
                requests: Vec::new(),
                ..tun.clone()
            }),
        )
        .map_err(|e| e.to_string())?;
    s.request(del2)
        .map_err(|e| format!("SPDDELETE2 id {}: {e}", tun.id))?;
    let pol = ip(&["xfrm", "policy"])?;
    check(pol.trim().is_empty(), || {
        format!("policies left after delete:\n{pol}")
    })?;
    let dump = s.spd_dump().map_err(|e| e.to_string())?;
    check(dump.is_empty(), || {
        format!("SPDDUMP not empty: {} records", dump.len())
    })
}

fn flush_and_spdflush() -> TestResult {
    let mut s = sock()?;
    for spi in [0x2001u32, 0x2002] {
        let spec = SaSpec {
            spi,
            src: "198.51.100.1",
            dst: "198.51.100.2",
            auth: AuthAlgorithm::HmacSha1,
            auth_key: key_bytes(20, 3),
            enc: EncryptAlgorithm::AesCbc,
            enc_key: key_bytes(16, 9),
            reqid: 0,
            mode: Mode::Transport,
        };
        s.request(sa_message(MessageType::Add, &spec)?)
            .map_err(|e| e.to_string())?;
    }
    let t = IpsecRequest {
        proto: 50,
        mode: Mode::Transport,
        level: Level::Require,
        reqid: 0,
        tunnel: None,
    };
    s.request(policy_message(
        MessageType::XSpdAdd,
        ("198.51.100.1", 32),
        ("198.51.100.2", 32),
        Direction::Outbound,
        Some(t),
    )?)
    .map_err(|e| e.to_string())?;
    check(
        s.dump(SaType::Unspec).map_err(|e| e.to_string())?.len() == 2,
        || "expected 2 SAs before FLUSH".into(),
    )?;
    s.request(Message::new(MessageType::Flush, SaType::Unspec))
        .map_err(|e| format!("FLUSH: {e}"))?;
    s.request(Message::new(MessageType::XSpdFlush, SaType::Unspec))
        .map_err(|e| format!("SPDFLUSH: {e}"))?;
    check(
        s.dump(SaType::Unspec)
            .map_err(|e| e.to_string())?
            .is_empty(),
        || "SAD not empty after FLUSH".into(),
    )?;
    check(s.spd_dump().map_err(|e| e.to_string())?.is_empty(), || {
        "SPD not empty after SPDFLUSH".into()
    })?;
    let state = ip(&["xfrm", "state"])?;
    let pol = ip(&["xfrm", "policy"])?;
    check(state.trim().is_empty() && pol.trim().is_empty(), || {
        format!("ip xfrm not empty:\n{state}\n{pol}")
    })
}

fn soft_expire_is_decoded() -> TestResult {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    use std::os::fd::AsRawFd;

    let mut s = sock()?;
    s.register(SaType::Esp).map_err(|e| e.to_string())?;
    let spec = SaSpec {
        spi: 0x3003,
        src: "203.0.113.5",
        dst: "203.0.113.6",
        auth: AuthAlgorithm::HmacSha2_384,
        auth_key: key_bytes(48, 5),
        enc: EncryptAlgorithm::AesCbc,
        enc_key: key_bytes(16, 6),
        reqid: 0,
        mode: Mode::Transport,
    };
    let mut add = sa_message(MessageType::Add, &spec)?;
    add.push(
        ExtKind::LifetimeSoft,
        ExtBody::Lifetime(Lifetime {
            addtime: 2,
            ..Lifetime::default()
        }),
    )
    .and_then(|_| {
        add.push(
            ExtKind::LifetimeHard,
            ExtBody::Lifetime(Lifetime {
                addtime: 30,
                ..Lifetime::default()
            }),
        )
    })
    .map_err(|e| e.to_string())?;
    s.request(add).map_err(|e| format!("ADD: {e}"))?;
    let state = ip(&["xfrm", "state"])?;
    check(state.contains("spi 0x00003003"), || {
        format!("SA not installed:\n{state}")
    })?;

    s.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let fd = s.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), Token(0), Interest::READABLE)
        .map_err(|e| e.to_string())?;
    let mut events = Events::with_capacity(8);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(15);
    while Instant::now() < deadline {
        poll.poll(&mut events, Some(Duration::from_millis(500)))
            .map_err(|e| e.to_string())?;
        while let Some(inc) = s.recv().map_err(|e| e.to_string())? {
            if inc.msg.msg_type != MessageType::Expire {
                continue;
            }
            check(inc.disposition == Disposition::Event, || {
                format!("EXPIRE classified {:?}", inc.disposition)
            })?;
            let sa = inc.msg.sa().ok_or("EXPIRE without SA")?;
            check(sa.spi == 0x3003, || {
                format!("EXPIRE for spi 0x{:x}", sa.spi)
            })?;
            let soft = inc
                .msg
                .lifetime(ExtKind::LifetimeSoft)
                .ok_or("soft EXPIRE without soft lifetime")?;
            check(soft.addtime == 2, || format!("soft lifetime {soft:?}"))?;
            check(inc.msg.lifetime(ExtKind::LifetimeHard).is_none(), || {
                "soft EXPIRE carries a hard lifetime".into()
            })?;
            println!(
                "    SADB_EXPIRE (soft) for spi 0x{:08x} after {:.1}s via mio",
                sa.spi,
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
    }
    Err("no SADB_EXPIRE within 15 s".into())
}

/// In the helper process: add one SA with the given SPI and exit.
fn helper_add(spi: &str) -> ExitCode {
    let spi = u32::from_str_radix(spi, 16).unwrap_or(0x4004);
    let spec = SaSpec {
        spi,
        src: "192.0.2.10",
        dst: "192.0.2.11",
        auth: AuthAlgorithm::HmacSha1,
        auth_key: key_bytes(20, 1),
        enc: EncryptAlgorithm::AesCbc,
        enc_key: key_bytes(16, 2),
        reqid: 0,
        mode: Mode::Transport,
    };
    let r = sock().and_then(|mut s| {
        s.request(sa_message(MessageType::Add, &spec)?)
            .map_err(|e| e.to_string())
    });
    match r {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helper: {e}");
            ExitCode::FAILURE
        }
    }
}

fn other_process_replies_are_foreign() -> TestResult {
    let mut s = sock()?;
    s.register(SaType::Esp).map_err(|e| e.to_string())?;
    s.set_nonblocking(true).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let st = Command::new(exe)
        .env("PFKEY_TEST_ADD_SPI", "4004")
        .status()
        .map_err(|e| e.to_string())?;
    check(st.success(), || format!("helper process failed: {st}"))?;
    // Linux broadcasts the ADD reply to every PF_KEY socket; ours must see
    // it as another process's and not as an answer of its own.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        match s.recv().map_err(|e| e.to_string())? {
            Some(inc) if inc.msg.msg_type == MessageType::Add => {
                check(inc.disposition == Disposition::Foreign, || {
                    format!("helper's ADD seen as {:?}", inc.disposition)
                })?;
                check(inc.msg.pid != s.pid(), || {
                    "helper's ADD carries our pid".into()
                })?;
                println!(
                    "    broadcast ADD from pid {} classified Foreign",
                    inc.msg.pid
                );
                return Ok(());
            }
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Err("never saw the other process's ADD broadcast".into())
}

/// A per-socket bypass policy, set with `IP_IPSEC_POLICY` in PF_KEY format
/// (what an IKE daemon puts on its UDP sockets), shows up in SPDDUMP with
/// Linux's per-socket directions and does not break the dump.
fn socket_policies_in_spd_dump() -> TestResult {
    use std::os::fd::AsRawFd;
    const IP_IPSEC_POLICY: libc::c_int = 16;
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    for dir in [Direction::Inbound, Direction::Outbound] {
        let m = Message::new(MessageType::XSpdAdd, SaType::Unspec)
            .with(
                ExtKind::Policy,
                ExtBody::Policy(Policy {
                    policy_type: PolicyType::Bypass,
                    dir,
                    scope: 0,
                    id: 0,
                    priority: 0,
                    requests: Vec::new(),
                }),
            )
            .map_err(|e| e.to_string())?;
        let bytes = m.encode(D).map_err(|e| e.to_string())?;
        let ext = &bytes[pfkey::HEADER_LEN..];
        // SAFETY: `ext` is a live buffer of `ext.len()` bytes and the fd is
        // a valid socket owned by `udp`.
        let rc = unsafe {
            libc::setsockopt(
                udp.as_raw_fd(),
                libc::IPPROTO_IP,
                IP_IPSEC_POLICY,
                ext.as_ptr().cast(),
                ext.len() as libc::socklen_t,
            )
        };
        check(rc == 0, || {
            format!(
                "IP_IPSEC_POLICY {dir:?}: {}",
                std::io::Error::last_os_error()
            )
        })?;
    }
    let mut s = sock()?;
    let dump = s
        .spd_dump()
        .map_err(|e| format!("SPDDUMP with socket policies: {e}"))?;
    let dirs: Vec<Direction> = dump
        .iter()
        .filter_map(|m| match m.get(ExtKind::Policy) {
            Some(ExtBody::Policy(p)) => Some(p.dir),
            _ => None,
        })
        .collect();
    println!("    SPDDUMP with two socket policies: directions {dirs:?}");
    check(
        dirs.contains(&Direction::SocketInbound) && dirs.contains(&Direction::SocketOutbound),
        || format!("socket policies not listed as such: {dirs:?}"),
    )
}
