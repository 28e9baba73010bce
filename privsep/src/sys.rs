//! The only unsafe code of the crate: receiving a message with its
//! SCM_RIGHTS descriptors, adopting the descriptor a parent left for us
//! across exec, the `pre_exec` hook that leaves it there (and only it), the bounding-set
//! `prctl`s on Linux and `pledge`/`unveil` on OpenBSD. Each call carries its
//! safety argument; everything else in the crate is safe code (mostly `nix`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

/// Flags for recvmsg(2): descriptors arrive close-on-exec where the system
/// can do it atomically.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
))]
const RECV_FLAGS: libc::c_int = libc::MSG_CMSG_CLOEXEC;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
)))]
const RECV_FLAGS: libc::c_int = 0;

/// Room for the control buffer, in `u64`s so that it is aligned for
/// `cmsghdr`. 64 bytes hold the header and up to 12 descriptors; the buffer
/// handed to the kernel is cut to exactly the space `max_fds` needs.
const CONTROL_WORDS: usize = 8;

/// One datagram read by [`recv_with_fds`].
#[derive(Debug)]
pub(crate) struct Recvd {
    /// Bytes written into the buffer (0 with no flags means end of stream).
    pub(crate) len: usize,
    /// Every descriptor that arrived, already owned: dropping closes them.
    pub(crate) fds: Vec<OwnedFd>,
    /// `MSG_TRUNC`: the datagram did not fit in the buffer.
    pub(crate) truncated: bool,
    /// `MSG_CTRUNC`: the control data (descriptors) did not fit.
    pub(crate) control_truncated: bool,
}

/// `recvmsg(2)` one datagram into `buf`, with room for `max_fds`
/// descriptors. Retries on `EINTR`. Whatever descriptors arrive are returned
/// as [`OwnedFd`]s, even when the datagram or its control data was cut.
pub(crate) fn recv_with_fds(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    max_fds: usize,
) -> io::Result<Recvd> {
    let fd_size = std::mem::size_of::<libc::c_int>();
    let mut control = [0u64; CONTROL_WORDS];
    let want = u32::try_from(max_fds.saturating_mul(fd_size)).unwrap_or(u32::MAX);
    // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
    let space = unsafe { libc::CMSG_SPACE(want) } as usize;
    let space = space.min(std::mem::size_of_val(&control));

    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is a plain C struct (some libcs add private padding
    // fields), for which all-zero bytes are a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;

    let n = loop {
        // SAFETY: `msg` points at one iovec describing `buf` (valid and
        // writable for `buf.len()` bytes) and at `control` (writable for
        // `space` bytes, aligned for cmsghdr); all outlive the call.
        let r = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, RECV_FLAGS) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };

    let fds = take_rights(&msg, space);
    if RECV_FLAGS == 0 {
        for fd in &fds {
            set_cloexec(fd.as_raw_fd(), true)?;
        }
    }
    Ok(Recvd {
        len: n.min(buf.len()),
        fds,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        control_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
    })
}

