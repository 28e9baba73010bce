//! The first CHILD SA, negotiated inside IKE_AUTH (RFC 7296 §1.2): the
//! responder's choice of ESP proposal and traffic-selector narrowing
//! (§2.9), the initiator's check of the answer, and KEYMAT (§2.17). The
//! keys go to the parent in the same request as the AUTH verdict; the
//! parent installs the CHILD SA once the peer is authenticated and
//! answers with our inbound SPI (allocated by the kernel backend).

use crate::ike::crypto::keys::child_keymat;
use crate::ike::proposal::{Selected, accept_answer, select};
use crate::ike::wire::{Message, NotifyPayload, NotifyType, Payload, SaPayload, TsRange};

use super::endpoint::Engine;
use super::io::{ChildSaKeys, Key, SaId};
use super::policy::EnginePolicy;
use super::sa::Role;
use super::ts;

/// What a CREATE_CHILD_SA contributes to a CHILD SA's keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fresh<'a> {
    /// The exchange initiator's nonce.
    pub(crate) ni: &'a [u8],
    /// The responder's nonce.
    pub(crate) nr: &'a [u8],
    /// The new shared secret (PFS).
    pub(crate) g_ir: Option<&'a [u8]>,
    /// We sent the request.
    pub(crate) we_initiated: bool,
    /// The policy it is for.
    pub(crate) policy: &'a str,
}

/// The responder's CHILD SA, planned before the parent's verdict: the
/// keys (inbound SPI still 0) and what the answer needs to say.
#[derive(Debug)]
pub(crate) struct ChildPlan {
    pub(crate) keys: ChildSaKeys,
    chosen: Selected,
    tsi: Vec<TsRange>,
    tsr: Vec<TsRange>,
}

impl ChildPlan {
    /// The payloads of our IKE_AUTH response for the installed CHILD SA.
    pub(crate) fn answer(&self, spi_in: u32) -> Vec<Payload> {
        let mut resp = Vec::new();
        if self.keys.transport {
            resp.push(Payload::Notify(NotifyPayload::flag(
                NotifyType::USE_TRANSPORT_MODE,
            )));
        }
        resp.push(Payload::Sa(SaPayload {
            proposals: vec![self.chosen.to_wire(spi_in.to_be_bytes().to_vec())],
        }));
        resp.push(Payload::TsI(ts::payload(&self.tsi)));
        resp.push(Payload::TsR(ts::payload(&self.tsr)));
        resp
    }
}

pub(super) fn selectors(m: &Message) -> (Vec<TsRange>, Vec<TsRange>) {
    let tsi = m
        .find_map(|p| match p {
            Payload::TsI(t) => Some(ts::ranges(t)),
            _ => None,
        })
        .unwrap_or_default();
    let tsr = m
        .find_map(|p| match p {
            Payload::TsR(t) => Some(ts::ranges(t)),
            _ => None,
        })
        .unwrap_or_default();
    (tsi, tsr)
}

