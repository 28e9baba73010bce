//! One test per class of configuration error: each asserts the exact
//! `FILE:LINE:COLUMN: message` text, so a change of position or wording
//! is a visible decision.

use ikedaemon::config::{ErrorKind, parse};

/// Parses `text` as `ikedaemon.conf`, expecting an error; returns its text.
fn error(text: &str) -> (ErrorKind, String) {
    match parse(text, "ikedaemon.conf") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => (e.kind(), e.to_string()),
    }
}

/// A valid policy list with `extra` lines added to the one policy.
fn policy(extra: &str) -> String {
    format!(
        "policies:\n  - name: site-b\n    remote:\n      address: 198.51.100.2\n    auth:\n      psk: secret\n{extra}"
    )
}

#[test]
fn yaml_syntax_error() {
    let (kind, msg) = error("user: _ikedaemon\npolicies: [\n");
    assert_eq!(kind, ErrorKind::Syntax);
    assert_eq!(
        msg,
        "ikedaemon.conf:2:11: YAML syntax error: unclosed bracket '['"
    );
}

#[test]
fn unknown_key() {
    let (kind, msg) = error("policies: []\nlisten_port: 500\n");
    assert_eq!(kind, ErrorKind::UnknownKey);
    assert_eq!(
        msg,
        "ikedaemon.conf:2:1: unknown key \"listen_port\" (allowed: user, chroot, socket, socket_group, pid_file, kernel, listen, ike_port, natt_port, log_level, allow_sha1_certificates, dos, fragmentation, dpd, policies)"
    );
}

#[test]
fn unknown_key_in_a_policy() {
    let (kind, msg) = error(&policy("    proposal: aes128\n"));
    assert_eq!(kind, ErrorKind::UnknownKey);
    assert_eq!(
        msg,
        "ikedaemon.conf:7:5: unknown key \"proposal\" (allowed: name, start, local, remote, auth, ike, esp, mode, local_ts, remote_ts, lifetime, dpd, childless)"
    );
}

#[test]
fn unknown_childless_value() {
    let (_, msg) = error(&policy("    childless: sometimes\n"));
    assert!(msg.starts_with("ikedaemon.conf:7:16: "), "{msg}");
    assert!(
        msg.contains("allow")
            && msg.contains("prefer")
            && msg.contains("force")
            && msg.contains("never"),
        "{msg}"
    );
}

#[test]
fn wrong_type() {
    let (kind, msg) = error("ike_port: [500]\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Type);
    assert_eq!(
        msg,
        "ikedaemon.conf:1:11: expected a single value, found a list"
    );
}

#[test]
fn integer_out_of_range() {
    let (kind, msg) = error("ike_port: 70000\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Type);
    assert_eq!(
        msg,
        "ikedaemon.conf:1:11: expected an integer from 0 to 65535, found \"70000\""
    );
}

#[test]
fn wrong_enum_value() {
    let (kind, msg) = error("kernel: netlink\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:1:9: expected one of auto, pfkey, xfrm, none, found \"netlink\""
    );
}

#[test]
fn duplicate_key() {
    let (kind, msg) = error(&policy("    mode: tunnel\n    mode: transport\n"));
    assert_eq!(kind, ErrorKind::DuplicateKey);
    assert_eq!(msg, "ikedaemon.conf:8:5: duplicate key \"mode\"");
}

#[test]
fn bad_address() {
    let (kind, msg) = error(&policy("    local:\n      address: 192.0.2.300\n"));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:16: expected an IPv4 or IPv6 address or \"any\", found \"192.0.2.300\""
    );
}

#[test]
fn bad_prefix() {
    let (kind, msg) = error(&policy("    local_ts: [192.0.2.1/24]\n"));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:7:16: bad traffic selector \"192.0.2.1/24\": 192.0.2.1/24 has host bits set; did you mean 192.0.2.0/24?"
    );
}

