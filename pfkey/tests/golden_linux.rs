//! Golden bytes for the Linux dialect: `golden/linux_ref.c` builds reference
//! messages with the system's `<linux/pfkeyv2.h>` structures; this test
//! compiles and runs it, then checks that our encoder produces the same
//! bytes and our decoder reads them back into the same values, and that
//! every structure size agrees with `sizeof`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;

use pfkey::ext::*;
use pfkey::{
    AuthAlgorithm, Dialect, Direction, EncryptAlgorithm, ExtBody, ExtKind, Level, Message,
    MessageType, Mode, PolicyType, SaState, SaType,
};

const D: Dialect = Dialect::Linux;

fn reference() -> (HashMap<String, Vec<u8>>, HashMap<String, usize>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("linux_ref");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/linux_ref.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .args(["-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e} (install gcc)"));
    assert!(st.success(), "compiling {src} failed");
    let out = Command::new(&exe).output().expect("run linux_ref");
    assert!(out.status.success());
    let (mut msgs, mut sizes) = (HashMap::new(), HashMap::new());
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["size", name, n] => {
                sizes.insert(name.to_string(), n.parse().unwrap());
            }
            [name, hex] => {
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                msgs.insert(name.to_string(), bytes);
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    (msgs, sizes)
}

fn sa4(s: &str, port: u16) -> SocketAddr {
    SocketAddr::new(s.parse::<IpAddr>().unwrap(), port)
}

fn addr(s: &str, prefix: u8, port: u16) -> ExtBody {
    ExtBody::Address(Address {
        proto: 255,
        prefix_len: prefix,
        addr: sa4(s, port),
    })
}

fn key(bits: usize, seed: u8) -> ExtBody {
    let data: Vec<u8> = (0..bits / 8).map(|i| seed.wrapping_add(i as u8)).collect();
    ExtBody::Key(Key::new(&data))
}

fn msg(t: MessageType, st: SaType, seq: u32, exts: Vec<(ExtKind, ExtBody)>) -> Message {
    let mut m = Message::new(t, st);
    m.seq = seq;
    m.pid = 1234;
    for (k, b) in exts {
        m.push(k, b).unwrap();
    }
    m
}

fn sa(spi: u32, auth: AuthAlgorithm, enc: EncryptAlgorithm) -> ExtBody {
    ExtBody::Sa(Sa {
        spi,
        replay: 32,
        state: SaState::Mature,
        auth: auth.to_wire(D).unwrap(),
        encrypt: enc.to_wire(D).unwrap(),
        flags: 0,
    })
}

fn expected() -> Vec<(&'static str, Message)> {
    vec![
        (
            "add_esp_aes_sha512",
            msg(
                MessageType::Add,
                SaType::Esp,
                5,
                vec![
                    (
                        ExtKind::Sa,
                        sa(
                            0x12345678,
                            AuthAlgorithm::HmacSha2_512,
                            EncryptAlgorithm::AesCbc,
                        ),
                    ),
                    (
                        ExtKind::Sa2,
                        ExtBody::Sa2(Sa2 {
                            mode: Mode::Transport,
                            sequence: 0,
                            reqid: 7,
                        }),
                    ),
                    (
                        ExtKind::LifetimeHard,
                        ExtBody::Lifetime(Lifetime {
                            allocations: 0,
                            bytes: 1_000_000,
                            addtime: 100,
                            usetime: 0,
                        }),
                    ),
                    (
                        ExtKind::LifetimeSoft,
                        ExtBody::Lifetime(Lifetime {
                            allocations: 0,
                            bytes: 800_000,
                            addtime: 80,
                            usetime: 0,
                        }),
                    ),
                    (ExtKind::AddressSrc, addr("192.0.2.1", 32, 0)),
                    (ExtKind::AddressDst, addr("192.0.2.2", 32, 0)),
                    (ExtKind::KeyAuth, key(512, 0x80)),
                    (ExtKind::KeyEncrypt, key(128, 0x10)),
                ],
            ),
        ),
        (
            "getspi_v6",
            msg(
                MessageType::GetSpi,
                SaType::Esp,
                6,
                vec![
                    (
                        ExtKind::Sa2,
                        ExtBody::Sa2(Sa2 {
                            mode: Mode::Tunnel,
                            sequence: 0,
                            reqid: 9,
                        }),
                    ),
                    (ExtKind::AddressSrc, addr("2001:db8::1", 128, 0)),
                    (ExtKind::AddressDst, addr("2001:db8::2", 128, 0)),
                    (
                        ExtKind::SpiRange,
                        ExtBody::SpiRange(SpiRange {
                            min: 0xc0de0000,
                            max: 0xc0de00ff,
                        }),
                    ),
                ],
            ),
        ),
        (
            "spdadd_tunnel",
            msg(
                MessageType::XSpdAdd,
                SaType::Unspec,
                7,
                vec![
                    (ExtKind::AddressSrc, addr("192.0.2.0", 24, 0)),
                    (ExtKind::AddressDst, addr("198.51.100.0", 24, 0)),
                    (
                        ExtKind::Policy,
                        ExtBody::Policy(Policy {
                            policy_type: PolicyType::Ipsec,
                            dir: Direction::Outbound,
                            scope: 0,
                            id: 0,
                            priority: 7,
                            requests: vec![IpsecRequest {
                                proto: 50,
                                mode: Mode::Tunnel,
                                level: Level::Unique,
                                reqid: 201,
                                tunnel: Some((sa4("203.0.113.1", 0), sa4("203.0.113.2", 0))),
                            }],
                        }),
                    ),
                ],
            ),
        ),
        (
            "add_natt",
            msg(
                MessageType::Add,
                SaType::Esp,
                8,
                vec![
                    (
                        ExtKind::Sa,
                        sa(
                            0xdeadbeef,
                            AuthAlgorithm::HmacSha1,
                            EncryptAlgorithm::AesCbc,
                        ),
                    ),
                    (ExtKind::AddressSrc, addr("192.0.2.1", 32, 4500)),
                    (ExtKind::AddressDst, addr("198.51.100.7", 32, 4500)),
                    (
                        ExtKind::NatTType,
                        ExtBody::NatTType(NatTType { encap_type: 2 }),
                    ),
                    (ExtKind::NatTSport, ExtBody::NatTPort(Port { port: 4500 })),
                    (ExtKind::NatTDport, ExtBody::NatTPort(Port { port: 4500 })),
                    (ExtKind::NatTOa, addr("203.0.113.9", 32, 0)),
                ],
            ),
        ),
        (
            "dump_filter",
            msg(
                MessageType::Dump,
                SaType::Esp,
                9,
                vec![(
                    ExtKind::Filter,
                    ExtBody::Filter(Filter {
                        src: "192.0.2.0".parse().unwrap(),
                        dst: "198.51.100.0".parse().unwrap(),
                        src_prefix: 24,
                        dst_prefix: 25,
                    }),
                )],
            ),
        ),
        (
            "migrate_secctx_kmaddress",
            msg(
                MessageType::XMigrate,
                SaType::Unspec,
                10,
                vec![
                    (
                        ExtKind::SecCtx,
                        ExtBody::SecCtx(SecCtx {
                            alg: 1,
                            doi: 1,
                            context: b"system_u:ipse".to_vec(),
                        }),
                    ),
                    (
                        ExtKind::KmAddress,
                        ExtBody::KmAddress(KmAddress {
                            local: sa4("192.0.2.1", 500),
                            remote: sa4("192.0.2.2", 4500),
                        }),
                    ),
                ],
            ),
        ),
    ]
}

#[test]
fn encoder_and_decoder_match_linux_headers() {
    let (reference, _) = reference();
    let cases = expected();
    assert_eq!(
        cases.len(),
        reference.len(),
        "every reference message has a Rust counterpart"
    );
    for (name, m) in cases {
        let want = &reference[name];
        let got = m.encode(D).unwrap();
        assert_eq!(
            hex(&got),
            hex(want),
            "{name}: encoder differs from <linux/pfkeyv2.h> layout"
        );
        let back = Message::decode(want, D).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, m, "{name}: decoder reads the reference differently");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Encoded size of an extension body, header included.
fn ext_size(kind: ExtKind, body: ExtBody) -> usize {
    let mut m = Message::new(MessageType::Add, SaType::Esp);
    m.push(kind, body).unwrap();
    m.encode(D).unwrap().len() - pfkey::HEADER_LEN
}

#[test]
fn structure_sizes_match_sizeof() {
    let (_, sizes) = reference();
    let v4 = sa4("192.0.2.1", 0);
    let policy = |requests| {
        ExtBody::Policy(Policy {
            policy_type: PolicyType::Ipsec,
            dir: Direction::Inbound,
            scope: 0,
            id: 0,
            priority: 0,
            requests,
        })
    };
    let req = IpsecRequest {
        proto: 50,
        mode: Mode::Transport,
        level: Level::Require,
        reqid: 0,
        tunnel: None,
    };
    let ours: Vec<(&str, usize)> = vec![
        ("sadb_msg", pfkey::HEADER_LEN),
        (
            "sadb_sa",
            ext_size(
                ExtKind::Sa,
                sa(1, AuthAlgorithm::None, EncryptAlgorithm::None),
            ),
        ),
        (
            "sadb_lifetime",
            ext_size(
                ExtKind::LifetimeHard,
                ExtBody::Lifetime(Lifetime::default()),
            ),
        ),
        (
            "sadb_address",
            ext_size(ExtKind::AddressSrc, addr("192.0.2.1", 32, 0)) - 16,
        ),
        (
            "sadb_key",
            ext_size(ExtKind::KeyAuth, ExtBody::Key(Key::new(&[]))),
        ),
        (
            "sadb_ident",
            ext_size(
                ExtKind::IdentitySrc,
                ExtBody::Identity(Identity {
                    ident_type: 2,
                    id: 0,
                    data: vec![],
                }),
            ),
        ),
        (
            "sadb_sens",
            ext_size(
                ExtKind::Sensitivity,
                ExtBody::Sensitivity(Sensitivity::default()),
            ),
        ),
        (
            "sadb_prop",
            ext_size(ExtKind::Proposal, ExtBody::Proposal(Proposal::default())),
        ),
        (
            "sadb_comb",
            ext_size(
                ExtKind::Proposal,
                ExtBody::Proposal(Proposal {
                    num: 0,
                    replay: 0,
                    combs: vec![Comb::default()],
                }),
            ) - 8,
        ),
        (
            "sadb_supported",
            ext_size(
                ExtKind::SupportedAuth,
                ExtBody::Supported(Supported::default()),
            ),
        ),
        (
            "sadb_alg",
            ext_size(
                ExtKind::SupportedAuth,
                ExtBody::Supported(Supported {
                    algs: vec![Alg {
                        id: 2,
                        ivlen: 0,
                        min_bits: 0,
                        max_bits: 0,
                    }],
                }),
            ) - 8,
        ),
        (
            "sadb_spirange",
            ext_size(
                ExtKind::SpiRange,
                ExtBody::SpiRange(SpiRange { min: 1, max: 2 }),
            ),
        ),
        (
            "sadb_x_kmprivate",
            ext_size(
                ExtKind::KmPrivate,
                ExtBody::KmPrivate(Opaque { data: vec![] }),
            ),
        ),
        (
            "sadb_x_sa2",
            ext_size(
                ExtKind::Sa2,
                ExtBody::Sa2(Sa2 {
                    mode: Mode::Any,
                    sequence: 0,
                    reqid: 0,
                }),
            ),
        ),
        ("sadb_x_policy", ext_size(ExtKind::Policy, policy(vec![]))),
        (
            "sadb_x_ipsecrequest",
            ext_size(ExtKind::Policy, policy(vec![req])) - 16,
        ),
        (
            "sadb_x_nat_t_type",
            ext_size(
                ExtKind::NatTType,
                ExtBody::NatTType(NatTType { encap_type: 2 }),
            ),
        ),
        (
            "sadb_x_nat_t_port",
            ext_size(ExtKind::NatTSport, ExtBody::NatTPort(Port { port: 1 })),
        ),
        (
            "sadb_x_sec_ctx",
            ext_size(
                ExtKind::SecCtx,
                ExtBody::SecCtx(SecCtx {
                    alg: 1,
                    doi: 1,
                    context: vec![],
                }),
            ),
        ),
        (
            "sadb_x_kmaddress",
            ext_size(
                ExtKind::KmAddress,
                ExtBody::KmAddress(KmAddress {
                    local: v4,
                    remote: v4,
                }),
            ) - 32,
        ),
        (
            "sadb_x_filter",
            ext_size(
                ExtKind::Filter,
                ExtBody::Filter(Filter {
                    src: v4.ip(),
                    dst: v4.ip(),
                    src_prefix: 0,
                    dst_prefix: 0,
                }),
            ),
        ),
    ];
    assert_eq!(ours.len(), sizes.len(), "every sizeof has a counterpart");
    for (name, size) in ours {
        assert_eq!(size, sizes[name], "size of {name}");
    }
}
