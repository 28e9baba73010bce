//! Human-readable SAs and policies in the style of `setkey -D` and
//! `setkey -DP`. Key material is printed only when the caller asks.

use std::fmt::Write as _;

use crate::algorithms::{AuthAlgorithm, CompressAlgorithm, EncryptAlgorithm};
use crate::dialect::Dialect;
use crate::ext::{Address, ExtBody};
use crate::ipsec::{FlowType, Mode};
use crate::message::Message;
use crate::numbers::{ExtKind, SaType};

/// The `setkey` name of an encryption algorithm number.
pub fn encrypt_name(d: Dialect, id: u8) -> String {
    use EncryptAlgorithm::*;
    match EncryptAlgorithm::from_wire(d, id) {
        Some(None) => "none".into(),
        Some(DesCbc) => "des-cbc".into(),
        Some(TripleDesCbc) => "3des-cbc".into(),
        Some(CastCbc) => "cast128-cbc".into(),
        Some(BlowfishCbc) => "blowfish-cbc".into(),
        Some(Null) => "null".into(),
        Some(AesCbc) => "aes-cbc".into(),
        Some(AesCtr) => "aes-ctr".into(),
        Some(AesCcm8) => "aes-ccm-8".into(),
        Some(AesCcm12) => "aes-ccm-12".into(),
        Some(AesCcm16) => "aes-ccm-16".into(),
        Some(AesGcm8) => "aes-gcm-8".into(),
        Some(AesGcm12) => "aes-gcm-12".into(),
        Some(AesGcm16) => "aes-gcm-16".into(),
        Some(CamelliaCbc) => "camellia-cbc".into(),
        Some(NullAesGmac) => "null-aes-gmac".into(),
        Some(Sm4Cbc) => "sm4-cbc".into(),
        Some(ChaCha20Poly1305) => "chacha20-poly1305".into(),
        Some(SerpentCbc) => "serpent-cbc".into(),
        Some(TwofishCbc) => "twofish-cbc".into(),
        Option::None => format!("unknown-{id}"),
    }
}

/// The `setkey` name of an authentication algorithm number.
pub fn auth_name(d: Dialect, id: u8) -> String {
    use AuthAlgorithm::*;
    match AuthAlgorithm::from_wire(d, id) {
        Some(None) => "none".into(),
        Some(HmacMd5) => "hmac-md5".into(),
        Some(HmacSha1) => "hmac-sha1".into(),
        Some(HmacSha2_256) => "hmac-sha256".into(),
        Some(HmacSha2_384) => "hmac-sha384".into(),
        Some(HmacSha2_512) => "hmac-sha512".into(),
        Some(HmacRipemd160) => "hmac-ripemd160".into(),
        Some(AesXcbcMac) => "aes-xcbc-mac".into(),
        Some(HmacSm3_256) => "hmac-sm3".into(),
        Some(Aes128Gmac) => "aes-gmac-128".into(),
        Some(Aes192Gmac) => "aes-gmac-192".into(),
        Some(Aes256Gmac) => "aes-gmac-256".into(),
        Some(ChaCha20Poly1305) => "chacha20-poly1305".into(),
        Some(KeyedMd5) => "keyed-md5".into(),
        Some(KeyedSha1) => "keyed-sha1".into(),
        Some(Null) => "null".into(),
        Some(TcpMd5) => "tcp-md5".into(),
        Option::None => format!("unknown-{id}"),
    }
}

