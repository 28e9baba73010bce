//! IKE identities as the configuration writes them (`{ fqdn: gw.example }`,
//! `{ dn: "CN=gw, O=Example" }`, `{ keyid: 0a1b2c }`, ...): parsing with
//! positioned errors (from the spanned `id:` mapping), and conversion to
//! the wire `Identification`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ike::wire::{IdType, Identification};
use openssl::x509::X509NameBuilder;
use serde_saphyr::Spanned;

use super::error::{ConfigError, ErrorSink, Position};
use super::raw::RawId;

/// One identity (RFC 7296 §3.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdSpec {
    /// ID_FQDN, e.g. `gw-a.example`.
    Fqdn(String),
    /// ID_RFC822_ADDR, e.g. `alice@example.org`.
    Email(String),
    /// ID_IPV4_ADDR.
    Ipv4(Ipv4Addr),
    /// ID_IPV6_ADDR.
    Ipv6(Ipv6Addr),
    /// ID_DER_ASN1_DN: the text as written and its DER encoding.
    Dn {
        /// The distinguished name as written, e.g. `CN=gw, O=Example`.
        text: String,
        /// Its DER encoding (RDNs in the order written).
        der: Vec<u8>,
    },
    /// ID_KEY_ID: opaque bytes, written in hex.
    KeyId(Vec<u8>),
}

/// The keys an `id` mapping may hold.
pub const ID_KINDS: [&str; 6] = ["fqdn", "email", "ipv4", "ipv6", "dn", "keyid"];

impl IdSpec {
    /// The IP identity of an address.
    pub fn from_ip(ip: IpAddr) -> IdSpec {
        match ip {
            IpAddr::V4(a) => IdSpec::Ipv4(a),
            IpAddr::V6(a) => IdSpec::Ipv6(a),
        }
    }

    /// Parses one `KIND: VALUE` pair; the message says what is wrong.
    pub fn parse(kind: &str, value: &str) -> Result<IdSpec, String> {
        match kind {
            "fqdn" => parse_fqdn(value),
            "email" => parse_email(value),
            "ipv4" => value
                .parse()
                .map(IdSpec::Ipv4)
                .map_err(|_| format!("expected an IPv4 address for ipv4, found \"{value}\"")),
            "ipv6" => value
                .parse()
                .map(IdSpec::Ipv6)
                .map_err(|_| format!("expected an IPv6 address for ipv6, found \"{value}\"")),
            "dn" => parse_dn(value),
            "keyid" => parse_keyid(value),
            other => Err(format!(
                "unknown id type \"{other}\" (allowed: {})",
                ID_KINDS.join(", ")
            )),
        }
    }

    /// The identity as an ID payload body.
    pub fn to_identification(&self) -> Identification {
        let (id_type, data) = match self {
            IdSpec::Fqdn(s) => (IdType::FQDN, s.as_bytes().to_vec()),
            IdSpec::Email(s) => (IdType::RFC822_ADDR, s.as_bytes().to_vec()),
            IdSpec::Ipv4(a) => (IdType::IPV4_ADDR, a.octets().to_vec()),
            IdSpec::Ipv6(a) => (IdType::IPV6_ADDR, a.octets().to_vec()),
            IdSpec::Dn { der, .. } => (IdType::DER_ASN1_DN, der.clone()),
            IdSpec::KeyId(k) => (IdType::KEY_ID, k.clone()),
        };
        Identification {
            id_type,
            reserved: [0; 3],
            data,
        }
    }
}

impl fmt::Display for IdSpec {
    /// `fqdn gw.example`, `dn CN=gw, O=Example`, `keyid 0a1b`...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdSpec::Fqdn(s) => write!(f, "fqdn {s}"),
            IdSpec::Email(s) => write!(f, "email {s}"),
            IdSpec::Ipv4(a) => write!(f, "ipv4 {a}"),
            IdSpec::Ipv6(a) => write!(f, "ipv6 {a}"),
            IdSpec::Dn { text, .. } => write!(f, "dn {text}"),
            IdSpec::KeyId(k) => write!(f, "keyid {}", hex::encode(k)),
        }
    }
}

fn parse_fqdn(v: &str) -> Result<IdSpec, String> {
    let ok = !v.is_empty()
        && v.len() <= 255
        && !v.starts_with('.')
        && !v.contains("..")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(IdSpec::Fqdn(v.to_string()))
    } else if v.contains('@') {
        Err(format!(
            "expected a host name for fqdn, found \"{v}\" (use email: for user@domain)"
        ))
    } else {
        Err(format!(
            "expected a host name like gw.example for fqdn, found \"{v}\""
        ))
    }
}

fn parse_email(v: &str) -> Result<IdSpec, String> {
    let ok = match v.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if ok {
        Ok(IdSpec::Email(v.to_string()))
    } else {
        Err(format!(
            "expected an address like user@example.org for email, found \"{v}\""
        ))
    }
}

fn parse_keyid(v: &str) -> Result<IdSpec, String> {
    let hex: String = v
        .strip_prefix("0x")
        .unwrap_or(v)
        .chars()
        .filter(|c| *c != ':')
        .collect();
    hex::decode(&hex)
        .ok()
        .filter(|b| !b.is_empty())
        .map(IdSpec::KeyId)
        .ok_or_else(|| format!("expected hex bytes like 0a1b2c for keyid, found \"{v}\""))
}