/// Adopt every SCM_RIGHTS descriptor in the control data `recvmsg` filled.
// The length fields are size_t on Linux, socklen_t on the BSDs.
#[allow(clippy::unnecessary_cast)]
fn take_rights(msg: &libc::msghdr, space: usize) -> Vec<OwnedFd> {
    let start = msg.msg_control.cast_const().cast::<u8>();
    let fd_size = std::mem::size_of::<libc::c_int>();
    let used = (msg.msg_controllen as usize).min(space);
    let mut fds = Vec::new();
    if used == 0 {
        return fds;
    }
    // SAFETY: `msg` is the header recvmsg just filled; its control pointer
    // and length describe our buffer. CMSG_FIRSTHDR only reads them.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR return either null or a pointer
        // to a whole, aligned cmsghdr inside the `used` bytes of the buffer.
        let hdr = unsafe { std::ptr::read_unaligned(cmsg) };
        if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: CMSG_DATA is pointer arithmetic on a valid header.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast_const();
            // SAFETY: CMSG_LEN is pure arithmetic.
            let head = unsafe { libc::CMSG_LEN(0) } as usize;
            let offset = data as usize - start as usize;
            let count = (hdr.cmsg_len as usize)
                .saturating_sub(head)
                .min(used.saturating_sub(offset))
                / fd_size;
            for i in 0..count {
                // SAFETY: `i < count` keeps the read inside the data of this
                // control message, within the bytes the kernel filled;
                // the data need not be aligned for c_int, hence unaligned.
                let raw = unsafe {
                    std::ptr::read_unaligned(data.add(i * fd_size).cast::<libc::c_int>())
                };
                if raw >= 0 {
                    // SAFETY: the kernel just installed `raw` in our table
                    // for this message; nothing else knows or owns it.
                    fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
        }
        // SAFETY: `cmsg` is a valid header of `msg`'s control buffer;
        // CMSG_NXTHDR checks the bounds and returns null past the end.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
    fds
}

/// Set or clear `FD_CLOEXEC` on a descriptor we hold.
pub(crate) fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: fcntl(F_GETFD/F_SETFD) takes no pointers; a bad descriptor
    // only yields EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    if new != flags && unsafe { libc::fcntl(fd, libc::F_SETFD, new) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether [`take_inherited_fd`] has already handed out its descriptor.
static INHERITED_TAKEN: AtomicBool = AtomicBool::new(false);

/// Adopt descriptor `raw`, which a privsep parent left open for us across
/// exec. Works once per process: a second call fails instead of creating a
/// second owner of the same descriptor.
pub(crate) fn take_inherited_fd(raw: RawFd) -> io::Result<OwnedFd> {
    if INHERITED_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("the inherited privsep channel (fd {raw}) was already taken"),
        ));
    }
    // SAFETY: fcntl(F_GETFD) takes no pointers.
    if unsafe { libc::fcntl(raw, libc::F_GETFD) } < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("no privsep channel on fd {raw} (not started by a privsep parent?): {e}"),
        ));
    }
    // SAFETY: `raw` is open (checked above). By the privsep exec contract
    // it is the channel the parent installed for this process, which nothing
    // else in the process owns; INHERITED_TAKEN makes this the only OwnedFd
    // ever created for it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Make `cmd`, between fork and exec, install `fd` at `target` with