fn compress_name(d: Dialect, id: u8) -> String {
    match CompressAlgorithm::from_wire(d, id) {
        Some(c) => c.name().to_ascii_lowercase(),
        None => format!("unknown-{id}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn proto_name(t: SaType) -> String {
    match t {
        SaType::Esp => "esp".into(),
        SaType::Ah => "ah".into(),
        SaType::XIpcomp => "ipcomp".into(),
        other => other.name().to_ascii_lowercase(),
    }
}

fn selector(a: &Address) -> String {
    let port = if a.addr.port() == 0 {
        "any".to_string()
    } else {
        a.addr.port().to_string()
    };
    format!("{}/{}[{}]", a.addr.ip(), a.prefix_len, port)
}

fn upper(proto: u8) -> String {
    match proto {
        255 => "any".into(),
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "ipv6-icmp".into(),
        n => n.to_string(),
    }
}

/// One SA (a DUMP or GET reply) as `setkey -D` prints it.
pub fn sa_entry(msg: &Message, d: Dialect, show_keys: bool) -> String {
    let mut out = String::new();
    let src = msg
        .address(ExtKind::AddressSrc)
        .map(|a| a.addr.ip().to_string());
    let dst = msg
        .address(ExtKind::AddressDst)
        .map(|a| a.addr.ip().to_string());
    let _ = writeln!(
        out,
        "{} {}",
        src.unwrap_or_else(|| "?".into()),
        dst.unwrap_or_else(|| "?".into())
    );
    let (mode, reqid) = msg.sa2().map_or(("any", 0), |s| {
        let m = match s.mode {
            Mode::Transport => "transport",
            Mode::Tunnel => "tunnel",
            Mode::Beet => "beet",
            Mode::Any => "any",
            Mode::TcpMd5 => "tcp-md5",
        };
        (m, s.reqid)
    });
    if let Some(sa) = msg.sa() {
        let _ = writeln!(
            out,
            "\t{} mode={mode} spi={}(0x{:08x}) reqid={reqid}(0x{reqid:08x})",
            proto_name(msg.sa_type),
            sa.spi,
            sa.spi
        );
        if msg.sa_type == SaType::XIpcomp {
            let _ = writeln!(out, "\tC: {}", compress_name(d, sa.encrypt));
        }
        for (kind, label, name) in [
            (ExtKind::KeyEncrypt, "E", encrypt_name(d, sa.encrypt)),
            (ExtKind::KeyAuth, "A", auth_name(d, sa.auth)),
        ] {
            if let Some(k) = msg.key(kind) {
                let material = if show_keys {
                    hex(&k.data)
                } else {
                    "<hidden>".into()
                };
                let _ = writeln!(out, "\t{label}: {name} ({} bits) {material}", k.bits);
            }
        }
        let _ = writeln!(
            out,
            "\tseq=0x{:08x} replay={} flags=0x{:08x} state={}",
            msg.sa2().map_or(0, |s| s.sequence),
            sa.replay,
            sa.flags,
            sa.state.name().to_ascii_lowercase()
        );
    }
    if let Some(c) = msg.lifetime(ExtKind::LifetimeCurrent) {
        let _ = writeln!(
            out,
            "\tcreated: {}\tcurrent: {}(bytes) allocated: {}",
            c.addtime, c.bytes, c.allocations
        );
    }
    for (kind, label) in [
        (ExtKind::LifetimeHard, "hard"),
        (ExtKind::LifetimeSoft, "soft"),
    ] {
        if let Some(l) = msg.lifetime(kind) {
            let _ = writeln!(
                out,
                "\t{label}: {}(s) {}(bytes) use {}(s)",
                l.addtime, l.bytes, l.usetime
            );
        }
    }
    if let (Some(ExtBody::NatTPort(s)), Some(ExtBody::NatTPort(t))) =
        (msg.get(ExtKind::NatTSport), msg.get(ExtKind::NatTDport))
    {
        let _ = writeln!(out, "\tnat-t: sport={} dport={}", s.port, t.port);
    }
    let _ = writeln!(out, "\tsadb_seq={} pid={}", msg.seq, msg.pid);
    out
}

/// One policy (an SPDDUMP record) as `setkey -DP` prints it; OpenBSD flows
/// are shown with their flow type.
pub fn policy_entry(msg: &Message, d: Dialect) -> String {
    let mut out = String::new();
    if d == Dialect::OpenBsd {
        let flow = |k| {
            msg.address(k)
                .map_or("?".to_string(), |a| a.addr.ip().to_string())
        };
        let _ = writeln!(
            out,
            "flow {} mask {} -> {} mask {}",
            flow(ExtKind::SrcFlow),
            flow(ExtKind::SrcMask),
            flow(ExtKind::DstFlow),
            flow(ExtKind::DstMask)
        );
        if let Some(ExtBody::Protocol(p)) = msg.get(ExtKind::FlowType) {
            let t = FlowType::from_wire(d, p.proto).map_or("?", |t| t.name());
            let _ = writeln!(
                out,
                "\ttype {t} direction {}",
                if p.direction == 1 { "in" } else { "out" }
            );
        }
        return out;
    }
    let (Some(src), Some(dst)) = (
        msg.address(ExtKind::AddressSrc),
        msg.address(ExtKind::AddressDst),
    ) else {
        let _ = writeln!(out, "(policy without selectors)");
        return out;
    };
    let _ = writeln!(
        out,
        "{} {} {}",
        selector(src),
        selector(dst),
        upper(src.proto)
    );
    if let Some(ExtBody::Policy(p)) = msg.get(ExtKind::Policy) {
        let dir = match p.dir {
            crate::ipsec::Direction::Inbound => "in",
            crate::ipsec::Direction::Outbound => "out",
            crate::ipsec::Direction::Forward => "fwd",
            crate::ipsec::Direction::Any => "any",
            crate::ipsec::Direction::SocketInbound => "in(socket)",
            crate::ipsec::Direction::SocketOutbound => "out(socket)",
        };
        let _ = writeln!(
            out,
            "\t{dir} prio {} {}",
            p.priority,
            p.policy_type.name().to_ascii_lowercase()
        );
        for r in &p.requests {
            let proto = match r.proto {
                50 => "esp",
                51 => "ah",
                108 => "ipcomp",
                _ => "?",
            };
            let ends = r
                .tunnel
                .map_or(String::new(), |(s, t)| format!("{}-{}", s.ip(), t.ip()));
            let level = r.level.name().to_ascii_lowercase();
            let level = if r.reqid != 0 {
                format!("{level}:{}", r.reqid)
            } else {
                level
            };
            let _ = writeln!(
                out,
                "\t{proto}/{}/{ends}/{level}",
                r.mode.name().to_ascii_lowercase()
            );
        }
        let _ = writeln!(out, "\tspid={} seq={} pid={}", p.id, msg.seq, msg.pid);
    }
    out
}
