//! The PF_KEY socket: open, send, receive, and match replies to requests.
//!
//! Two ways to use it:
//! - blocking calls ([`PfKeySocket::request`], [`PfKeySocket::dump`],
//!   [`PfKeySocket::register`]) for tools and start-up, which wait (with a
//!   timeout) for the answer and keep kernel events that arrive meanwhile;
//! - non-blocking from an event loop: [`PfKeySocket::send_request`], then on
//!   readiness [`PfKeySocket::recv`] until it returns `None`; each message
//!   comes with its [`Disposition`]. The socket implements `AsRawFd`, so it
//!   registers with mio through `mio::unix::SourceFd`.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::error::{DecodeError, EncodeError};
use crate::matching::{Disposition, Pending, classify};
use crate::message::{MAX_MESSAGE_LEN, Message};
use crate::numbers::{MessageType, SaType};
use crate::sys;

/// Sequence numbers are unique per process, not per socket: Linux and
/// OpenBSD broadcast many replies to every PF_KEY socket with the
/// requester's pid, so two sockets of one process must never reuse a seq.
static NEXT_SEQ: AtomicU32 = AtomicU32::new(1);

/// How many unwanted messages a blocking call keeps for `recv`.
const MAX_BACKLOG: usize = 4096;

/// How long blocking calls wait for the kernel by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of socket operations.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The running kernel has no PF_KEY support.
    #[error("no PF_KEY in this kernel ({hint}): {source}")]
    NoPfKey {
        /// Where PF_KEY would come from on this system.
        hint: &'static str,
        /// The error socket(2) returned.
        source: io::Error,
    },
    /// A system call failed.
    #[error("PF_KEY {op}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The kernel answered a request with an error.
    #[error("kernel refused {}: {}", .msg_type.name(), io::Error::from_raw_os_error(i32::from(*.errno)))]
    Kernel {
        /// The request's type.
        msg_type: MessageType,
        /// The errno the kernel put in `sadb_msg_errno`.
        errno: u8,
        /// The reply, for callers that need its extensions.
        reply: Box<Message>,
    },
    /// A received message could not be decoded (it is dropped).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// No answer within the timeout.
    #[error("no answer to {} seq {seq} within {timeout:?}", .msg_type.name())]
    Timeout {
        /// The request's type.
        msg_type: MessageType,
        /// The request's seq.
        seq: u32,
        /// How long we waited.
        timeout: Duration,
    },
    /// The receive queue overflowed (ENOBUFS): kernel messages were lost;
    /// the caller should resynchronise its view with a dump. FreeBSD reports
    /// this; Linux af_key and OpenBSD drop silently (see the crate docs).
    #[error("PF_KEY receive queue overflowed: kernel events were lost, resync with a dump")]
    Overflow,
    /// The operation cannot be done through this dialect's socket.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A datagram larger than any PF_KEY message.
    #[error("PF_KEY datagram of {0} bytes exceeds the maximum message size")]
    Oversized(usize),
}

impl SocketError {
    /// The kernel's errno, if this is a refusal by the kernel.
    pub fn kernel_errno(&self) -> Option<i32> {
        match self {
            SocketError::Kernel { errno, .. } => Some(i32::from(*errno)),
            _ => None,
        }
    }
}

#[cfg(target_os = "linux")]
const NO_PFKEY_HINT: &str = "CONFIG_NET_KEY / module af_key";
#[cfg(not(target_os = "linux"))]
const NO_PFKEY_HINT: &str = "kernel built without IPsec / PF_KEY";

/// A received message and what it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The message.
    pub msg: Message,
    /// How it relates to our requests.
    pub disposition: Disposition,
}

/// An open PF_KEY socket.
#[derive(Debug)]
pub struct PfKeySocket {
    fd: OwnedFd,
    dialect: Dialect,
    pid: u32,
    pending: Vec<Pending>,
    /// Messages read by a blocking call that were not its answer.
    backlog: VecDeque<Incoming>,
    /// Whether kernel events a blocking call reads are kept for `recv`.
    keep_events: bool,
    buf: Vec<u8>,
    timeout: Duration,
}

impl PfKeySocket {
    /// Open a blocking socket in the native dialect.
    pub fn open() -> Result<Self, SocketError> {
        Self::open_dialect(Dialect::NATIVE)
    }

