//! Proposal strings (parse, print, wire form) and proposal selection,
//! including the one-line reason when nothing matches.

use ikedaemon::ike::proposal::{ProposalConfig, SaProtocol, accept_answer, select};
use ikedaemon::ike::wire::{Proposal, ProtocolId, Transform, TransformType};

fn ike(s: &str) -> ProposalConfig {
    ProposalConfig::parse(s, SaProtocol::Ike).unwrap_or_else(|e| panic!("{e}"))
}

fn esp(s: &str) -> ProposalConfig {
    ProposalConfig::parse(s, SaProtocol::Esp).unwrap_or_else(|e| panic!("{e}"))
}

fn t(kind: TransformType, id: u16) -> Transform {
    Transform::new(kind, id)
}

fn aes(bits: u16) -> Transform {
    Transform::with_key_length(TransformType::ENCR, 12, bits)
}

fn offer(protocol: ProtocolId, number: u8, transforms: Vec<Transform>) -> Proposal {
    Proposal {
        number,
        protocol,
        spi: if protocol == ProtocolId::IKE {
            vec![]
        } else {
            vec![0xc1, 0, 0, 1]
        },
        transforms,
    }
}

#[test]
fn strings_print_canonically() {
    for (input, printed) in [
        (
            "aes256gcm16-prfsha384-x25519",
            "aes256gcm16-prfsha384-x25519",
        ),
        ("aes128-sha256-modp2048", "aes128-sha256-prfsha256-modp2048"),
        (
            "chacha20poly1305-prfsha256-x25519-ecp256",
            "chacha20poly1305-prfsha256-x25519-ecp256",
        ),
        (
            "AES256GCM16-SHA384-CURVE25519",
            "aes256gcm16-prfsha384-x25519",
        ),
        (
            "aes-aescmac-prfaescmac-ecp521",
            "aes128-aescmac-prfaescmac-ecp521",
        ),
        (
            "aes192ccm8-aes128gcm64-prfsha512-x448",
            "aes192ccm8-aes128gcm8-prfsha512-x448",
        ),
    ] {
        assert_eq!(ike(input).to_string(), printed, "{input}");
        assert_eq!(
            ike(printed).to_string(),
            printed,
            "{printed} is a fixed point"
        );
    }
    assert_eq!(esp("aes128gcm16").to_string(), "aes128gcm16");
    assert_eq!(
        esp("aes128-sha256-modp2048-esn").to_string(),
        "aes128-sha256-modp2048-esn"
    );
    assert_eq!(esp("aes128-sha1").esn, vec![false]);
}

#[test]
fn bad_strings_say_what_is_wrong() {
    let err = |s: &str, p| ProposalConfig::parse(s, p).unwrap_err().to_string();
    assert!(err("aes128-sha256-modp1024", SaProtocol::Ike).starts_with(
        "proposal \"aes128-sha256-modp1024\": unknown or unsupported algorithm \"modp1024\""
    ));
    assert_eq!(
        err("aes128-aes128gcm16-prfsha256-x25519", SaProtocol::Ike),
        "proposal \"aes128-aes128gcm16-prfsha256-x25519\": mixes AEAD and non-AEAD ciphers; write them as two proposals"
    );
    assert_eq!(
        err("aes128-sha256", SaProtocol::Ike),
        "proposal \"aes128-sha256\": no key exchange method (e.g. x25519)"
    );
    assert_eq!(
        err("aes128gcm16-x25519", SaProtocol::Ike),
        "proposal \"aes128gcm16-x25519\": an AEAD cipher needs a PRF (e.g. aes256gcm16-prfsha384-x25519)"
    );
    assert_eq!(
        err("aes128-x25519", SaProtocol::Ike),
        "proposal \"aes128-x25519\": no integrity algorithm (e.g. sha256)"
    );
    assert_eq!(
        err("aes128gcm16-sha256", SaProtocol::Esp),
        "proposal \"aes128gcm16-sha256\": an AEAD cipher takes no integrity algorithm in ESP"
    );
    assert_eq!(
        err("aes128-sha256-prfsha256", SaProtocol::Esp),
        "proposal \"aes128-sha256-prfsha256\": a PRF applies to IKE proposals only"
    );
    assert_eq!(
        err("aes128--sha256", SaProtocol::Esp),
        "proposal \"aes128--sha256\": empty keyword (two '-' in a row?)"
    );
    assert_eq!(err("", SaProtocol::Esp), "proposal \"\": empty proposal");
    assert_eq!(
        err("aes128-sha256-x25519-esn", SaProtocol::Ike),
        "proposal \"aes128-sha256-x25519-esn\": esn/noesn apply to ESP and AH, not IKE"
    );
}

