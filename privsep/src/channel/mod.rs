//! The typed IPC channel: one end of an `AF_UNIX` `SOCK_SEQPACKET`
//! socketpair, so each frame is one datagram and its SCM_RIGHTS descriptors
//! travel with it. Frames are described in [`frame`]; the message enums
//! implement [`IpcMessage`] (see [`ipc_enum!`](crate::ipc_enum)).
//!
//! Both send and receive buffers are wiped after use, so payload bytes
//! (which may hold [`Secret`](crate::secret::Secret)s) do not linger.
//!
//! In non-blocking mode a frame that finds the socket full is not lost:
//! it waits in a bounded outbound queue (with dups of its descriptors),
//! later frames queue behind it so order holds, and the event loop calls
//! [`Channel::flush`] when the socket becomes writable. Only when the
//! queue itself is full does a send fail ([`ChannelError::QueueFull`]).

mod error;
pub mod frame;
mod message;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, setsockopt, socketpair,
    sockopt,
};
use nix::sys::time::{TimeVal, TimeValLike};
use zeroize::Zeroize;

pub use error::ChannelError;
pub use frame::{
    HEADER_LEN, Header, MAX_FDS, MAX_FRAME, MAX_MESSAGE, decode_frame, decode_message, encode_frame,
};
pub use message::{HANDSHAKE_KIND, IpcMessage};

use frame::encode_frame_into;
use message::Hello;

/// Bytes of frames a non-blocking channel queues while its socket is
/// full, at most.
pub const MAX_QUEUED_BYTES: usize = 8 << 20;

/// Frames waiting for room in the socket.
#[derive(Default)]
struct Outbox {
    frames: VecDeque<(zeroize::Zeroizing<Vec<u8>>, Vec<OwnedFd>)>,
    bytes: usize,
}

/// How long [`Channel::handshake`] waits for the peer.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Send flags: never raise SIGPIPE on a closed peer, where the system
/// allows it per call.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
))]
const SEND_FLAGS: MsgFlags = MsgFlags::MSG_NOSIGNAL;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
)))]
const SEND_FLAGS: MsgFlags = MsgFlags::empty();

/// A message received from a channel.
#[derive(Debug)]
pub struct Received<M> {
    /// The ikectl client the message is about (0 when none).
    pub peer: u32,
    /// The decoded message.
    pub msg: M,
    /// The descriptors that came with it, close-on-exec.
    pub fds: Vec<OwnedFd>,
}

/// One end of a privsep IPC channel.
///
/// Methods take `&self`; each direction has its own buffer behind a mutex,
/// so a channel may be shared, but frames are meant to be sent and received
/// from one event loop.
pub struct Channel {
    fd: OwnedFd,
    send_buf: Mutex<Vec<u8>>,
    recv_buf: Mutex<Vec<u8>>,
    outbox: Mutex<Outbox>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Lock a buffer, sized to a whole frame; a poisoned lock is still usable
/// (the buffer holds no invariant beyond its length).
fn frame_buffer(m: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    let mut b = m.lock().unwrap_or_else(|e| e.into_inner());
    if b.len() != MAX_FRAME {
        b.resize(MAX_FRAME, 0);
    }
    b
}

impl Channel {
    /// A connected pair of channel ends, both close-on-exec and blocking.
    pub fn pair() -> io::Result<(Channel, Channel)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        Ok((Channel::from_fd(a), Channel::from_fd(b)))
    }

    /// Wrap a descriptor that is one end of a unix seqpacket socket. The
    /// socket buffers are raised (best effort) so that a frame of
    /// [`MAX_FRAME`] bytes fits.
    pub fn from_fd(fd: OwnedFd) -> Channel {
        // Best effort: the kernel caps these (Linux: wmem_max, doubled);
        // a too-large frame then fails to send with EMSGSIZE.
        let size = 2 * MAX_FRAME;
        let _ = setsockopt(&fd, sockopt::SndBuf, &size);
        let _ = setsockopt(&fd, sockopt::RcvBuf, &size);
        Channel {
            fd,
            send_buf: Mutex::new(Vec::new()),
            recv_buf: Mutex::new(Vec::new()),
            outbox: Mutex::new(Outbox::default()),
        }
    }

