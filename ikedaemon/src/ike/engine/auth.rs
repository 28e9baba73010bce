//! IKE_AUTH (RFC 7296 §1.2, §2.15) for both roles, with the parent doing
//! the secret part (key custody): the initiator asks it to sign, sends,
//! and asks it to verify the answer; the responder asks for the verdict on
//! the peer, its own AUTH and the CHILD SA's install in one request (the
//! CHILD SA itself is child.rs). Every request carries an id; an answer
//! with another id than the SA's outstanding one is stale and dropped.

use crate::ike::crypto::auth_octets::signed_octets;
use crate::ike::wire::{
    AuthPayload, CertEncoding, CertPayload, CertReqPayload, ExchangeType, Identification, Message,
    NotifyPayload, NotifyType, Payload, SaPayload, TsRange,
};

use super::child::ChildPlan;
use super::endpoint::Engine;
use super::io::{ChildSaKeys, Datagram, Event, Now, Outputs, ParentRequest, SaId};
use super::policy::Childless;
use super::sa::{IkeSa, Role, State};
use super::ts;

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
/// At least 64, and enough for `max_message` in fragments of 512 bytes
/// (the bytes themselves are bounded by `max_message`).
fn max_fragments(max_message: usize) -> u16 {
    u16::try_from(max_message.div_ceil(512))
        .unwrap_or(u16::MAX)
        .max(64)
}

/// Certificates accepted in the peer's IKE_AUTH (its own and a chain):
/// what goes to the parent for verification is bounded.
const MAX_PEER_CERTS: usize = 8;

