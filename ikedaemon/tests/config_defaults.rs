//! Defaults of a policy: what a minimal policy gets, how `dynamic`
//! selectors and local IDs follow the addresses, and how a lone rekey or
//! expire time gets its partner.

use std::time::Duration;

use ikedaemon::config::{
    CHILD_EXPIRE, CHILD_REKEY, EndpointAddress, IKE_EXPIRE, IKE_REKEY, IdSpec, Mode, StartAction,
    TrafficSelector, parse,
};

fn one_policy(body: &str) -> ikedaemon::config::Policy {
    let text = format!("dpd: 45s\npolicies:\n  - name: p\n    auth: {{ psk: x }}\n{body}");
    let mut c = parse(&text, "t.conf").unwrap_or_else(|e| panic!("{e}"));
    c.policies.remove(0)
}

#[test]
fn minimal_policy_defaults() {
    let p = one_policy("    remote: { address: 198.51.100.2 }\n");
    assert_eq!(p.name, "p");
    assert_eq!(p.start, StartAction::Passive);
    assert_eq!(p.local.address, EndpointAddress::Any);
    assert_eq!(p.local.id, None);
    assert_eq!(p.remote.id, None);
    assert_eq!(p.mode, Mode::Tunnel);
    let ike: Vec<String> = p.ike.iter().map(ToString::to_string).collect();
    assert_eq!(
        ike,
        [
            "aes256gcm16-prfsha384-x25519",
            "aes128-sha256-prfsha256-x25519"
        ]
    );
    let esp: Vec<String> = p.esp.iter().map(ToString::to_string).collect();
    assert_eq!(esp, ["aes256gcm16", "aes128-sha256"]);
    assert_eq!(p.local_ts, [TrafficSelector::DYNAMIC]);
    assert_eq!(p.remote_ts[0].to_string(), "198.51.100.2/32");
    assert_eq!(p.lifetime.ike.rekey, IKE_REKEY);
    assert_eq!(p.lifetime.ike.expire, IKE_EXPIRE);
    assert_eq!(p.lifetime.child.rekey, CHILD_REKEY);
    assert_eq!(p.lifetime.child.expire, CHILD_EXPIRE);
    assert_eq!(
        (p.lifetime.child.rekey_bytes, p.lifetime.child.expire_bytes),
        (0, 0)
    );
    assert_eq!(p.dpd, Duration::from_secs(45), "inherits the global dpd");
}

#[test]
fn local_address_gives_id_and_selectors() {
    let p = one_policy(
        "    local: { address: \"2001:db8::1\" }\n    remote: { address: \"2001:db8::/32\" }\n    dpd: 0s\n",
    );
    assert_eq!(
        p.local.id,
        Some(IdSpec::Ipv6("2001:db8::1".parse().unwrap()))
    );
    assert_eq!(p.local_ts[0].to_string(), "2001:db8::1/128");
    assert_eq!(
        p.remote_ts,
        [TrafficSelector::DYNAMIC],
        "a prefix has no single address"
    );
    assert_eq!(p.dpd, Duration::ZERO);
}

#[test]
fn lone_rekey_or_expire_gets_the_default_margin() {
    let p = one_policy(
        "    remote: { address: any }\n    lifetime:\n      ike: { rekey: 8h }\n      child: { expire: 2h, rekey_bytes: 1G }\n",
    );
    assert_eq!(p.lifetime.ike.rekey, Duration::from_secs(8 * 3600));
    assert_eq!(p.lifetime.ike.expire, Duration::from_secs(8 * 3600 + 1800));
    assert_eq!(p.lifetime.child.rekey, Duration::from_secs(2 * 3600 - 600));
    assert_eq!(p.lifetime.child.expire, Duration::from_secs(2 * 3600));
    assert_eq!(p.lifetime.child.rekey_bytes, 1 << 30);
    assert_eq!(p.lifetime.child.expire_bytes, 0);
}

#[test]
fn explicit_nulls_and_groups() {
    let c = parse("socket_group: null\npolicies: []\n", "t.conf").unwrap();
    assert_eq!(c.global.socket_group, None);
    let c = parse(
        "socket_group: wheel\nlisten: [\"::1\"]\npolicies: []\n",
        "t.conf",
    )
    .unwrap();
    assert_eq!(c.global.socket_group.as_deref(), Some("wheel"));
    assert_eq!(
        c.global.listen,
        ["::1".parse::<std::net::IpAddr>().unwrap()]
    );
}

#[test]
fn merge_keys_share_settings_between_policies() {
    let text = "policies:\n  - &base\n    name: a\n    remote: { address: any }\n    auth: { psk: x }\n    esp: [aes128gcm16]\n  - <<: *base\n    name: b\n";
    let c = parse(text, "t.conf").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.policies.len(), 2);
    assert_eq!(c.policies[1].name, "b");
    assert_eq!(c.policies[1].esp[0].to_string(), "aes128gcm16");
}
