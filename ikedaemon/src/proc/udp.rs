//! Datagram I/O for the negotiator: receive with the destination address
//! (IP_PKTINFO / IPV6_RECVPKTINFO; IP_RECVDSTADDR on the BSDs) and send
//! with an explicit source address (IP_SENDSRCADDR on the BSDs),
//! so a reply always leaves from the address the request reached.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, sendmsg,
};

/// Largest IKE datagram we read (RFC 7296 allows up to 64 KiB over UDP).
pub const MAX_DATAGRAM: usize = 65535;

/// One received datagram.
#[derive(Debug)]
pub struct Datagram {
    /// Payload length in the caller's buffer.
    pub len: usize,
    /// Sender.
    pub from: SocketAddr,
    /// The local address it was sent to, when the kernel said.
    pub to: Option<IpAddr>,
    /// True when the datagram did not fit in the buffer.
    pub truncated: bool,
}

fn to_std(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(a) = s.as_sockaddr_in() {
        return Some(SocketAddr::V4((*a).into()));
    }
    s.as_sockaddr_in6().map(|a| SocketAddr::V6((*a).into()))
}

/// Receives one datagram into `buf` (non-blocking sockets return
/// `WouldBlock` when empty).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Datagram> {
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::in_pktinfo);
    let mut iov = [IoSliceMut::new(buf)];
    let msg =
        recvmsg::<SockaddrStorage>(fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(io::Error::from)?;
    let mut to = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                #[cfg(any(target_os = "linux", target_os = "macos"))]
                ControlMessageOwned::Ipv4PacketInfo(p) => {
                    to = Some(IpAddr::V4(u32::from_be(p.ipi_addr.s_addr).into()));
                }
                #[cfg(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
                ControlMessageOwned::Ipv4RecvDstAddr(a) => {
                    to = Some(IpAddr::V4(u32::from_be(a.s_addr).into()));
                }
                ControlMessageOwned::Ipv6PacketInfo(p) => {
                    to = Some(IpAddr::V6(p.ipi6_addr.s6_addr.into()));
                }
                _ => {}
            }
        }
    }
    let from = msg.address.as_ref().and_then(to_std).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "datagram without a sender address",
        )
    })?;
    Ok(Datagram {
        len: msg.bytes,
        from,
        to,
        truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
    })
}

/// Sends `data` to `to`, from the local address `from` when given.
pub fn send(
    fd: BorrowedFd<'_>,
    data: &[u8],
    to: SocketAddr,
    from: Option<IpAddr>,
) -> io::Result<usize> {
    let iov = [IoSlice::new(data)];
    let dest = SockaddrStorage::from(to);
    let sent = match from {
        #[cfg(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
        Some(IpAddr::V4(src)) if to.is_ipv4() => {
            let a = libc::in_addr {
                s_addr: u32::from(src).to_be(),
            };
            sendmsg(
                fd.as_raw_fd(),
                &iov,
                &[ControlMessage::Ipv4SendSrcAddr(&a)],
                MsgFlags::empty(),
                Some(&dest),
            )
        }
        #[cfg(any(target_os = "linux", target_os = "macos"))]
        Some(IpAddr::V4(src)) if to.is_ipv4() => {
            let info = libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr {
                    s_addr: u32::from(src).to_be(),
                },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            sendmsg(
                fd.as_raw_fd(),
                &iov,
                &[ControlMessage::Ipv4PacketInfo(&info)],
                MsgFlags::empty(),
                Some(&dest),
            )
        }
        Some(IpAddr::V6(src)) if to.is_ipv6() => {
            let info = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: src.octets(),
                },
                ipi6_ifindex: 0,
            };
            sendmsg(
                fd.as_raw_fd(),
                &iov,
                &[ControlMessage::Ipv6PacketInfo(&info)],
                MsgFlags::empty(),
                Some(&dest),
            )
        }
        _ => sendmsg(fd.as_raw_fd(), &iov, &[], MsgFlags::empty(), Some(&dest)),
    };
    sent.map_err(io::Error::from)
}
