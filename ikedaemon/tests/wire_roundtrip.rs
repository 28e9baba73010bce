//! Property tests: every payload type survives encode → decode unchanged,
//! the encoding of a decoded message is the original bytes, and the
//! decoder never panics on arbitrary or mutated input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ikedaemon::ike::wire::*;
use proptest::collection::vec;
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u8>(),
        any::<[bool; 3]>(),
        any::<u32>(),
    )
        .prop_map(|(spi_i, spi_r, x, [i, r, v], message_id)| Header {
            spi_i,
            spi_r,
            exchange: ExchangeType(x),
            initiator: i,
            response: r,
            higher_version: v,
            message_id,
        })
}

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        any::<u16>().prop_map(Attribute::KeyLength),
        (0u16..0x8000, any::<u16>())
            .prop_filter("14 is Key Length", |(k, _)| *k != 14)
            .prop_map(|(k, v)| Attribute::Other {
                kind: AttributeType(k),
                value: AttributeValue::Short(v)
            }),
        (0u16..0x8000, bytes(8))
            .prop_filter("14 is Key Length", |(k, _)| *k != 14)
            .prop_map(|(k, v)| Attribute::Other {
                kind: AttributeType(k),
                value: AttributeValue::Long(v)
            }),
    ]
}

fn transform() -> impl Strategy<Value = Transform> {
    (any::<u8>(), any::<u16>(), vec(attribute(), 0..3)).prop_map(|(k, id, attributes)| Transform {
        kind: TransformType(k),
        id,
        attributes,
    })
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (any::<u8>(), any::<u8>(), bytes(8), vec(transform(), 0..6)).prop_map(
        |(number, p, spi, transforms)| Proposal {
            number,
            protocol: ProtocolId(p),
            spi,
            transforms,
        },
    )
}

fn identification() -> impl Strategy<Value = Identification> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| Identification::ip(IpAddr::V4(Ipv4Addr::from(a)))),
        any::<[u8; 16]>().prop_map(|a| Identification::ip(IpAddr::V6(Ipv6Addr::from(a)))),
        Just(Identification {
            id_type: IdType::NULL,
            reserved: [0; 3],
            data: vec![]
        }),
        (any::<u8>(), any::<[u8; 3]>(), bytes(40))
            .prop_filter("fixed-length types", |(t, _, _)| ![1, 5, 13].contains(t))
            .prop_map(|(t, reserved, data)| Identification {
                id_type: IdType(t),
                reserved,
                data
            }),
    ]
}

const TYPED_NOTIFIES: [u16; 12] = [
    16390, 16401, 16388, 16389, 17, 16431, 16385, 16397, 16398, 16387, 1, 0,
];

fn notify_data_for_kind() -> impl Strategy<Value = (NotifyType, NotifyData)> {
    prop_oneof![
        vec(any::<u8>(), 1..=64).prop_map(|c| (NotifyType::COOKIE, NotifyData::Cookie(c))),
        vec(any::<u8>(), 8..=64).prop_map(|c| (NotifyType::COOKIE2, NotifyData::Cookie(c))),
        any::<[u8; 20]>().prop_map(|h| (
            NotifyType::NAT_DETECTION_SOURCE_IP,
            NotifyData::NatDetection(h)
        )),
        any::<[u8; 20]>().prop_map(|h| (
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            NotifyData::NatDetection(h)
        )),
        any::<u16>().prop_map(|g| (NotifyType::INVALID_KE_PAYLOAD, NotifyData::InvalidKe(g))),
        vec(any::<u16>(), 0..6).prop_map(|l| (
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            NotifyData::HashAlgorithms(l)
        )),
        any::<u32>().prop_map(|n| (NotifyType::SET_WINDOW_SIZE, NotifyData::WindowSize(n))),
        any::<[u8; 4]>().prop_map(|a| (
            NotifyType::ADDITIONAL_IP4_ADDRESS,
            NotifyData::Ip4(a.into())
        )),
        any::<[u8; 16]>().prop_map(|a| (
            NotifyType::ADDITIONAL_IP6_ADDRESS,
            NotifyData::Ip6(a.into())
        )),
        (any::<u16>(), any::<u8>()).prop_map(|(cpi, transform)| (
            NotifyType::IPCOMP_SUPPORTED,
            NotifyData::Ipcomp { cpi, transform }
        )),
        any::<u8>().prop_map(|t| (
            NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
            NotifyData::PayloadType(t)
        )),
        any::<u16>()
            .prop_filter("typed", |k| !TYPED_NOTIFIES.contains(k))
            .prop_map(|k| (NotifyType(k), NotifyData::Empty)),
        (any::<u16>(), vec(any::<u8>(), 1..32))
            .prop_filter("typed", |(k, _)| !TYPED_NOTIFIES.contains(k))
            .prop_map(|(k, d)| (NotifyType(k), NotifyData::Raw(d))),
    ]
}

