//! Benchmark: the crypto of one responder-side IKE_SA_INIT + IKE_AUTH, for
//! three suites, next to the cost of the primitives underneath (the
//! `openssl speed` view), so the overhead of our code above OpenSSL is
//! visible.
//!
//! Run: `cargo bench -p ikedaemon --bench handshake` (add `-- --quick` for
//! a short run). The initiator's side of each exchange is computed too but
//! not timed. What is timed on the responder: decoding both requests,
//! proposal selection, key pair generation, the DH shared secret, NAT
//! detection hashes, SKEYSEED and SK_*, encoding the IKE_SA_INIT response,
//! opening the IKE_AUTH request, verifying the peer's AUTH, computing ours
//! (MIC or signature), the CHILD SA's KEYMAT, and sealing the response.
//! Certificate parsing and chain validation are not included (issue 5).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ikedaemon::ike::crypto::auth_octets::{psk_auth, psk_verify, signed_octets};
use ikedaemon::ike::crypto::dh::{DhGroup, KeyExchange};
use ikedaemon::ike::crypto::keys::{IkeKeys, child_keymat, skeyseed};
use ikedaemon::ike::crypto::sig_algid::HashAlg;
use ikedaemon::ike::crypto::sig_keys::{EcCurve, KeyKind, PrivateKey, PublicKey};
use ikedaemon::ike::crypto::sign::{RsaPadding, choose_scheme, sign, verify};
use ikedaemon::ike::crypto::sk::SkCipher;
use ikedaemon::ike::proposal::{ProposalConfig, SaProtocol, Selected, select};
use ikedaemon::ike::protect::{open_message, seal_message};
use ikedaemon::ike::wire::*;

const PSK: &[u8] = b"benchmark pre-shared key, 32 b!!";

/// How the peers authenticate.
enum Auth {
    Psk,
    Sig {
        ours: PrivateKey,
        ours_pub: PublicKey,
        peer: PrivateKey,
        peer_pub: PublicKey,
    },
}

struct Suite {
    name: &'static str,
    ike: ProposalConfig,
    esp: ProposalConfig,
    auth: Auth,
}

fn rand(n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    openssl::rand::rand_bytes(&mut v).expect("rand");
    v
}

fn natd(spi_i: u64, spi_r: u64, ip: Ipv4Addr, port: u16) -> [u8; 20] {
    let mut h = openssl::sha::Sha1::new();
    h.update(&spi_i.to_be_bytes());
    h.update(&spi_r.to_be_bytes());
    h.update(&ip.octets());
    h.update(&port.to_be_bytes());
    h.finish()
}

fn header(exchange: ExchangeType, spi_i: u64, spi_r: u64, response: bool, id: u32) -> Header {
    Header {
        spi_i,
        spi_r,
        exchange,
        initiator: !response,
        response,
        higher_version: false,
        message_id: id,
    }
}

fn notify(kind: NotifyType, data: NotifyData) -> Payload {
    Payload::Notify(NotifyPayload::new(kind, data))
}

fn ts(a: [u8; 4]) -> Payload {
    Payload::TsI(TsPayload {
        selectors: vec![TrafficSelector::Range(TsRange::host(IpAddr::from(a)))],
    })
}

fn find<T>(m: &Message, f: impl Fn(&Payload) -> Option<T>) -> T {
    m.payloads.iter().find_map(f).expect("payload present")
}

/// The initiator's IKE_SA_INIT request: (bytes, its KE, Ni, SPIi).
fn initiator_init(s: &Suite) -> (Vec<u8>, KeyExchange, Vec<u8>, u64) {
    let group = s.ike.ke[0];
    let ke = KeyExchange::generate(group).unwrap();
    let ni = rand(32);
    let spi_i = u64::from_be_bytes(rand(8).try_into().unwrap());
    let hashes = [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512].map(HashAlg::id);
    let m = Message {
        header: header(ExchangeType::IKE_SA_INIT, spi_i, 0, false, 0),
        payloads: vec![
            Payload::Sa(SaPayload {
                proposals: vec![s.ike.to_wire(1, vec![])],
            }),
            Payload::Ke(KePayload {
                group: group.id(),
                data: ke.public().to_vec(),
            }),
            Payload::Nonce(ni.clone()),
            notify(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                NotifyData::NatDetection(natd(spi_i, 0, Ipv4Addr::new(192, 0, 2, 1), 500)),
            ),
            notify(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                NotifyData::NatDetection(natd(spi_i, 0, Ipv4Addr::new(192, 0, 2, 2), 500)),
            ),
            notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, NotifyData::Empty),
            notify(
                NotifyType::SIGNATURE_HASH_ALGORITHMS,
                NotifyData::HashAlgorithms(hashes.to_vec()),
            ),
        ],
    };
    (m.encode().unwrap(), ke, ni, spi_i)
}