/// Splits a DN on unescaped commas (`\,` keeps a comma in a value).
fn split_rdns(v: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), parts.last_mut()) {
                    last.push(next);
                }
            }
            ',' => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

fn parse_dn(v: &str) -> Result<IdSpec, String> {
    let bad = |why: String| format!("bad dn \"{v}\": {why}");
    let mut builder = X509NameBuilder::new().map_err(|_| bad("cannot build a name".into()))?;
    let mut count = 0;
    for part in split_rdns(v) {
        let (attr, value) = part.split_once('=').ok_or_else(|| {
            bad(format!(
                "expected ATTRIBUTE=value, found \"{}\"",
                part.trim()
            ))
        })?;
        let (attr, value) = (attr.trim(), value.trim());
        if attr.is_empty() || value.is_empty() {
            return Err(bad(format!(
                "expected ATTRIBUTE=value, found \"{}\"",
                part.trim()
            )));
        }
        builder.append_entry_by_text(attr, value).map_err(|_| {
            bad(format!(
                "\"{attr}={value}\" is not accepted (unknown attribute or bad value; \
                 use e.g. C, ST, L, O, OU, CN, DC, emailAddress, serialNumber)"
            ))
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(bad("empty".into()));
    }
    let der = builder
        .build()
        .to_der()
        .map_err(|_| bad("cannot encode".into()))?;
    Ok(IdSpec::Dn {
        text: v.trim().to_string(),
        der,
    })
}

/// Builds the identity of an `id:` mapping, which must hold exactly one
/// of [`ID_KINDS`]; errors point at the offending value.
pub(crate) fn build_id(raw: Spanned<RawId>, errors: &ErrorSink) -> Result<IdSpec, ConfigError> {
    let r = &raw.value;
    let given: Vec<(&str, &Spanned<String>)> = [
        ("fqdn", &r.fqdn),
        ("email", &r.email),
        ("ipv4", &r.ipv4),
        ("ipv6", &r.ipv6),
        ("dn", &r.dn),
        ("keyid", &r.keyid),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    .collect();
    match given.as_slice() {
        [] => Err(errors.value(
            Position::of(&raw),
            format!(
                "id: expected one of {}, found an empty mapping",
                ID_KINDS.join(", ")
            ),
        )),
        [(kind, value)] => {
            IdSpec::parse(kind, &value.value).map_err(|m| errors.value(Position::of(*value), m))
        }
        [(first, _), (second, value), ..] => Err(errors.semantic(
            Position::of(*value),
            format!(
                "an id takes exactly one of {}; found both {first} and {second}",
                ID_KINDS.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(
            IdSpec::parse("fqdn", "gw-a.example").unwrap(),
            IdSpec::Fqdn("gw-a.example".into())
        );
        assert!(IdSpec::parse("email", "alice@example.org").is_ok());
        assert!(IdSpec::parse("ipv4", "192.0.2.1").is_ok());
        assert!(IdSpec::parse("ipv6", "2001:db8::1").is_ok());
        assert_eq!(
            IdSpec::parse("keyid", "0x0a:1B:2c").unwrap(),
            IdSpec::KeyId(vec![0x0a, 0x1b, 0x2c])
        );
    }

    #[test]
    fn bad_values() {
        assert!(IdSpec::parse("fqdn", "").is_err());
        assert!(IdSpec::parse("fqdn", "has space.example").is_err());
        assert!(IdSpec::parse("fqdn", "a@b").unwrap_err().contains("email"));
        assert!(IdSpec::parse("email", "nobody").is_err());
        assert!(IdSpec::parse("ipv4", "2001:db8::1").is_err());
        assert!(IdSpec::parse("keyid", "abc").is_err());
        assert!(IdSpec::parse("keyid", "zz").is_err());
        assert!(IdSpec::parse("dn", "CN").is_err());
        assert!(
            IdSpec::parse("dn", "XX=foo")
                .unwrap_err()
                .contains("not accepted")
        );
        assert!(IdSpec::parse("uri", "x").is_err());
    }

    #[test]
    fn dn_encodes_in_order() {
        let id = IdSpec::parse("dn", "C=CH, O=Example\\, Inc, CN=gw").unwrap();
        let IdSpec::Dn { text, der } = &id else {
            panic!("not a dn")
        };
        assert_eq!(text, "C=CH, O=Example\\, Inc, CN=gw");
        let name = openssl::x509::X509Name::from_der(der).unwrap();
        let entries: Vec<String> = name
            .entries()
            .map(|e| String::from_utf8(e.data().as_slice().to_vec()).unwrap())
            .collect();
        assert_eq!(entries, ["CH", "Example, Inc", "gw"]);
        assert_eq!(id.to_identification().id_type, IdType::DER_ASN1_DN);
    }

    #[test]
    fn to_identification() {
        let id = IdSpec::from_ip("192.0.2.1".parse().unwrap()).to_identification();
        assert_eq!(id.id_type, IdType::IPV4_ADDR);
        assert_eq!(id.data, [192, 0, 2, 1]);
        assert_eq!(
            IdSpec::Fqdn("a.example".into()).to_string(),
            "fqdn a.example"
        );
    }
}