/// The X.509 certificates (DER) in the peer's CERT payloads.
fn peer_certs(m: &Message) -> Vec<Vec<u8>> {
    m.payloads
        .iter()
        .filter_map(|p| match p {
            Payload::Cert(c) if c.encoding == CertEncoding::X509_SIGNATURE => Some(c.data.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn child_line(keys: &ChildSaKeys) -> String {
    format!(
        "CHILD SA {} {:08x}/{:08x} {} {} === {}",
        keys.policy,
        keys.spi_in,
        keys.spi_out,
        keys.algorithms,
        super::ts::join(&keys.local_ts),
        super::ts::join(&keys.remote_ts)
    )
}

/// The parent's answer to `Authenticate`: the verdict on the peer, our
/// AUTH when asked, the CHILD SA's install result.
type ParentVerdict = (
    Result<(), String>,
    Option<Result<AuthPayload, String>>,
    Option<Result<u32, String>>,
);

/// Our SET_WINDOW_SIZE notify (RFC 7296 §2.3).
fn window_notify() -> Payload {
    Payload::Notify(NotifyPayload::new(
        NotifyType::SET_WINDOW_SIZE,
        crate::ike::wire::NotifyData::WindowSize(super::endpoint::OUR_WINDOW),
    ))
}

/// The window the peer announced in its IKE_AUTH message (1 without
/// one; a window above 64 is taken as 64).
fn peer_window(m: &Message) -> u32 {
    m.notifies()
        .find_map(|n| match n.data {
            crate::ike::wire::NotifyData::WindowSize(w)
                if n.kind == NotifyType::SET_WINDOW_SIZE =>
            {
                Some(w.clamp(1, 64))
            }
            _ => None,
        })
        .unwrap_or(1)
}

/// Whether we set up the IKE SA without a CHILD SA (RFC 6023).
fn wants_childless(policy: Childless, peer_supports: bool) -> bool {
    match policy {
        Childless::Force => true,
        Childless::Prefer => peer_supports,
        Childless::Allow | Childless::Never => false,
    }
}

impl Engine {
    /// Initiator: keys are ready; ask the parent to sign our AUTH.
    pub(super) fn start_auth(&mut self, id: SaId, now: Now, out: &mut Outputs) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let policy = sa.policy.clone();
        if policy.childless == Childless::Force && !sa.peer_childless {
            let line = format!(
                "{}: policy \"{}\" has childless: force, but the peer did not announce \
                 CHILDLESS_IKEV2_SUPPORTED (RFC 6023)",
                sa.tag(),
                sa.policy.name
            );
            out.events.push(Event::Failed { sa: id, line });
            self.remove(id, "the peer does not support childless IKE SAs", out);
            return;
        }
        let my_id = policy.our_id(sa.local.ip());
        let Some(oct) = octets(sa, true, &my_id) else {
            self.abandon(id, "no keys for our AUTH octets", out);
            return;
        };
        sa.state = State::AwaitOwnAuth;
        let reserve_spi = !wants_childless(policy.childless, sa.peer_childless);
        let request = sa.ask_parent(&mut self.next_request, now);
        out.parent.push(ParentRequest::Sign {
            sa: id,
            request,
            reserve_spi,
            local: sa.local,
            remote: sa.remote,
            policy: sa.policy.name.clone(),
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
        spi_in: Option<Result<u32, String>>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        if !matches!(sa.state, State::AwaitOwnAuth) {
            return;
        }
        let policy = sa.policy.clone();
        // RFC 6023: no CHILD SA in IKE_AUTH (`childless: prefer` when the
        // peer supports it, `force` always; start_auth checked support).
        let childless = wants_childless(policy.childless, sa.peer_childless);
        let spi_in = match spi_in {
            _ if childless => Ok(0),
            Some(r) => r,
            None => Err("the parent reserved no inbound SPI".to_string()),
        };
        let (auth, spi_in) = match (auth, spi_in) {
            (Ok(a), Ok(spi)) => (a, spi),
            (Err(e), _) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{}: cannot make our AUTH: {e}", sa.tag()),
                });
                self.remove(id, "no AUTH", out);
                return;
            }
            (_, Err(e)) => {
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{}: no inbound SPI for the CHILD SA: {e}", sa.tag()),
                });
                self.remove(id, "no inbound SPI", out);
                return;
            }
        };
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
        let tsi: Vec<TsRange> = policy.local_ts.iter().map(|t| t.resolve(l)).collect();
        let tsr: Vec<TsRange> = policy.remote_ts.iter().map(|t| t.resolve(r)).collect();
        // §1.2: no KE transforms in IKE_AUTH (a PFS group is for
        // CREATE_CHILD_SA).
        let proposals: Vec<_> = policy
            .esp
            .iter()
            .filter(|_| !childless)
            .enumerate()
            .map(|(i, c)| {
                c.without_ke().to_wire(
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
        for cert in &policy.certs {
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
        inner.push(window_notify());
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
                self.abandon(id, &format!("cannot seal IKE_AUTH: {e}"), out);
                return;
            }
        };
        sa.state = State::AuthSent;
        self.request(id, 1, bytes, super::lifecycle::Purpose::Setup, now, out);
    }

    /// The peer's protected message, opened: `None` for a retransmitted
    /// request (the cached answer is resent), a fragment of a message
    /// still incomplete (RFC 7383 §2.6), or anything that does not
    /// authenticate (dropped, RFC 7296 §2.21).
    pub(super) fn inbound(
        &mut self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) -> Option<Message> {
        let m = self.inbound_inner(id, d, outer, now, out)?;
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.last_heard = now;
        }
        // A request on an IKE SA made by a crossing rekey means the peer
        // uses it, unless it is the DELETE of that (redundant) SA.
        let deletes_it = m.payloads.iter().any(
            |p| matches!(p, Payload::Delete(d) if d.protocol == crate::ike::wire::ProtocolId::IKE),
        );
        if !m.header.response && !deletes_it {
            self.promote(id, now, out);
        }
        Some(m)
    }

    /// The peer's protected response, opened, with the request of ours it
    /// answers (taken out of the outstanding ones); `None` if it does not
    /// authenticate or answers nothing outstanding.
    pub(super) fn response(
        &mut self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) -> Option<(Message, super::sa::Pending)> {
        let m = self.inbound(id, d, outer, now, out)?;
        let p = self
            .sas
            .get_mut(&id)?
            .requests
            .remove(&m.header.message_id)?;
        Some((m, p))
    }

    fn inbound_inner(
        &mut self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) -> Option<Message> {
        // A repeat of a request we answered: its first fragment (the one
        // whose bytes were kept) brings every fragment of the answer back.
        if !outer.header.response && self.is_retransmission(id, &outer.header, &d.bytes, now, out) {
            return None;
        }
        let mid = outer.header.message_id;
        let request = !outer.header.response;
        if !matches!(outer.payloads.last(), Some(Payload::Fragment(_))) {
            let m = match self.open_checked(id, d, outer) {
                Ok(m) => m,
                Err(Some(kind)) if request => {
                    // §2.5: the request authenticated but carries a
                    // critical payload we do not know.
                    let mut n = crate::ike::wire::NotifyPayload::flag(
                        crate::ike::wire::NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
                    );
                    n.data = crate::ike::wire::NotifyData::PayloadType(kind);
                    if let Some(sa) = self.sas.get_mut(&id) {
                        sa.requests_seen
                            .insert(mid, super::sa::RequestSeen::of(&d.bytes));
                    }
                    let _ = self.answer(id, outer.header.exchange, mid, &[Payload::Notify(n)], out);
                    return None;
                }
                Err(_) => return None,
            };
            if request && let Some(sa) = self.sas.get_mut(&id) {
                sa.requests_seen
                    .insert(mid, super::sa::RequestSeen::of(&d.bytes));
            }
            return Some(m);
        }
        let max_message = self.cfg.max_message;
        let sa = self.sas.get_mut(&id)?;
        // RFC 7383 §2.5: fragments only when both sides announced support.
        if sa.frag_size.is_none() {
            self.malformed += 1;
            return None;
        }
        let (f, plain) =
            crate::ike::protect::open_fragment(&d.bytes, outer, sa.inb.as_ref()?).ok()?;
        if request && f.number == 1 {
            sa.requests_seen
                .insert(mid, super::sa::RequestSeen::of(&d.bytes));
        }
        if sa.reassembly.as_ref().is_none_or(|(m, _)| *m != mid) {
            sa.reassembly = Some((
                mid,
                crate::ike::protect::Reassembly::new(max_fragments(max_message), max_message),
            ));
        }
        let (_, r) = sa.reassembly.as_mut()?;
        match r.add(&f, plain) {
            Ok(Some((inner, _))) => {
                sa.reassembly = None;
                self.fragments_in += u64::from(f.total);
                Some(Message {
                    header: outer.header,
                    payloads: inner,
                })
            }
            Ok(None) => None,
            Err(e) => {
                crate::log_verbose!("ike {id:016x}: fragments of message {mid} dropped: {e}");
                sa.reassembly = None;
                self.malformed += 1;
                None
            }
        }
    }

    /// Opens a protected message for `id`: `Err(Some(type))` when it
    /// authenticated but carries an unknown critical payload of that type,
    /// `Err(None)` when it does not authenticate or decode.
    pub(super) fn open_checked(
        &self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
    ) -> Result<Message, Option<u8>> {
        let sa = self.sas.get(&id).ok_or(None)?;
        let inb = sa.inb.as_ref().ok_or(None)?;
        match crate::ike::protect::open_message(&d.bytes, outer, inb) {
            Ok((m, _)) => Ok(m),
            Err(crate::ike::protect::ProtectError::Decode(e))
                if e.notify()
                    == Some(crate::ike::wire::NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD) =>
            {
                Err(e.notify_data().first().copied())
            }
            Err(_) => Err(None),
        }
    }

    /// Responder: the IKE_AUTH request.
    pub(super) fn on_auth_request(
        &mut self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(m) = self.inbound(id, d, outer, now, out) else {
            return;
        };
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
        let idi = m.find_map(|p| match p {
            Payload::IdI(i) => Some(i.clone()),
            _ => None,
        });
        let auth = m.find_map(|p| match p {
            Payload::Auth(a) => Some(a.clone()),
            _ => None,
        });
        let (Some(idi), Some(auth)) = (idi, auth) else {
            let line = format!(
                "{}: INVALID_SYNTAX: IKE_AUTH request without IDi or AUTH",
                sa.tag()
            );
            out.events.push(Event::Failed { sa: id, line });
            self.refuse_auth(id, outer.header.message_id, NotifyType::INVALID_SYNTAX, out);
            return;
        };
        let certs = peer_certs(&m);
        if certs.len() > MAX_PEER_CERTS {
            let line = format!(
                "{}: AUTHENTICATION_FAILED: the peer sent {} certificates, at most {MAX_PEER_CERTS} are accepted",
                sa.tag(),
                certs.len()
            );
            out.events.push(Event::Failed { sa: id, line });
            self.fail_auth(id, outer.header.message_id, out);
            return;
        }
        // Re-pick the policy by the peer's identity (§2.2: several
        // policies may share the address).
        let remote_ip = sa.remote.ip();
        let current = sa.policy.name.clone();
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
        sa.policy = policy.clone();
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
        let outstanding = self
            .sas
            .values()
            .filter(|o| o.parent_request.is_some() && o.remote.ip() == remote_ip)
            .count();
        if outstanding >= self.cfg.max_parent_requests_per_peer {
            // The peer retransmits; by then the parent may have caught up.
            crate::log_verbose!(
                "ike {id:016x}: IKE_AUTH from {remote_ip} dropped: {outstanding} requests \
                 of this peer already wait for the parent"
            );
            return;
        }
        self.guard.closed(id);
        // The CHILD SA is planned now, so that the parent installs it in
        // the same round trip as the verdict (RFC 6023: none if the peer
        // asked for none).
        let plan = (!childless).then(|| self.responder_child(id, &m, &policy));
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let (Some(peer_oct), Some(our_oct)) = (octets(sa, false, &idi), octets(sa, true, &my_id))
        else {
            self.abandon(id, "no keys for the AUTH octets", out);
            return;
        };
        let peer_hashes = sa.peer_hashes.clone();
        let prf = sa.chosen.as_ref().and_then(|c| c.prf).map_or(0, |p| p.id());
        let child = plan
            .as_ref()
            .and_then(|p| p.as_ref().ok())
            .map(|p| Box::new(p.keys.clone()));
        sa.state = State::AwaitAuthenticate(Box::new((m, plan)));
        let request = sa.ask_parent(&mut self.next_request, now);
        out.parent.push(ParentRequest::Authenticate {
            sa: id,
            request,
            child,
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

    /// An internal failure: one line, and the SA (with any CHILD SA) goes.
    fn abandon(&mut self, id: SaId, why: &str, out: &mut Outputs) {
        if let Some(sa) = self.sas.get(&id) {
            let line = format!("{}: {why}", sa.tag());
            out.events.push(Event::Failed { sa: id, line });
        }
        self.remove(id, why, out);
    }

    /// Responder: AUTHENTICATION_FAILED, then forget the SA.
    fn fail_auth(&mut self, id: SaId, message_id: u32, out: &mut Outputs) {
        self.refuse_auth(id, message_id, NotifyType::AUTHENTICATION_FAILED, out);
    }

    /// Responder: an IKE_AUTH answer with only the error `kind`, then
    /// forget the SA.
    fn refuse_auth(&mut self, id: SaId, message_id: u32, kind: NotifyType, out: &mut Outputs) {
        let inner = [Payload::Notify(NotifyPayload::flag(kind))];
        let _ = self.answer(id, ExchangeType::IKE_AUTH, message_id, &inner, out);
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
        installed: Option<Result<u32, String>>,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let state = std::mem::replace(&mut sa.state, State::Established);
        match state {
            State::AwaitAuthenticate(b) => {
                let (m, plan) = *b;
                self.responder_finish(id, m, plan, (verdict, auth, installed), now, out)
            }
            State::AwaitPeerVerdict(b) => {
                let (m, child) = *b;
                self.initiator_finish(id, m, child, verdict, installed, now, out)
            }
            other => sa.state = other,
        }
    }

    fn responder_finish(
        &mut self,
        id: SaId,
        m: Message,
        plan: Option<Result<ChildPlan, (NotifyType, String)>>,
        answer: ParentVerdict,
        now: Now,
        out: &mut Outputs,
    ) {
        let (verdict, auth, installed) = answer;
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
                        sa.policy.name
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
        let policy = sa.policy.clone();
        let peer_id = m.find_map(|p| match p {
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
        for cert in &policy.certs {
            inner.push(Payload::Cert(CertPayload {
                encoding: CertEncoding::X509_SIGNATURE,
                data: cert.clone(),
            }));
        }
        inner.push(Payload::Auth(our_auth));
        // RFC 6023: no plan is a childless IKE_AUTH (we announced
        // CHILDLESS_IKEV2_SUPPORTED): the IKE SA alone, no notify. A CHILD
        // SA the kernel refused is answered as NO_PROPOSAL_CHOSEN.
        let childless = plan.is_none();
        let child = match (plan, installed) {
            (None, _) => Err((NotifyType(0), String::new())),
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(plan)), Some(Ok(spi_in))) => {
                let payloads = plan.answer(spi_in);
                let mut keys = plan.keys;
                keys.spi_in = spi_in;
                Ok((keys, payloads))
            }
            (Some(Ok(_)), Some(Err(e))) => Err((
                NotifyType::NO_PROPOSAL_CHOSEN,
                format!("the kernel refused it: {e}"),
            )),
            (Some(Ok(_)), None) => Err((
                NotifyType::NO_PROPOSAL_CHOSEN,
                "the parent did not install it".to_string(),
            )),
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
                        sa.policy.name,
                        child_line(&keys)
                    ),
                });
                sa.add_child(&keys, policy.clone(), now);
                out.events.push(Event::ChildEstablished(Box::new(keys)));
            }
            Err((_, _)) if childless => {
                out.events.push(Event::IkeEstablished {
                    sa: id,
                    line: format!(
                        "{tag}: IKE SA established without a CHILD SA (RFC 6023), policy \"{}\"",
                        sa.policy.name
                    ),
                });
            }
            Err((kind, why)) => {
                inner.push(Payload::Notify(NotifyPayload::flag(kind)));
                out.events.push(Event::IkeEstablished {
                    sa: id,
                    line: format!("{tag}: IKE SA established, policy \"{}\"", sa.policy.name),
                });
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!("{tag}: CHILD SA refused: {kind:?}: {why}"),
                });
            }
        }
        sa.established(now, self.rng.as_mut());
        sa.peer_window = peer_window(&m);
        inner.push(window_notify());
        if let Err(e) = self.answer(id, ExchangeType::IKE_AUTH, mid, &inner, out) {
            self.abandon(id, &format!("cannot seal the IKE_AUTH response: {e}"), out);
        }
    }

    /// Initiator: the IKE_AUTH response.
    pub(super) fn on_auth_response(
        &mut self,
        id: SaId,
        d: &Datagram,
        outer: &Message,
        now: Now,
        out: &mut Outputs,
    ) {
        let Some(m) = self.inbound(id, d, outer, now, out) else {
            return;
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if !matches!(sa.state, State::AuthSent) || m.header.message_id != 1 {
            return;
        }
        sa.requests.remove(&1);
        sa.peer_window = peer_window(&m);
        let tag = sa.tag();
        let idr = m.find_map(|p| match p {
            Payload::IdR(i) => Some(i.clone()),
            _ => None,
        });
        let auth = m.find_map(|p| match p {
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
                    sa.policy.name
                ),
            });
            self.remove(id, "IKE_AUTH refused", out);
            return;
        };
        let policy = sa.policy.clone();
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
            self.abandon(id, "no keys for the peer's AUTH octets", out);
            return;
        };
        let certs = peer_certs(&m);
        let peer_hashes = sa.peer_hashes.clone();
        let prf = sa.chosen.as_ref().and_then(|c| c.prf).map_or(0, |p| p.id());
        // The CHILD SA the responder accepted (none if we went childless),
        // installed by the parent once the responder is authenticated.
        let offered = !sa.child.proposals.is_empty();
        let child = offered.then(|| self.initiator_child(id, &m));
        let install = child
            .as_ref()
            .and_then(|c| c.as_ref().ok())
            .map(|k| Box::new(k.clone()));
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let request = sa.ask_parent(&mut self.next_request, now);
        sa.state = State::AwaitPeerVerdict(Box::new((m, child)));
        out.parent.push(ParentRequest::Authenticate {
            sa: id,
            request,
            child: install,
            policy: policy.name.clone(),
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

    #[allow(clippy::too_many_arguments)]
    fn initiator_finish(
        &mut self,
        id: SaId,
        m: Message,
        child: Option<Result<ChildSaKeys, String>>,
        verdict: Result<(), String>,
        installed: Option<Result<u32, String>>,
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
                    sa.policy.name
                ),
            });
            self.remove(id, "authentication failed", out);
            return;
        }
        let peer_id = m.find_map(|p| match p {
            Payload::IdR(i) => Some(i.clone()),
            _ => None,
        });
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.peer_id = peer_id;
        }
        let Some(sa) = self.sas.get(&id) else { return };
        out.events.push(Event::IkeEstablished {
            sa: id,
            line: format!(
                "{tag}: IKE SA established{}, policy \"{}\", {}",
                if child.is_none() {
                    " without a CHILD SA (RFC 6023)"
                } else {
                    ""
                },
                sa.policy.name,
                sa.chosen
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default()
            ),
        });
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.established(now, self.rng.as_mut());
        }
        let Some(child) = child else { return };
        // The CHILD SA, or why the responder refused it, or why our
        // kernel did (then the responder's half is deleted, §1.4.1).
        match (child, installed) {
            (Ok(keys), Some(Ok(_))) => {
                out.events.push(Event::IkeEstablished {
                    sa: id,
                    line: format!("{tag}: {}", child_line(&keys)),
                });
                let mut replaces = None;
                if let Some(sa) = self.sas.get_mut(&id) {
                    let policy = sa.policy.clone();
                    sa.add_child(&keys, policy, now);
                    replaces = sa.replaces.take();
                }
                out.events.push(Event::ChildEstablished(Box::new(keys)));
                if let Some(old) = replaces {
                    self.delete_ike(old, "replaced by a new IKE SA and CHILD SA", out);
                }
            }
            (Err(why), _) => out.events.push(Event::Failed {
                sa: id,
                line: format!("{tag}: no CHILD SA: {why}"),
            }),
            (Ok(keys), installed) => {
                let why = match installed {
                    Some(Err(e)) => e,
                    _ => "the parent did not install it".to_string(),
                };
                out.events.push(Event::Failed {
                    sa: id,
                    line: format!(
                        "{tag}: no CHILD SA: our kernel refused {}: {why}; deleting the peer's half",
                        child_line(&keys)
                    ),
                });
                self.delete_children(id, vec![keys.spi_in], "deleted: our kernel refused it");
            }
        }
    }
}
