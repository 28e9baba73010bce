//! The vocabulary the kernel backends share: SAs, flows (policies) and
//! kernel events, shaped so that each of the three kernel models can
//! express them — KAME ipsecrequests (reqid + level), XFRM in/out/fwd
//! policies with templates, OpenBSD flows that name an SA by destination
//! and SPI.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::ike::crypto::encr::EncrSpec;
use crate::ike::crypto::integ::IntegAlg;

/// Why a kernel operation failed, in a form fit for one log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KernelError {
    /// The kernel answered with an errno.
    #[error("{op}: {msg} (errno {errno})")]
    Errno {
        /// What was asked (`XFRM_MSG_NEWSA`, `SADB_UPDATE`).
        op: &'static str,
        /// The errno.
        errno: i32,
        /// strerror, sometimes with a hint.
        msg: String,
    },
    /// A kernel policy with the same selector belongs to someone else
    /// (another daemon, the administrator): it is left alone.
    #[error("{0}")]
    Foreign(String),
    /// The request cannot be expressed with this backend.
    #[error("{0}")]
    Unsupported(String),
    /// Socket trouble, a malformed or missing reply.
    #[error("{0}")]
    Io(String),
}

impl KernelError {
    /// An errno answer to `op`.
    pub(crate) fn errno(op: &'static str, errno: i32) -> Self {
        KernelError::Errno {
            op,
            errno,
            msg: std::io::Error::from_raw_os_error(errno).to_string(),
        }
    }

    /// True for "no such SA/policy" (already gone).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, KernelError::Errno { errno, .. } if *errno == libc::ENOENT || *errno == libc::ESRCH)
    }
}

/// Tunnel or transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Mode {
    /// Transport mode.
    Transport,
    /// Tunnel mode.
    Tunnel,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Transport => "transport",
            Mode::Tunnel => "tunnel",
        })
    }
}

/// Which traffic a flow applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum FlowDir {
    /// Leaving this host (encrypt).
    Out,
    /// Arriving for this host (must have been decrypted).
    In,
    /// Forwarded through this host (Linux: a tunnel gateway needs it).
    Fwd,
}

impl fmt::Display for FlowDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlowDir::Out => "out",
            FlowDir::In => "in",
            FlowDir::Fwd => "fwd",
        })
    }
}

/// A packet selector: two prefixes, a protocol and single ports (0 =
/// any). What XFRM, KAME and OpenBSD flows can all express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Selector {
    /// Source prefix.
    pub(crate) src: (IpAddr, u8),
    /// Destination prefix.
    pub(crate) dst: (IpAddr, u8),
    /// IP protocol (0 = any).
    pub(crate) proto: u8,
    /// Source port (0 = any).
    pub(crate) sport: u16,
    /// Destination port (0 = any).
    pub(crate) dport: u16,
}

impl Selector {
    /// The same selector seen from the other end.
    pub(crate) fn reversed(&self) -> Self {
        Selector {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = |f: &mut fmt::Formatter<'_>, (a, p): (IpAddr, u8), port: u16| -> fmt::Result {
            write!(f, "{a}/{p}")?;
            if port != 0 {
                write!(f, "[{port}]")?;
            }
            Ok(())
        };
        end(f, self.src, self.sport)?;
        f.write_str(" === ")?;
        end(f, self.dst, self.dport)?;
        if self.proto != 0 {
            write!(f, " proto {}", self.proto)?;
        }
        Ok(())
    }
}

/// Which SA a flow sends its traffic through: by reqid (KAME "unique"
/// level, XFRM templates) and, for OpenBSD flows, by destination and SPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SaTemplate {
    /// Our reqid (from ikedaemon's reserved range).
    pub(crate) reqid: u32,
    /// Tunnel or transport.
    pub(crate) mode: Mode,
    /// Outer source and destination of the ESP packets this flow uses
    /// (tunnel endpoints; the two hosts in transport mode).
    pub(crate) outer: (IpAddr, IpAddr),
    /// The SA's SPI (0 for a trap flow that has no SA yet). Only OpenBSD
    /// flows name it; KAME and XFRM find the SA by reqid.
    pub(crate) spi: u32,
}

/// A policy (SPD entry / flow) that sends traffic through an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Flow {
    /// Direction.
    pub(crate) dir: FlowDir,
    /// Which packets.
    pub(crate) selector: Selector,
    /// Through which SA.
    pub(crate) sa: SaTemplate,
    /// XFRM priority (lower wins), inside ikedaemon's band.
    pub(crate) priority: u32,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} esp {} {}->{} reqid {}",
            self.dir, self.selector, self.sa.mode, self.sa.outer.0, self.sa.outer.1, self.sa.reqid
        )
    }
}