#[test]
fn wire_form_has_key_lengths_and_esn() {
    let p = esp("aes256gcm16-aes128gcm16-x25519").to_wire(1, vec![1, 2, 3, 4]);
    assert_eq!(p.to_string(), "ESP:aes256gcm16/aes128gcm16/x25519/noesn");
    let p = ike("aes128-sha256-modp2048").to_wire(1, vec![]);
    assert_eq!(p.to_string(), "IKE:aes128/prfsha256/sha256/modp2048");
}

#[test]
fn selection_prefers_our_order_and_echoes_the_proposal_number() {
    let offered = vec![
        offer(
            ProtocolId::IKE,
            1,
            vec![
                aes(128),
                t(TransformType::PRF, 2),
                t(TransformType::INTEG, 2),
                t(TransformType::KE, 14),
            ],
        ),
        offer(
            ProtocolId::IKE,
            2,
            vec![
                Transform::with_key_length(TransformType::ENCR, 20, 256),
                Transform::with_key_length(TransformType::ENCR, 20, 128),
                t(TransformType::PRF, 5),
                t(TransformType::PRF, 6),
                t(TransformType::KE, 19),
                t(TransformType::KE, 31),
            ],
        ),
    ];
    let local = [
        ike("aes128gcm16-aes256gcm16-prfsha384-prfsha256-x25519-ecp256"),
        ike("aes128-sha1-modp2048"),
    ];
    let s = select(&offered, &local).expect("a match");
    assert_eq!(s.number, 2);
    assert_eq!(s.to_string(), "aes128gcm16-prfsha384-x25519");
    assert_eq!(
        s.to_wire(vec![]).to_string(),
        "IKE:aes128gcm16/prfsha384/x25519"
    );
}

#[test]
fn no_match_names_what_had_no_overlap() {
    // The example from the issue: an old peer against a modern policy.
    let offered = vec![offer(
        ProtocolId::IKE,
        1,
        vec![
            aes(128),
            t(TransformType::INTEG, 2),
            t(TransformType::PRF, 2),
            t(TransformType::KE, 2),
        ],
    )];
    let e = select(&offered, &[ike("aes256gcm16-prfsha384-x25519")]).unwrap_err();
    assert_eq!(e.missing, vec!["encryption", "PRF", "DH group"]);
    assert_eq!(
        e.to_string(),
        "peer offered aes128-sha1-prfsha1-modp1024, policy accepts aes256gcm16-prfsha384-x25519 (no common encryption, PRF, DH group)"
    );
    // Only the group differs.
    let e = select(&offered, &[ike("aes128-sha1-modp2048")]).unwrap_err();
    assert_eq!(e.missing, vec!["DH group"]);
    // Key lengths must match.
    let e = select(&offered, &[ike("aes256-sha1-modp2048")]).unwrap_err();
    assert_eq!(e.missing, vec!["encryption", "DH group"]);
}

#[test]
fn esp_pfs_and_esn_rules() {
    let base = || {
        vec![
            aes(128),
            t(TransformType::INTEG, 12),
            t(TransformType::ESN, 0),
        ]
    };
    // Peer wants PFS, we have none: no match, said so.
    let mut with_ke = base();
    with_ke.push(t(TransformType::KE, 31));
    let e = select(
        &[offer(ProtocolId::ESP, 1, with_ke.clone())],
        &[esp("aes128-sha256")],
    )
    .unwrap_err();
    assert_eq!(
        e.missing,
        vec!["DH group (peer requires PFS, policy has none)"]
    );
    // Peer offers PFS or NONE: we take none.
    let mut optional = with_ke.clone();
    optional.push(t(TransformType::KE, 0));
    let s = select(
        &[offer(ProtocolId::ESP, 1, optional)],
        &[esp("aes128-sha256")],
    )
    .unwrap();
    assert_eq!((s.ke, s.to_string().as_str()), (None, "aes128-sha256"));
    // We require PFS.
    let s = select(
        &[offer(ProtocolId::ESP, 1, with_ke)],
        &[esp("aes128-sha256-x25519")],
    )
    .unwrap();
    assert_eq!(
        s.to_wire(vec![9, 9, 9, 9]).to_string(),
        "ESP:aes128/sha256/x25519/noesn"
    );
    // ESN: peer offers only ESN, we only accept no ESN.
    let only_esn = vec![
        aes(128),
        t(TransformType::INTEG, 12),
        t(TransformType::ESN, 1),
    ];
    let e = select(
        &[offer(ProtocolId::ESP, 1, only_esn.clone())],
        &[esp("aes128-sha256")],
    )
    .unwrap_err();
    assert_eq!(e.missing, vec!["ESN"]);
    let s = select(
        &[offer(ProtocolId::ESP, 1, only_esn)],
        &[esp("aes128-sha256-esn-noesn")],
    )
    .unwrap();
    assert!(s.esn);
    // Wrong protocol.
    let e = select(&[offer(ProtocolId::AH, 1, base())], &[esp("aes128-sha256")]).unwrap_err();
    assert_eq!(e.missing, vec!["protocol"]);
}