#[test]
fn bad_remote_prefix() {
    let (kind, msg) = error(
        "policies:\n  - name: rw\n    remote: { address: 0.0.0.0/33 }\n    auth: { psk: x }\n",
    );
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:3:24: bad prefix \"0.0.0.0/33\": prefix length /33 is longer than /32"
    );
}

#[test]
fn bad_traffic_selector() {
    let (kind, msg) = error(&policy(
        "    remote_ts:\n      - 203.0.113.0/24[tcp/http]\n",
    ));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:9: bad traffic selector \"203.0.113.0/24[tcp/http]\": expected a port (443) or a range (1000-2000), found \"http\""
    );
}

#[test]
fn bad_proposal_string() {
    let (kind, msg) = error(&policy(
        "    ike: [aes256gcm16-prfsha384-x25519, aes128-md5-x25519]\n",
    ));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:7:41: bad IKE proposal \"aes128-md5-x25519\": unknown or unsupported algorithm \"md5\" (supported: aes128/192/256, aes*gcm8/12/16, aes*ccm8/12/16, chacha20poly1305, sha1, sha256, sha384, sha512, aesxcbc, aescmac, prfsha1/256/384/512, prfaesxcbc, prfaescmac, modp2048..modp8192, ecp256/384/521, x25519, x448, esn, noesn)"
    );
}

#[test]
fn bad_esp_proposal() {
    let (kind, msg) = error(&policy("    esp: [aes256gcm16-sha256]\n"));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:7:11: bad ESP proposal \"aes256gcm16-sha256\": an AEAD cipher takes no integrity algorithm in ESP"
    );
}

#[test]
fn bad_duration() {
    let (kind, msg) = error("dpd: 30\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:1:6: expected a duration like 30s, 10m, 4h or 1h30m (units d, h, m, s), found \"30\" (a unit is required)"
    );
}

#[test]
fn bad_byte_size() {
    let (kind, msg) = error(&policy(
        "    lifetime:\n      child: { rekey_bytes: 5MB }\n",
    ));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:29: expected a byte count like 0, 65536, 500M or 2G (suffixes K, M, G, T), found \"5MB\""
    );
}

#[test]
fn bad_id() {
    let (kind, msg) = error(&policy("    local:\n      id: { email: gw-a.example }\n"));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:20: expected an address like user@example.org for email, found \"gw-a.example\""
    );
}

#[test]
fn id_with_two_kinds() {
    let (kind, msg) = error(&policy(
        "    local:\n      id: { fqdn: gw-a.example, email: a@example.org }\n",
    ));
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:40: an id takes exactly one of fqdn, email, ipv4, ipv6, dn, keyid; found both fqdn and email"
    );
}

#[test]
fn bad_dn() {
    let (kind, msg) = error(&policy("    local:\n      id: { dn: \"CN=gw, XX=y\" }\n"));
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:17: bad dn \"CN=gw, XX=y\": \"XX=y\" is not accepted (unknown attribute or bad value; use e.g. C, ST, L, O, OU, CN, DC, emailAddress, serialNumber)"
    );
}

#[test]
fn duplicate_policy_name() {
    let text = format!(
        "{}  - name: site-b\n    remote: {{ address: 198.51.100.3 }}\n    auth: {{ psk: other }}\n",
        policy("")
    );
    let (kind, msg) = error(&text);
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:7:11: duplicate policy name \"site-b\" (first used at line 2)"
    );
}

#[test]
fn missing_auth() {
    let (kind, msg) = error("policies:\n  - name: site-b\n    remote: { address: 198.51.100.2 }\n");
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:2:11: policy \"site-b\" has no auth: give psk, psk_file, or certificate with private_key and ca"
    );
}

#[test]
fn psk_and_certificate() {
    let (kind, msg) = error(&policy("      certificate: certs/gw-a.pem\n"));
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:7:20: auth takes either a psk (psk or psk_file) or a certificate (certificate, private_key, ca), not both"
    );
}