/// How an SA is named in the kernel: protocol ESP, destination, SPI (and
/// the source, which PF_KEY wants too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SaKey {
    /// Outer source address.
    pub(crate) src: IpAddr,
    /// Outer destination address.
    pub(crate) dst: IpAddr,
    /// SPI.
    pub(crate) spi: u32,
}

impl fmt::Display for SaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "esp {:08x} {}->{}", self.spi, self.src, self.dst)
    }
}

/// Soft and hard limits of an SA (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Limits {
    /// Soft lifetime: the kernel reports an EXPIRE (rekey).
    pub(crate) soft_secs: u64,
    /// Hard lifetime: the kernel deletes the SA.
    pub(crate) hard_secs: u64,
    /// Soft byte limit.
    pub(crate) soft_bytes: u64,
    /// Hard byte limit.
    pub(crate) hard_bytes: u64,
}

impl Limits {
    /// Limits from a rekey and an expiry time and byte count.
    pub(crate) fn new(
        rekey: Duration,
        expire: Duration,
        rekey_bytes: u64,
        expire_bytes: u64,
    ) -> Self {
        Limits {
            soft_secs: rekey.as_secs(),
            hard_secs: expire.as_secs(),
            soft_bytes: rekey_bytes,
            hard_bytes: expire_bytes,
        }
    }
}

/// UDP encapsulation (NAT-T, RFC 3948) of an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encap {
    /// Source port of the ESP-in-UDP packets.
    pub(crate) sport: u16,
    /// Destination port.
    pub(crate) dport: u16,
}

/// Everything needed to add one SA. The keys are borrowed from the
/// request's zeroizing buffers and never copied into anything that
/// outlives the call, except the message buffer, which the backend wipes.
/// `Debug` leaves the keys out.
pub(crate) struct SaParams<'a> {
    /// Addresses and SPI.
    pub(crate) key: SaKey,
    /// True for our inbound SA, whose SPI the kernel allocated (a larval
    /// SA to UPDATE where the kernel keeps one).
    pub(crate) inbound: bool,
    /// Our reqid.
    pub(crate) reqid: u32,
    /// Tunnel or transport.
    pub(crate) mode: Mode,
    /// Cipher.
    pub(crate) encr: EncrSpec,
    /// Integrity (None with an AEAD cipher).
    pub(crate) integ: Option<IntegAlg>,
    /// Extended sequence numbers.
    pub(crate) esn: bool,
    /// Anti-replay window in packets.
    pub(crate) replay_window: u32,
    /// Encryption key (with the salt for AEAD and CTR ciphers).
    pub(crate) encr_key: &'a [u8],
    /// Integrity key.
    pub(crate) integ_key: &'a [u8],
    /// Lifetimes.
    pub(crate) limits: Limits,
    /// UDP encapsulation.
    pub(crate) encap: Option<Encap>,
    /// The traffic the SA carries (transport mode: the kernel checks it).
    pub(crate) selector: Option<Selector>,
    /// The seq of the ACQUIRE this SA answers (0: none).
    pub(crate) acquire_seq: u32,
}

/// Traffic counters of an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    /// Bytes.
    pub(crate) bytes: u64,
    /// Packets.
    pub(crate) packets: u64,
}

/// What the kernel reports on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KernelEvent {
    /// Traffic matched a flow without an SA: negotiate one.
    Acquire {
        /// To be carried by the SA negotiated for it.
        seq: u32,
        /// The flow's reqid.
        reqid: u32,
        /// The packet's addresses.
        src: IpAddr,
        /// The packet's destination.
        dst: IpAddr,
    },
    /// An SA reached a lifetime.
    Expire {
        /// Which SA.
        key: SaKey,
        /// Hard (the kernel deleted it) or soft (rekey).
        hard: bool,
    },
    /// Events were lost (ENOBUFS): resynchronise from a dump.
    Lost,
}

/// An SA or flow found in the kernel with one of ikedaemon's reqids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Owned {
    /// SAs.
    pub(crate) sas: Vec<SaKey>,
    /// Flows.
    pub(crate) flows: Vec<Flow>,
}

impl std::fmt::Debug for SaParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaParams")
            .field("key", &self.key)
            .field("inbound", &self.inbound)
            .field("reqid", &self.reqid)
            .field("mode", &self.mode)
            .field("encr", &self.encr)
            .field("integ", &self.integ)
            .field("esn", &self.esn)
            .field("keys", &"<redacted>")
            .field("limits", &self.limits)
            .field("encap", &self.encap)
            .finish_non_exhaustive()
    }
}