#[test]
fn aead_offer_with_integrity_is_refused() {
    let offered = [offer(
        ProtocolId::ESP,
        1,
        vec![
            Transform::with_key_length(TransformType::ENCR, 20, 128),
            t(TransformType::INTEG, 12),
            t(TransformType::ESN, 0),
        ],
    )];
    let e = select(&offered, &[esp("aes128gcm16")]).unwrap_err();
    assert_eq!(e.missing, vec!["integrity (offered with an AEAD cipher)"]);
}

#[test]
fn unknown_transform_types_and_additional_key_exchanges() {
    let ike_base = || {
        vec![
            aes(128),
            t(TransformType::PRF, 5),
            t(TransformType::INTEG, 12),
            t(TransformType::KE, 31),
        ]
    };
    let local = [ike("aes128-sha256-x25519")];
    // RFC 7296 §3.3.6: a proposal with a transform type we do not know is rejected.
    let mut unknown = ike_base();
    unknown.push(t(TransformType(200), 1));
    assert_eq!(
        select(&[offer(ProtocolId::IKE, 1, unknown)], &local)
            .unwrap_err()
            .missing,
        vec!["unsupported transform type"]
    );
    // RFC 9370: an additional key exchange we can decline with NONE is fine...
    let mut addke = ike_base();
    addke.push(t(TransformType::ADDKE1, 36));
    addke.push(t(TransformType::ADDKE1, 0));
    assert!(select(&[offer(ProtocolId::IKE, 1, addke)], &local).is_ok());
    // ...one we must do is not.
    let mut addke = ike_base();
    addke.push(t(TransformType::ADDKE1, 36));
    assert_eq!(
        select(&[offer(ProtocolId::IKE, 1, addke)], &local)
            .unwrap_err()
            .missing,
        vec!["additional key exchange (RFC 9370)"]
    );
    // A transform with an attribute we do not understand is skipped.
    let mut odd = aes(128);
    odd.attributes.push(ikedaemon::ike::wire::Attribute::Other {
        kind: ikedaemon::ike::wire::AttributeType(99),
        value: ikedaemon::ike::wire::AttributeValue::Short(1),
    });
    let mut v = ike_base();
    v[0] = odd;
    assert_eq!(
        select(&[offer(ProtocolId::IKE, 1, v)], &local)
            .unwrap_err()
            .missing,
        vec!["encryption"]
    );
}

#[test]
fn answer_echoes_one_transform_of_each_offered_type() {
    // ESP without PFS; the peer offered KE NONE and ESN: both answered.
    let offered = [offer(
        ProtocolId::ESP,
        1,
        vec![
            Transform::with_key_length(TransformType::ENCR, 20, 128),
            t(TransformType::INTEG, 0),
            t(TransformType::KE, 31),
            t(TransformType::KE, 0),
            t(TransformType::ESN, 0),
            t(TransformType::ADDKE2, 0),
        ],
    )];
    let s = select(&offered, &[esp("aes128gcm16")]).unwrap();
    assert_eq!(
        s.to_wire(vec![1, 2, 3, 4]).to_string(),
        "ESP:aes128gcm16/none/none/noesn/none"
    );
    // No ESN offered: none answered.
    let offered = [offer(
        ProtocolId::ESP,
        1,
        vec![aes(128), t(TransformType::INTEG, 12)],
    )];
    let s = select(&offered, &[esp("aes128-sha256")]).unwrap();
    assert_eq!(s.to_wire(vec![1, 2, 3, 4]).to_string(), "ESP:aes128/sha256");
}

