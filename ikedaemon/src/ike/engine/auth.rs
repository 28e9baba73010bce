//! IKE_AUTH (RFC 7296 §1.2, §2.15) for both roles, with the parent doing
//! the secret part (key custody): the initiator asks it to sign, sends,
//! and asks it to verify the answer; the responder asks for the verdict on
//! the peer and for its own AUTH in one request. Also the first CHILD SA:
//! ESP proposal, traffic-selector narrowing (§2.9), KEYMAT (§2.17).

use crate::ike::crypto::auth_octets::signed_octets;
use crate::ike::crypto::keys::child_keymat;
use crate::ike::proposal::{Selected, accept_answer, select};
use crate::ike::wire::{
    AuthPayload, CertEncoding, CertPayload, CertReqPayload, ExchangeType, Identification, Message,
    NotifyPayload, NotifyType, Payload, SaPayload, TsRange,
};

use super::endpoint::Engine;
use super::io::{ChildSaKeys, Datagram, Event, Now, Outputs, ParentRequest, SaId};
use super::sa::{IkeSa, Role, State};
use super::ts;
use crate::config::Childless;

/// The octets one side signs: its IKE_SA_INIT message, the other side's
/// nonce, prf(SK_p, ID body) (§2.15).
fn octets(sa: &IkeSa, ours: bool, id: &Identification) -> Option<Vec<u8>> {
    let keys = sa.keys.as_ref()?;
    let prf = sa.chosen.as_ref()?.prf?;
    let initiator_side = (sa.role == Role::Initiator) == ours;
    let (msg, nonce, sk_p) = match (ours, initiator_side) {
        (true, true) => (&sa.init_ours, &sa.nr, &keys.sk_pi),
        (true, false) => (&sa.init_ours, &sa.ni, &keys.sk_pr),
        (false, true) => (&sa.init_peers, &sa.nr, &keys.sk_pi),
        (false, false) => (&sa.init_peers, &sa.ni, &keys.sk_pr),
    };
    signed_octets(msg, nonce, prf, sk_p, &id.body()).ok()
}

/// Fragments accepted for one message (RFC 7383 leaves the bound to us).
const MAX_FRAGMENTS: u16 = 64;

fn find<T>(m: &Message, f: impl Fn(&Payload) -> Option<T>) -> Option<T> {
    m.payloads.iter().find_map(f)
}

fn child_line(keys: &ChildSaKeys) -> String {
    format!(
        "CHILD SA {} {:08x}/{:08x} {} {} === {}",
        keys.policy,
        keys.spi_in,
        keys.spi_out,
        keys.algorithms,
        keys.local_ts.join(","),
        keys.remote_ts.join(",")
    )
}