    /// Open a socket that speaks `dialect` (only the native one makes sense
    /// outside tests).
    pub fn open_dialect(dialect: Dialect) -> Result<Self, SocketError> {
        let fd = sys::open_pfkey().map_err(|source| match source.raw_os_error() {
            Some(libc::EAFNOSUPPORT)
            | Some(libc::EPROTONOSUPPORT)
            | Some(libc::ESOCKTNOSUPPORT) => SocketError::NoPfKey {
                hint: NO_PFKEY_HINT,
                source,
            },
            _ => SocketError::Io {
                op: "socket",
                source,
            },
        })?;
        // A larger queue makes ENOBUFS on event bursts less likely; failure
        // to enlarge it is harmless.
        let _ = sys::set_rcvbuf(&fd, 1 << 20);
        Ok(PfKeySocket {
            fd,
            dialect,
            pid: std::process::id(),
            pending: Vec::new(),
            backlog: VecDeque::new(),
            keep_events: true,
            buf: vec![0u8; MAX_MESSAGE_LEN],
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Switch `O_NONBLOCK` (for use from an event loop).
    pub fn set_nonblocking(&mut self, on: bool) -> Result<(), SocketError> {
        sys::set_nonblocking(&self.fd, on).map_err(|source| SocketError::Io {
            op: "fcntl",
            source,
        })
    }

    /// Set how long blocking calls wait.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The dialect this socket encodes and decodes.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The pid put in our requests (replies carry it back).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// A fresh sequence number (never 0).
    pub fn next_seq(&mut self) -> u32 {
        loop {
            let s = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
            if s != 0 {
                return s;
            }
        }
    }

    /// Send `msg` exactly as given (seq and pid included), expecting no answer.
    pub fn send(&mut self, msg: &Message) -> Result<(), SocketError> {
        // The encoding of an ADD or UPDATE holds key material.
        let bytes = zeroize::Zeroizing::new(msg.encode(self.dialect)?);
        sys::send(&self.fd, &bytes).map_err(|source| SocketError::Io { op: "send", source })?;
        Ok(())
    }

    /// Send a request and remember it, so [`recv`](Self::recv) can match its
    /// answer. Our pid is filled in; a seq of 0 is replaced by a fresh one
    /// (give an explicit seq to answer an ACQUIRE with its own seq). Returns
    /// the seq.
    pub fn send_request(&mut self, mut msg: Message) -> Result<u32, SocketError> {
        msg.pid = self.pid;
        if msg.seq == 0 {
            msg.seq = self.next_seq();
        }
        self.send(&msg)?;
        if Pending::is_dump_type(msg.msg_type) {
            // Dump records carry no request seq: one dump per type at a time.
            self.pending.retain(|p| p.msg_type != msg.msg_type);
        }
        self.pending.push(Pending {
            msg_type: msg.msg_type,
            seq: msg.seq,
        });
        Ok(msg.seq)
    }

    /// Forget a pending request (e.g. after the caller's own timeout).
    pub fn cancel(&mut self, seq: u32) {
        self.pending.retain(|p| p.seq != seq);
    }

    /// Receive one message without blocking on a non-blocking socket
    /// (`Ok(None)` when nothing is queued). A reply or the last dump record
    /// completes its pending request.
    pub fn recv(&mut self) -> Result<Option<Incoming>, SocketError> {
        if let Some(m) = self.backlog.pop_front() {
            return Ok(Some(m));
        }
        self.recv_from_kernel()
    }

    fn recv_from_kernel(&mut self) -> Result<Option<Incoming>, SocketError> {
        let n = match sys::recv(&self.fd, &mut self.buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Err(SocketError::Overflow),
            Err(source) => return Err(SocketError::Io { op: "recv", source }),
        };
        if n > self.buf.len() {
            return Err(SocketError::Oversized(n));
        }
        let decoded = Message::decode(&self.buf[..n], self.dialect);
        // Linux broadcasts ADD/UPDATE replies with their keys: wipe them
        // from the receive buffer (the decoded keys zeroize on drop).
        zeroize::Zeroize::zeroize(&mut self.buf[..n]);
        let msg = decoded?;
        let disposition = classify(&msg, self.pid, &self.pending);
        match disposition {
            Disposition::Reply { seq } | Disposition::DumpRecord { seq, last: true } => {
                self.pending.retain(|p| p.seq != seq);
            }
            _ => {}
        }
        Ok(Some(Incoming { msg, disposition }))
    }

    /// Block until a message arrives (or the timeout passes); the caller
    /// cancels its pending entry whatever the outcome.
    fn recv_blocking(
        &mut self,
        deadline: Instant,
        msg_type: MessageType,
        seq: u32,
    ) -> Result<Incoming, SocketError> {
        loop {
            let now = Instant::now();
            if now >= deadline
                || !sys::wait_readable(&self.fd, deadline - now)
                    .map_err(|source| SocketError::Io { op: "poll", source })?
            {
                return Err(SocketError::Timeout {
                    msg_type,
                    seq,
                    timeout: self.timeout,
                });
            }
            if let Some(m) = self.recv_from_kernel()? {
                return Ok(m);
            }
        }
    }

    /// Send a request and wait for its reply. Kernel events that arrive
    /// meanwhile are kept for [`recv`](Self::recv); other processes' replies
    /// are dropped. A reply with `sadb_msg_errno` set becomes
    /// [`SocketError::Kernel`].
    pub fn request(&mut self, msg: Message) -> Result<Message, SocketError> {
        let msg_type = msg.msg_type;
        let seq = self.send_request(msg)?;
        let deadline = Instant::now() + self.timeout;
        let result = loop {
            let m = match self.recv_blocking(deadline, msg_type, seq) {
                Ok(m) => m,
                // Something we cannot decode (perhaps another process's
                // message in a newer format) is not our answer: wait on.
                Err(SocketError::Decode(_)) => continue,
                Err(e) => break Err(e),
            };
            match m.disposition {
                Disposition::Reply { seq: s } if s == seq => break check_errno(m.msg, msg_type),
                _ => self.keep(m),
            }
        };
        self.cancel(seq);
        result
    }

    /// Keep a message a blocking call read but does not want, for `recv`.
    /// The backlog is bounded: past `MAX_BACKLOG` the oldest goes.
    fn keep(&mut self, m: Incoming) {
        match m.disposition {
            Disposition::Foreign | Disposition::Unmatched => {}
            Disposition::Event if !self.keep_events => {}
            _ => {
                if self.backlog.len() >= MAX_BACKLOG {
                    self.backlog.pop_front();
                }
                self.backlog.push_back(m);
            }
        }
    }

    /// Whether kernel events (ACQUIRE, EXPIRE, other processes' SA
    /// changes broadcast by Linux) read while waiting for a reply are kept
    /// for [`recv`](Self::recv) (the default) or dropped — for a socket
    /// used only for requests while another, registered socket gets the
    /// events.
    pub fn set_keep_events(&mut self, keep: bool) {
        self.keep_events = keep;
        if !keep {
            self.backlog.retain(|m| m.disposition != Disposition::Event);
        }
    }

    /// Dump the SAD (`SADB_DUMP`) or, with `XSpdDump`, the SPD: every
    /// record until the kernel marks the last. An empty table gives an
    /// empty list.
    pub fn dump_with(
        &mut self,
        msg_type: MessageType,
        sa_type: SaType,
    ) -> Result<Vec<Message>, SocketError> {
        if self.dialect == Dialect::OpenBsd {
            // OpenBSD ends a socket dump with no marker (and an empty table
            // with no reply at all) and has no SPDDUMP on the socket; its
            // tools dump through sysctl(NET_KEY_SADB_DUMP) instead.
            return Err(SocketError::Unsupported(
                "OpenBSD cannot dump through the PF_KEY socket reliably; use sysctl NET_KEY_SADB_DUMP (not implemented yet)",
            ));
        }
        let seq = self.send_request(Message::new(msg_type, sa_type))?;
        let deadline = Instant::now() + self.timeout;
        let mut records = Vec::new();
        let result = loop {
            let m = match self.recv_blocking(deadline, msg_type, seq) {
                Ok(m) => m,
                Err(SocketError::Decode(_)) => continue,
                Err(e) => break Err(e),
            };
            match m.disposition {
                Disposition::DumpRecord { seq: s, last } if s == seq => {
                    if m.msg.errno != 0 {
                        if i32::from(m.msg.errno) == libc::ENOENT {
                            break Ok(std::mem::take(&mut records));
                        }
                        break check_errno(m.msg, msg_type).map(|_| Vec::new());
                    }
                    records.push(m.msg);
                    if last {
                        break Ok(std::mem::take(&mut records));
                    }
                }
                _ => self.keep(m),
            }
        };
        self.cancel(seq);
        result
    }

    /// Dump all SAs of `sa_type` (`SaType::Unspec` for all).
    pub fn dump(&mut self, sa_type: SaType) -> Result<Vec<Message>, SocketError> {
        self.dump_with(MessageType::Dump, sa_type)
    }

    /// Dump all policies (KAME/Linux SPD, OpenBSD flows).
    pub fn spd_dump(&mut self) -> Result<Vec<Message>, SocketError> {
        self.dump_with(MessageType::XSpdDump, SaType::Unspec)
    }

    /// Register for `sa_type`: the kernel will send us its ACQUIREs, and the
    /// reply lists the algorithms it supports.
    pub fn register(&mut self, sa_type: SaType) -> Result<Message, SocketError> {
        self.request(Message::new(MessageType::Register, sa_type))
    }
}

fn check_errno(msg: Message, msg_type: MessageType) -> Result<Message, SocketError> {
    if msg.errno != 0 {
        return Err(SocketError::Kernel {
            msg_type,
            errno: msg.errno,
            reply: Box::new(msg),
        });
    }
    Ok(msg)
}

impl AsRawFd for PfKeySocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for PfKeySocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