fn notify() -> impl Strategy<Value = NotifyPayload> {
    (any::<u8>(), bytes(8), notify_data_for_kind()).prop_map(|(p, spi, (kind, data))| {
        NotifyPayload {
            protocol: ProtocolId(p),
            spi,
            kind,
            data,
        }
    })
}

fn delete() -> impl Strategy<Value = DeletePayload> {
    prop_oneof![
        any::<u8>().prop_map(|p| DeletePayload {
            protocol: ProtocolId(p),
            spi_size: 0,
            spis: vec![]
        }),
        (
            any::<u8>(),
            prop_oneof![Just(4usize), Just(8usize)],
            0usize..5
        )
            .prop_flat_map(|(p, size, n)| {
                vec(vec(any::<u8>(), size), n).prop_map(move |spis| DeletePayload {
                    protocol: ProtocolId(p),
                    spi_size: size as u8,
                    spis,
                })
            }),
    ]
}

fn selector() -> impl Strategy<Value = TrafficSelector> {
    prop_oneof![
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<[u8; 4]>()
        )
            .prop_map(
                |(ip_protocol, start_port, end_port, s, e)| TrafficSelector::Range(TsRange {
                    ip_protocol,
                    start_port,
                    end_port,
                    start: IpAddr::V4(s.into()),
                    end: IpAddr::V4(e.into()),
                })
            ),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>()
        )
            .prop_map(
                |(ip_protocol, start_port, end_port, s, e)| TrafficSelector::Range(TsRange {
                    ip_protocol,
                    start_port,
                    end_port,
                    start: IpAddr::V6(s.into()),
                    end: IpAddr::V6(e.into()),
                })
            ),
        (any::<u8>(), vec(any::<u8>(), 1..24))
            .prop_filter("range types", |(t, _)| *t != 7 && *t != 8)
            .prop_map(|(t, data)| TrafficSelector::Other {
                ts_type: TsType(t),
                data
            }),
    ]
}

fn eap() -> impl Strategy<Value = EapPayload> {
    prop_oneof![
        (1u8..=2, any::<u8>(), any::<u8>(), bytes(20)).prop_map(|(code, id, t, data)| {
            let len = (5 + data.len()) as u16;
            let mut m = vec![code, id];
            m.extend(len.to_be_bytes());
            m.push(t);
            m.extend(data);
            EapPayload { message: m }
        }),
        (3u8..=4, any::<u8>()).prop_map(|(code, id)| EapPayload {
            message: vec![code, id, 0, 4]
        }),
    ]
}

fn inner_payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        vec(proposal(), 1..4).prop_map(|proposals| Payload::Sa(SaPayload { proposals })),
        (any::<u16>(), bytes(64)).prop_map(|(group, data)| Payload::Ke(KePayload { group, data })),
        identification().prop_map(Payload::IdI),
        identification().prop_map(Payload::IdR),
        (any::<u8>(), bytes(64)).prop_map(|(e, data)| Payload::Cert(CertPayload {
            encoding: CertEncoding(e),
            data
        })),
        (any::<u8>(), bytes(60)).prop_map(|(e, data)| Payload::CertReq(CertReqPayload {
            encoding: CertEncoding(e),
            data
        })),
        (any::<u8>(), bytes(64)).prop_map(|(m, data)| Payload::Auth(AuthPayload {
            method: AuthMethod(m),
            data
        })),
        bytes(64).prop_map(Payload::Nonce),
        notify().prop_map(Payload::Notify),
        delete().prop_map(Payload::Delete),
        bytes(32).prop_map(Payload::VendorId),
        vec(selector(), 1..4).prop_map(|selectors| Payload::TsI(TsPayload { selectors })),
        vec(selector(), 1..4).prop_map(|selectors| Payload::TsR(TsPayload { selectors })),
        (any::<u8>(), vec((0u16..0x8000, bytes(16)), 0..4)).prop_map(|(t, attrs)| Payload::Config(
            CpPayload {
                cfg_type: CfgType(t),
                attributes: attrs
                    .into_iter()
                    .map(|(k, value)| CfgAttribute {
                        kind: CfgAttrType(k),
                        value
                    })
                    .collect(),
            }
        )),
        eap().prop_map(Payload::Eap),
        (any::<u8>(), bytes(32))
            .prop_filter("known payload types", |(k, _)| *k != 0
                && !(33..=48).contains(k)
                && *k != 53)
            .prop_map(|(k, data)| Payload::Unknown {
                kind: PayloadType(k),
                critical: false,
                data
            }),
    ]
}

