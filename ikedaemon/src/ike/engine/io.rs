//! What goes into and comes out of the engine: datagrams with their
//! addresses, requests to the parent (key custody: the engine never holds
//! a PSK or a private key) and the parent's answers, and events for the
//! log and ikectl. Time is an input too: the engine reads no clock.

use std::net::SocketAddr;
use std::time::Duration;

use crate::ike::wire::{AuthMethod, AuthPayload, Identification};

/// Engine time: a monotonic instant supplied by the caller (the daemon
/// passes time since start; tests pass a fake clock).
pub type Now = Duration;

/// A datagram in either direction. `bytes` is the IKE message without
/// the non-ESP marker; `natt` says whether it travels on the NAT-T port
/// (where the caller adds or strips the marker). The one exception is a
/// NAT keepalive (RFC 3948 §2.3): `natt` with `bytes == [0xff]`, sent as
/// is, without a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// On the NAT-T port (non-ESP marker).
    pub natt: bool,
    /// The IKE message.
    pub bytes: Vec<u8>,
}

/// Identifies an IKE SA inside one engine: our SPI.
pub type SaId = u64;

/// What the engine asks of the parent, which holds the long-term secrets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ParentRequest {
    /// Compute our AUTH payload over `octets` (RFC 7296 §2.15) with the
    /// policy's PSK or private key.
    Sign {
        /// The IKE SA.
        sa: SaId,
        /// Request id: the answer carries it back; an answer whose id is
        /// not the SA's outstanding request is stale and dropped.
        request: u64,
        /// Also reserve an inbound SPI for the CHILD SA we will propose
        /// (a larval SA in the kernel).
        reserve_spi: bool,
        /// Our IKE address (the inbound SA's destination).
        local: SocketAddr,
        /// The peer's IKE address (the inbound SA's source).
        remote: SocketAddr,
        /// Policy name.
        policy: String,
        /// The octets to MAC or sign.
        octets: Vec<u8>,
        /// Hash algorithms the peer announced (RFC 7427).
        peer_hashes: Vec<u16>,
        /// The IKE SA's PRF (transform ID): the PSK MIC uses it.
        prf: u16,
    },
    /// Verify the peer's AUTH payload over `octets`; for the responder's
    /// IKE_AUTH this comes with our own `sign` octets in one request.
    Authenticate {
        /// The IKE SA.
        sa: SaId,
        /// Request id, as for `Sign`.
        request: u64,
        /// Policy name (re-picked by the peer's ID).
        policy: String,
        /// The peer's identity as sent.
        peer_id: Identification,
        /// The peer's AUTH method and data.
        method: AuthMethod,
        /// AUTH data.
        auth: Vec<u8>,
        /// The peer's signed octets.
        octets: Vec<u8>,
        /// Certificates the peer sent (DER).
        certs: Vec<Vec<u8>>,
        /// Our octets to sign in the same round trip (responder).
        sign: Option<Vec<u8>>,
        /// Hash algorithms the peer announced.
        peer_hashes: Vec<u16>,
        /// The IKE SA's PRF (transform ID).
        prf: u16,
        /// The CHILD SA to install once the peer is authenticated. Its
        /// `spi_in` is the one reserved with `Sign` (initiator), or 0 for
        /// the parent to allocate (responder).
        child: Option<Box<ChildSaKeys>>,
    },
    /// Reserve an inbound SPI (a larval SA) for a CHILD SA we propose in
    /// CREATE_CHILD_SA.
    ReserveSpi {
        /// The IKE SA.
        sa: SaId,
        /// Request id, as for `Sign`.
        request: u64,
        /// Policy name.
        policy: String,
        /// Our IKE address (the inbound SA's destination).
        local: SocketAddr,
        /// The peer's IKE address (the inbound SA's source).
        remote: SocketAddr,
    },
    /// Install a CHILD SA negotiated with CREATE_CHILD_SA. Its `spi_in`
    /// is one reserved with `ReserveSpi` (initiator), or 0 for the parent
    /// to allocate (responder, before the response announces it).
    InstallChild {
        /// The IKE SA.
        sa: SaId,
        /// Request id, as for `Sign`.
        request: u64,
        /// The CHILD SA.
        child: Box<ChildSaKeys>,
        /// Add the outbound SA now; `false`: only the inbound SA until
        /// `Event::ChildOutbound` (the responder of a rekey).
        outbound: bool,
    },
}

impl ParentRequest {
    /// The answer that refuses this request with `why`, nothing done (the
    /// parent's gate, or a request that could not reach the parent).
    pub fn refused(self, why: String) -> ParentAnswer {
        match self {
            ParentRequest::Sign { sa, request, .. } => ParentAnswer::Signed {
                sa,
                request,
                auth: Err(why),
                spi_in: None,
            },
            ParentRequest::Authenticate { sa, request, .. } => ParentAnswer::Authenticated {
                sa,
                request,
                verdict: Err(why),
                auth: None,
                child: None,
            },
            ParentRequest::ReserveSpi { sa, request, .. } => ParentAnswer::Reserved {
                sa,
                request,
                spi_in: Err(why),
            },
            ParentRequest::InstallChild { sa, request, .. } => ParentAnswer::Installed {
                sa,
                request,
                child: Err(why),
            },
        }
    }
}