/// close-on-exec cleared, and mark every descriptor above `target`
/// close-on-exec (descriptors this process inherited without the flag, say
/// from a careless service manager, do not reach the child either). `fd`
/// must stay open until `cmd` has been spawned.
pub(crate) fn keep_fd_across_exec(cmd: &mut Command, fd: RawFd, target: RawFd) {
    let hook = move || -> io::Result<()> {
        if fd != target {
            // SAFETY: dup2 takes no pointers. In the child, `target` is
            // either free or one of the parent's close-on-exec descriptors
            // (std closed its exec-error pipe's read end already, and the
            // write end sits above it), so replacing it loses nothing.
            if unsafe { libc::dup2(fd, target) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // dup2 to the same number is a no-op that keeps FD_CLOEXEC: clear it
        // explicitly. fcntl is async-signal-safe and allocates nothing.
        set_cloexec(target, false)?;
        cloexec_from(target + 1);
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec; it only calls
    // dup2, fcntl, close_range and getrlimit (async-signal-safe system
    // calls), allocates nothing, takes no lock and touches no memory shared
    // with other threads.
    unsafe {
        cmd.pre_exec(hook);
    }
}

/// Mark every descriptor from `lowest` up close-on-exec: one
/// `close_range(CLOSE_RANGE_CLOEXEC)` on Linux 5.11 and later, else one
/// fcntl per possible descriptor number. Best effort, for a forked child.
fn cloexec_from(lowest: RawFd) {
    let Ok(first) = libc::c_uint::try_from(lowest) else {
        return;
    };
    #[cfg(target_os = "linux")]
    {
        /// `CLOSE_RANGE_CLOEXEC` from linux/close_range.h.
        const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
        // SAFETY: close_range takes integers only; with CLOSE_RANGE_CLOEXEC
        // it closes nothing, it only sets flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        };
        if r == 0 {
            return;
        }
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit, which `limit` is.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur.min(1 << 20)
    } else {
        1024
    };
    let max = RawFd::try_from(max).unwrap_or(1024);
    for fd in lowest..max {
        // Closed numbers fail with EBADF, which is fine.
        let _ = set_cloexec(fd, true);
    }
}

/// Linux capabilities: the bounding and ambient sets (`prctl`) and the
/// effective, permitted and inheritable sets (`capget`/`capset`), as raw
/// bit masks so that capabilities newer than any list are covered too.
#[cfg(target_os = "linux")]
pub(crate) mod caps {
    use std::io;

    /// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets in two 32-bit halves.
    const CAP_VERSION_3: u32 = 0x2008_0522;

    /// `struct __user_cap_header_struct`.
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }

    /// `struct __user_cap_data_struct`.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }

    /// The thread's effective, permitted and inheritable sets.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Sets {
        pub(crate) effective: u64,
        pub(crate) permitted: u64,
        pub(crate) inheritable: u64,
    }

    fn join(d: &[Data; 2], f: impl Fn(&Data) -> u32) -> u64 {
        u64::from(f(&d[0])) | (u64::from(f(&d[1])) << 32)
    }

    /// `capget(2)` on the calling thread.
    pub(crate) fn get() -> io::Result<Sets> {
        let mut hdr = Header {
            version: CAP_VERSION_3,
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: version 3 makes the kernel write two Data structs, which
        // `data` holds; both pointers are valid for the call.
        let r =
            unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr()) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Sets {
            effective: join(&data, |d| d.effective),
            permitted: join(&data, |d| d.permitted),
            inheritable: join(&data, |d| d.inheritable),
        })
    }

    /// Empty the inheritable set, keeping the others (`capset(2)`).
    pub(crate) fn clear_inheritable() -> io::Result<()> {
        let mut hdr = Header {
            version: CAP_VERSION_3,
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: as in `get`.
        if unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr()) }
            < 0
        {
            return Err(io::Error::last_os_error());
        }
        for d in &mut data {
            d.inheritable = 0;
        }
        // SAFETY: the kernel reads one header and two Data structs, all
        // valid for the call.
        if unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `Ok(None)` for EINVAL (past the last capability, or no such set).
    fn prctl_bool(
        op: libc::c_int,
        arg2: libc::c_ulong,
        arg3: libc::c_ulong,
    ) -> io::Result<Option<bool>> {
        // SAFETY: these prctl operations take integers only, no pointers.
        let r = unsafe { libc::prctl(op, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
        match r {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINVAL) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Whether capability number `cap` is in the bounding set; `Ok(None)`
    /// once `cap` is past the last capability the kernel knows.
    pub(crate) fn bounding_has(cap: u32) -> io::Result<Option<bool>> {
        prctl_bool(libc::PR_CAPBSET_READ, cap.into(), 0)
    }

    /// Remove capability number `cap` from the bounding set.
    pub(crate) fn bounding_drop(cap: u32) -> io::Result<()> {
        prctl_bool(libc::PR_CAPBSET_DROP, cap.into(), 0)?;
        Ok(())
    }

    /// Whether capability number `cap` is in the ambient set; `Ok(None)`
    /// past the last one (or on kernels without ambient sets, before 4.3).
    pub(crate) fn ambient_has(cap: u32) -> io::Result<Option<bool>> {
        prctl_bool(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong,
            cap.into(),
        )
    }

    /// Empty the ambient set (nothing to do before Linux 4.3).
    pub(crate) fn ambient_clear() -> io::Result<()> {
        prctl_bool(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
        )?;
        Ok(())
    }
}

/// OpenBSD `pledge(2)` and `unveil(2)`.
#[cfg(target_os = "openbsd")]
pub(crate) mod openbsd {
    use std::ffi::CString;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    fn cstring(s: &[u8]) -> io::Result<CString> {
        CString::new(s)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in argument"))
    }

    /// `pledge(promises, NULL)`: execpromises stay unchanged.
    pub(crate) fn pledge(promises: &str) -> io::Result<()> {
        let p = cstring(promises.as_bytes())?;
        // SAFETY: `p` is a NUL-terminated string that outlives the call;
        // NULL execpromises is documented to leave them unchanged.
        if unsafe { libc::pledge(p.as_ptr(), std::ptr::null()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `unveil(path, permissions)`.
    pub(crate) fn unveil(path: &Path, permissions: &str) -> io::Result<()> {
        let p = cstring(path.as_os_str().as_bytes())?;
        let m = cstring(permissions.as_bytes())?;
        // SAFETY: both are NUL-terminated strings that outlive the call.
        if unsafe { libc::unveil(p.as_ptr(), m.as_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `unveil(NULL, NULL)`: no further unveil calls are allowed.
    pub(crate) fn unveil_lock() -> io::Result<()> {
        // SAFETY: two NULLs are the documented way to lock unveil.
        if unsafe { libc::unveil(std::ptr::null(), std::ptr::null()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