/// What the responder keeps between its two messages.
struct Responder {
    init_response: Vec<u8>,
    keys: IkeKeys,
    chosen: Selected,
    ni: Vec<u8>,
    nr: Vec<u8>,
    spi_r: u64,
}

/// Timed: the responder's IKE_SA_INIT.
fn responder_init(s: &Suite, request: &[u8]) -> Responder {
    let m = Message::decode(request).unwrap();
    let offer = find(&m, |p| match p {
        Payload::Sa(sa) => Some(sa.proposals.clone()),
        _ => None,
    });
    let chosen = select(&offer, std::slice::from_ref(&s.ike)).unwrap();
    let ke_in = find(&m, |p| match p {
        Payload::Ke(k) => Some(k.data.clone()),
        _ => None,
    });
    let ni = find(&m, |p| match p {
        Payload::Nonce(n) => Some(n.clone()),
        _ => None,
    });
    let group = chosen.ke.unwrap();
    let ke = KeyExchange::generate(group).unwrap();
    let g_ir = ke.shared_secret(&ke_in).unwrap();
    let nr = rand(32);
    let spi_r = u64::from_be_bytes(rand(8).try_into().unwrap());
    let (spi_i, prf) = (m.header.spi_i, chosen.prf.unwrap());
    // The peer's NAT detection hashes are checked against what we see.
    let seen = natd(spi_i, 0, Ipv4Addr::new(192, 0, 2, 1), 500);
    black_box(
        m.notify(NotifyType::NAT_DETECTION_SOURCE_IP)
            .map(|n| n.data == NotifyData::NatDetection(seen)),
    );
    let seed = skeyseed(prf, &ni, &nr, &g_ir).unwrap();
    let keys = IkeKeys::derive(
        prf,
        &seed,
        &ni,
        &nr,
        &spi_i.to_be_bytes(),
        &spi_r.to_be_bytes(),
        chosen.encr.unwrap(),
        chosen.integ,
    )
    .unwrap();
    let response = Message {
        header: header(ExchangeType::IKE_SA_INIT, spi_i, spi_r, true, 0),
        payloads: vec![
            Payload::Sa(SaPayload {
                proposals: vec![chosen.to_wire(vec![])],
            }),
            Payload::Ke(KePayload {
                group: group.id(),
                data: ke.public().to_vec(),
            }),
            Payload::Nonce(nr.clone()),
            notify(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                NotifyData::NatDetection(natd(spi_i, spi_r, Ipv4Addr::new(192, 0, 2, 2), 500)),
            ),
            notify(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                NotifyData::NatDetection(natd(spi_i, spi_r, Ipv4Addr::new(192, 0, 2, 1), 500)),
            ),
            notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, NotifyData::Empty),
        ],
    };
    Responder {
        init_response: response.encode().unwrap(),
        keys,
        chosen,
        ni,
        nr,
        spi_r,
    }
}

fn auth_payload(
    s: &Suite,
    octets: &[u8],
    initiator: bool,
    prf: ikedaemon::ike::crypto::prf::PrfAlg,
) -> AuthPayload {
    match &s.auth {
        Auth::Psk => AuthPayload {
            method: AuthMethod::SHARED_KEY_MIC,
            data: psk_auth(prf, PSK, octets).unwrap().to_vec(),
        },
        Auth::Sig { ours, peer, .. } => {
            let key = if initiator { peer } else { ours };
            let scheme = choose_scheme(key, &[HashAlg::Sha256], RsaPadding::Pkcs1v15).unwrap();
            AuthPayload {
                method: AuthMethod(scheme.auth_method()),
                data: sign(scheme, key, octets).unwrap(),
            }
        }
    }
}

