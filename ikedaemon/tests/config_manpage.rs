//! ikedaemon.conf(5) agrees with the code: every configuration in its
//! EXAMPLES section loads, and its transform table lists keywords the
//! proposal parser accepts, with the Default column matching the default
//! proposals.

#[path = "config_common/mod.rs"]
mod common;

use ikedaemon::config::{DEFAULT_ESP, DEFAULT_IKE, parse};
use ikedaemon::ike::proposal::{ProposalConfig, SaProtocol};

const PAGE: &str = include_str!("../../man/ikedaemon.conf.5");

/// Undoes the roff escapes a literal display may use.
fn unescape(line: &str) -> String {
    line.replace("\\e", "\\")
        .replace("\\&", "")
        .replace("\\(dq", "\"")
        .replace("\\-", "-")
}

/// The literal displays of the EXAMPLES section.
fn example_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut in_examples = false;
    let mut current: Option<String> = None;
    for line in PAGE.lines() {
        if let Some(section) = line.strip_prefix(".Sh ") {
            in_examples = section == "EXAMPLES";
            continue;
        }
        if !in_examples {
            continue;
        }
        if line.starts_with(".Bd -literal") {
            current = Some(String::new());
        } else if line == ".Ed" {
            blocks.extend(current.take());
        } else if let Some(block) = current.as_mut() {
            block.push_str(&unescape(line));
            block.push('\n');
        }
    }
    blocks
}

#[test]
fn every_example_loads() {
    let blocks = example_blocks();
    assert_eq!(blocks.len(), 3, "EXAMPLES blocks");
    let dir = tempfile::tempdir().unwrap();
    common::example_files(dir.path());
    let name = dir.path().join("ikedaemon.conf").display().to_string();
    for block in blocks {
        if let Err(e) = parse(&block, &name) {
            panic!("{e}\n{block}");
        }
    }
}

/// The rows of the transform table: keyword, type, default column.
fn table_rows() -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in PAGE.lines() {
        if line.starts_with(".Bl -column") {
            in_table = true;
        } else if line == ".El" {
            in_table = false;
        } else if in_table && let Some(row) = line.strip_prefix(".It ") {
            let cells: Vec<&str> = row.split(" Ta ").map(str::trim).collect();
            if cells[0].starts_with("Em ") {
                continue;
            }
            rows.push((cells[0].into(), cells[1].into(), cells[2].into()));
        }
    }
    rows
}

/// A proposal in which `keyword` of `kind` is valid.
fn proposal_with(keyword: &str, kind: &str) -> (String, SaProtocol) {
    match kind {
        "ENCR"
            if keyword.contains("gcm")
                || keyword.contains("ccm")
                || keyword.starts_with("chacha") =>
        {
            (format!("{keyword}-prfsha256-x25519"), SaProtocol::Ike)
        }
        "ENCR" => (format!("{keyword}-sha256-x25519"), SaProtocol::Ike),
        "INTEG" => (format!("aes128-{keyword}-x25519"), SaProtocol::Ike),
        "PRF" => (format!("aes128gcm16-{keyword}-x25519"), SaProtocol::Ike),
        "KE" => (format!("aes128gcm16-prfsha256-{keyword}"), SaProtocol::Ike),
        "ESN" => (format!("aes128gcm16-{keyword}"), SaProtocol::Esp),
        other => panic!("unknown transform type {other}"),
    }
}

#[test]
fn transform_table_matches_the_parser_and_the_defaults() {
    let rows = table_rows();
    assert!(rows.len() > 40, "{} rows", rows.len());
    let words = |list: &[&str], protocol| -> Vec<String> {
        let mut out: Vec<String> = list
            .iter()
            .flat_map(|p| {
                let canonical = ProposalConfig::parse(p, protocol).unwrap().to_string();
                canonical.split('-').map(String::from).collect::<Vec<_>>()
            })
            .collect();
        if protocol == SaProtocol::Esp {
            out.push("noesn".into());
        }
        out
    };
    let ike = words(&DEFAULT_IKE, SaProtocol::Ike);
    let esp = words(&DEFAULT_ESP, SaProtocol::Esp);
    for (keyword, kind, default) in &rows {
        let (text, protocol) = proposal_with(keyword, kind);
        let p = ProposalConfig::parse(&text, protocol);
        assert!(p.is_ok(), "{keyword}: {p:?}");
        let mut expected = Vec::new();
        if ike.contains(keyword) {
            expected.push("IKE");
        }
        if esp.contains(keyword) {
            expected.push("ESP");
        }
        let expected = if expected.is_empty() {
            "no".to_string()
        } else {
            expected.join(", ")
        };
        assert_eq!(default, &expected, "Default column of {keyword}");
    }
    for w in ike.iter().chain(&esp) {
        assert!(
            rows.iter().any(|(k, _, _)| k == w),
            "{w} missing from the table"
        );
    }
}
