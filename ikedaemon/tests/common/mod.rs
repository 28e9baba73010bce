//! Readers for the text fixtures under tests/fixtures (shared by the
//! integration tests; each test uses part of it).
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// Path of a fixture file.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Decodes lowercase or uppercase hex; panics with the offending text
/// (fixtures are ours, a bad one is a test bug).
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim()).unwrap_or_else(|e| panic!("bad hex in fixture ({e}): {s}"))
}

/// A `name:`/`what:`/`hex:` block of the OpenBSD parser fixture.
#[derive(Debug, Clone)]
pub struct Block {
    pub name: String,
    pub what: String,
    pub bytes: Vec<u8>,
}

/// Parses a fixture made of blank-line separated `key: value` blocks.
pub fn blocks(name: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(fixture(name)).expect("read fixture");
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut b = Block {
            name: String::new(),
            what: String::new(),
            bytes: Vec::new(),
        };
        let mut len = None;
        for line in para.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once(": ") {
                match k {
                    "name" => b.name = v.to_string(),
                    "what" => b.what = v.to_string(),
                    "hex" => b.bytes = unhex(v),
                    "len" => len = v.trim().parse::<usize>().ok(),
                    _ => {}
                }
            }
        }
        if !b.name.is_empty() {
            if let Some(l) = len {
                assert_eq!(l, b.bytes.len(), "fixture block {} length", b.name);
            }
            out.push(b);
        }
    }
    out
}

/// A strongSwan capture fixture: keys and datagrams.
#[derive(Debug, Default)]
pub struct Capture {
    /// `key: value` lines other than msg/charon, in order.
    pub fields: Vec<(String, String)>,
    /// `charon:` log lines.
    pub charon: Vec<String>,
    /// Datagrams: (initiator to responder?, UDP destination port, bytes).
    pub messages: Vec<(bool, u16, Vec<u8>)>,
}

impl Capture {
    pub fn load(name: &str) -> Self {
        let text = std::fs::read_to_string(fixture(name)).expect("read fixture");
        let mut c = Capture::default();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k {
                "charon" => c.charon.push(v.to_string()),
                "msg" => {
                    let mut it = v.split_whitespace();
                    let dir = it.next().expect("direction");
                    let port = it.next().expect("port").parse().expect("port number");
                    let bytes = unhex(it.next().expect("hex"));
                    c.messages.push((dir == "i2r", port, bytes));
                }
                _ => c.fields.push((k.to_string(), v.to_string())),
            }
        }
        c
    }

    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A hex field's bytes.
    pub fn hex(&self, key: &str) -> Vec<u8> {
        unhex(
            self.get(key)
                .unwrap_or_else(|| panic!("fixture lacks {key}")),
        )
    }
}
