//! The explicit states of rekeying (RFC 7296 §1.3, §2.8, §2.25): where a
//! CHILD SA and an IKE SA stand in their life (installed, being rekeyed,
//! replaced, being deleted), what each of our outstanding requests is for,
//! the work an IKE SA still has to start, and what we wait for from the
//! parent. One enum per question, no flags.

use std::sync::Arc;

use crate::ike::crypto::dh::KeyExchange;
use crate::ike::wire::{Proposal, TsRange};

use super::io::{Now, SaId};
use super::policy::EnginePolicy;

/// Where a CHILD SA stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChildState {
    /// Installed and carrying traffic.
    Installed,
    /// We are rekeying it: an SPI is being reserved or our CREATE_CHILD_SA
    /// is out. `peer` is the peer's crossing rekey of the same CHILD SA,
    /// answered by us (§2.8.1), decided by the nonces once ours completes.
    Rekeying { peer: Option<Crossing> },
    /// Replaced by the CHILD SA with our inbound SPI `by` (0 while the
    /// parent installs it); the initiator of the rekey deletes this one,
    /// or we do at `delete_at` if it never does.
    Rekeyed { by: u32, delete_at: Now },
    /// Our DELETE for it is out or queued; it goes when answered.
    Deleting,
}

/// The peer's rekey that crossed ours (of the same CHILD SA or IKE SA):
/// the nonces of its exchange and what it created on our side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Crossing {
    /// The peer's nonce (it initiated that exchange).
    pub(crate) ni: Vec<u8>,
    /// Our nonce in the answer.
    pub(crate) nr: Vec<u8>,
    /// What it created: our inbound SPI of the CHILD SA (0 until the
    /// parent installed it), or the new IKE SA's id.
    pub(crate) created: u64,
}

impl Crossing {
    /// For a crossing CHILD SA rekey: our inbound SPI of the CHILD SA it
    /// made (0 while the parent installs it).
    pub(crate) fn child_spi(&self) -> u32 {
        u32::try_from(self.created).unwrap_or(0)
    }

    /// RFC 7296 §2.8.1/§2.8.2: of two crossing rekeys, the one whose
    /// exchange used the lowest of the four nonces is redundant. True when
    /// that is ours (nonces `ours.0` ours as initiator, `ours.1` the
    /// peer's answer).
    pub(crate) fn ours_is_redundant(&self, ours: (&[u8], &[u8])) -> bool {
        let our_min = ours.0.min(ours.1);
        let their_min = self.ni.as_slice().min(self.nr.as_slice());
        our_min < their_min
    }
}

/// Where an established IKE SA stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Life {
    /// In use.
    Active,
    /// Our CREATE_CHILD_SA rekeying it is out; `peer` is the peer's
    /// crossing rekey, answered by us (§2.8.2).
    Rekeying { peer: Option<Crossing> },
    /// Replaced by IKE SA `by` (its CHILD SAs moved there); the initiator
    /// of the rekey deletes this one, or we do at `delete_at`.
    Rekeyed { by: SaId, delete_at: Now },
    /// Our DELETE for it is out or queued; it goes when answered.
    Deleting,
    /// Made by the peer's rekey that crossed ours (§2.8.2): whether it
    /// survives (and takes the CHILD SAs) is decided when ours completes;
    /// until then requests on it get TEMPORARY_FAILURE.
    Provisional,
}

