//! The control protocol between `ikectl` and the daemon's control process:
//! typed requests and responses, serialized as JSON in length-prefixed
//! frames on the control socket. One module, used by both sides.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes of
//! JSON; frames above [`MAX_FRAME`] are refused. JSON keeps the protocol
//! inspectable (`ikectl --json` prints the response as received) and
//! tolerant of added fields.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// The control socket when neither the configuration nor `-s` names one.
pub const DEFAULT_SOCKET: &str = "/var/run/ikedaemon.sock";

/// Largest frame either side accepts.
pub const MAX_FRAME: usize = 1 << 20;

/// What `ikectl` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// `show policies`
    ShowPolicies,
    /// `show sa`
    ShowSa,
    /// `show stats`
    ShowStats,
    /// `reload`: re-read the configuration (like SIGHUP).
    Reload,
    /// `log verbose` / `log brief`
    Log(LogMode),
    /// `reset sa|policy|all`
    Reset(ResetWhat),
    /// `monitor`: stream events until the client disconnects.
    Monitor,
    /// `initiate <policy>`: start an IKE SA (and its CHILD SA) now.
    Initiate(String),
    /// `terminate <policy|ike-sa>`: delete the IKE SAs of a policy, or
    /// the one whose SPI (either half, as `show sa` prints it) is given.
    Terminate(String),
    /// `show flows`: the policies (flows) ikedaemon installed in the kernel.
    ShowFlows,
    /// `couple`: load every negotiated SA and its flows into the kernel.
    Couple,
    /// `decouple`: unload them from the kernel; they stay negotiated.
    Decouple,
}

/// Verbosity that `ikectl log` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogMode {
    /// Log details (`-v`).
    Verbose,
    /// Normal logging.
    Brief,
}

/// What `ikectl reset` clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetWhat {
    /// Delete every IKE and CHILD SA.
    Sa,
    /// Reload policies from the configuration, dropping SAs of removed ones.
    Policy,
    /// Both.
    All,
}

/// The daemon's answer. `Monitor` produces a stream of `Event`s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The configured policies.
    Policies(Vec<PolicyInfo>),
    /// The established and negotiating SAs.
    Sas(Vec<SaInfo>),
    /// Counters.
    Stats(Stats),
    /// The request was carried out; a one-line description.
    Done(String),
    /// One event of a `monitor` stream.
    Event(Event),
    /// The request failed; why.
    Error(String),
    /// The installed flows.
    Flows(Vec<FlowInfo>),
}

/// A flow (kernel policy) as `show flows` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowInfo {
    /// The policy it belongs to (`name (on-demand)` for a trap).
    pub policy: String,
    /// `out`, `in` or `fwd`.
    pub dir: String,
    /// `198.51.100.0/24 === 203.0.113.0/24 proto 6`.
    pub selector: String,
    /// `tunnel` or `transport`.
    pub mode: String,
    /// Outer source and destination of the ESP packets.
    pub outer: String,
    /// The reqid linking it to its SAs.
    pub reqid: u32,
    /// XFRM priority.
    pub priority: u32,
}

/// A policy as `show policies` prints it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    /// Name.
    pub name: String,
    /// active / passive / on-demand.
    pub start: String,
    /// Local address or `any`.
    pub local_address: String,
    /// Remote address, prefix or `any`.
    pub remote_address: String,
    /// Local ID (`fqdn:gw.example`), empty when derived from the address.
    pub local_id: String,
    /// Remote ID, empty when any ID is accepted.
    pub remote_id: String,
    /// `psk` or `certificate`.
    pub auth: String,
    /// IKE proposals, canonical strings.
    pub ike: Vec<String>,
    /// ESP proposals, canonical strings.
    pub esp: Vec<String>,
    /// tunnel / transport.
    pub mode: String,
    /// Local traffic selectors.
    pub local_ts: Vec<String>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<String>,
}

/// An SA as `show sa` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaInfo {
    /// The policy it belongs to.
    pub policy: String,
    /// IKE SPIs `spi_i:spi_r` in hex.
    pub spis: String,
    /// Our SPI, which names the IKE SA inside the daemon.
    #[serde(default)]
    pub id: u64,
    /// Peer address and port.
    pub peer: String,
    /// State name.
    pub state: String,
    /// Negotiated algorithms.
    pub algorithms: String,
    /// Seconds until rekey, if scheduled.
    pub rekey_in: Option<u64>,
    /// Seconds until reauthentication, if scheduled.
    #[serde(default)]
    pub reauth_in: Option<u64>,
    /// Seconds until hard expiry, if any.
    pub expires_in: Option<u64>,
    /// The peer's authenticated identity (empty before IKE_AUTH).
    #[serde(default)]
    pub peer_id: String,
    /// Seconds since the IKE SA was created.
    #[serde(default)]
    pub age_secs: u64,
    /// Its CHILD SAs, as the parent recorded them.
    #[serde(default)]
    pub children: Vec<ChildInfo>,
    /// Where the negotiator has each CHILD SA: (inbound SPI in hex,
    /// `INSTALLED` / `REKEYING` / `REKEYED` / `DELETING`); the parent puts
    /// it into `children`.
    #[serde(default)]
    pub child_states: Vec<(String, String)>,
}