impl Engine {
    /// Initiator: keys are ready; ask the parent to sign our AUTH.
    pub(super) fn start_auth(&mut self, id: SaId, _now: Now, out: &mut Outputs) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let Some(policy) = self.policies.iter().find(|p| p.name == sa.policy) else {
            return;
        };
        if policy.childless == Childless::Force && !sa.peer_childless {
            let line = format!(
                "{}: policy \"{}\" has childless: force, but the peer did not announce \
                 CHILDLESS_IKEV2_SUPPORTED (RFC 6023)",
                sa.tag(),
                sa.policy
            );
            out.events.push(Event::Failed { sa: id, line });
            self.remove(id, "the peer does not support childless IKE SAs", out);
            return;
        }
        let my_id = policy.our_id(sa.local.ip());
        let Some(oct) = octets(sa, true, &my_id) else {
            return;
        };
        sa.state = State::AwaitOwnAuth;
        out.parent.push(ParentRequest::Sign {
            sa: id,
            policy: sa.policy.clone(),
            octets: oct,
            peer_hashes: sa.peer_hashes.clone(),
            prf: sa.chosen.as_ref().and_then(|c| c.prf).map_or(0, |p| p.id()),
        });
    }

    /// Initiator: our AUTH is signed; send IKE_AUTH.
    pub(super) fn on_signed(
        &mut self,
        id: SaId,
        auth: Result<AuthPayload, String>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        if !matches!(sa.state, State::AwaitOwnAuth) {
            return;
        }
        let auth = match auth {
            Ok(a) => a,
            Err(e) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{}: cannot make our AUTH: {e}", sa.tag()),
                });
                self.remove(id, "no AUTH", out);
                return;
            }
        };
        let Some(policy) = self.policy(&sa.policy).cloned() else {
            return;
        };
        let spi_in =
            u32::from_be_bytes(self.rng.bytes(4).try_into().unwrap_or([1, 0, 0, 0])) | 0x100;
        let remote_ip = self.sas.get(&id).map(|sa| sa.remote.ip());
        let first_contact = !self.sas.iter().any(|(other, sa)| {
            *other != id
                && Some(sa.remote.ip()) == remote_ip
                && matches!(sa.state, State::Established)
        });
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let (l, r) = (sa.local.ip(), sa.remote.ip());
        // RFC 6023: no CHILD SA in IKE_AUTH (`childless: prefer` when the
        // peer supports it, `force` always; start_auth checked support).
        let childless = match policy.childless {
            Childless::Force => true,
            Childless::Prefer => sa.peer_childless,
            Childless::Allow | Childless::Never => false,
        };
        let tsi: Vec<TsRange> = policy.local_ts.iter().map(|t| t.resolve(l)).collect();
        let tsr: Vec<TsRange> = policy.remote_ts.iter().map(|t| t.resolve(r)).collect();
        let proposals: Vec<_> = policy
            .esp
            .iter()
            .filter(|_| !childless)
            .enumerate()
            .map(|(i, c)| {
                c.to_wire(
                    u8::try_from(i + 1).unwrap_or(u8::MAX),
                    spi_in.to_be_bytes().to_vec(),
                )
            })
            .collect();
        sa.child = super::sa::ChildOffer {
            spi_in,
            proposals: proposals.clone(),
            tsi: tsi.clone(),
            tsr: tsr.clone(),
        };
        let mut inner = vec![Payload::IdI(policy.our_id(l))];
        if let Some(cert) = &policy.cert {
            inner.push(Payload::Cert(CertPayload {
                encoding: CertEncoding::X509_SIGNATURE,
                data: cert.clone(),
            }));
        }
        if !policy.certreq.is_empty() {
            inner.push(Payload::CertReq(CertReqPayload {
                encoding: CertEncoding::X509_SIGNATURE,
                data: policy.certreq.clone(),
            }));
        }
        if let Some(rid) = &policy.remote_id {
            inner.push(Payload::IdR(rid.clone()));
        }
        inner.push(Payload::Auth(auth));
        if first_contact {
            inner.push(Payload::Notify(NotifyPayload::flag(
                NotifyType::INITIAL_CONTACT,
            )));
        }
        if !childless {
            if policy.transport {
                inner.push(Payload::Notify(NotifyPayload::flag(
                    NotifyType::USE_TRANSPORT_MODE,
                )));
            }
            inner.push(Payload::Sa(SaPayload { proposals }));
            inner.push(Payload::TsI(ts::payload(&tsi)));
            inner.push(Payload::TsR(ts::payload(&tsr)));
        }
        let bytes = match sa.seal(ExchangeType::IKE_AUTH, false, 1, &inner, self.rng.as_mut()) {
            Ok(b) => b,
            Err(e) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{}: cannot seal IKE_AUTH: {e}", sa.tag()),
                });
                return;
            }
        };
        sa.state = State::AuthSent;
        self.request(id, 1, bytes, now, out);
    }

    /// The peer's protected message, opened: `None` for a retransmitted
    /// request (the cached answer is resent), a fragment of a message
    /// still incomplete (RFC 7383 §2.6), or anything that does not
    /// authenticate (dropped, RFC 7296 §2.21).
    pub(super) fn inbound(
        &mut self,
        id: SaId,
        d: &Datagram,
        now: Now,
        out: &mut Outputs,
    ) -> Option<Message> {
        let m = self.inbound_inner(id, d, out)?;
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.last_heard = now;
        }
        Some(m)
    }

    fn inbound_inner(&mut self, id: SaId, d: &Datagram, out: &mut Outputs) -> Option<Message> {
        let outer = Self::decode(d)?;
        let first_fragment = match outer.payloads.last() {
            Some(Payload::Fragment(f)) => f.number == 1,
            _ => true,
        };
        if !outer.header.response {
            let mut resend = Outputs::default();
            if self.is_retransmission(id, &outer.header, &mut resend) {
                if first_fragment {
                    out.send.extend(resend.send);
                }
                return None;
            }
        }
        if !matches!(outer.payloads.last(), Some(Payload::Fragment(_))) {
            return self.open(id, d);
        }
        let sa = self.sas.get_mut(&id)?;
        let (f, plain) =
            crate::ike::protect::open_fragment(&d.bytes, &outer, sa.inb.as_ref()?).ok()?;
        let mid = outer.header.message_id;
        if sa.reassembly.as_ref().is_none_or(|(m, _)| *m != mid) {
            sa.reassembly = Some((mid, crate::ike::protect::Reassembly::new(MAX_FRAGMENTS)));
        }
        let (_, r) = sa.reassembly.as_mut()?;
        match r.add(&f, plain) {
            Ok(Some((inner, _))) => {
                sa.reassembly = None;
                sa.fragments_reassembled += u64::from(f.total);
                self.fragments_in += u64::from(f.total);
                Some(Message {
                    header: outer.header,
                    payloads: inner,
                })
            }
            Ok(None) => None,
            Err(_) => {
                sa.reassembly = None;
                None
            }
        }
    }

    /// Opens a protected message for `id`; `None` (and dropped) if it
    /// does not authenticate.
    pub(super) fn open(&self, id: SaId, d: &Datagram) -> Option<Message> {
        let sa = self.sas.get(&id)?;
        let outer = Self::decode(d)?;
        let inb = sa.inb.as_ref()?;
        crate::ike::protect::open_message(&d.bytes, &outer, inb)
            .ok()
            .map(|(m, _)| m)
    }

    /// Responder: the IKE_AUTH request.
    pub(super) fn on_auth_request(&mut self, id: SaId, d: &Datagram, now: Now, out: &mut Outputs) {
        let Some(m) = self.inbound(id, d, now, out) else {
            return;
        };
        let outer = m.clone();
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if !matches!(sa.state, State::InitAnswered) {
            return;
        }
        // The peer may have moved to the NAT-T port (§2.23).
        if d.natt && !sa.natt {
            sa.natt = true;
            sa.local = d.local;
            sa.remote = d.remote;
        }
        let Some(idi) = find(&m, |p| match p {
            Payload::IdI(i) => Some(i.clone()),
            _ => None,
        }) else {
            return;
        };
        let Some(auth) = find(&m, |p| match p {
            Payload::Auth(a) => Some(a.clone()),
            _ => None,
        }) else {
            return;
        };
        let certs: Vec<Vec<u8>> = m
            .payloads
            .iter()
            .filter_map(|p| match p {
                Payload::Cert(c) if c.encoding == CertEncoding::X509_SIGNATURE => {
                    Some(c.data.clone())
                }
                _ => None,
            })
            .collect();
        // Re-pick the policy by the peer's identity (§2.2: several
        // policies may share the address).
        let remote_ip = sa.remote.ip();
        let current = sa.policy.clone();
        let fits = |p: &super::policy::EnginePolicy| {
            p.remote.matches(remote_ip) && p.remote_id.as_ref().is_none_or(|r| *r == idi)
        };
        let policy = self
            .policies
            .iter()
            .filter(|p| fits(p))
            .max_by_key(|p| {
                (
                    p.name == current,
                    p.remote_id.is_some(),
                    p.remote.specificity(),
                )
            })
            .cloned();
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let Some(policy) = policy else {
            let line = format!(
                "{}: AUTHENTICATION_FAILED: no policy accepts the peer's ID {idi}",
                sa.tag()
            );
            out.events.push(Event::Failed { sa: id, line });
            self.fail_auth(id, outer.header.message_id, out);
            return;
        };
        sa.policy = policy.name.clone();
        let childless = !m.payloads.iter().any(|p| matches!(p, Payload::Sa(_)));
        if childless && policy.childless == Childless::Never {
            let line = format!(
                "{}: INVALID_SYNTAX: the peer asked for an IKE SA without a CHILD SA (RFC 6023), \
                 policy \"{}\" has childless: never",
                sa.tag(),
                policy.name
            );
            out.events.push(Event::Failed { sa: id, line });
            self.refuse_auth(id, outer.header.message_id, NotifyType::INVALID_SYNTAX, out);
            return;
        }
        let my_id = policy.our_id(sa.local.ip());
        self.guard.closed(id);
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let (Some(peer_oct), Some(our_oct)) = (octets(sa, false, &idi), octets(sa, true, &my_id))
        else {
            return;
        };
        let peer_hashes = sa.peer_hashes.clone();
        let prf = sa.chosen.as_ref().and_then(|c| c.prf).map_or(0, |p| p.id());
        sa.state = State::AwaitAuthenticate(Box::new(m));
        out.parent.push(ParentRequest::Authenticate {
            sa: id,
            policy: policy.name.clone(),
            peer_id: idi,
            method: auth.method,
            auth: auth.data,
            octets: peer_oct,
            certs,
            sign: Some(our_oct),
            peer_hashes,
            prf,
        });
    }

    /// Responder: AUTHENTICATION_FAILED, then forget the SA.
    fn fail_auth(&mut self, id: SaId, message_id: u32, out: &mut Outputs) {
        self.refuse_auth(id, message_id, NotifyType::AUTHENTICATION_FAILED, out);
    }

    /// Responder: an IKE_AUTH answer with only the error `kind`, then
    /// forget the SA.
    fn refuse_auth(&mut self, id: SaId, message_id: u32, kind: NotifyType, out: &mut Outputs) {
        let inner = vec![Payload::Notify(NotifyPayload::flag(kind))];
        let rng = self.rng.as_mut();
        let bytes = self.sas.get(&id).and_then(|sa| {
            sa.seal(ExchangeType::IKE_AUTH, true, message_id, &inner, rng)
                .ok()
        });
        if let Some(b) = bytes {
            self.respond(id, message_id, b, out);
        }
        let why = if kind == NotifyType::AUTHENTICATION_FAILED {
            "authentication failed".to_string()
        } else {
            format!("IKE_AUTH refused: {kind:?}")
        };
        self.remove(id, &why, out);
    }

    /// Both roles: the parent's verdict on the peer (and, for the
    /// responder, our AUTH).
    pub(super) fn on_authenticated(
        &mut self,
        id: SaId,
        verdict: Result<(), String>,
        auth: Option<Result<AuthPayload, String>>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let state = std::mem::replace(&mut sa.state, State::Established);
        match state {
            State::AwaitAuthenticate(m) => self.responder_finish(id, *m, verdict, auth, now, out),
            State::AwaitPeerVerdict(m) => self.initiator_finish(id, *m, verdict, now, out),
            other => sa.state = other,
        }
    }

    fn responder_finish(
        &mut self,
        id: SaId,
        m: Message,
        verdict: Result<(), String>,
        auth: Option<Result<AuthPayload, String>>,
        now: Now,
        out: &mut Outputs,
    ) {
        let mid = m.header.message_id;
        let Some(sa) = self.sas.get(&id) else { return };
        let tag = sa.tag();
        let our_auth = match (verdict, auth) {
            (Ok(()), Some(Ok(a))) => a,
            (Err(e), _) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!(
                        "{tag}: AUTHENTICATION_FAILED: {e} (policy \"{}\")",
                        sa.policy
                    ),
                });
                self.fail_auth(id, mid, out);
                return;
            }
            (Ok(()), other) => {
                let e = match other {
                    Some(Err(e)) => e,
                    _ => "no AUTH from the parent".into(),
                };
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{tag}: cannot make our AUTH: {e}"),
                });
                self.fail_auth(id, mid, out);
                return;
            }
        };
        let Some(policy) = self.policy(&sa.policy).cloned() else {
            return;
        };
        let peer_id = find(&m, |p| match p {
            Payload::IdI(i) => Some(i.clone()),
            _ => None,
        });
        if m.notify(NotifyType::INITIAL_CONTACT).is_some() {
            // §2.4: the peer lost all its state: its other IKE SAs with us
            // are gone, without a DELETE it could not read.
            self.forget_others(id, &policy.name, peer_id.as_ref(), out);
        }
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        sa.peer_id = peer_id;
        let my_id = policy.our_id(sa.local.ip());
        let mut inner = vec![Payload::IdR(my_id)];
        if let Some(cert) = &policy.cert {
            inner.push(Payload::Cert(CertPayload {
                encoding: CertEncoding::X509_SIGNATURE,
                data: cert.clone(),
            }));
        }
        inner.push(Payload::Auth(our_auth));
        // RFC 6023: no SA payload is a childless IKE_AUTH (we announced
        // CHILDLESS_IKEV2_SUPPORTED): the IKE SA alone, no notify.
        let childless = !m.payloads.iter().any(|p| matches!(p, Payload::Sa(_)));
        let child = if childless {
            Err((NotifyType(0), String::new()))
        } else {
            self.responder_child(id, &m, &policy)
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        match child {
            Ok((keys, resp)) => {
                inner.extend(resp);
                let algs = sa
                    .chosen
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                out.events.push(Event::IkeEstablished {
                    sa: id,
                    line: format!(
                        "{tag}: IKE SA established, policy \"{}\", {algs}; {}",
                        sa.policy,
                        child_line(&keys)
                    ),
                });
                sa.children.push((keys.spi_in, keys.spi_out));
                out.events.push(Event::ChildEstablished(keys));
            }
            Err((_, _)) if childless => {
                out.events.push(Event::IkeEstablished {
                    sa: id,
                    line: format!(
                        "{tag}: IKE SA established without a CHILD SA (RFC 6023), policy \"{}\"",
                        sa.policy
                    ),
                });
            }
            Err((kind, why)) => {
                inner.push(Payload::Notify(NotifyPayload::flag(kind)));
                out.events.push(Event::IkeEstablished {
                    sa: id,
                    line: format!("{tag}: IKE SA established, policy \"{}\"", sa.policy),
                });
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{tag}: CHILD SA refused: {kind:?}: {why}"),
                });
            }
        }
        sa.established(now);
        let bytes = match sa.seal(ExchangeType::IKE_AUTH, true, mid, &inner, self.rng.as_mut()) {
            Ok(b) => b,
            Err(_) => return,
        };
        self.respond(id, mid, bytes, out);
    }

    /// Responder: the CHILD SA from the IKE_AUTH request, or the notify
    /// that refuses it (the IKE SA stands either way, §1.2).
    fn responder_child(
        &mut self,
        id: SaId,
        m: &Message,
        policy: &super::policy::EnginePolicy,
    ) -> Result<(ChildSaKeys, Vec<Payload>), (NotifyType, String)> {
        let offer = find(m, |p| match p {
            Payload::Sa(s) => Some(s.proposals.clone()),
            _ => None,
        })
        .ok_or((NotifyType::NO_PROPOSAL_CHOSEN, "no SA payload".to_string()))?;
        let chosen = select(&offer, &policy.esp)
            .map_err(|e| (NotifyType::NO_PROPOSAL_CHOSEN, e.to_string()))?;
        let sa = self
            .sas
            .get(&id)
            .ok_or((NotifyType::NO_PROPOSAL_CHOSEN, "gone".to_string()))?;
        let tsi_in = find(m, |p| match p {
            Payload::TsI(t) => Some(ts::ranges(t)),
            _ => None,
        })
        .unwrap_or_default();
        let tsr_in = find(m, |p| match p {
            Payload::TsR(t) => Some(ts::ranges(t)),
            _ => None,
        })
        .unwrap_or_default();
        let remote_allowed: Vec<TsRange> = policy
            .remote_ts
            .iter()
            .map(|t| t.resolve(sa.remote.ip()))
            .collect();
        let local_allowed: Vec<TsRange> = policy
            .local_ts
            .iter()
            .map(|t| t.resolve(sa.local.ip()))
            .collect();
        let tsi = ts::narrow(&tsi_in, &remote_allowed);
        let tsr = ts::narrow(&tsr_in, &local_allowed);
        if tsi.is_empty() || tsr.is_empty() {
            let show = |v: &[TsRange]| {
                v.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            return Err((
                NotifyType::TS_UNACCEPTABLE,
                format!(
                    "peer proposed {} === {}, policy \"{}\" allows {} === {}",
                    show(&tsi_in),
                    show(&tsr_in),
                    policy.name,
                    show(&remote_allowed),
                    show(&local_allowed)
                ),
            ));
        }
        let transport = policy.transport && m.notify(NotifyType::USE_TRANSPORT_MODE).is_some();
        let spi_in =
            u32::from_be_bytes(self.rng.bytes(4).try_into().unwrap_or([1, 0, 0, 0])) | 0x100;
        let keys = self
            .child_keys(id, &chosen, spi_in, &tsr, &tsi, transport)
            .ok_or((NotifyType::NO_PROPOSAL_CHOSEN, "KEYMAT".to_string()))?;
        let mut resp = Vec::new();
        if transport {
            resp.push(Payload::Notify(NotifyPayload::flag(
                NotifyType::USE_TRANSPORT_MODE,
            )));
        }
        resp.push(Payload::Sa(SaPayload {
            proposals: vec![chosen.to_wire(spi_in.to_be_bytes().to_vec())],
        }));
        resp.push(Payload::TsI(ts::payload(&tsi)));
        resp.push(Payload::TsR(ts::payload(&tsr)));
        Ok((keys, resp))
    }

    /// The CHILD SA's keys (§2.17) from our point of view.
    fn child_keys(
        &self,
        id: SaId,
        chosen: &Selected,
        spi_in: u32,
        local_ts: &[TsRange],
        remote_ts: &[TsRange],
        transport: bool,
    ) -> Option<ChildSaKeys> {
        let sa = self.sas.get(&id)?;
        let keys = sa.keys.as_ref()?;
        let prf = sa.chosen.as_ref()?.prf?;
        let encr = chosen.encr?;
        let ilen = chosen.integ.map_or(0, |i| i.key_len());
        let km = child_keymat(
            prf,
            &keys.sk_d,
            None,
            &sa.ni,
            &sa.nr,
            encr.keymat_len(),
            ilen,
        )
        .ok()?;
        let spi_out = u32::from_be_bytes(<[u8; 4]>::try_from(chosen.peer_spi.as_slice()).ok()?);
        let i_to_r = (km.encr_i.to_vec(), km.integ_i.to_vec());
        let r_to_i = (km.encr_r.to_vec(), km.integ_r.to_vec());
        let (keys_in, keys_out) = match sa.role {
            Role::Initiator => (r_to_i, i_to_r),
            Role::Responder => (i_to_r, r_to_i),
        };
        Some(ChildSaKeys {
            ike: id,
            policy: sa.policy.clone(),
            spi_in,
            spi_out,
            algorithms: chosen.to_string(),
            keys_in,
            keys_out,
            local_ts: local_ts.iter().map(|t| t.to_string()).collect(),
            remote_ts: remote_ts.iter().map(|t| t.to_string()).collect(),
            transport,
            udp_encap: sa.nat,
        })
    }

    /// Initiator: the IKE_AUTH response.
    pub(super) fn on_auth_response(&mut self, id: SaId, d: &Datagram, now: Now, out: &mut Outputs) {
        let Some(m) = self.inbound(id, d, now, out) else {
            return;
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if !matches!(sa.state, State::AuthSent) || m.header.message_id != 1 {
            return;
        }
        sa.pending = None;
        let tag = sa.tag();
        let idr = find(&m, |p| match p {
            Payload::IdR(i) => Some(i.clone()),
            _ => None,
        });
        let auth = find(&m, |p| match p {
            Payload::Auth(a) => Some(a.clone()),
            _ => None,
        });
        let (Some(idr), Some(auth)) = (idr, auth) else {
            let why = Self::error_notify(&m.payloads)
                .map_or("no IDr/AUTH".to_string(), |k| format!("{k:?}"));
            out.events.push(Event::Failed {
                sa: id,
                line: format!(
                    "{tag}: IKE_AUTH refused by the peer: {why} (policy \"{}\")",
                    sa.policy
                ),
            });
            self.remove(id, "IKE_AUTH refused", out);
            return;
        };
        let Some(policy) = self.policies.iter().find(|p| p.name == sa.policy).cloned() else {
            return;
        };
        if let Some(want) = &policy.remote_id
            && *want != idr
        {
            out.events.push(Event::Failed {
                sa: id,
                line: format!(
                    "{tag}: AUTHENTICATION_FAILED: the peer is {idr}, policy \"{}\" expects {want}",
                    policy.name
                ),
            });
            self.remove(id, "wrong peer ID", out);
            return;
        }
        let Some(oct) = octets(sa, false, &idr) else {
            return;
        };
        let certs = m
            .payloads
            .iter()
            .filter_map(|p| match p {
                Payload::Cert(c) if c.encoding == CertEncoding::X509_SIGNATURE => {
                    Some(c.data.clone())
                }
                _ => None,
            })
            .collect();
        let peer_hashes = sa.peer_hashes.clone();
        let prf = sa.chosen.as_ref().and_then(|c| c.prf).map_or(0, |p| p.id());
        sa.state = State::AwaitPeerVerdict(Box::new(m));
        out.parent.push(ParentRequest::Authenticate {
            sa: id,
            policy: policy.name,
            peer_id: idr,
            method: auth.method,
            auth: auth.data,
            octets: oct,
            certs,
            sign: None,
            peer_hashes,
            prf,
        });
    }

    fn initiator_finish(
        &mut self,
        id: SaId,
        m: Message,
        verdict: Result<(), String>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let tag = sa.tag();
        if let Err(e) = verdict {
            out.events.push(Event::Failed {
                sa: id,
                line: format!(
                    "{tag}: the responder's AUTH does not verify: {e} (policy \"{}\")",
                    sa.policy
                ),
            });
            self.remove(id, "authentication failed", out);
            return;
        }
        let peer_id = find(&m, |p| match p {
            Payload::IdR(i) => Some(i.clone()),
            _ => None,
        });
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.peer_id = peer_id;
        }
        let Some(sa) = self.sas.get(&id) else { return };
        let childless = sa.child.proposals.is_empty();
        out.events.push(Event::IkeEstablished {
            sa: id,
            line: format!(
                "{tag}: IKE SA established{}, policy \"{}\", {}",
                if childless {
                    " without a CHILD SA (RFC 6023)"
                } else {
                    ""
                },
                sa.policy,
                sa.chosen
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default()
            ),
        });
        if childless {
            if let Some(sa) = self.sas.get_mut(&id) {
                sa.established(now);
            }
            return;
        }
        // The CHILD SA, or why the responder refused it.
        let answer = find(&m, |p| match p {
            Payload::Sa(s) => Some(s.proposals.clone()),
            _ => None,
        });
        let child = match answer {
            None => Err(Self::error_notify(&m.payloads)
                .map_or("no SA payload".to_string(), |k| format!("{k:?}"))),
            Some(a) => accept_answer(&sa.child.proposals, &a).and_then(|s| {
                let tsi = find(&m, |p| match p {
                    Payload::TsI(t) => Some(ts::ranges(t)),
                    _ => None,
                })
                .unwrap_or_default();
                let tsr = find(&m, |p| match p {
                    Payload::TsR(t) => Some(ts::ranges(t)),
                    _ => None,
                })
                .unwrap_or_default();
                let inside = |got: &[TsRange], asked: &[TsRange]| {
                    !got.is_empty() && got.iter().all(|g| asked.iter().any(|a| ts::within(g, a)))
                };
                if !inside(&tsi, &sa.child.tsi) || !inside(&tsr, &sa.child.tsr) {
                    return Err("the responder's traffic selectors are not within ours".to_string());
                }
                let transport = m.notify(NotifyType::USE_TRANSPORT_MODE).is_some();
                self.child_keys(id, &s, sa.child.spi_in, &tsi, &tsr, transport)
                    .ok_or_else(|| "KEYMAT".to_string())
            }),
        };
        match child {
            Ok(keys) => {
                out.events.push(Event::IkeEstablished {
                    sa: id,
                    line: format!("{tag}: {}", child_line(&keys)),
                });
                if let Some(sa) = self.sas.get_mut(&id) {
                    sa.children.push((keys.spi_in, keys.spi_out));
                }
                out.events.push(Event::ChildEstablished(keys));
            }
            Err(why) => out.events.push(Event::Failed {
                sa: id,
                line: format!("{tag}: no CHILD SA: {why}"),
            }),
        }
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.established(now);
        }
    }
}