/// The parent's answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ParentAnswer {
    /// Our AUTH payload.
    Signed {
        /// The IKE SA.
        sa: SaId,
        /// The request's id.
        request: u64,
        /// The AUTH payload, or why it could not be made.
        auth: Result<AuthPayload, String>,
        /// The reserved inbound SPI, when asked, or why there is none.
        spi_in: Option<Result<u32, String>>,
    },
    /// The verdict on the peer's AUTH (and our AUTH when asked).
    Authenticated {
        /// The IKE SA.
        sa: SaId,
        /// The request's id.
        request: u64,
        /// `Ok` when the peer is authenticated; the reason otherwise.
        verdict: Result<(), String>,
        /// Our AUTH payload when `sign` was asked.
        auth: Option<Result<AuthPayload, String>>,
        /// The CHILD SA's install result: our inbound SPI, or why the
        /// kernel refused it. `None` when no CHILD SA was asked for or
        /// the peer was not authenticated.
        child: Option<Result<u32, String>>,
    },
    /// The answer to `ReserveSpi`.
    Reserved {
        /// The IKE SA.
        sa: SaId,
        /// The request's id.
        request: u64,
        /// The inbound SPI, or why there is none.
        spi_in: Result<u32, String>,
    },
    /// The answer to `InstallChild`.
    Installed {
        /// The IKE SA.
        sa: SaId,
        /// The request's id.
        request: u64,
        /// Our inbound SPI, or why the kernel refused the CHILD SA.
        child: Result<u32, String>,
    },
}

impl ParentAnswer {
    /// The IKE SA and request id.
    pub fn ids(&self) -> (SaId, u64) {
        match self {
            Self::Signed { sa, request, .. }
            | Self::Authenticated { sa, request, .. }
            | Self::Reserved { sa, request, .. }
            | Self::Installed { sa, request, .. } => (*sa, *request),
        }
    }
}

/// Key material that crosses to the parent: zeroized on drop, never
/// printed.
pub type Key = privsep::secret::Secret<Vec<u8>>;

/// Keys and parameters of a CHILD SA, for the kernel.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChildSaKeys {
    /// The IKE SA it belongs to.
    pub ike: SaId,
    /// Our IKE address and port (the ESP source; the UDP encapsulation
    /// port when `udp_encap`).
    pub local: SocketAddr,
    /// The peer's IKE address and port.
    pub remote: SocketAddr,
    /// Policy name.
    pub policy: String,
    /// Our inbound SPI.
    pub spi_in: u32,
    /// The peer's inbound SPI (our outbound).
    pub spi_out: u32,
    /// Negotiated algorithms (`aes256gcm16`, `aes128-sha256`).
    pub algorithms: String,
    /// Inbound encryption key (+ salt) and integrity key.
    pub keys_in: (Key, Key),
    /// Outbound encryption key (+ salt) and integrity key.
    pub keys_out: (Key, Key),
    /// Local traffic selectors.
    pub local_ts: Vec<crate::ike::wire::TsRange>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<crate::ike::wire::TsRange>,
    /// Transport mode (else tunnel).
    pub transport: bool,
    /// UDP encapsulation (NAT detected).
    pub udp_encap: bool,
}

impl std::fmt::Debug for ChildSaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSaKeys")
            .field("policy", &self.policy)
            .field("spi_in", &format_args!("{:08x}", self.spi_in))
            .field("spi_out", &format_args!("{:08x}", self.spi_out))
            .field("algorithms", &self.algorithms)
            .field("keys", &"<redacted>")
            .finish()
    }
}

/// Something that happened, for the log, ikectl and the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An IKE SA is established.
    IkeEstablished {
        /// Our SPI.
        sa: SaId,
        /// One-line description.
        line: String,
    },
    /// A CHILD SA is negotiated and ready to install.
    ChildEstablished(Box<ChildSaKeys>),
    /// A negotiation failed: one line saying why and what to check.
    Failed {
        /// Our SPI (0 before one exists).
        sa: SaId,
        /// The line.
        line: String,
    },
    /// A CHILD SA is gone (deleted by the peer, or with its IKE SA).
    ChildDeleted {
        /// The IKE SA.
        sa: SaId,
        /// Our inbound SPI.
        spi_in: u32,
        /// Why, for the log: `deleted by the peer`, ...
        reason: &'static str,
    },
    /// Something worth a log line that changes nothing outside (a rekey
    /// done, a collision resolved).
    Info {
        /// The IKE SA.
        sa: SaId,
        /// The line.
        line: String,
    },
    /// The outbound SA of a CHILD SA installed inbound-only may go into
    /// the kernel now: the peer has the inbound one.
    ChildOutbound {
        /// The IKE SA.
        sa: SaId,
        /// Our inbound SPI.
        spi_in: u32,
    },
    /// An IKE SA was rekeyed: its CHILD SAs now belong to `new`.
    IkeRekeyed {
        /// The old IKE SA.
        old: SaId,
        /// The new one.
        new: SaId,
    },
    /// An IKE SA is gone.
    IkeDeleted {
        /// Our SPI.
        sa: SaId,
        /// Why.
        reason: String,
    },
}

/// Everything the engine produced for one input.
#[derive(Debug, Default)]
pub struct Outputs {
    /// Datagrams to send.
    pub send: Vec<Datagram>,
    /// Requests for the parent.
    pub parent: Vec<ParentRequest>,
    /// Events.
    pub events: Vec<Event>,
}
