//! Property tests: every message type and every extension of every dialect
//! survives encode → decode → encode unchanged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;

use pfkey::ext::*;
use pfkey::{
    Dialect, Direction, ExtBody, ExtKind, Extension, Layout, Level, Message, MessageType, Mode,
    PolicyType, SaState, SaType,
};

fn pick<T: Copy + std::fmt::Debug + 'static>(
    all: &'static [T],
    ok: impl Fn(T) -> bool,
) -> BoxedStrategy<T> {
    let v: Vec<T> = all.iter().copied().filter(|x| ok(*x)).collect();
    proptest::sample::select(v).boxed()
}

fn v4() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 4]>(), any::<u16>())
        .prop_map(|(a, p)| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), p)))
}

fn v6() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 16]>(), any::<u16>(), any::<u32>(), any::<u32>())
        .prop_map(|(a, p, f, s)| SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(a), p, f, s)))
}

fn sockaddr() -> BoxedStrategy<SocketAddr> {
    prop_oneof![v4(), v6()].boxed()
}

fn padded_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u64>(), 0..4).prop_map(|w| w.iter().flat_map(|x| x.to_ne_bytes()).collect())
}

fn no_nul() -> impl Strategy<Value = Vec<u8>> {
    vec(1u8..=255, 0..40)
}