    /// Switch non-blocking mode on or off: when on, [`send`](Self::send)
    /// and [`recv`](Self::recv) return [`ChannelError::WouldBlock`] instead
    /// of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let flags = OFlag::from_bits_retain(fcntl(&self.fd, FcntlArg::F_GETFL)?);
        let new = if nonblocking {
            flags | OFlag::O_NONBLOCK
        } else {
            flags & !OFlag::O_NONBLOCK
        };
        if new != flags {
            fcntl(&self.fd, FcntlArg::F_SETFL(new))?;
        }
        Ok(())
    }

    /// Whether the channel is in non-blocking mode.
    pub fn is_nonblocking(&self) -> io::Result<bool> {
        let flags = OFlag::from_bits_retain(fcntl(&self.fd, FcntlArg::F_GETFL)?);
        Ok(flags.contains(OFlag::O_NONBLOCK))
    }

    /// Send `msg` for ikectl client `peer` (0 when none) with up to
    /// [`MAX_FDS`] descriptors, which the peer receives as its own copies.
    /// In non-blocking mode a frame that finds the socket full (or others
    /// queued before it) is queued; see [`flush`](Self::flush).
    pub fn send<M: IpcMessage>(
        &self,
        peer: u32,
        msg: &M,
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), ChannelError> {
        let mut buf = frame_buffer(&self.send_buf);
        let n = encode_frame_into(&mut buf, peer, msg, fds.len())?;
        let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        let result = if outbox.frames.is_empty() {
            match self.send_raw(&buf[..n], fds) {
                Err(ChannelError::WouldBlock) => Self::enqueue(&mut outbox, &buf[..n], fds),
                r => r,
            }
        } else {
            Self::enqueue(&mut outbox, &buf[..n], fds)
        };
        buf[..n].zeroize();
        result
    }

    fn enqueue(
        outbox: &mut Outbox,
        frame: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), ChannelError> {
        if outbox.bytes + frame.len() > MAX_QUEUED_BYTES {
            return Err(ChannelError::QueueFull {
                bytes: outbox.bytes,
                max: MAX_QUEUED_BYTES,
            });
        }
        let fds = fds
            .iter()
            .map(|f| f.try_clone_to_owned())
            .collect::<io::Result<Vec<_>>>()?;
        outbox.bytes += frame.len();
        outbox
            .frames
            .push_back((zeroize::Zeroizing::new(frame.to_vec()), fds));
        Ok(())
    }

    /// Sends queued frames until the socket is full again or none is
    /// left; returns how many are still queued. Call it when the socket
    /// is writable.
    pub fn flush(&self) -> Result<usize, ChannelError> {
        let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((frame, fds)) = outbox.frames.front() {
            let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(|f| f.as_fd()).collect();
            match self.send_raw(frame, &borrowed) {
                Ok(()) => {}
                Err(ChannelError::WouldBlock) => break,
                Err(e) => return Err(e),
            }
            drop(borrowed);
            if let Some((frame, _)) = outbox.frames.pop_front() {
                outbox.bytes -= frame.len();
            }
        }
        Ok(outbox.frames.len())
    }

    /// Frames waiting in the outbound queue.
    pub fn queued(&self) -> usize {
        self.outbox.lock().map_or(0, |o| o.frames.len())
    }

    /// Send already-framed bytes with `fds` (the frame is not checked).
    fn send_raw(&self, frame: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), ChannelError> {
        let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let rights = [ControlMessage::ScmRights(&raw)];
        let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &rights };
        let iov = [io::IoSlice::new(frame)];
        loop {
            match sendmsg::<()>(self.fd.as_raw_fd(), &iov, cmsgs, SEND_FLAGS, None) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ChannelError::from_io(e.into())),
            }
        }
    }

    /// Receive the next message. Descriptors that come with a message that
    /// is rejected are closed before the error is returned.
    pub fn recv<M: IpcMessage>(&self) -> Result<Received<M>, ChannelError> {
        let mut buf = frame_buffer(&self.recv_buf);
        let r = crate::sys::recv_with_fds(self.fd.as_fd(), &mut buf, MAX_FDS)
            .map_err(ChannelError::from_io)?;
        let result = Self::check(&buf[..r.len], &r).and_then(|(h, payload)| {
            let msg = decode_message::<M>(&h, payload)?;
            Ok((h, msg))
        });
        buf[..r.len].zeroize();
        let (header, msg) = result?;
        Ok(Received {
            peer: header.peer,
            msg,
            fds: r.fds,
        })
    }

    /// Everything about a received frame but its payload.
    fn check<'a>(
        bytes: &'a [u8],
        r: &crate::sys::Recvd,
    ) -> Result<(Header, &'a [u8]), ChannelError> {
        if r.len == 0 && !r.truncated && !r.control_truncated && r.fds.is_empty() {
            return Err(ChannelError::Closed);
        }
        if r.truncated {
            // The datagram did not fit a whole maximal frame.
            let len = match Header::decode(bytes) {
                Err(ChannelError::Oversized { len, .. }) => len,
                _ => MAX_MESSAGE + 1,
            };
            return Err(ChannelError::Oversized {
                len,
                max: MAX_MESSAGE,
            });
        }
        if r.control_truncated {
            Header::decode(bytes)?;
            return Err(ChannelError::ControlTruncated { max: MAX_FDS });
        }
        decode_frame(bytes, r.fds.len())
    }

    /// The blocking start-up exchange: each end sends its IPC protocol
    /// `version` and reads the peer's; they must be equal. Waits at most
    /// [`HANDSHAKE_TIMEOUT`]; the channel's blocking mode is restored
    /// afterwards. Call it first, before any other message.
    pub fn handshake(&self, version: u32) -> Result<(), ChannelError> {
        self.handshake_timeout(version, HANDSHAKE_TIMEOUT)
    }

    /// [`handshake`](Self::handshake) with its own time limit.
    pub fn handshake_timeout(&self, version: u32, timeout: Duration) -> Result<(), ChannelError> {
        let was_nonblocking = self.is_nonblocking()?;
        if was_nonblocking {
            self.set_nonblocking(false)?;
        }
        // SO_RCVTIMEO: zero would mean forever; keep it within a day.
        let micros = timeout.as_micros().clamp(1, 86_400_000_000);
        let tv = TimeVal::microseconds(i64::try_from(micros).unwrap_or(1));
        let result = setsockopt(&self.fd, sockopt::ReceiveTimeout, &tv)
            .map_err(|e| ChannelError::Io(e.into()))
            .and_then(|()| self.exchange_hello(version, timeout));
        let _ = setsockopt(&self.fd, sockopt::ReceiveTimeout, &TimeVal::new(0, 0));
        if was_nonblocking {
            self.set_nonblocking(true)?;
        }
        result
    }

    fn exchange_hello(&self, version: u32, timeout: Duration) -> Result<(), ChannelError> {
        self.send(0, &Hello { version }, &[])?;
        let got = match self.recv::<Hello>() {
            Err(ChannelError::WouldBlock) => return Err(ChannelError::HandshakeTimeout(timeout)),
            r => r?,
        };
        if !got.fds.is_empty() {
            return Err(ChannelError::UnexpectedFds {
                announced: 0,
                received: got.fds.len(),
            });
        }
        if got.msg.version != version {
            return Err(ChannelError::VersionMismatch {
                ours: version,
                theirs: got.msg.version,
            });
        }
        Ok(())
    }
}