fn show(v: &[TsRange]) -> String {
    v.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Engine {
    /// Responder: the CHILD SA from the IKE_AUTH request, or the notify
    /// that refuses it (the IKE SA stands either way, §1.2).
    pub(super) fn responder_child(
        &self,
        id: SaId,
        m: &Message,
        policy: &EnginePolicy,
    ) -> Result<ChildPlan, (NotifyType, String)> {
        let offer = m
            .find_map(|p| match p {
                Payload::Sa(s) => Some(s.proposals.clone()),
                _ => None,
            })
            .ok_or((NotifyType::NO_PROPOSAL_CHOSEN, "no SA payload".to_string()))?;
        // §1.2: the first CHILD SA has no key exchange of its own: KE
        // transforms an initiator put in IKE_AUTH are ignored, and the
        // policy's PFS groups apply to CREATE_CHILD_SA only.
        let offer: Vec<_> = offer
            .into_iter()
            .map(|mut p| {
                p.transforms
                    .retain(|t| t.kind != crate::ike::wire::TransformType::KE);
                p
            })
            .collect();
        let local: Vec<_> = policy.esp.iter().map(|c| c.without_ke()).collect();
        let chosen =
            select(&offer, &local).map_err(|e| (NotifyType::NO_PROPOSAL_CHOSEN, e.to_string()))?;
        let (tsi, tsr) = self.narrow(id, m, policy)?;
        let transport = policy.transport && m.notify(NotifyType::USE_TRANSPORT_MODE).is_some();
        let keys = self
            .child_keys(id, &chosen, 0, (&tsr, &tsi), transport, None)
            .ok_or((NotifyType::NO_PROPOSAL_CHOSEN, "KEYMAT".to_string()))?;
        Ok(ChildPlan {
            keys,
            chosen,
            tsi,
            tsr,
        })
    }

    /// Responder: the peer's TSi/TSr narrowed to what `policy` allows
    /// (§2.9), or TS_UNACCEPTABLE with a line saying both sides.
    pub(super) fn narrow(
        &self,
        id: SaId,
        m: &Message,
        policy: &EnginePolicy,
    ) -> Result<(Vec<TsRange>, Vec<TsRange>), (NotifyType, String)> {
        let sa = self
            .sas
            .get(&id)
            .ok_or((NotifyType::NO_PROPOSAL_CHOSEN, "gone".to_string()))?;
        let (tsi_in, tsr_in) = selectors(m);
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
        Ok((tsi, tsr))
    }

    /// Initiator: the CHILD SA the responder accepted in its IKE_AUTH
    /// response, checked against our offer; the reason otherwise.
    pub(super) fn initiator_child(&self, id: SaId, m: &Message) -> Result<ChildSaKeys, String> {
        let sa = self.sas.get(&id).ok_or("gone")?;
        let answer = m.find_map(|p| match p {
            Payload::Sa(s) => Some(s.proposals.clone()),
            _ => None,
        });
        let Some(answer) = answer else {
            return Err(Self::error_notify(&m.payloads)
                .map_or("no SA payload".to_string(), |k| format!("{k:?}")));
        };
        let chosen = accept_answer(&sa.child.proposals, &answer)?;
        let (tsi, tsr) = selectors(m);
        let inside = |got: &[TsRange], asked: &[TsRange]| {
            !got.is_empty() && got.iter().all(|g| asked.iter().any(|a| ts::within(g, a)))
        };
        if !inside(&tsi, &sa.child.tsi) || !inside(&tsr, &sa.child.tsr) {
            return Err("the responder's traffic selectors are not within ours".to_string());
        }
        let transport = m.notify(NotifyType::USE_TRANSPORT_MODE).is_some();
        self.child_keys(id, &chosen, sa.child.spi_in, (&tsi, &tsr), transport, None)
            .ok_or_else(|| "KEYMAT".to_string())
    }

    /// The CHILD SA's keys (§2.17) from our point of view, for `policy`
    /// of the IKE SA unless `fresh` says otherwise. `fresh` is a
    /// CREATE_CHILD_SA's: its nonces, g^ir when PFS, whether we initiated
    /// it, and the policy; `None`: the IKE SA's nonces (IKE_AUTH).
    pub(super) fn child_keys(
        &self,
        id: SaId,
        chosen: &Selected,
        spi_in: u32,
        (local_ts, remote_ts): (&[TsRange], &[TsRange]),
        transport: bool,
        fresh: Option<Fresh<'_>>,
    ) -> Option<ChildSaKeys> {
        let sa = self.sas.get(&id)?;
        let keys = sa.keys.as_ref()?;
        let prf = sa.chosen.as_ref()?.prf?;
        let encr = chosen.encr?;
        let ilen = chosen.integ.map_or(0, |i| i.key_len());
        let (ni, nr, g_ir, we_initiated, policy) = match &fresh {
            Some(f) => (f.ni, f.nr, f.g_ir, f.we_initiated, f.policy),
            None => (
                &sa.ni[..],
                &sa.nr[..],
                None,
                sa.role == Role::Initiator,
                &sa.policy.name[..],
            ),
        };
        let km = child_keymat(prf, &keys.sk_d, g_ir, ni, nr, encr.keymat_len(), ilen).ok()?;
        let spi_out = u32::from_be_bytes(<[u8; 4]>::try_from(chosen.peer_spi.as_slice()).ok()?);
        let key = |k: &[u8]| Key::new(k.to_vec());
        let i_to_r = (key(&km.encr_i), key(&km.integ_i));
        let r_to_i = (key(&km.encr_r), key(&km.integ_r));
        // "Initiator" is the initiator of the exchange that made it.
        let (keys_in, keys_out) = if we_initiated {
            (r_to_i, i_to_r)
        } else {
            (i_to_r, r_to_i)
        };
        Some(ChildSaKeys {
            ike: id,
            local: sa.local,
            remote: sa.remote,
            policy: policy.to_string(),
            spi_in,
            spi_out,
            algorithms: chosen.to_string(),
            keys_in,
            keys_out,
            local_ts: local_ts.to_vec(),
            remote_ts: remote_ts.to_vec(),
            transport,
            udp_encap: sa.nat,
        })
    }
}