#[test]
fn stricter_offer_checks() {
    let local = [esp("aes128gcm16")];
    // AEAD with an integrity algorithm we do not even implement (MD5).
    let gcm = || Transform::with_key_length(TransformType::ENCR, 20, 128);
    let e = select(
        &[offer(
            ProtocolId::ESP,
            1,
            vec![gcm(), t(TransformType::INTEG, 1), t(TransformType::ESN, 0)],
        )],
        &local,
    )
    .unwrap_err();
    assert_eq!(e.missing, vec!["integrity (offered with an AEAD cipher)"]);
    // Unknown transform type carrying an unknown attribute still counts.
    let mut odd = t(TransformType(77), 1);
    odd.attributes.push(ikedaemon::ike::wire::Attribute::Other {
        kind: ikedaemon::ike::wire::AttributeType(99),
        value: ikedaemon::ike::wire::AttributeValue::Short(1),
    });
    let e = select(
        &[offer(
            ProtocolId::ESP,
            1,
            vec![gcm(), odd, t(TransformType::ESN, 0)],
        )],
        &local,
    )
    .unwrap_err();
    assert_eq!(e.missing, vec!["unsupported transform type"]);
    // ESN present but only with IDs we do not know: no silent "noesn".
    let e = select(
        &[offer(
            ProtocolId::ESP,
            1,
            vec![gcm(), t(TransformType::ESN, 7)],
        )],
        &local,
    )
    .unwrap_err();
    assert_eq!(e.missing, vec!["ESN"]);
    // SPI of the wrong size for ESP.
    let mut p = offer(ProtocolId::ESP, 1, vec![gcm(), t(TransformType::ESN, 0)]);
    p.spi = vec![1, 2];
    assert_eq!(
        select(&[p], &local).unwrap_err().missing,
        vec!["SPI size (RFC 7296 §3.3.1)"]
    );
    // A PRF in an ESP proposal; ESN in an IKE proposal.
    let e = select(
        &[offer(
            ProtocolId::ESP,
            1,
            vec![gcm(), t(TransformType::PRF, 5), t(TransformType::ESN, 0)],
        )],
        &local,
    )
    .unwrap_err();
    assert_eq!(e.missing, vec!["PRF (not allowed in a CHILD SA proposal)"]);
    let ike_offer = offer(
        ProtocolId::IKE,
        1,
        vec![
            aes(128),
            t(TransformType::PRF, 5),
            t(TransformType::INTEG, 12),
            t(TransformType::KE, 31),
            t(TransformType::ESN, 0),
        ],
    );
    let e = select(&[ike_offer], &[ike("aes128-sha256-x25519")]).unwrap_err();
    assert_eq!(e.missing, vec!["ESN (not allowed in an IKE proposal)"]);
    // Proposals must be numbered 1, 2, ...
    let e = select(
        &[offer(
            ProtocolId::ESP,
            2,
            vec![gcm(), t(TransformType::ESN, 0)],
        )],
        &local,
    )
    .unwrap_err();
    assert_eq!(
        e.missing,
        vec!["valid proposal numbering (RFC 7296 §3.3.1)"]
    );
}

#[test]
fn initiator_checks_the_answer() {
    let ours = vec![
        ike("aes256gcm16-prfsha384-x25519").to_wire(1, vec![]),
        ike("aes128-sha256-modp2048-ecp256").to_wire(2, vec![]),
    ];
    let good = offer(
        ProtocolId::IKE,
        2,
        vec![
            aes(128),
            t(TransformType::PRF, 5),
            t(TransformType::INTEG, 12),
            t(TransformType::KE, 19),
        ],
    );
    let s = accept_answer(&ours, std::slice::from_ref(&good)).unwrap();
    assert_eq!(s.to_string(), "aes128-sha256-prfsha256-ecp256");
    assert_eq!(
        accept_answer(&ours, &[good.clone(), good.clone()]).unwrap_err(),
        "answer has 2 proposals, expected one"
    );
    let mut two_groups = good.clone();
    two_groups.transforms.push(t(TransformType::KE, 14));
    assert_eq!(
        accept_answer(&ours, &[two_groups]).unwrap_err(),
        "answer has 2 transforms of type KE, expected one"
    );
    let mut missing_ke = good.clone();
    missing_ke.transforms.pop();
    assert_eq!(
        accept_answer(&ours, &[missing_ke]).unwrap_err(),
        "answer has 0 transforms of type KE, expected one"
    );
    let mut other = good.clone();
    other.transforms[3] = t(TransformType::KE, 31);
    assert_eq!(
        accept_answer(&ours, &[other]).unwrap_err(),
        "answer picks x25519, which we did not offer"
    );
    let mut renumbered = good;
    renumbered.number = 3;
    assert_eq!(
        accept_answer(&ours, &[renumbered]).unwrap_err(),
        "answer names proposal 3 (IKE), which we did not offer"
    );
}