/// Untimed: the initiator's IKE_AUTH request, given the responder's reply.
fn initiator_auth(s: &Suite, init_request: &[u8], r: &Responder, spi_i: u64) -> Vec<u8> {
    let prf = r.chosen.prf.unwrap();
    let (out, _) = r
        .keys
        .sk_ciphers(r.chosen.encr.unwrap(), r.chosen.integ, true)
        .unwrap();
    let idi = Identification::fqdn("initiator.example");
    let octets = signed_octets(init_request, &r.nr, prf, &r.keys.sk_pi, &idi.body()).unwrap();
    let inner = vec![
        Payload::IdI(idi),
        Payload::Auth(auth_payload(s, &octets, true, prf)),
        Payload::Sa(SaPayload {
            proposals: vec![s.esp.to_wire(1, rand(4))],
        }),
        ts([198, 51, 100, 1]),
        ts([198, 51, 100, 2]),
    ];
    let h = header(ExchangeType::IKE_AUTH, spi_i, r.spi_r, false, 1);
    seal_message(&h, &inner, &out, &rand(out.iv_len())).unwrap()
}

/// Timed: the responder's IKE_AUTH.
fn responder_auth(s: &Suite, init_request: &[u8], r: &Responder, request: &[u8]) -> Vec<u8> {
    let prf = r.chosen.prf.unwrap();
    let (out, inb): (SkCipher, SkCipher) = r
        .keys
        .sk_ciphers(r.chosen.encr.unwrap(), r.chosen.integ, false)
        .unwrap();
    let outer = Message::decode(request).unwrap();
    let (m, _) = open_message(request, &outer, &inb).unwrap();
    let idi = find(&m, |p| match p {
        Payload::IdI(i) => Some(i.clone()),
        _ => None,
    });
    let auth = find(&m, |p| match p {
        Payload::Auth(a) => Some(a.clone()),
        _ => None,
    });
    let peer_octets = signed_octets(init_request, &r.nr, prf, &r.keys.sk_pi, &idi.body()).unwrap();
    match &s.auth {
        Auth::Psk => psk_verify(prf, PSK, &peer_octets, &auth.data).unwrap(),
        Auth::Sig { peer_pub, .. } => {
            verify(auth.method.0, &auth.data, peer_pub, &peer_octets).unwrap()
        }
    }
    let idr = Identification::fqdn("responder.example");
    let octets = signed_octets(&r.init_response, &r.ni, prf, &r.keys.sk_pr, &idr.body()).unwrap();
    let offer = find(&m, |p| match p {
        Payload::Sa(sa) => Some(sa.proposals.clone()),
        _ => None,
    });
    let child = select(&offer, std::slice::from_ref(&s.esp)).unwrap();
    let encr = child.encr.unwrap();
    let keymat = child_keymat(
        prf,
        &r.keys.sk_d,
        None,
        &r.ni,
        &r.nr,
        encr.keymat_len(),
        child.integ.map_or(0, |i| i.key_len()),
    )
    .unwrap();
    black_box(&keymat);
    let inner = vec![
        Payload::IdR(idr),
        Payload::Auth(auth_payload(s, &octets, false, prf)),
        Payload::Sa(SaPayload {
            proposals: vec![child.to_wire(rand(4))],
        }),
        ts([198, 51, 100, 1]),
        ts([198, 51, 100, 2]),
    ];
    let h = header(ExchangeType::IKE_AUTH, m.header.spi_i, r.spi_r, true, 1);
    if let Auth::Sig { ours_pub, .. } = &s.auth {
        black_box(ours_pub);
    }
    seal_message(&h, &inner, &out, &rand(out.iv_len())).unwrap()
}

