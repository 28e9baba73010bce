//! Human-readable output of ikectl (the `--json` form prints the response
//! as received instead).

use ikedaemon::control_proto::{ChildInfo, PolicyInfo, Response, SaInfo, Stats};

fn id_or(id: &str, fallback: &str) -> String {
    if id.is_empty() {
        fallback.to_string()
    } else {
        id.to_string()
    }
}

fn policy(p: &PolicyInfo) {
    println!("policy {}: {}, {}, {}", p.name, p.start, p.mode, p.auth);
    println!(
        "  local  {} [{}]  ts {}",
        p.local_address,
        id_or(&p.local_id, "id from address"),
        p.local_ts.join(", ")
    );
    println!(
        "  remote {} [{}]  ts {}",
        p.remote_address,
        id_or(&p.remote_id, "any id"),
        p.remote_ts.join(", ")
    );
    println!("  ike    {}", p.ike.join(", "));
    println!("  esp    {}", p.esp.join(", "));
}

fn sa(s: &SaInfo) {
    let when = |v: Option<u64>| v.map_or("-".to_string(), |s| format!("{s}s"));
    let reauth = s
        .reauth_in
        .map_or(String::new(), |r| format!(" reauth {r}s"));
    println!(
        "{} {} {} {} {} age {}s rekey {}{reauth} expire {}",
        s.policy,
        s.spis,
        s.peer,
        s.state,
        s.algorithms,
        s.age_secs,
        when(s.rekey_in),
        when(s.expires_in)
    );
    if !s.peer_id.is_empty() {
        println!("  peer id {}", s.peer_id);
    }
    for c in &s.children {
        child(c);
    }
}

fn child(c: &ChildInfo) {
    let bytes = c.bytes.map_or("bytes -".to_string(), |(i, o)| {
        format!("bytes in {i} out {o}")
    });
    let bytes = match c.packets {
        Some((i, o)) => format!("{bytes} packets in {i} out {o}"),
        None => bytes,
    };
    let when = |v: Option<u64>| v.map_or("-".to_string(), |s| format!("{s}s"));
    let state = if c.state.is_empty() {
        String::new()
    } else {
        format!(" {}", c.state)
    };
    println!(
        "  CHILD {}/{}{state} {} {} {} === {} age {}s rekey {} expire {} {} [{}]",
        c.spi_in,
        c.spi_out,
        c.algorithms,
        c.mode,
        c.local_ts.join(","),
        c.remote_ts.join(","),
        c.age_secs,
        when(c.rekey_in),
        when(c.expires_in),
        bytes,
        c.installed
    );
}

fn stats(s: &Stats) {
    let rows = [
        ("uptime (s)", s.uptime_secs),
        ("configuration loads", s.config_loads),
        ("configurations rejected", s.config_rejected),
        ("IKE datagrams in", s.datagrams_in),
        ("IKE datagrams out", s.datagrams_out),
        ("malformed datagrams", s.malformed),
        ("IKE SAs", s.ike_sas),
        ("CHILD SAs", s.child_sas),
        ("half-open IKE SAs", s.half_open),
        ("control requests", s.control_requests),
        ("IKE fragments reassembled", s.fragments_reassembled),
        ("IKE SA rekeys", s.ike_rekeys),
        ("CHILD SA rekeys", s.child_rekeys),
        ("rekey collisions", s.rekey_collisions),
        ("our AUTHs made", s.auth_made),
        ("peers verified", s.peers_verified),
        ("peers refused", s.peers_refused),
    ];
    for (k, v) in rows {
        println!("{k:<26} {v}");
    }
}

/// Prints a response for a person.
pub(crate) fn human(r: &Response) {
    match r {
        Response::Policies(ps) if ps.is_empty() => println!("no policies"),
        Response::Policies(ps) => ps.iter().for_each(policy),
        Response::Sas(ss) if ss.is_empty() => println!("no SAs"),
        Response::Sas(ss) => ss.iter().for_each(sa),
        Response::Stats(s) => stats(s),
        Response::Done(msg) => println!("{msg}"),
        Response::Event(e) => println!("{} {}: {}", e.time, e.source, e.message),
        Response::Error(msg) => eprintln!("ikectl: {msg}"),
        Response::Flows(fs) if fs.is_empty() => println!("no flows"),
        Response::Flows(fs) => {
            for f in fs {
                println!(
                    "{} {} esp {} {} reqid {} priority {} [{}]",
                    f.dir, f.selector, f.mode, f.outer, f.reqid, f.priority, f.policy
                );
            }
        }
    }
}
