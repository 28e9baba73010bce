//! Replays the frame-decoder fuzz corpus (`privsep/fuzz/corpus/decode`) as
//! a regular test, so every input the fuzzer kept is checked on each run.
//! `seed_corpus_is_current` checks that the hand-made seeds are in the
//! corpus as the current frame format encodes them (set
//! `PRIVSEP_WRITE_SEEDS=1` to rewrite them after a format change).

use privsep::channel::{Header, MAX_MESSAGE, encode_frame};
use privsep::fuzz_support::{Sample, decode_roundtrip};
use privsep::secret::Secret;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/decode");

#[test]
fn decoder_survives_the_fuzz_corpus() {
    let mut n = 0;
    for entry in std::fs::read_dir(DIR).expect("fuzz corpus directory") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| decode_roundtrip(&data));
        assert!(r.is_ok(), "corpus input {} fails", path.display());
        n += 1;
    }
    assert!(n >= 20, "the corpus has only {n} inputs");
    println!("replayed {n} corpus inputs");
}

/// A named way to damage a valid frame.
type Damage = (&'static str, fn(&mut Vec<u8>));

/// The seeds: one valid frame per variant and one per kind of damage. They
/// must be in the corpus byte for byte; `PRIVSEP_WRITE_SEEDS=1` writes them.
#[test]
fn seed_corpus_is_current() {
    let valid = [
        Sample::Ping,
        Sample::Sign {
            sa: 0x1122_3344_5566_7788,
            octets: vec![1, 2, 3, 4],
            name: "ike-sa".into(),
        },
        Sample::Install(42, Some(-7), true),
        Sample::Install(0, None, false),
        Sample::Key(Secret::new(vec![0xaa; 32])),
        Sample::List(vec![(1, "a".into()), (300, "bc".into())]),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, m) in valid.iter().enumerate() {
        for nfds in [0u8, 1, 8] {
            let mut d = vec![nfds];
            d.extend(encode_frame(7, m, nfds.into()).unwrap());
            seeds.push((format!("seed-valid-{i}-fds{nfds}"), d));
        }
    }
    let base = {
        let mut d = vec![0u8];
        d.extend(encode_frame(0, &valid[1], 0).unwrap());
        d
    };
    let damaged: [Damage; 9] = [
        ("truncated", |d| d.truncate(6)),
        ("empty", |d| d.truncate(1)),
        ("magic", |d| d[1] = b'X'),
        ("version", |d| d[3] = 2),
        ("kind", |d| d[5] = 99),
        ("length", |d| d[11] = 0xff),
        ("oversized", |d| {
            d[11..15].copy_from_slice(&(MAX_MESSAGE as u32 + 1).to_le_bytes())
        }),
        ("fds", |d| d[4] = 9),
        ("payload", |d| {
            let n = d.len();
            d[n - 3] = 0xff;
        }),
    ];
    for (name, f) in damaged {
        let mut d = base.clone();
        f(&mut d);
        seeds.push((format!("seed-bad-{name}"), d));
    }
    let mut header_only = vec![0u8];
    header_only.extend(
        Header {
            kind: 1,
            peer: 0,
            len: 0,
            nfds: 0,
        }
        .encode(),
    );
    seeds.push(("seed-bad-no-payload".into(), header_only));
    let write = std::env::var_os("PRIVSEP_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(DIR).unwrap();
    }
    for (name, data) in seeds {
        let path = format!("{DIR}/{name}");
        if write {
            std::fs::write(&path, &data).unwrap();
        }
        let stored = std::fs::read(&path).unwrap_or_default();
        assert_eq!(
            stored, data,
            "{path} is missing or stale (PRIVSEP_WRITE_SEEDS=1 rewrites it)"
        );
    }
}
