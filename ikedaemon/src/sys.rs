//! The daemon's only `unsafe` code: libc calls with no safe wrapper in the
//! crates we use — syslog(3), and the socket options that keep IKE traffic
//! out of IPsec (per-socket bypass policies) and mark the NAT-T socket for
//! ESP-in-UDP decapsulation. Each call is small and says why it is sound.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::OnceLock;

use crate::logging::Level;

static IDENT: OnceLock<CString> = OnceLock::new();

/// openlog("ikedaemon", LOG_PID | LOG_NDELAY, LOG_DAEMON): the connection
/// to the log socket is made now, while /dev/log is still reachable.
pub(crate) fn openlog_daemon() {
    let ident = IDENT.get_or_init(|| CString::new("ikedaemon").unwrap_or_default());
    // SAFETY: `ident` lives in a static for the rest of the process, as
    // openlog(3) requires (it keeps the pointer); the flags are constants.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY,
            libc::LOG_DAEMON,
        )
    };
}

/// syslog(3) one line at the priority matching `level`.
pub(crate) fn syslog(level: Level, line: &str) {
    let prio = match level {
        Level::Error => libc::LOG_ERR,
        Level::Warn => libc::LOG_WARNING,
        Level::Info => libc::LOG_INFO,
        Level::Verbose | Level::Debug => libc::LOG_DEBUG,
    };
    let Ok(msg) = CString::new(line.replace('\0', "\\0")) else {
        return;
    };
    // SAFETY: the format is a literal "%s" and the single argument is a
    // valid NUL-terminated string that outlives the call.
    unsafe { libc::syslog(prio, c"%s".as_ptr(), msg.as_ptr()) };
}

/// Sets a signal's disposition to SIG_IGN.
pub(crate) fn ignore_signal(sig: i32) -> io::Result<()> {
    // SAFETY: SIG_IGN runs no handler code, so signal(2)'s requirements on
    // handlers do not apply; an invalid number is reported as an error.
    let prev = unsafe { libc::signal(sig, libc::SIG_IGN) };
    if prev == libc::SIG_ERR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn setsockopt_raw<T>(fd: BorrowedFd<'_>, level: i32, name: i32, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is an open socket for the duration of the borrow;
    // `value` points to `len` initialised bytes of a plain C struct or
    // integer, which the kernel only reads.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(target_os = "linux")]
fn getsockopt_int(fd: BorrowedFd<'_>, level: i32, name: i32) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `v` and `len` are valid for writes of an int and a socklen_t;
    // the kernel writes at most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(v)
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    //! `struct xfrm_userpolicy_info` from <linux/xfrm.h>, the argument of
    //! IP_XFRM_POLICY / IPV6_XFRM_POLICY.

    #[repr(C)]
    #[derive(Default)]
    pub(super) struct XfrmSelector {
        pub daddr: [u8; 16],
        pub saddr: [u8; 16],
        pub dport: u16,
        pub dport_mask: u16,
        pub sport: u16,
        pub sport_mask: u16,
        pub family: u16,
        pub prefixlen_d: u8,
        pub prefixlen_s: u8,
        pub proto: u8,
        pub ifindex: i32,
        pub user: u32,
    }

    #[repr(C)]
    #[derive(Default)]
    pub(super) struct XfrmLifetimeCfg {
        pub limits: [u64; 8],
    }

    #[repr(C)]
    #[derive(Default)]
    pub(super) struct XfrmLifetimeCur {
        pub counters: [u64; 4],
    }

    #[repr(C)]
    #[derive(Default)]
    pub(super) struct XfrmUserpolicyInfo {
        pub sel: XfrmSelector,
        pub lft: XfrmLifetimeCfg,
        pub curlft: XfrmLifetimeCur,
        pub priority: u32,
        pub index: u32,
        pub dir: u8,
        pub action: u8,
        pub flags: u8,
        pub share: u8,
    }

    pub(super) const IP_XFRM_POLICY: i32 = 17;
    pub(super) const IPV6_XFRM_POLICY: i32 = 35;
    pub(super) const XFRM_POLICY_IN: u8 = 0;
    pub(super) const XFRM_POLICY_OUT: u8 = 1;
    pub(super) const XFRM_POLICY_ALLOW: u8 = 0;
    pub(super) const UDP_ENCAP: i32 = 100;
    pub(super) const UDP_ENCAP_ESPINUDP: i32 = 2;
    pub(super) const SOL_UDP: i32 = 17;

    // The kernel checks the option length against its own struct.
    const _: () = assert!(std::mem::size_of::<XfrmSelector>() == 56);
    const _: () = assert!(std::mem::size_of::<XfrmUserpolicyInfo>() == 168);
}

/// Sets per-socket IPsec bypass policies for both directions, so IKE
/// traffic on this socket is never caught by the SAs it negotiates.
#[cfg(target_os = "linux")]
pub(crate) fn set_ipsec_bypass(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    use linux::*;
    let (level, name, family) = if ipv6 {
        (libc::IPPROTO_IPV6, IPV6_XFRM_POLICY, libc::AF_INET6)
    } else {
        (libc::IPPROTO_IP, IP_XFRM_POLICY, libc::AF_INET)
    };
    for dir in [XFRM_POLICY_IN, XFRM_POLICY_OUT] {
        let mut p = XfrmUserpolicyInfo::default();
        p.sel.family = u16::try_from(family).unwrap_or_default();
        p.dir = dir;
        p.action = XFRM_POLICY_ALLOW;
        p.lft.limits = [u64::MAX; 8];
        setsockopt_raw(fd, level, name, &p)?;
    }
    Ok(())
}

/// FreeBSD/NetBSD/macOS: IP_IPSEC_POLICY with a KAME `sadb_x_policy` of
/// type bypass, per direction.
#[cfg(any(target_os = "freebsd", target_os = "netbsd", target_os = "macos"))]
pub(crate) fn set_ipsec_bypass(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    #[repr(C)]
    struct SadbXPolicy {
        len: u16,
        exttype: u16,
        policy_type: u16,
        dir: u8,
        reserved: u8,
        id: u32,
        priority: u32,
    }
    const SADB_X_EXT_POLICY: u16 = 18;
    const IPSEC_POLICY_BYPASS: u16 = 4;
    const IP_IPSEC_POLICY: i32 = 21;
    const IPV6_IPSEC_POLICY: i32 = 28;
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, IPV6_IPSEC_POLICY)
    } else {
        (libc::IPPROTO_IP, IP_IPSEC_POLICY)
    };
    for dir in [1u8, 2u8] {
        let p = SadbXPolicy {
            len: 2,
            exttype: SADB_X_EXT_POLICY,
            policy_type: IPSEC_POLICY_BYPASS,
            dir,
            reserved: 0,
            id: 0,
            priority: 0,
        };
        setsockopt_raw(fd, level, name, &p)?;
    }
    Ok(())
}