/// Our CREATE_CHILD_SA for a CHILD SA, as sent.
#[derive(Debug)]
pub(crate) struct ChildExchange {
    /// The CHILD SA it rekeys (our inbound SPI); `None`: a new one.
    pub(crate) rekeys: Option<u32>,
    /// The policy it is for.
    pub(crate) policy: Arc<EnginePolicy>,
    /// Our inbound SPI for the new CHILD SA (reserved by the parent).
    pub(crate) spi_in: u32,
    /// What we proposed.
    pub(crate) proposals: Vec<Proposal>,
    /// TSi (ours) and TSr (the peer's) we proposed.
    pub(crate) tsi: Vec<TsRange>,
    /// TSr we proposed.
    pub(crate) tsr: Vec<TsRange>,
    /// Transport mode asked for.
    pub(crate) transport: bool,
    /// Our nonce.
    pub(crate) ni: Vec<u8>,
    /// The responder's nonce, once it answered.
    pub(crate) nr: Vec<u8>,
    /// Our key exchange (PFS), when the proposals carry a group.
    pub(crate) ke: Option<KeyExchange>,
    /// The peer deleted the CHILD SA we rekey after answering its own
    /// crossing rekey of it, which made this CHILD SA (our inbound SPI):
    /// the peer's rekey won and ours is dropped when it completes.
    pub(crate) superseded: Option<u32>,
}

/// Our CREATE_CHILD_SA rekeying the IKE SA, as sent.
#[derive(Debug)]
pub(crate) struct IkeRekeyOut {
    /// Our SPI of the new IKE SA.
    pub(crate) spi: u64,
    /// Our nonce.
    pub(crate) ni: Vec<u8>,
    /// Our key exchange.
    pub(crate) ke: KeyExchange,
    /// What we proposed.
    pub(crate) proposals: Vec<Proposal>,
}

/// What one of our outstanding requests is for; its response goes there.
#[derive(Debug)]
pub(crate) enum Purpose {
    /// IKE_SA_INIT or IKE_AUTH.
    Setup,
    /// An empty INFORMATIONAL: the peer is alive (DPD).
    Dpd,
    /// An INFORMATIONAL DELETE of these CHILD SAs (our inbound SPIs).
    DeleteChildren(Vec<u32>),
    /// An INFORMATIONAL DELETE of the IKE SA.
    DeleteIke,
    /// CREATE_CHILD_SA for a CHILD SA.
    Child(Box<ChildExchange>),
    /// CREATE_CHILD_SA rekeying the IKE SA.
    IkeRekey(Box<IkeRekeyOut>),
}

impl Purpose {
    /// A few words for logs: `rekey of CHILD SA 0c1f..`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Setup => "IKE_SA_INIT/IKE_AUTH".into(),
            Self::Dpd => "liveness check".into(),
            Self::DeleteChildren(s) => format!("DELETE of CHILD SAs {s:08x?}"),
            Self::DeleteIke => "DELETE of the IKE SA".into(),
            Self::Child(ex) => match ex.rekeys {
                Some(old) => format!("rekey of CHILD SA {old:08x}"),
                None => format!("new CHILD SA for policy {}", ex.policy.name),
            },
            Self::IkeRekey(_) => "rekey of the IKE SA".into(),
        }
    }
}

/// Work an IKE SA has to start when its state and window allow.
#[derive(Debug)]
pub(crate) enum Work {
    /// Rekey the CHILD SA with this inbound SPI.
    RekeyChild(u32),
    /// A new CHILD SA for the policy (after CHILD_SA_NOT_FOUND).
    NewChild(Arc<EnginePolicy>),
    /// A CREATE_CHILD_SA whose SPI is reserved, waiting for the window.
    Send(Box<ChildExchange>),
    /// Rekey the IKE SA.
    RekeyIke,
    /// Delete these CHILD SAs (our inbound SPIs).
    DeleteChildren(Vec<u32>),
    /// Delete the IKE SA.
    DeleteIke,
}

/// What a CREATE_CHILD_SA waits for from the parent.
#[derive(Debug)]
pub(crate) enum ParentWait {
    /// Initiator: an inbound SPI for the exchange (SPI still 0).
    Spi(Box<ChildExchange>),
    /// Initiator: the install of the CHILD SA the peer accepted.
    InstallOurs(Box<super::io::ChildSaKeys>, Box<ChildExchange>),
    /// Responder: the install of the CHILD SA we are about to answer with
    /// (the response is sent once the parent answers).
    InstallTheirs(Box<super::child_answer::Answer>),
}