#[test]
fn certificate_without_key() {
    let (kind, msg) = error(
        "policies:\n  - name: rw\n    remote: { address: any }\n    auth:\n      certificate: a.pem\n      ca: [ca.pem]\n",
    );
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:5:20: certificate needs private_key (our private key file) too"
    );
}

#[test]
fn expire_before_rekey() {
    let (kind, msg) = error(&policy(
        "    lifetime:\n      ike: { rekey: 4h, expire: 1h }\n",
    ));
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:33: expire (1h) must be longer than rekey (4h)"
    );
}

#[test]
fn bad_policy_name() {
    let (kind, msg) =
        error("policies:\n  - name: site b\n    remote: { address: any }\n    auth: { psk: x }\n");
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:2:11: expected a policy name of 1 to 64 characters A-Z a-z 0-9 . _ -, found \"site b\""
    );
}

#[test]
fn address_family_mismatch() {
    let (kind, msg) = error(
        "policies:\n  - name: x\n    local: { address: 192.0.2.1 }\n    remote: { address: \"2001:db8::1\" }\n    auth: { psk: x }\n",
    );
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:4:24: remote address 2001:db8::1 and local address 192.0.2.1 are of different address families"
    );
}

#[test]
fn fragment_size_out_of_range() {
    let (kind, msg) = error("fragmentation:\n  size: 500\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:2:9: fragmentation size: expected 576 to 65535, found 500"
    );
}

#[test]
fn missing_required_key() {
    let (kind, msg) = error("policies:\n  - name: x\n    auth: { psk: x }\n");
    assert_eq!(kind, ErrorKind::MissingKey);
    assert_eq!(msg, "ikedaemon.conf:3:5: missing required key \"remote\"");
}

#[test]
fn transport_mode_with_subnets() {
    let (kind, msg) = error(&policy(
        "    mode: transport\n    local_ts: [192.0.2.0/24]\n",
    ));
    assert_eq!(kind, ErrorKind::Semantic);
    assert_eq!(
        msg,
        "ikedaemon.conf:8:16: local_ts: transport mode protects traffic of the IKE addresses only; use dynamic, not 192.0.2.0/24"
    );
}

#[test]
fn relative_runtime_path() {
    let (kind, msg) = error("socket: run/ikedaemon.sock\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:1:9: socket: expected an absolute path, found \"run/ikedaemon.sock\""
    );
}

#[test]
fn alias_expansion_is_bounded() {
    let mut text =
        String::from("policies:\n  - &p {name: a, remote: {address: any}, auth: {psk: x}}\n");
    for _ in 0..1_000 {
        text.push_str("  - *p\n");
    }
    let (kind, msg) = error(&text);
    assert_eq!(kind, ErrorKind::Limit);
    assert_eq!(
        msg,
        "ikedaemon.conf:1003:1: YAML limit exceeded: 1000 aliases for 1 anchors (at most 10 per anchor)"
    );
}

#[test]
fn empty_file() {
    let (kind, msg) = error("# nothing but a comment\n");
    assert_eq!(kind, ErrorKind::MissingKey);
    assert_eq!(
        msg,
        "ikedaemon.conf:1:1: the configuration is empty; expected at least the key \"policies\""
    );
}

#[test]
fn empty_value_where_a_list_belongs() {
    let (kind, msg) = error("policies:\n");
    assert_eq!(kind, ErrorKind::Type);
    assert_eq!(msg, "ikedaemon.conf:1:9: expected a list, found nothing");
}

#[test]
fn bad_boolean() {
    let (kind, msg) = error("fragmentation: { enabled: maybe }\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Type);
    assert_eq!(
        msg,
        "ikedaemon.conf:1:27: expected true or false, found \"maybe\""
    );
}

#[test]
fn ipv6_prefix_out_of_range() {
    let (kind, msg) = error("dos:\n  ipv6_prefix: 16\npolicies: []\n");
    assert_eq!(kind, ErrorKind::Value);
    assert_eq!(
        msg,
        "ikedaemon.conf:2:16: ipv6_prefix: expected a prefix length from 32 to 128, found 16"
    );
}