/// OpenBSD: every IPsec level of the socket set to IPSEC_LEVEL_BYPASS.
#[cfg(target_os = "openbsd")]
pub(crate) fn set_ipsec_bypass(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    const IPSEC_LEVEL_BYPASS: i32 = 0;
    let opts: &[(i32, i32)] = if ipv6 {
        &[
            (libc::IPPROTO_IPV6, 53),
            (libc::IPPROTO_IPV6, 54),
            (libc::IPPROTO_IPV6, 55),
            (libc::IPPROTO_IPV6, 60),
        ]
    } else {
        &[
            (libc::IPPROTO_IP, 20),
            (libc::IPPROTO_IP, 21),
            (libc::IPPROTO_IP, 22),
            (libc::IPPROTO_IP, 29),
        ]
    };
    for (level, name) in opts {
        setsockopt_raw(fd, *level, *name, &IPSEC_LEVEL_BYPASS)?;
    }
    Ok(())
}

/// Marks the NAT-T socket so the kernel decapsulates ESP-in-UDP arriving
/// on it (RFC 3948); IKE datagrams (non-ESP marker) still reach us.
#[cfg(target_os = "linux")]
pub(crate) fn set_udp_encap(fd: BorrowedFd<'_>) -> io::Result<()> {
    setsockopt_raw(
        fd,
        linux::SOL_UDP,
        linux::UDP_ENCAP,
        &linux::UDP_ENCAP_ESPINUDP,
    )
}

/// FreeBSD: UDP_ENCAP at IPPROTO_UDP level, ESP-in-UDP.
#[cfg(target_os = "freebsd")]
pub(crate) fn set_udp_encap(fd: BorrowedFd<'_>) -> io::Result<()> {
    const UDP_ENCAP: i32 = 1;
    const UDP_ENCAP_ESPINUDP: i32 = 2;
    setsockopt_raw(fd, libc::IPPROTO_UDP, UDP_ENCAP, &UDP_ENCAP_ESPINUDP)
}

/// Elsewhere (OpenBSD: the net.inet.esp.udpencap sysctl) nothing is set
/// per socket.
#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub(crate) fn set_udp_encap(_fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(())
}

/// The UDP_ENCAP type set on a socket (Linux), for checks and tests.
#[cfg(target_os = "linux")]
pub fn udp_encap(fd: BorrowedFd<'_>) -> io::Result<i32> {
    getsockopt_int(fd, linux::SOL_UDP, linux::UDP_ENCAP)
}
