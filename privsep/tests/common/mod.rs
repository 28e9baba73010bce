//! A small test runner for the test binaries that re-exec themselves as
//! privsep children (`harness = false`): runs the cases one after the other
//! in the main thread, so that forking happens in a single-threaded
//! process, and prints libtest's summary line.

use std::io::Write;

/// A named test case.
pub(crate) type Case = (&'static str, fn());

/// Run `cases` (those whose name contains a filter given on the command
/// line, if any) and exit: 0 if all passed, 1 otherwise.
pub(crate) fn run(cases: &[Case]) -> ! {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected: Vec<&Case> = cases
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, case) in &selected {
        let _ = std::io::stdout().flush();
        match std::panic::catch_unwind(case) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    let filtered = cases.len() - selected.len();
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    if !failed.is_empty() {
        println!("\nfailures:\n    {}", failed.join("\n    "));
    }
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {filtered} filtered out\n",
        failed.len()
    );
    std::process::exit(i32::from(!failed.is_empty()))
}
