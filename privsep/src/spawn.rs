//! Starting privsep children by fork + re-exec of the own binary with
//! `--privsep-role ROLE`, so each child gets a fresh address space, and
//! picking up the channel on the child side.
//!
//! What crosses exec: stdin, stdout and stderr as the parent has them, and
//! the channel end, installed at [`CHANNEL_FD`] with close-on-exec cleared.
//! Nothing else: Rust's standard library, `nix` and this crate open every
//! descriptor close-on-exec, so any other descriptor the child needs (UDP
//! sockets, the control socket) is sent over the channel with SCM_RIGHTS.
//! As a second line, between fork and exec every descriptor above
//! [`CHANNEL_FD`] is marked close-on-exec too, so neither a raw `libc` open
//! nor a descriptor the parent inherited from its own starter (a service
//! manager's stray fd) reaches the child. The spawn test checks the result.
//! The parent should keep fds 0–2 open (on `/dev/null` when detached).

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::process::{Command, ExitStatus};

use nix::sys::signal::Signal;
use nix::sys::socket::{
    AddressFamily, SockType, SockaddrLike, SockaddrStorage, getsockname, getsockopt, sockopt,
};
use nix::unistd::Pid;

use crate::channel::Channel;

/// The argument that marks a privsep child, followed by its role.
pub const ROLE_FLAG: &str = "--privsep-role";

/// The descriptor number the channel has in a child.
pub const CHANNEL_FD: RawFd = 3;

/// A started child process.
///
/// Dropping it neither kills nor reaps the child: the parent's event loop
/// does that (typically `try_wait` on SIGCHLD).
#[derive(Debug)]
pub struct Child {
    role: String,
    pid: Pid,
    inner: std::process::Child,
}

impl Child {
    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The role it was started with.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// Send `signal` to the child. Fails once the child has been reaped
    /// (its pid may belong to another process by then).
    pub fn kill(&mut self, signal: Signal) -> io::Result<()> {
        if self.inner.try_wait()?.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} child (pid {}) has already exited", self.role, self.pid),
            ));
        }
        nix::sys::signal::kill(self.pid, signal)?;
        Ok(())
    }

    /// Reap the child if it has exited (`waitpid` with `WNOHANG`); the
    /// status is kept, so later calls return it again.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Wait for the child to exit.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.inner.wait()
    }
}

/// The executable to re-exec: `/proc/self/exe` on Linux (the running image,
/// even if the file was replaced since), the path the system reports
/// elsewhere.
fn own_executable() -> io::Result<std::path::PathBuf> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok("/proc/self/exe".into())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        std::env::current_exe()
    }
}

/// Start `role` as a child: fork + exec of the own binary with arguments
/// `--privsep-role ROLE ARGS...` (argv\[0\] as the parent's), environment
/// and stdio inherited, `channel_end` at fd [`CHANNEL_FD`]. The parent's
/// copy of `channel_end` is closed when this returns.
pub fn spawn_child(role: &str, args: &[OsString], channel_end: Channel) -> io::Result<Child> {
    let mut cmd = Command::new(own_executable()?);
    if let Some(arg0) = std::env::args_os().next() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, arg0);
    }
    cmd.arg(ROLE_FLAG).arg(role).args(args);
    crate::sys::keep_fd_across_exec(&mut cmd, channel_end.as_raw_fd(), CHANNEL_FD);
    let inner = cmd.spawn()?;
    drop(channel_end);
    let pid =
        Pid::from_raw(i32::try_from(inner.id()).map_err(|_| io::Error::other("pid out of range"))?);
    Ok(Child {
        role: role.to_owned(),
        pid,
        inner,
    })
}

/// Whether the process was started as a privsep child: `args` is the whole
/// command line (as `std::env::args_os()`, program name first). Returns the
/// role and the arguments after it, or `None` when the first argument is not
/// `--privsep-role` followed by a UTF-8 role.
pub fn role_from_args<I: IntoIterator<Item = OsString>>(
    args: I,
) -> Option<(String, Vec<OsString>)> {
    let mut it = args.into_iter().skip(1);
    if it.next()? != ROLE_FLAG {
        return None;
    }
    let role = it.next()?.into_string().ok()?;
    Some((role, it.collect()))
}

/// In a child, take the channel the parent left at [`CHANNEL_FD`]: checks
/// that it is a unix seqpacket socket and makes it close-on-exec again.
/// Works once per process.
pub fn inherited_channel() -> io::Result<Channel> {
    let fd = crate::sys::take_inherited_fd(CHANNEL_FD)?;
    let seqpacket = getsockopt(&fd, sockopt::SockType)? == SockType::SeqPacket;
    let unix =
        getsockname::<SockaddrStorage>(fd.as_raw_fd())?.family() == Some(AddressFamily::Unix);
    if !(seqpacket && unix) {
        // Not ours to close: leave the descriptor as we found it.
        let _ = fd.into_raw_fd();
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "fd {CHANNEL_FD} is not a unix seqpacket socket (not started by a privsep parent?)"
            ),
        ));
    }
    crate::sys::set_cloexec(fd.as_raw_fd(), true)?;
    Ok(Channel::from_fd(fd))
}

#[cfg(test)]
mod tests {
    use super::role_from_args;
    use std::ffi::OsString;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn detects_role() {
        let (role, rest) =
            role_from_args(args(&["ikedaemon", "--privsep-role", "ikev2", "-v"])).unwrap();
        assert_eq!(role, "ikev2");
        assert_eq!(rest, args(&["-v"]));
    }

    #[test]
    fn no_role() {
        assert!(role_from_args(args(&["ikedaemon", "-d"])).is_none());
        assert!(role_from_args(args(&["ikedaemon", "--privsep-role"])).is_none());
        assert!(role_from_args(args(&["ikedaemon"])).is_none());
        assert!(role_from_args(args(&["ikedaemon", "-v", "--privsep-role", "x"])).is_none());
    }
}