fn body(layout: Layout, d: Dialect) -> BoxedStrategy<ExtBody> {
    match layout {
        Layout::Sa => (
            any::<u32>(),
            any::<u8>(),
            pick(SaState::ALL, |s| s.to_wire(d).is_some()),
            any::<u8>(),
            any::<u8>(),
            any::<u32>(),
        )
            .prop_map(|(spi, replay, state, auth, encrypt, flags)| {
                ExtBody::Sa(Sa {
                    spi,
                    replay,
                    state,
                    auth,
                    encrypt,
                    flags,
                })
            })
            .boxed(),
        Layout::Lifetime => any::<(u32, u64, u64, u64)>()
            .prop_map(|(allocations, bytes, addtime, usetime)| {
                ExtBody::Lifetime(Lifetime {
                    allocations,
                    bytes,
                    addtime,
                    usetime,
                })
            })
            .boxed(),
        Layout::Address => sockaddr()
            .prop_flat_map(move |addr| {
                let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
                (Just(addr), any::<u8>(), 0..=max)
            })
            .prop_map(move |(addr, proto, prefix_len)| {
                if d == Dialect::OpenBsd {
                    ExtBody::Address(Address {
                        proto: 0,
                        prefix_len: 0,
                        addr,
                    })
                } else {
                    ExtBody::Address(Address {
                        proto,
                        prefix_len,
                        addr,
                    })
                }
            })
            .boxed(),
        Layout::Key => (0u16..600)
            .prop_flat_map(|bits| (Just(bits), vec(any::<u8>(), usize::from(bits).div_ceil(8))))
            .prop_map(|(bits, data)| {
                ExtBody::Key(Key {
                    bits,
                    data: data.into(),
                })
            })
            .boxed(),
        Layout::Identity => (any::<u16>(), any::<u64>(), no_nul())
            .prop_map(|(ident_type, id, data)| {
                ExtBody::Identity(Identity {
                    ident_type,
                    id,
                    data,
                })
            })
            .boxed(),
        Layout::Sensitivity => (
            any::<u32>(),
            any::<u8>(),
            any::<u8>(),
            vec(any::<u64>(), 0..4),
            vec(any::<u64>(), 0..4),
        )
            .prop_map(
                |(dpd, sens_level, integ_level, sens_bitmap, integ_bitmap)| {
                    ExtBody::Sensitivity(Sensitivity {
                        dpd,
                        sens_level,
                        integ_level,
                        sens_bitmap,
                        integ_bitmap,
                    })
                },
            )
            .boxed(),
        Layout::Proposal => (any::<u8>(), any::<u8>(), vec(comb(), 0..3))
            .prop_map(move |(num, replay, combs)| {
                ExtBody::Proposal(Proposal {
                    num: if d == Dialect::OpenBsd { num } else { 0 },
                    replay,
                    combs,
                })
            })
            .boxed(),
        Layout::Supported => vec(any::<(u8, u8, u16, u16)>(), 0..10)
            .prop_map(|v| {
                ExtBody::Supported(Supported {
                    algs: v
                        .into_iter()
                        .map(|(id, ivlen, min_bits, max_bits)| Alg {
                            id,
                            ivlen,
                            min_bits,
                            max_bits,
                        })
                        .collect(),
                })
            })
            .boxed(),
        Layout::SpiRange => any::<(u32, u32)>()
            .prop_map(|(min, max)| ExtBody::SpiRange(SpiRange { min, max }))
            .boxed(),
        Layout::KmPrivate => padded_bytes()
            .prop_map(|data| ExtBody::KmPrivate(Opaque { data }))
            .boxed(),
        Layout::Policy => (
            pick(PolicyType::ALL, move |t| t.to_wire(d).is_some()),
            pick(Direction::ALL, move |t| t.to_wire(d).is_some()),
            any::<u8>(),
            any::<u32>(),
            any::<u32>(),
            vec(request(d), 0..3),
        )
            .prop_map(|(policy_type, dir, scope, id, priority, requests)| {
                ExtBody::Policy(Policy {
                    policy_type,
                    dir,
                    scope,
                    id,
                    priority,
                    requests,
                })
            })
            .boxed(),
        Layout::Sa2 => (
            pick(Mode::ALL, move |m| m.to_wire(d).is_some()),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(|(mode, sequence, reqid)| {
                ExtBody::Sa2(Sa2 {
                    mode,
                    sequence,
                    reqid,
                })
            })
            .boxed(),
        Layout::NatTType => any::<u8>()
            .prop_map(|encap_type| ExtBody::NatTType(NatTType { encap_type }))
            .boxed(),
        Layout::NatTPort => any::<u16>()
            .prop_map(|port| ExtBody::NatTPort(Port { port }))
            .boxed(),
        Layout::NatTFrag => any::<u16>()
            .prop_map(|fraglen| ExtBody::NatTFrag(NatTFrag { fraglen }))
            .boxed(),
        Layout::SaReplay => any::<u32>()
            .prop_map(|value| ExtBody::SaReplay(U32Value { value }))
            .boxed(),
        Layout::SecCtx => (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..40))
            .prop_map(|(alg, doi, context)| ExtBody::SecCtx(SecCtx { alg, doi, context }))
            .boxed(),
        Layout::KmAddress => (sockaddr(), sockaddr())
            .prop_map(|(local, remote)| ExtBody::KmAddress(KmAddress { local, remote }))
            .boxed(),
        Layout::Filter => prop_oneof![
            (any::<[u8; 4]>(), any::<[u8; 4]>())
                .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
            (any::<[u8; 16]>(), any::<[u8; 16]>())
                .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
        ]
        .prop_flat_map(|(src, dst)| (Just(src), Just(dst), any::<u8>(), any::<u8>()))
        .prop_map(|(src, dst, src_prefix, dst_prefix)| {
            ExtBody::Filter(Filter {
                src,
                dst,
                src_prefix,
                dst_prefix,
            })
        })
        .boxed(),
        Layout::Protocol => any::<(u8, u8, u8)>()
            .prop_map(|(proto, direction, flags)| {
                ExtBody::Protocol(Protocol {
                    proto,
                    direction,
                    flags,
                })
            })
            .boxed(),
        Layout::PolicySeq => any::<u32>()
            .prop_map(|value| ExtBody::PolicySeq(U32Value { value }))
            .boxed(),
        Layout::Credential => (any::<u16>(), padded_bytes())
            .prop_map(|(cred_type, data)| ExtBody::Credential(Credential { cred_type, data }))
            .boxed(),
        Layout::UdpEncap => any::<u16>()
            .prop_map(|port| ExtBody::UdpEncap(Port { port }))
            .boxed(),
        Layout::Tag => no_nul().prop_map(|name| ExtBody::Tag(Tag { name })).boxed(),
        Layout::Tap => any::<u32>()
            .prop_map(|value| ExtBody::Tap(U32Value { value }))
            .boxed(),
        Layout::Counter => any::<[u64; 8]>()
            .prop_map(|c| {
                ExtBody::Counter(Counter {
                    ipackets: c[0],
                    opackets: c[1],
                    ibytes: c[2],
                    obytes: c[3],
                    idrops: c[4],
                    odrops: c[5],
                    idecompbytes: c[6],
                    ouncompbytes: c[7],
                })
            })
            .boxed(),
        Layout::Rdomain => any::<(u16, u16)>()
            .prop_map(|(dom1, dom2)| ExtBody::Rdomain(Rdomain { dom1, dom2 }))
            .boxed(),
        Layout::Mtu => any::<u32>()
            .prop_map(|value| ExtBody::Mtu(U32Value { value }))
            .boxed(),
        Layout::Replay => any::<u64>()
            .prop_map(|count| ExtBody::Replay(Replay { count }))
            .boxed(),
        Layout::IfHwOffload => (any::<u32>(), vec(1u8..=255, 0..32))
            .prop_map(|(flags, ifname)| ExtBody::IfHwOffload(IfHwOffload { flags, ifname }))
            .boxed(),
        Layout::Iface => any::<(u32, u8)>()
            .prop_map(|(unit, direction)| ExtBody::Iface(Iface { unit, direction }))
            .boxed(),
    }
}

