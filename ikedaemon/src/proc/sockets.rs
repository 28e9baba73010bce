//! The sockets the parent opens while it is still root, before any child
//! drops privileges: the IKE UDP sockets on ports 500 and 4500 (with
//! packet-info options so replies leave from the address a request reached,
//! the per-socket IPsec bypass, and ESP-in-UDP on the NAT-T port), and the
//! control socket for `ikectl`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use nix::sys::socket::{
    AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn, SockaddrIn6, bind, setsockopt,
    socket, sockopt,
};
use nix::unistd::{Gid, Uid, chown};

use crate::sys;

/// Receive buffer of each IKE socket, in bytes.
pub const RECEIVE_BUFFER: usize = 2 << 20;

/// One bound IKE socket.
#[derive(Debug)]
pub struct IkeSocket {
    /// The socket.
    pub fd: OwnedFd,
    /// Address and port it is bound to.
    pub local: SocketAddr,
    /// True for the NAT-T port (non-ESP marker, ESP-in-UDP).
    pub natt: bool,
}

/// A socket that could not be set up, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what} UDP {addr}: {source}{hint}")]
pub struct SocketError {
    what: &'static str,
    addr: SocketAddr,
    source: io::Error,
    hint: &'static str,
}

fn err(what: &'static str, addr: SocketAddr, e: impl Into<io::Error>) -> SocketError {
    let source = e.into();
    let hint = match source.kind() {
        io::ErrorKind::AddrInUse => " (is another IKE daemon running?)",
        io::ErrorKind::AddrNotAvailable => " (no interface has this address)",
        io::ErrorKind::PermissionDenied => " (ports below 1024 need root)",
        _ => "",
    };
    SocketError {
        what,
        addr,
        source,
        hint,
    }
}

/// Opens, configures and binds one UDP socket.
pub fn open_udp(addr: SocketAddr, natt: bool) -> Result<IkeSocket, SocketError> {
    let fd = udp_socket(addr)?;
    // A reload that moves one port may bind the other again while the
    // negotiator still holds it. Not SO_REUSEADDR: on Linux any user's
    // socket with it could then bind 4500 too and receive our datagrams.
    // SO_REUSEPORT admits only sockets of the same user (root); on the BSDs
    // it has no such check, so there a reload moves to new ports only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    setsockopt(&fd, sockopt::ReusePort, &true).map_err(|e| err("set SO_REUSEPORT on", addr, e))?;
    // A burst (a flood the COOKIE gate must see, or many peers at once)
    // queues here instead of being dropped by the kernel: root may exceed
    // net.core.rmem_max.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    setsockopt(&fd, sockopt::RcvBufForce, &RECEIVE_BUFFER)
        .map_err(|e| err("set SO_RCVBUFFORCE on", addr, e))?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    setsockopt(&fd, sockopt::RcvBuf, &RECEIVE_BUFFER)
        .map_err(|e| err("set SO_RCVBUF on", addr, e))?;
    match addr {
        SocketAddr::V4(a) => {
            #[cfg(any(target_os = "linux", target_os = "macos"))]
            setsockopt(&fd, sockopt::Ipv4PacketInfo, &true)
                .map_err(|e| err("set IP_PKTINFO on", addr, e))?;
            // The BSDs report the destination with IP_RECVDSTADDR (and
            // take the source with IP_SENDSRCADDR when sending).
            #[cfg(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
            setsockopt(&fd, sockopt::Ipv4RecvDstAddr, &true)
                .map_err(|e| err("set IP_RECVDSTADDR on", addr, e))?;
            sys::set_ipsec_bypass(fd.as_fd(), false)
                .map_err(|e| err("set the IPsec bypass policy on", addr, e))?;
            bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(a))
                .map_err(|e| err("bind", addr, e))?;
        }
        SocketAddr::V6(a) => {
            setsockopt(&fd, sockopt::Ipv6V6Only, &true)
                .map_err(|e| err("set IPV6_V6ONLY on", addr, e))?;
            setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true)
                .map_err(|e| err("set IPV6_RECVPKTINFO on", addr, e))?;
            sys::set_ipsec_bypass(fd.as_fd(), true)
                .map_err(|e| err("set the IPsec bypass policy on", addr, e))?;
            bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn6::from(a))
                .map_err(|e| err("bind", addr, e))?;
        }
    }
    if natt {
        sys::set_udp_encap(fd.as_fd()).map_err(|e| err("set UDP_ENCAP on", addr, e))?;
    }
    Ok(IkeSocket {
        fd,
        local: addr,
        natt,
    })
}

/// How the IKE sockets are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// At start-up: refuse ports that any other socket holds (another
    /// ikedaemon, or another IKE daemon), even one of root's.
    Exclusive,
    /// At a reload: the negotiator may still hold some of these ports.
    Handover,
}

/// Opens the IKE and NAT-T sockets on every listen address.
pub fn open_ike_sockets(
    listen: &[IpAddr],
    ike_port: u16,
    natt_port: u16,
    how: Bind,
) -> Result<Vec<IkeSocket>, SocketError> {
    let addrs: Vec<(SocketAddr, bool)> = listen
        .iter()
        .flat_map(|ip| {
            [
                (SocketAddr::new(*ip, ike_port), false),
                (SocketAddr::new(*ip, natt_port), true),
            ]
        })
        .collect();
    if how == Bind::Exclusive {
        for (addr, _) in &addrs {
            probe_free(*addr)?;
        }
    }
    addrs
        .into_iter()
        .map(|(addr, natt)| open_udp(addr, natt))
        .collect()
}

/// Fails when a socket already holds `addr`: a plain socket (no reuse
/// option) cannot be bound next to any other, ours with SO_REUSEPORT
/// included.
fn probe_free(addr: SocketAddr) -> Result<(), SocketError> {
    let fd = udp_socket(addr)?;
    let fd_raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    match addr {
        SocketAddr::V4(a) => bind(fd_raw, &SockaddrIn::from(a)),
        SocketAddr::V6(a) => {
            // Only the v6 port: our own v4 socket on it is no conflict.
            setsockopt(&fd, sockopt::Ipv6V6Only, &true)
                .map_err(|e| err("set IPV6_V6ONLY on", addr, e))?;
            bind(fd_raw, &SockaddrIn6::from(a))
        }
    }
    .map_err(|e| err("bind", addr, e))
}

/// A UDP socket of `addr`'s family, close-on-exec.
fn udp_socket(addr: SocketAddr) -> Result<OwnedFd, SocketError> {
    let family = if addr.is_ipv6() {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    socket(
        family,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Udp,
    )
    .map_err(|e| err("create", addr, e))
}

/// Creates the control socket: removes a stale socket file (one nobody
/// listens on), binds, sets mode 0660 and group `gid` (root when `None`).
pub fn open_control_socket(path: &Path, gid: Option<u32>) -> io::Result<UnixListener> {
    if path.exists() {
        match UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "{} is in use: is ikedaemon already running?",
                        path.display()
                    ),
                ));
            }
            Err(_) => std::fs::remove_file(path)?,
        }
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {}: {e}", path.display())))?;
    chown(
        path,
        Some(Uid::from_raw(0)),
        Some(Gid::from_raw(gid.unwrap_or(0))),
    )?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok(listener)
}