fn encrypted_payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        (any::<u8>(), bytes(80)).prop_map(|(f, data)| Payload::Encrypted(EncryptedPayload {
            first_inner: PayloadType(f),
            data
        })),
        (1u16..20, any::<u16>(), any::<u8>(), bytes(80)).prop_map(|(total, n, f, data)| {
            let number = n % total + 1;
            Payload::Fragment(EncryptedFragment {
                first_inner: if number == 1 {
                    PayloadType(f)
                } else {
                    PayloadType::NONE
                },
                number,
                total,
                data,
            })
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        header(),
        vec(inner_payload(), 0..6),
        proptest::option::of(encrypted_payload()),
    )
        .prop_map(|(header, mut payloads, enc)| {
            payloads.extend(enc);
            Message { header, payloads }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn message_round_trips(m in message()) {
        let bytes = m.encode().expect("encode");
        let back = Message::decode(&bytes).expect("decode");
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode().expect("encode"), bytes);
    }

    #[test]
    fn inner_chain_round_trips(payloads in vec(inner_payload(), 1..8)) {
        let mut w = Writer::new();
        let first = encode_chain(&payloads, &mut w);
        let bytes = w.finish().expect("encode");
        let back = decode_chain(first, &bytes, 0).expect("decode");
        prop_assert_eq!(back, payloads);
    }

    #[test]
    fn decoder_survives_arbitrary_bytes(b in bytes(600)) {
        let _ = Message::decode(&b);
        let _ = decode_chain(PayloadType::SA, &b, 0);
    }

    #[test]
    fn decoder_survives_mutations(m in message(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = m.encode().expect("encode");
        for (i, x) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= x;
        }
        // Keep the header length honest half the time so the payload
        // decoders are reached.
        let len = bytes.len() as u32;
        bytes[24..28].copy_from_slice(&len.to_be_bytes());
        if let Ok(back) = Message::decode(&bytes) {
            // Whatever decodes must re-encode to something that decodes the same.
            let again = back.encode().expect("encode");
            prop_assert_eq!(Message::decode(&again).expect("re-decode"), back);
        }
        let cut = cut.index(bytes.len() + 1);
        let _ = Message::decode(&bytes[..cut]);
    }
}

#[test]
fn summary_lists_payloads_in_order() {
    let m = Message {
        header: Header {
            spi_i: 1,
            spi_r: 0,
            exchange: ExchangeType::IKE_SA_INIT,
            initiator: true,
            response: false,
            higher_version: false,
            message_id: 0,
        },
        payloads: vec![
            Payload::Sa(SaPayload { proposals: vec![] }),
            Payload::Ke(KePayload {
                group: 31,
                data: vec![0; 32],
            }),
            Payload::Nonce(vec![0; 32]),
            Payload::Notify(NotifyPayload::new(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                NotifyData::NatDetection([0; 20]),
            )),
            Payload::Notify(NotifyPayload::new(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                NotifyData::NatDetection([0; 20]),
            )),
            Payload::Notify(NotifyPayload::flag(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
            )),
        ],
    };
    assert_eq!(
        m.to_string(),
        "IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) ]"
    );
}

#[test]
fn every_registered_notify_has_a_name_and_an_abbreviation() {
    for n in NotifyType::KNOWN {
        assert!(n.name().is_some() && n.abbrev().is_some(), "{}", n.0);
    }
    assert_eq!(NotifyType(40960).to_string(), "40960");
    assert_eq!(NotifyType::KNOWN.len(), 23 + 60);
}