/// A CHILD SA under an IKE SA in `show sa`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// Our inbound SPI, hex.
    pub spi_in: String,
    /// Our outbound SPI, hex.
    pub spi_out: String,
    /// Negotiated algorithms.
    pub algorithms: String,
    /// `tunnel` or `transport`, with `udp-encap` when NAT-T is on.
    pub mode: String,
    /// Local traffic selectors.
    pub local_ts: Vec<String>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<String>,
    /// Where it lives: `kernel` or `recorded (kernel: none)`.
    pub installed: String,
    /// Seconds since it was installed.
    pub age_secs: u64,
    /// Seconds until its hard lifetime ends, if it has one.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// Seconds until its soft lifetime (rekey), if it has one.
    #[serde(default)]
    pub rekey_in: Option<u64>,
    /// `INSTALLED`, `REKEYING`, `REKEYED` (replaced, waiting for its
    /// DELETE), `DELETING`.
    #[serde(default)]
    pub state: String,
    /// Bytes in and out, when the kernel reports them.
    pub bytes: Option<(u64, u64)>,
    /// Packets in and out, when the kernel reports them.
    #[serde(default)]
    pub packets: Option<(u64, u64)>,
}

/// Counters for `show stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// Configuration loads that took effect (start + reloads).
    pub config_loads: u64,
    /// Reloads refused because the new configuration was invalid.
    pub config_rejected: u64,
    /// IKE datagrams received.
    pub datagrams_in: u64,
    /// IKE datagrams sent.
    pub datagrams_out: u64,
    /// Received datagrams that did not decode.
    pub malformed: u64,
    /// IKE SAs established now.
    pub ike_sas: u64,
    /// CHILD SAs installed now.
    pub child_sas: u64,
    /// IKE SAs half-open now.
    pub half_open: u64,
    /// ikectl requests served.
    pub control_requests: u64,
    /// IKE fragments of completely reassembled messages (RFC 7383).
    #[serde(default)]
    pub fragments_reassembled: u64,
    /// IKE SA rekeys completed (ours and the peer's).
    #[serde(default)]
    pub ike_rekeys: u64,
    /// CHILD SA rekeys completed (ours and the peer's).
    #[serde(default)]
    pub child_rekeys: u64,
    /// Crossing rekeys decided by the nonces (RFC 7296 §2.8).
    #[serde(default)]
    pub rekey_collisions: u64,
    /// Our AUTH payloads the parent made (signatures and PSK MICs).
    #[serde(default)]
    pub auth_made: u64,
    /// Peers' AUTH payloads the parent verified.
    #[serde(default)]
    pub peers_verified: u64,
    /// Peers' AUTH payloads the parent refused (or requests it refused).
    #[serde(default)]
    pub peers_refused: u64,
}

/// One line of the `monitor` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unix time in seconds.
    pub time: u64,
    /// The process that reported it (parent, negotiator, control).
    pub source: String,
    /// What happened.
    pub message: String,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The other side closed the connection between frames.
    #[error("connection closed")]
    Closed,
    /// A frame longer than [`MAX_FRAME`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    /// The JSON did not match the protocol.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// An I/O error.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Serializes one frame.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let body = serde_json::to_vec(msg).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Writes one frame (blocking).
pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    w.write_all(&encode(msg))?;
    w.flush()
}

/// Reads one frame (blocking).
pub fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    if let Err(e) = r.read_exact(&mut len) {
        return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
            FrameError::Closed
        } else {
            FrameError::Io(e)
        });
    }
    let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Splits complete frames off a buffer filled by non-blocking reads.
/// Returns the decoded messages; leaves a partial frame in `buf`.
pub fn take_frames<T: for<'de> Deserialize<'de>>(buf: &mut Vec<u8>) -> Result<Vec<T>, FrameError> {
    let mut out = Vec::new();
    while let Some(len) = buf.get(..4) {
        let len = usize::try_from(u32::from_be_bytes([len[0], len[1], len[2], len[3]]))
            .unwrap_or(usize::MAX);
        if len > MAX_FRAME {
            return Err(FrameError::TooLarge(len));
        }
        let Some(body) = buf.get(4..4 + len) else {
            break;
        };
        out.push(serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))?);
        buf.drain(..4 + len);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split() {
        let reqs = vec![
            Request::ShowPolicies,
            Request::Log(LogMode::Verbose),
            Request::Reset(ResetWhat::All),
        ];
        let mut buf: Vec<u8> = reqs.iter().flat_map(encode).collect();
        let extra = encode(&Request::Monitor);
        buf.extend_from_slice(&extra[..3]);
        let got: Vec<Request> = take_frames(&mut buf).unwrap();
        assert_eq!(got, reqs);
        assert_eq!(buf.len(), 3);
        buf.extend_from_slice(&extra[3..]);
        assert_eq!(
            take_frames::<Request>(&mut buf).unwrap(),
            vec![Request::Monitor]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_and_malformed_frames_are_errors() {
        let mut buf = u32::MAX.to_be_bytes().to_vec();
        assert!(matches!(
            take_frames::<Request>(&mut buf),
            Err(FrameError::TooLarge(_))
        ));
        let mut buf = 5u32.to_be_bytes().to_vec();
        buf.extend_from_slice(b"\"bad\"");
        assert!(matches!(
            take_frames::<Request>(&mut buf),
            Err(FrameError::Malformed(_))
        ));
        let mut r: &[u8] = &[0, 0];
        assert!(matches!(
            read_frame::<Request>(&mut r),
            Err(FrameError::Closed)
        ));
    }

    #[test]
    fn json_is_readable() {
        assert_eq!(
            String::from_utf8(encode(&Request::ShowSa)[4..].to_vec()).unwrap(),
            "\"show_sa\""
        );
        let r = Response::Done("reloaded".into());
        assert_eq!(
            String::from_utf8(encode(&r)[4..].to_vec()).unwrap(),
            "{\"done\":\"reloaded\"}"
        );
    }
}
