//! The only unsafe code of the crate: the few libc calls a PF_KEY socket
//! needs. No crate wraps PF_KEY sockets (nix has no `AF_KEY` family), so the
//! calls are made here directly, each with its safety argument.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `PF_KEY` as each system numbers it (`pseudo_AF_KEY` on the BSDs).
#[cfg(target_os = "linux")]
const PF_KEY: libc::c_int = 15;
#[cfg(target_os = "freebsd")]
const PF_KEY: libc::c_int = 27;
#[cfg(target_os = "dragonfly")]
const PF_KEY: libc::c_int = 27;
#[cfg(target_os = "openbsd")]
const PF_KEY: libc::c_int = 30;
#[cfg(any(target_os = "netbsd", target_os = "macos"))]
const PF_KEY: libc::c_int = 29;

/// Open `socket(PF_KEY, SOCK_RAW, PF_KEY_V2)`, close-on-exec.
pub(crate) fn open_pfkey() -> io::Result<OwnedFd> {
    #[cfg(not(target_os = "macos"))]
    let kind = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
    #[cfg(target_os = "macos")]
    let kind = libc::SOCK_RAW;
    // SAFETY: socket(2) takes no pointers; a non-negative result is a new
    // descriptor that nothing else owns.
    let fd = unsafe { libc::socket(PF_KEY, kind, libc::c_int::from(crate::message::PF_KEY_V2)) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by no one else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    #[cfg(target_os = "macos")]
    // SAFETY: fcntl(F_SETFD) on a valid descriptor takes no pointers.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Set or clear `O_NONBLOCK`.
pub(crate) fn set_nonblocking(fd: &OwnedFd, on: bool) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl(F_GETFL) on a valid descriptor takes no pointers.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: fcntl(F_SETFL) on a valid descriptor takes no pointers.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Ask for a receive buffer of `bytes` (the kernel may cap it).
pub(crate) fn set_rcvbuf(fd: &OwnedFd, bytes: usize) -> io::Result<()> {
    let v: libc::c_int = bytes.try_into().unwrap_or(libc::c_int::MAX);
    // SAFETY: the option value points to a live c_int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Send one message.
pub(crate) fn send(fd: &OwnedFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live slice; send(2) reads at most `buf.len()` bytes.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Receive one message into `buf`; returns its full length (which exceeds
/// `buf.len()` if it was truncated, thanks to `MSG_TRUNC` on Linux).
pub(crate) fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    let flags = libc::MSG_TRUNC;
    #[cfg(not(target_os = "linux"))]
    let flags = 0;
    // SAFETY: `buf` is a live, writable slice; recv(2) writes at most
    // `buf.len()` bytes into it.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Wait until the socket is readable or `timeout` passes; true if readable.
pub(crate) fn wait_readable(fd: &OwnedFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(libc::c_int::MAX as u128) as libc::c_int;
    loop {
        // SAFETY: `pfd` is one live pollfd and we pass a count of 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(rc > 0);
    }
}