fn comb() -> impl Strategy<Value = Comb> {
    (
        any::<(u8, u8, u16, u16, u16, u16, u16)>(),
        any::<(u32, u32, u64, u64, u64, u64, u64, u64)>(),
    )
        .prop_map(|(a, b)| Comb {
            auth: a.0,
            encrypt: a.1,
            flags: a.2,
            auth_minbits: a.3,
            auth_maxbits: a.4,
            encrypt_minbits: a.5,
            encrypt_maxbits: a.6,
            soft_allocations: b.0,
            hard_allocations: b.1,
            soft_bytes: b.2,
            hard_bytes: b.3,
            soft_addtime: b.4,
            hard_addtime: b.5,
            soft_usetime: b.6,
            hard_usetime: b.7,
        })
}

fn request(d: Dialect) -> BoxedStrategy<IpsecRequest> {
    let reqid = if d == Dialect::Linux {
        any::<u32>().boxed()
    } else {
        (0u32..=0xffff).boxed()
    };
    (
        any::<u16>(),
        pick(Mode::ALL, move |m| m.to_wire(d).is_some()),
        pick(Level::ALL, move |l| l.to_wire(d).is_some()),
        reqid,
        proptest::option::of((sockaddr(), sockaddr())),
    )
        .prop_map(|(proto, mode, level, reqid, tunnel)| IpsecRequest {
            proto,
            mode,
            level,
            reqid,
            tunnel,
        })
        .boxed()
}

fn kinds(d: Dialect) -> Vec<ExtKind> {
    ExtKind::ALL
        .iter()
        .copied()
        .filter(|k| k.to_wire(d).is_some())
        .collect()
}

fn message(d: Dialect, all_kinds: bool) -> BoxedStrategy<Message> {
    let ks = kinds(d);
    let n = ks.len();
    let chosen = if all_kinds {
        Just(ks).boxed()
    } else {
        subsequence(ks, 0..=n).prop_shuffle().boxed()
    };
    let exts = chosen.prop_flat_map(move |ks| {
        ks.into_iter()
            .map(|k| body(k.layout(), d).prop_map(move |b| Extension::new(k, b).unwrap()))
            .collect::<Vec<_>>()
    });
    (
        pick(MessageType::ALL, move |t| t.to_wire(d).is_some()),
        pick(SaType::ALL, move |t| t.to_wire(d).is_some()),
        any::<(u8, u32, u32)>(),
        exts,
    )
        .prop_map(
            |(msg_type, sa_type, (errno, seq, pid), extensions)| Message {
                msg_type,
                errno,
                sa_type,
                seq,
                pid,
                extensions,
            },
        )
        .boxed()
}

fn check(m: &Message, d: Dialect) -> Result<(), TestCaseError> {
    let bytes = m
        .encode(d)
        .map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
    prop_assert_eq!(bytes.len() % 8, 0);
    let back =
        Message::decode(&bytes, d).map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&back, m);
    prop_assert_eq!(back.encode(d).unwrap(), bytes);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn linux_every_extension_at_once(m in message(Dialect::Linux, true)) { check(&m, Dialect::Linux)?; }
    #[test]
    fn kame_every_extension_at_once(m in message(Dialect::Kame, true)) { check(&m, Dialect::Kame)?; }
    #[test]
    fn openbsd_every_extension_at_once(m in message(Dialect::OpenBsd, true)) { check(&m, Dialect::OpenBsd)?; }
    #[test]
    fn linux_any_subset_any_order(m in message(Dialect::Linux, false)) { check(&m, Dialect::Linux)?; }
    #[test]
    fn kame_any_subset_any_order(m in message(Dialect::Kame, false)) { check(&m, Dialect::Kame)?; }
    #[test]
    fn openbsd_any_subset_any_order(m in message(Dialect::OpenBsd, false)) { check(&m, Dialect::OpenBsd)?; }
}

/// Deterministic coverage on top of the random cases: each message type of
/// each dialect, with each of the dialect's extensions alone.
#[test]
fn each_message_type_and_each_extension_of_each_dialect() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for d in Dialect::ALL {
        let types: Vec<MessageType> = MessageType::ALL
            .iter()
            .copied()
            .filter(|t| t.to_wire(d).is_some())
            .collect();
        for (i, kind) in kinds(d).into_iter().enumerate() {
            let b = body(kind.layout(), d)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let mut m = Message::new(types[i % types.len()], SaType::Unspec);
            m.push(kind, b).unwrap();
            check(&m, d).unwrap_or_else(|e| panic!("{} {:?}: {e}", d.name(), kind));
        }
        for t in types {
            check(&Message::new(t, SaType::Esp), d).unwrap();
        }
    }
}
