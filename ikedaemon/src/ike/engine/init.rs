//! IKE_SA_INIT (RFC 7296 §1.2) for both roles: proposals, key exchange,
//! nonces, NAT detection (§2.23) and the capabilities we announce; the
//! initiator's retries after COOKIE (§2.6) and INVALID_KE_PAYLOAD (§1.3).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::ike::crypto::dh::{DhGroup, KeyExchange};
use crate::ike::crypto::keys::{IkeKeys, skeyseed};
use crate::ike::crypto::sk::SkCipher;
use crate::ike::proposal::{accept_answer, select};
use crate::ike::wire::{
    CertEncoding, CertReqPayload, ExchangeType, Header, KePayload, Message, NotifyData,
    NotifyPayload, NotifyType, Payload, SaPayload,
};

use super::endpoint::Engine;
use super::io::{Datagram, Event, Now, Outputs, SaId};
use super::natd;
use super::policy::Childless;
use super::sa::{IkeSa, Role, State};

/// RFC 7427 hash algorithms we verify: SHA2-256/384/512 and Identity.
const OUR_HASHES: [u16; 4] = [2, 3, 4, 5];

fn notify(kind: NotifyType, data: NotifyData) -> Payload {
    Payload::Notify(NotifyPayload::new(kind, data))
}

/// NAT_DETECTION_SOURCE_IP and _DESTINATION_IP for a message from `local`
/// to `remote`.
fn natd_payloads(spi_i: u64, spi_r: u64, local: SocketAddr, remote: SocketAddr) -> [Payload; 2] {
    [
        notify(
            NotifyType::NAT_DETECTION_SOURCE_IP,
            NotifyData::NatDetection(natd::hash(spi_i, spi_r, local)),
        ),
        notify(
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            NotifyData::NatDetection(natd::hash(spi_i, spi_r, remote)),
        ),
    ]
}

/// What the peer's NAT detection payloads say: (a NAT is on the path, or
/// the peer pretends one as strongSwan's kernel-libipsec does; our own
/// address is translated, so we are the side that sends keepalives,
/// RFC 3948 §4).
fn nat_status(
    m: &Message,
    spi_i: u64,
    spi_r: u64,
    local: SocketAddr,
    remote: SocketAddr,
) -> (bool, bool) {
    let mut src_ok = None;
    let mut dst_ok = None;
    for n in m.notifies() {
        if let NotifyData::NatDetection(h) = n.data {
            if n.kind == NotifyType::NAT_DETECTION_SOURCE_IP {
                src_ok = Some(src_ok.unwrap_or(false) || h == natd::hash(spi_i, spi_r, remote));
            } else if n.kind == NotifyType::NAT_DETECTION_DESTINATION_IP {
                dst_ok = Some(h == natd::hash(spi_i, spi_r, local));
            }
        }
    }
    let behind = matches!(dst_ok, Some(false));
    (matches!(src_ok, Some(false)) || behind, behind)
}

/// SKEYSEED, SK_* and the SK ciphers of a new IKE SA (RFC 7296 §2.14).
fn ike_keys(
    s: &crate::ike::proposal::Selected,
    (ni, nr): (&[u8], &[u8]),
    g_ir: &[u8],
    (spi_i, spi_r): (u64, u64),
    initiator: bool,
) -> Result<(IkeKeys, SkCipher, SkCipher), String> {
    let (Some(encr), Some(prf)) = (s.encr, s.prf) else {
        return Err("no encryption or PRF selected".into());
    };
    let keys = skeyseed(prf, ni, nr, g_ir)
        .and_then(|seed| {
            IkeKeys::derive(
                prf,
                &seed,
                ni,
                nr,
                &spi_i.to_be_bytes(),
                &spi_r.to_be_bytes(),
                encr,
                s.integ,
            )
        })
        .map_err(|e| e.to_string())?;
    let (out_c, in_c) = keys
        .sk_ciphers(encr, s.integ, initiator)
        .map_err(|e| e.to_string())?;
    Ok((keys, out_c, in_c))
}