/// Mean time of `f` over as many runs as fit in `budget` (at least 20).
fn time<F: FnMut()>(budget: Duration, mut f: F) -> (Duration, u32) {
    let start = Instant::now();
    let mut n = 0u32;
    while n < 20 || start.elapsed() < budget {
        f();
        n += 1;
    }
    (start.elapsed() / n, n)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 200 } else { 2000 });
    let ike = |p| ProposalConfig::parse(p, SaProtocol::Ike).unwrap();
    let esp = ProposalConfig::parse("aes128gcm16", SaProtocol::Esp).unwrap();
    let keypair = |k| {
        let ours = PrivateKey::generate(k).unwrap();
        let peer = PrivateKey::generate(k).unwrap();
        let (ours_pub, peer_pub) = (ours.public_key().unwrap(), peer.public_key().unwrap());
        Auth::Sig {
            ours,
            ours_pub,
            peer,
            peer_pub,
        }
    };
    let suites = [
        Suite {
            name: "PSK + X25519",
            ike: ike("aes128-sha256-x25519"),
            esp: esp.clone(),
            auth: Auth::Psk,
        },
        Suite {
            name: "ECDSA-P256 + X25519",
            ike: ike("aes128-sha256-x25519"),
            esp: esp.clone(),
            auth: keypair(KeyKind::Ec(EcCurve::P256)),
        },
        Suite {
            name: "RSA-2048 + MODP-2048",
            ike: ike("aes128-sha256-modp2048"),
            esp,
            auth: keypair(KeyKind::Rsa { bits: 2048 }),
        },
    ];

    // The primitives, one operation each (`openssl speed` style).
    println!(
        "primitives (OpenSSL {} via the openssl crate), mean per operation:",
        openssl::version::version()
    );
    let mut prim = std::collections::HashMap::new();
    for g in [DhGroup::Curve25519, DhGroup::Modp2048] {
        let peer = KeyExchange::generate(g).unwrap();
        let (keygen, _) = time(budget, || {
            black_box(KeyExchange::generate(g).unwrap());
        });
        let mine = KeyExchange::generate(g).unwrap();
        let (derive, _) = time(budget, || {
            black_box(mine.shared_secret(peer.public()).unwrap());
        });
        println!(
            "  {:<28} keygen {:>9.1} us   derive {:>9.1} us",
            g.name(),
            us(keygen),
            us(derive)
        );
        prim.insert(g.name(), keygen + derive);
    }
    let octets = rand(700);
    for (label, kind) in [
        ("ecdsa-p256-sha256", KeyKind::Ec(EcCurve::P256)),
        ("rsa2048-pkcs1-sha256", KeyKind::Rsa { bits: 2048 }),
    ] {
        let key = PrivateKey::generate(kind).unwrap();
        let public = key.public_key().unwrap();
        let scheme = choose_scheme(&key, &[HashAlg::Sha256], RsaPadding::Pkcs1v15).unwrap();
        let sig = sign(scheme, &key, &octets).unwrap();
        let (s, _) = time(budget, || {
            black_box(sign(scheme, &key, &octets).unwrap());
        });
        let (v, _) = time(budget, || {
            verify(scheme.auth_method(), &sig, &public, &octets).unwrap()
        });
        println!(
            "  {label:<28} sign   {:>9.1} us   verify {:>9.1} us",
            us(s),
            us(v)
        );
        prim.insert(label, s + v);
    }
    let (h, _) = time(budget, || {
        black_box(
            psk_auth(
                ikedaemon::ike::crypto::prf::PrfAlg::HmacSha256,
                PSK,
                &octets,
            )
            .unwrap(),
        );
    });
    println!(
        "  {:<28} {:>16.1} us  (two HMAC-SHA256, 700-byte octets)",
        "psk-mic",
        us(h)
    );
    prim.insert("psk", h);

    println!(
        "\nresponder IKE_SA_INIT + IKE_AUTH (IKE aes128-sha256, ESP aes128gcm16), mean per handshake:"
    );
    println!(
        "  {:<22} {:>10} {:>10} {:>10} {:>12} {:>9}",
        "suite", "total us", "init us", "auth us", "primitives", "overhead"
    );
    for s in &suites {
        let (mut t_init, mut t_auth, mut n) = (Duration::ZERO, Duration::ZERO, 0u32);
        let start = Instant::now();
        while n < 20 || start.elapsed() < budget * 2 {
            let (req, _ke, _ni, spi_i) = initiator_init(s);
            let t0 = Instant::now();
            let r = responder_init(s, &req);
            t_init += t0.elapsed();
            let auth_req = initiator_auth(s, &req, &r, spi_i);
            let t1 = Instant::now();
            black_box(responder_auth(s, &req, &r, &auth_req));
            t_auth += t1.elapsed();
            n += 1;
        }
        let (init, auth) = (t_init / n, t_auth / n);
        let total = init + auth;
        let prims = match s.name {
            "PSK + X25519" => prim["x25519"] + prim["psk"] * 2,
            "ECDSA-P256 + X25519" => prim["x25519"] + prim["ecdsa-p256-sha256"],
            _ => prim["modp2048"] + prim["rsa2048-pkcs1-sha256"],
        };
        let overhead = total.saturating_sub(prims);
        println!(
            "  {:<22} {:>10.1} {:>10.1} {:>10.1} {:>12.1} {:>8.1}%   ({n} runs, {:.0} handshakes/s/core)",
            s.name,
            us(total),
            us(init),
            us(auth),
            us(prims),
            100.0 * overhead.as_secs_f64() / total.as_secs_f64(),
            1.0 / total.as_secs_f64()
        );
    }
    println!(
        "\nprimitives = keygen + derive of the group, + sign + verify (signatures) or two MICs (PSK);"
    );
    println!("overhead = everything else (codec, prf+, SK seal/open, NAT-D hashes, random bytes).");
}
