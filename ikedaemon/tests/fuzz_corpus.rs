//! Replays the IKE decoder fuzz corpus (`ikedaemon/fuzz/corpus/decode`) as
//! a regular test, so every input the fuzzer ever kept is checked on each
//! run.

#[test]
fn decoder_survives_the_fuzz_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/decode");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("fuzz corpus directory") {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        let r = std::panic::catch_unwind(|| ikedaemon::ike::fuzz_support::decode_and_open(&data));
        assert!(r.is_ok(), "corpus input {} fails", path.display());
        n += 1;
    }
    assert!(n >= 50, "the corpus has only {n} inputs");
    println!("replayed {n} corpus inputs");
}
