//! Spawning children by re-exec of this very test binary: run without
//! `--privsep-role` it is the parent and runs the cases; with it, it is the
//! child of the given role. Checks that only fds 0–2 and the channel cross
//! exec, the handshake, descriptor passing into the child, and the `Child`
//! handle (try_wait, kill, wait).

mod common;

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::ExitStatusExt;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::signal::Signal;
use privsep::channel::{Channel, ChannelError};
use privsep::spawn::{CHANNEL_FD, inherited_channel, role_from_args, spawn_child};

const VERSION: u32 = 42;

privsep::ipc_enum! {
    /// Child to parent.
    #[derive(Debug, PartialEq)]
    enum Up {
        /// The descriptors open right after exec.
        Fds(Vec<i32>) = 1,
        /// The arguments after the role.
        Args(Vec<String>) = 2,
        /// A second `inherited_channel` failed, and the channel is CLOEXEC.
        ChannelChecks { second_take_failed: bool, cloexec: bool } = 3,
        /// Wrote into the received pipe; whether it was CLOEXEC.
        Wrote { cloexec: bool } = 4,
    }
}

privsep::ipc_enum! {
    /// Parent to child.
    #[derive(Debug, PartialEq)]
    enum Down {
        /// Write into the pipe that comes with this.
        Pipe = 1,
    }
}

/// Descriptors open in this process, without the one reading the list.
fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| {
            // The directory being read shows up as a link to it.
            std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|p| !p.ends_with("fd") || !p.starts_with("/proc"))
                .unwrap_or(false)
        })
        .collect();
    fds.sort_unstable();
    fds
}

fn cloexec(fd: impl AsFd) -> bool {
    FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap()).contains(FdFlag::FD_CLOEXEC)
}

fn child_main(role: &str, args: Vec<OsString>) -> i32 {
    match role {
        "probe" => {
            let fds = open_fds();
            let ch = inherited_channel().expect("inherited channel");
            let second_take_failed = inherited_channel().is_err();
            ch.handshake(VERSION).expect("handshake");
            ch.send(0, &Up::Fds(fds), &[]).unwrap();
            let args = args.into_iter().map(|a| a.into_string().unwrap()).collect();
            ch.send(0, &Up::Args(args), &[]).unwrap();
            ch.send(
                0,
                &Up::ChannelChecks {
                    second_take_failed,
                    cloexec: cloexec(&ch),
                },
                &[],
            )
            .unwrap();
            loop {
                match ch.recv::<Down>() {
                    Ok(r) => {
                        assert_eq!(r.msg, Down::Pipe);
                        let fd = r.fds.into_iter().next().expect("a pipe");
                        let cloexec = cloexec(&fd);
                        File::from(fd)
                            .write_all(format!("hello from {}", std::process::id()).as_bytes())
                            .unwrap();
                        ch.send(0, &Up::Wrote { cloexec }, &[]).unwrap();
                    }
                    Err(ChannelError::Closed) => return 0,
                    Err(e) => panic!("child: {e}"),
                }
            }
        }
        "mismatch" => {
            let ch = inherited_channel().unwrap();
            match ch.handshake(VERSION + 1) {
                Err(ChannelError::VersionMismatch { ours, theirs })
                    if ours == VERSION + 1 && theirs == VERSION =>
                {
                    3
                }
                other => panic!("child: handshake gave {other:?}"),
            }
        }
        "wait" => {
            let ch = inherited_channel().unwrap();
            ch.handshake(VERSION).unwrap();
            let _ = ch.recv::<Down>();
            0
        }
        "no-channel" => match inherited_channel() {
            Err(e) if e.to_string().contains("fd 3") => 0,
            other => panic!("child: inherited_channel gave {other:?}"),
        },
        _ => 100,
    }
}

fn only_the_channel_crosses_exec() {
    let (a, b) = Channel::pair().unwrap();
    // Descriptors of the parent that must not reach the child.
    let _extra = (
        File::open("/proc/self/status").unwrap(),
        nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap(),
    );
    let mut child = spawn_child("probe", &["one".into(), "two words".into()], b).unwrap();
    assert_eq!(child.role(), "probe");
    assert_ne!(child.pid().as_raw(), std::process::id() as i32);
    a.handshake(VERSION).unwrap();
    assert_eq!(
        a.recv::<Up>().unwrap().msg,
        Up::Fds(vec![0, 1, 2, CHANNEL_FD])
    );
    assert_eq!(
        a.recv::<Up>().unwrap().msg,
        Up::Args(vec!["one".into(), "two words".into()])
    );
    assert_eq!(
        a.recv::<Up>().unwrap().msg,
        Up::ChannelChecks {
            second_take_failed: true,
            cloexec: true
        }
    );

    let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    a.send(0, &Down::Pipe, &[wr.as_fd()]).unwrap();
    drop(wr);
    assert_eq!(a.recv::<Up>().unwrap().msg, Up::Wrote { cloexec: true });
    drop(a);
    let status = child.wait().unwrap();
    assert!(status.success(), "child: {status}");
    let mut got = String::new();
    File::from(rd).read_to_string(&mut got).unwrap();
    assert_eq!(got, format!("hello from {}", child.pid()));
}

fn handshake_version_mismatch() {
    let (a, b) = Channel::pair().unwrap();
    let mut child = spawn_child("mismatch", &[], b).unwrap();
    let e = a.handshake(VERSION).unwrap_err();
    assert!(
        matches!(e, ChannelError::VersionMismatch { ours: VERSION, theirs } if theirs == VERSION + 1),
        "{e}"
    );
    assert!(
        e.to_string().contains("42") && e.to_string().contains("43"),
        "{e}"
    );
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

fn kill_try_wait_and_wait() {
    let (a, b) = Channel::pair().unwrap();
    let mut child = spawn_child("wait", &[], b).unwrap();
    a.handshake(VERSION).unwrap();
    assert!(child.try_wait().unwrap().is_none());
    child.kill(Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32));
    assert_eq!(child.try_wait().unwrap(), Some(status));
    assert!(
        child.kill(Signal::SIGTERM).is_err(),
        "kill after reaping must fail"
    );
    // The child is gone: the channel says so.
    assert!(matches!(a.recv::<Up>(), Err(ChannelError::Closed)));
}

fn no_channel_without_a_parent() {
    // Started without privsep: nothing at fd 3 (all our fds are CLOEXEC).
    let status = std::process::Command::new("/proc/self/exe")
        .args(["--privsep-role", "no-channel"])
        .status()
        .unwrap();
    assert!(status.success(), "child: {status}");
}

fn parent_fds_are_cloexec() {
    // The premise of the fd policy: what std and the crate open is CLOEXEC.
    let (a, _b) = Channel::pair().unwrap();
    assert!(cloexec(&a));
    let f = File::open("/proc/self/status").unwrap();
    assert!(cloexec(&f));
    assert!(a.as_raw_fd() > 2);
}

fn main() {
    if let Some((role, args)) = role_from_args(std::env::args_os()) {
        std::process::exit(child_main(&role, args));
    }
    common::run(&[
        (
            "only_the_channel_crosses_exec",
            only_the_channel_crosses_exec,
        ),
        ("handshake_version_mismatch", handshake_version_mismatch),
        ("kill_try_wait_and_wait", kill_try_wait_and_wait),
        ("no_channel_without_a_parent", no_channel_without_a_parent),
        ("parent_fds_are_cloexec", parent_fds_are_cloexec),
    ]);
}
