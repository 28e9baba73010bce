//! Re-run the current test binary inside the VM harness.
//!
//! A kernel test first tries the running kernel; when it lacks what the test
//! needs (and we are not already inside the VM), it calls
//! [`rerun_self_in_vm`], which boots the VM with `tests/vm/run-in-vm`, runs
//! the same binary with the same arguments there, streams its output and
//! returns its exit status. There is no silent skip: if the VM cannot be
//! started the test fails and says why.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// The environment variable the harness sets inside the guest.
pub const IN_VM_ENV: &str = "IKEDAEMON_IN_VM";

/// Whether this process runs inside the test VM.
pub fn in_vm() -> bool {
    std::env::var_os(IN_VM_ENV).is_some()
}

/// Path of the `run-in-vm` harness in this source tree.
pub fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vm")
        .join("run-in-vm")
}

/// Run this executable, with its arguments, inside the VM and return its
/// exit status (or a failure with a reason when the VM cannot run).
pub fn rerun_self_in_vm(timeout_secs: u32) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("testkit: cannot find the current executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cmd = Command::new(harness());
    cmd.arg("--timeout").arg(timeout_secs.to_string());
    for var in ["RUST_BACKTRACE", "RUST_LOG"] {
        if let Ok(v) = std::env::var(var) {
            cmd.arg("--env").arg(format!("{var}={v}"));
        }
    }
    // The guest hides the host's /tmp behind its own tmpfs: share the
    // workspace and the test binary's directory read-write, so a checkout or
    // target directory anywhere (even under /tmp) is visible.
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    cmd.arg("--rw").arg(&workspace);
    if let Some(dir) = exe.parent().filter(|d| !d.starts_with(&workspace)) {
        cmd.arg("--rw").arg(dir);
    }
    cmd.arg("--").arg(&exe).args(std::env::args_os().skip(1));
    eprintln!(
        "testkit: this kernel lacks what the test needs; running {} inside the VM",
        exe.display()
    );
    match cmd.status() {
        Ok(st) if st.success() => ExitCode::SUCCESS,
        Ok(st) => {
            eprintln!("testkit: inside the VM the test exited with {st}");
            ExitCode::from(st.code().map_or(1, |c| c.clamp(1, 255) as u8))
        }
        Err(e) => {
            eprintln!("testkit: cannot start {}: {e}", harness().display());
            ExitCode::FAILURE
        }
    }
}
