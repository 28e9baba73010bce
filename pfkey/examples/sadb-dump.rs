//! Print the kernel's SAD (default) or SPD (`-P`) through PF_KEY, like
//! `setkey -D` / `setkey -DP`. `-k` also prints key material.
//!
//! Run as root on a kernel with PF_KEY (on Linux: module af_key).

use std::process::ExitCode;

use pfkey::{PfKeySocket, SaType, show};

fn main() -> ExitCode {
    let mut spd = false;
    let mut keys = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-P" => spd = true,
            "-k" => keys = true,
            "-h" | "--help" => {
                println!(
                    "usage: sadb-dump [-P] [-k]\n  -P  dump the SPD instead of the SAD\n  -k  show key material"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("sadb-dump: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let mut sock = match PfKeySocket::open() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sadb-dump: {e}");
            return ExitCode::FAILURE;
        }
    };
    let d = sock.dialect();
    let records = if spd {
        sock.spd_dump()
    } else {
        sock.dump(SaType::Unspec)
    };
    match records {
        Ok(records) if records.is_empty() => {
            println!(
                "{}",
                if spd {
                    "No SPD entries."
                } else {
                    "No SAD entries."
                }
            );
            ExitCode::SUCCESS
        }
        Ok(records) => {
            for m in &records {
                if spd {
                    print!("{}", show::policy_entry(m, d));
                } else {
                    print!("{}", show::sa_entry(m, d, keys));
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sadb-dump: {e}");
            ExitCode::FAILURE
        }
    }
}