/// The last notifies of our IKE_SA_INIT (either role): childless support
/// (RFC 6023) unless the policy says never, and our signature hashes
/// (RFC 7427).
fn announce(payloads: &mut Vec<Payload>, childless: Childless) {
    if childless != Childless::Never {
        payloads.push(notify(
            NotifyType::CHILDLESS_IKEV2_SUPPORTED,
            NotifyData::Empty,
        ));
    }
    payloads.push(notify(
        NotifyType::SIGNATURE_HASH_ALGORITHMS,
        NotifyData::HashAlgorithms(OUR_HASHES.to_vec()),
    ));
}

/// Our IKE_SA_INIT SA payload's proposals: the policy's, numbered from 1
/// (the same every time, so the answer is checked against them).
fn ike_offer(policy: &super::policy::EnginePolicy) -> Vec<crate::ike::wire::Proposal> {
    policy
        .ike
        .iter()
        .enumerate()
        .map(|(i, c)| c.to_wire(u8::try_from(i + 1).unwrap_or(u8::MAX), vec![]))
        .collect()
}

fn peer_hashes(m: &Message) -> Vec<u16> {
    m.notifies()
        .find_map(|n| match &n.data {
            NotifyData::HashAlgorithms(l) if n.kind == NotifyType::SIGNATURE_HASH_ALGORITHMS => {
                Some(l.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// IKE_SA_INIT requests sent for one IKE SA at most: the first, and one
/// each for a COOKIE or a group the peer wants (RFC 7296 §2.6, §1.2).
const MAX_INIT_ATTEMPTS: u8 = 4;

impl Engine {
    /// Starts an IKE SA for `policy` from `local` (the initiator side).
    pub fn initiate(&mut self, policy: &str, local: SocketAddr, now: Now) -> Outputs {
        let mut out = Outputs::default();
        self.start_initiator(policy, local, now, &mut out);
        out
    }

    /// Starts an IKE SA for `policy` as initiator; returns its id.
    pub(super) fn start_initiator(
        &mut self,
        policy: &str,
        local: SocketAddr,
        now: Now,
        out: &mut Outputs,
    ) -> Option<SaId> {
        let Some(p) = self.policy(policy).cloned() else {
            out.events.push(Event::Failed {
                sa: 0,
                line: format!("cannot initiate: no policy \"{policy}\""),
            });
            return None;
        };
        let Some(peer) = p.remote_addr else {
            out.events.push(Event::Failed {
                sa: 0,
                line: format!("cannot initiate policy \"{policy}\": its remote address is not a single address"),
            });
            return None;
        };
        let remote = SocketAddr::new(peer, self.cfg.ike_port);
        let Some(spi_i) = self.init_spi() else {
            out.events.push(Event::Failed {
                sa: 0,
                line: format!(
                    "cannot initiate policy \"{policy}\" now: the parent has issued no SPI yet"
                ),
            });
            return None;
        };
        let group = p
            .ike
            .first()
            .and_then(|c| c.ke.first().copied())
            .unwrap_or(DhGroup::Curve25519);
        let ni = self.rng.bytes(32);
        let sa = IkeSa::new(
            Role::Initiator,
            (spi_i, 0),
            (local, remote),
            p.clone(),
            ni,
            now,
        );
        self.sas.insert(spi_i, sa);
        self.send_init_request(spi_i, group, None, now, out);
        Some(spi_i)
    }

    /// (Re)builds and sends our IKE_SA_INIT request.
    fn send_init_request(
        &mut self,
        id: SaId,
        group: DhGroup,
        cookie: Option<Vec<u8>>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(policy) = self.sas.get(&id).map(|sa| sa.policy.clone()) else {
            return;
        };
        let ke = match KeyExchange::generate(group) {
            Ok(k) => k,
            Err(e) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("key exchange {}: {e}", group.name()),
                });
                self.remove(id, "key exchange failed", out);
                return;
            }
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        // A COOKIE or INVALID_KE_PAYLOAD answer makes us send again; a
        // responder (or someone on the path) that keeps asking is given up.
        sa.init_attempts += 1;
        if sa.init_attempts > MAX_INIT_ATTEMPTS {
            let line = format!(
                "{}: IKE_SA_INIT sent {MAX_INIT_ATTEMPTS} times (COOKIE or INVALID_KE_PAYLOAD each time), giving up",
                sa.tag()
            );
            out.events.push(Event::Failed { sa: id, line });
            self.remove(id, "too many IKE_SA_INIT retries", out);
            return;
        }
        let proposals = ike_offer(&policy);
        let mut payloads = Vec::new();
        if let Some(c) = cookie {
            payloads.push(notify(NotifyType::COOKIE, NotifyData::Cookie(c)));
        }
        payloads.push(Payload::Sa(SaPayload { proposals }));
        payloads.push(Payload::Ke(KePayload {
            group: group.id(),
            data: ke.public().to_vec(),
        }));
        payloads.push(Payload::Nonce(sa.ni.clone()));
        payloads.extend(natd_payloads(sa.spi_i, 0, sa.local, sa.remote));
        if self.cfg.fragment_size.is_some() {
            payloads.push(notify(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                NotifyData::Empty,
            ));
        }
        announce(&mut payloads, policy.childless);
        let m = Message {
            header: sa.header(ExchangeType::IKE_SA_INIT, false, 0),
            payloads,
        };
        let Ok(bytes) = m.encode() else { return };
        sa.init_ours = bytes.clone();
        sa.ke = Some(ke);
        self.request(
            id,
            0,
            vec![bytes],
            super::lifecycle::Purpose::Setup,
            now,
            out,
        );
    }

    /// Responder: a new IKE_SA_INIT request.
    pub(super) fn on_init_request(
        &mut self,
        d: &Datagram,
        m: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let h = m.header;
        // RFC 7296 §3.1: an IKE_SA_INIT request has a non-zero initiator
        // SPI, message ID 0 and the Initiator flag; anything else is
        // dropped unanswered (an answer would only reflect it).
        if h.spi_i == 0 || h.message_id != 0 || !h.initiator {
            self.malformed += 1;
            return;
        }
        // It gets state before anything is known of the sender: bounded.
        if d.bytes.len() > self.cfg.max_init_message {
            self.malformed += 1;
            return;
        }
        if let Some(id) = self.by_initiator.get(&(h.spi_i, d.remote.ip())).copied() {
            // A retransmission: the same answer again.
            self.is_retransmission(id, &h, &d.bytes, now, out);
            return;
        }
        let Some(Payload::Sa(sa_payload)) = m.payloads.iter().find(|p| matches!(p, Payload::Sa(_)))
        else {
            return;
        };
        let ke_in = m.find_map(|p| match p {
            Payload::Ke(k) => Some(k.clone()),
            _ => None,
        });
        let ni = m.find_map(|p| match p {
            Payload::Nonce(n) => Some(n.clone()),
            _ => None,
        });
        let (Some(ke_in), Some(ni)) = (ke_in, ni) else {
            return;
        };
        if !(16..=256).contains(&ni.len()) {
            return;
        }
        // §2.6: under load, only requests that return our COOKIE get state.
        let cookie = m.notify(NotifyType::COOKIE).and_then(|n| match &n.data {
            NotifyData::Cookie(c) => Some(c.clone()),
            _ => None,
        });
        let limits = super::dos::Limits {
            threshold: self.cfg.cookie_threshold,
            per_peer: self.cfg.max_half_open_per_peer,
            global: self.cfg.max_half_open,
            ipv6_prefix: self.cfg.half_open_ipv6_prefix,
        };
        let ticket = match self.guard.admit(
            now,
            self.rng.as_mut(),
            d.remote,
            h.spi_i,
            &ni,
            cookie.as_deref(),
            limits,
        ) {
            super::dos::Admit::Yes(t) => t,
            super::dos::Admit::Drop(why) => {
                if let Some(line) = self.guard.log_line(why, now) {
                    let line = format!("IKE_SA_INIT from {} dropped: {line}", d.remote.ip());
                    out.events.push(Event::Failed { sa: 0, line });
                }
                return;
            }
            super::dos::Admit::Cookie(c) => {
                if let Some(line) = self.guard.log_line("COOKIEs demanded", now) {
                    let line = format!(
                        "{line}: {} half-open IKE SAs, a half-open limit is reached (first: {})",
                        self.guard.count(),
                        d.remote.ip()
                    );
                    out.events.push(Event::Info { sa: 0, line });
                }
                let header = Header {
                    spi_r: 0,
                    response: true,
                    initiator: false,
                    ..h
                };
                let m = Message {
                    header,
                    payloads: vec![notify(NotifyType::COOKIE, NotifyData::Cookie(c))],
                };
                if let Ok(b) = m.encode() {
                    out.send.push(Datagram {
                        bytes: b,
                        ..d.clone()
                    });
                }
                return;
            }
        };
        // Policies for this peer, most specific first.
        let mut candidates: Vec<_> = self
            .policies
            .iter()
            .filter(|p| p.remote.matches(d.remote.ip()))
            .collect();
        candidates.sort_by_key(|p| std::cmp::Reverse(p.remote.specificity()));
        let mut chosen = None;
        let mut last_err = None;
        for p in &candidates {
            match select(&sa_payload.proposals, &p.ike) {
                Ok(s) => {
                    chosen = Some((Arc::clone(p), s));
                    break;
                }
                Err(e) => last_err = Some((p.name.clone(), e)),
            }
        }
        let reject = |kind: NotifyType, data: NotifyData| -> Option<Vec<u8>> {
            let header = Header {
                spi_r: 0,
                response: true,
                initiator: false,
                ..h
            };
            Message {
                header,
                payloads: vec![notify(kind, data)],
            }
            .encode()
            .ok()
        };
        let Some((policy, selected)) = chosen else {
            let line = match last_err {
                Some((name, e)) => format!(
                    "ike {:016x}:0 peer {}: NO_PROPOSAL_CHOSEN: {}",
                    h.spi_i,
                    d.remote.ip(),
                    e.to_string().replacen(
                        "policy accepts",
                        &format!("policy \"{name}\" accepts"),
                        1
                    )
                ),
                None => format!(
                    "ike {:016x}:0 peer {}: no policy for this address",
                    h.spi_i,
                    d.remote.ip()
                ),
            };
            out.events.push(Event::Failed { sa: 0, line });
            if let Some(b) = reject(NotifyType::NO_PROPOSAL_CHOSEN, NotifyData::Empty) {
                out.send.push(Datagram {
                    bytes: b,
                    ..d.clone()
                });
            }
            return;
        };
        let Some(group) = selected.ke else { return };
        if ke_in.group != group.id() {
            // §1.3: tell the initiator which group to use; keep no state.
            if let Some(b) = reject(
                NotifyType::INVALID_KE_PAYLOAD,
                NotifyData::InvalidKe(group.id()),
            ) {
                out.send.push(Datagram {
                    bytes: b,
                    ..d.clone()
                });
            }
            return;
        }
        let ke = match KeyExchange::generate(group) {
            Ok(k) => k,
            Err(_) => return,
        };
        let g_ir = match ke.shared_secret(&ke_in.data) {
            Ok(s) => s,
            Err(e) => {
                out.events.push(Event::Failed {
                    sa: 0,
                    line: format!(
                        "ike {:016x}:0 peer {}: bad KE payload: {e}",
                        h.spi_i,
                        d.remote.ip()
                    ),
                });
                return;
            }
        };
        let Some(spi_r) = self.init_spi() else {
            if let Some(line) = self.guard.log_line("no SPI from the parent", now) {
                let line = format!("IKE_SA_INIT from {} dropped: {line}", d.remote.ip());
                out.events.push(Event::Failed { sa: 0, line });
            }
            return;
        };
        let nr = self.rng.bytes(32);
        let Ok((keys, out_c, in_c)) =
            ike_keys(&selected, (&ni, &nr), &g_ir, (h.spi_i, spi_r), false)
        else {
            return;
        };
        let (nat, behind_nat) = nat_status(m, h.spi_i, 0, d.local, d.remote);
        let nat = nat || d.natt;
        let mut sa = IkeSa::new(
            Role::Responder,
            (h.spi_i, spi_r),
            (d.local, d.remote),
            policy,
            ni,
            now,
        );
        sa.natt = d.natt;
        sa.nat = nat;
        sa.state = State::InitAnswered;
        sa.nr = nr.clone();
        sa.chosen = Some(selected.clone());
        sa.keys = Some(keys);
        sa.out = Some(out_c);
        sa.inb = Some(in_c);
        sa.init_peers = d.bytes.clone();
        sa.peer_hashes = peer_hashes(m);
        sa.behind_nat = behind_nat;
        sa.peer_childless = m.notify(NotifyType::CHILDLESS_IKEV2_SUPPORTED).is_some();
        let mut payloads = vec![
            Payload::Sa(SaPayload {
                proposals: vec![selected.to_wire(vec![])],
            }),
            Payload::Ke(KePayload {
                group: group.id(),
                data: ke.public().to_vec(),
            }),
            Payload::Nonce(nr),
        ];
        payloads.extend(natd_payloads(h.spi_i, spi_r, d.local, d.remote));
        // §3.7: ask for a certificate signed by one of our CAs.
        let certreq = sa.policy.certreq.clone();
        if !certreq.is_empty() {
            payloads.push(Payload::CertReq(CertReqPayload {
                encoding: CertEncoding::X509_SIGNATURE,
                data: certreq,
            }));
        }
        let peer_frag = m
            .notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
            .is_some();
        if self.cfg.fragment_size.is_some() && peer_frag {
            // §2.3: the responder announces only when the initiator did.
            payloads.push(notify(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                NotifyData::Empty,
            ));
            sa.frag_size = self.cfg.fragment_size;
        }
        announce(&mut payloads, sa.policy.childless);
        let resp = Message {
            header: sa.header(ExchangeType::IKE_SA_INIT, true, 0),
            payloads,
        };
        let Ok(bytes) = resp.encode() else { return };
        sa.init_ours = bytes.clone();
        sa.requests_seen
            .insert(0, super::sa::RequestSeen::of(&d.bytes));
        self.by_initiator.insert((h.spi_i, d.remote.ip()), spi_r);
        if let Some(old) = ticket.evict {
            self.remove(old, "evicted from a full half-open table", out);
        }
        self.guard.opened(spi_r, ticket, now);
        self.sas.insert(spi_r, sa);
        self.respond(spi_r, 0, vec![bytes], out);
    }

    /// Initiator: the IKE_SA_INIT response (or a COOKIE / INVALID_KE /
    /// error notify).
    pub(super) fn on_init_response(
        &mut self,
        id: SaId,
        d: &Datagram,
        m: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        if !matches!(sa.state, State::InitSent) || m.header.message_id != 0 {
            return;
        }
        let tag = sa.tag();
        if let Some(n) = m.notify(NotifyType::COOKIE) {
            if let NotifyData::Cookie(c) = n.data.clone() {
                let group = sa
                    .ke
                    .as_ref()
                    .map(|k| k.group())
                    .unwrap_or(DhGroup::Curve25519);
                self.send_init_request(id, group, Some(c), now, out);
            }
            return;
        }
        if let Some(n) = m.notify(NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = match n.data {
                NotifyData::InvalidKe(g) => DhGroup::from_id(g),
                _ => None,
            };
            let ours: Vec<DhGroup> = sa.policy.ike.iter().flat_map(|c| c.ke.clone()).collect();
            match wanted.filter(|g| ours.contains(g)) {
                Some(g) if Some(g) != sa.ke.as_ref().map(|k| k.group()) => {
                    self.send_init_request(id, g, None, now, out)
                }
                _ => {
                    out.events.push(Event::Failed { sa: id, line: format!("{tag}: INVALID_KE_PAYLOAD: the peer wants group {wanted:?}, which the policy does not offer") });
                    self.remove(id, "no common group", out);
                }
            }
            return;
        }
        if let Some(kind) = Self::error_notify(&m.payloads) {
            out.events.push(Event::Failed {
                sa: id,
                line: format!("{tag}: the peer answered IKE_SA_INIT with {kind:?}"),
            });
            self.remove(id, "IKE_SA_INIT refused", out);
            return;
        }
        let answer: Vec<_> = m
            .find_map(|p| match p {
                Payload::Sa(s) => Some(s.proposals.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let ke_in = m.find_map(|p| match p {
            Payload::Ke(k) => Some(k.clone()),
            _ => None,
        });
        let nr = m.find_map(|p| match p {
            Payload::Nonce(n) => Some(n.clone()),
            _ => None,
        });
        if let Some(n) = nr.as_ref().filter(|n| !(16..=256).contains(&n.len())) {
            out.events.push(Event::Failed {
                sa: id,
                line: format!(
                    "{tag}: unacceptable IKE_SA_INIT response: a nonce of {} bytes (RFC 7296 §2.10: 16 to 256)",
                    n.len()
                ),
            });
            self.remove(id, "bad IKE_SA_INIT response", out);
            return;
        }
        let checked = accept_answer(&ike_offer(&sa.policy), &answer);
        let (Ok(selected), Some(ke_in), Some(nr)) = (checked.clone(), ke_in, nr) else {
            let why = checked
                .err()
                .unwrap_or_else(|| "KE or Nonce missing".into());
            out.events.push(Event::Failed {
                sa: id,
                line: format!("{tag}: unacceptable IKE_SA_INIT response: {why}"),
            });
            self.remove(id, "bad IKE_SA_INIT response", out);
            return;
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let spi_r = m.header.spi_r;
        let Some(ke) = sa.ke.as_ref() else {
            return;
        };
        let derived = ke
            .shared_secret(&ke_in.data)
            .map_err(|e| e.to_string())
            .and_then(|g_ir| ike_keys(&selected, (&sa.ni, &nr), &g_ir, (sa.spi_i, spi_r), true));
        let (keys, out_c, in_c) = match derived {
            Ok(k) => k,
            Err(e) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{tag}: key derivation: {e}"),
                });
                self.remove(id, "key derivation failed", out);
                return;
            }
        };
        sa.spi_r = spi_r;
        sa.nr = nr;
        sa.init_peers = d.bytes.clone();
        sa.peer_hashes = peer_hashes(m);
        sa.peer_childless = m.notify(NotifyType::CHILDLESS_IKEV2_SUPPORTED).is_some();
        if m.notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)
            .is_some()
        {
            sa.frag_size = self.cfg.fragment_size;
        }
        (sa.nat, sa.behind_nat) = nat_status(m, sa.spi_i, spi_r, sa.local, sa.remote);
        sa.keys = Some(keys);
        sa.out = Some(out_c);
        sa.inb = Some(in_c);
        sa.chosen = Some(selected);
        sa.ke = None;
        sa.requests.remove(&0);
        if sa.nat {
            // §2.23: continue on the NAT-T port.
            sa.natt = true;
            sa.local.set_port(self.cfg.natt_port);
            sa.remote.set_port(self.cfg.natt_port);
        }
        self.start_auth(id, now, out);
    }
}
