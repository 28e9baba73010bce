//! The negotiator's requests in the parent (DESIGN.md "Key custody"):
//! every one passes the gate first — the policy an IKE SA may use is what
//! the parent recorded, never what the request says. Kernel requests (an
//! inbound SPI, a CHILD SA of CREATE_CHILD_SA) are answered at once; AUTH
//! requests go to the custody worker thread and come back through
//! `on_custody`, where the parent records the verdict, reserves the first
//! CHILD SA's SPI or installs it.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::custody_worker::{Job, Work};
use super::parent::Parent;
use super::secrets::{PeerAuth, policy_secret};
use crate::config::Config;
use crate::ike::engine::{ChildSaKeys, ParentAnswer, ParentRequest, SaId};
use crate::ike::wire::Identification;
use crate::ipc::ToNegotiator;
use crate::{log_error, log_warn};

/// Peer certificates the parent takes in one request, at most (the
/// negotiator bounds them too).
const MAX_CERTS: usize = 8;
/// ... and bytes in each.
const MAX_CERT_BYTES: usize = 16 * 1024;

/// What the parent does with a custody answer when it comes back.
#[derive(Debug)]
pub(crate) enum Post {
    /// Our AUTH as initiator; reserve the first CHILD SA's SPI with it.
    Sign {
        reserve: Option<(String, SocketAddr, SocketAddr)>,
    },
    /// The peer's verdict: bind the IKE SA, install the CHILD SA.
    Authenticate {
        policy: String,
        peer_id: Identification,
        child: Option<Box<ChildSaKeys>>,
    },
}

/// An AUTH request at the custody worker.
#[derive(Debug)]
pub(crate) struct Pending {
    post: Post,
    /// The IKE SA went meanwhile: record and install nothing.
    cancelled: bool,
}

/// The custody requests in flight, by (IKE SA, request id).
pub(crate) type InFlight = HashMap<(SaId, u64), Pending>;

/// A gate refusal, logged: the negotiator gets it as the request's error.
pub(crate) fn refused(r: Result<(), String>) -> Result<(), String> {
    if let Err(e) = &r {
        log_warn!("{e}");
    }
    r
}

/// The policy's `remote_id`, when it has one, is the ID the peer sent
/// (the negotiator picked the policy by that ID; the parent checks).
fn remote_id_allowed(
    config: &Config,
    policy: &str,
    peer_id: &Identification,
) -> Result<(), String> {
    match config.policy(policy).and_then(|p| p.remote.id.as_ref()) {
        Some(want) => {
            let want = want.to_identification();
            if super::gate::same_id(&want, peer_id) {
                Ok(())
            } else {
                Err(format!(
                    "AUTH refused for policy {policy:?}: the peer's ID {peer_id} is not its remote ID {want}"
                ))
            }
        }
        None => Ok(()),
    }
}

/// The peer's certificates within bounds.
fn certs_bounded(certs: &[Vec<u8>]) -> Result<(), String> {
    if certs.len() > MAX_CERTS || certs.iter().any(|c| c.len() > MAX_CERT_BYTES) {
        return Err(format!(
            "the peer sent {} certificates (at most {MAX_CERTS} of {MAX_CERT_BYTES} bytes are taken)",
            certs.len()
        ));
    }
    Ok(())
}

impl Parent {
    /// One request from the negotiator.
    pub(crate) fn on_parent_request(&mut self, req: ParentRequest) {
        match req {
            ParentRequest::ReserveSpi {
                sa,
                request,
                policy,
                local,
                remote,
            } => {
                let reserved = self.kernel.reservations();
                let spi_in = refused(
                    self.gate
                        .may_use(&self.config, sa, &policy)
                        .and_then(|()| self.gate.may_reserve_more(sa, remote.ip(), &reserved)),
                )
                .and_then(|()| {
                    self.kernel
                        .reserve_for(&self.config, sa, &policy, local, remote)
                });
                self.answer_negotiator(ParentAnswer::Reserved {
                    sa,
                    request,
                    spi_in,
                });
            }
            ParentRequest::InstallChild {
                sa,
                request,
                child,
                outbound,
            } => {
                let result = refused(self.child_allowed(sa, &child))
                    .and_then(|()| self.kernel.install(*child, &self.config, outbound));
                self.answer_negotiator(ParentAnswer::Installed {
                    sa,
                    request,
                    child: result,
                });
            }
            ParentRequest::Sign {
                sa,
                request,
                reserve_spi,
                local,
                remote,
                policy,
                octets,
                peer_hashes,
                prf,
            } => {
                // Our AUTH binds the IKE SA to its policy.
                let secret = self
                    .gate
                    .sign(sa, &policy)
                    .and_then(|()| policy_secret(&self.config, &self.creds, &policy));
                let post = Post::Sign {
                    reserve: reserve_spi.then(|| (policy.clone(), local, remote)),
                };
                let work = Work::Sign {
                    octets,
                    prf,
                    hashes: peer_hashes,
                };
                self.custody_job(sa, request, policy, secret, work, post);
            }
            ParentRequest::Authenticate {
                sa,
                request,
                policy,
                peer_id,
                method,
                auth,
                octets,
                certs,
                sign,
                peer_hashes,
                prf,
                child,
            } => {
                // Verifying the peer's AUTH must not switch the IKE SA to
                // another policy than our AUTH was made under; the peer's
                // ID must be the one the policy wants.
                let secret = self
                    .gate
                    .may_authenticate(sa, &policy)
                    .and_then(|()| remote_id_allowed(&self.config, &policy, &peer_id))
                    .and_then(|()| certs_bounded(&certs))
                    .and_then(|()| policy_secret(&self.config, &self.creds, &policy));
                let peer = Box::new(PeerAuth {
                    peer_id: peer_id.clone(),
                    method,
                    auth,
                    octets,
                    certs,
                    prf,
                });
                let post = Post::Authenticate {
                    policy: policy.clone(),
                    peer_id,
                    child,
                };
                let work = Work::Authenticate {
                    peer,
                    sign,
                    hashes: peer_hashes,
                };
                self.custody_job(sa, request, policy, secret, work, post);
            }
        }
    }

    /// Queues an AUTH request for the custody worker, or answers it with
    /// the gate's (or the queue's) refusal.
    #[allow(clippy::too_many_arguments)]
    fn custody_job(
        &mut self,
        sa: SaId,
        request: u64,
        policy: String,
        secret: Result<super::secrets::PolicySecret, String>,
        work: Work,
        post: Post,
    ) {
        let job = match secret {
            Ok(secret) => Job {
                sa,
                request,
                policy,
                secret,
                work,
            },
            Err(e) => {
                log_warn!("{e}");
                let answer = refusal(sa, request, &work, e);
                self.count(&answer);
                return self.answer_negotiator(answer);
            }
        };
        let submitted = match &self.worker {
            Some(w) => w.submit(job),
            None => Err(Box::new((job, "key custody is not running".to_string()))),
        };
        match submitted {
            Ok(()) => {
                self.in_flight.insert(
                    (sa, request),
                    Pending {
                        post,
                        cancelled: false,
                    },
                );
            }
            Err(refused) => {
                let (job, why) = *refused;
                log_warn!("IKE SA {sa:016x}: {why}");
                let answer = refusal(sa, request, &job.work, why);
                self.count(&answer);
                self.answer_negotiator(answer);
            }
        }
    }

    /// The IKE SA is gone: custody answers still on their way for it
    /// record and install nothing.
    pub(crate) fn cancel_in_flight(&mut self, sa: SaId) {
        for (_, p) in self.in_flight.iter_mut().filter(|((s, _), _)| *s == sa) {
            p.cancelled = true;
        }
    }

    /// The custody worker's answers: recorded, completed, sent on.
    pub(crate) fn on_custody(&mut self) {
        let answers = self
            .worker
            .as_ref()
            .map(|w| w.answers())
            .unwrap_or_default();
        for mut answer in answers {
            self.count(&answer);
            let Some(p) = self.in_flight.remove(&answer.ids()) else {
                log_error!("custody answered a request that is not in flight");
                continue;
            };
            if !p.cancelled {
                self.complete(&mut answer, p.post);
            }
            self.answer_negotiator(answer);
        }
    }

    /// `show stats`: AUTHs made, peers verified and refused.
    fn count(&mut self, answer: &ParentAnswer) {
        match answer {
            ParentAnswer::Signed { auth, .. } => {
                self.stats.auth_made += u64::from(auth.is_ok());
            }
            ParentAnswer::Authenticated { verdict, auth, .. } => {
                self.stats.auth_made += u64::from(matches!(auth, Some(Ok(_))));
                if verdict.is_ok() {
                    self.stats.peers_verified += 1;
                } else {
                    self.stats.peers_refused += 1;
                }
            }
            _ => {}
        }
    }

    /// What the parent does itself once custody answered.
    fn complete(&mut self, answer: &mut ParentAnswer, post: Post) {
        match (answer, post) {
            (
                ParentAnswer::Signed {
                    sa,
                    auth: Ok(_),
                    spi_in,
                    ..
                },
                Post::Sign {
                    reserve: Some((policy, local, remote)),
                },
            ) => {
                let reserved = self.kernel.reservations();
                let r = refused(
                    self.gate
                        .may_reserve_first(*sa, &policy)
                        .and_then(|()| self.gate.may_reserve_more(*sa, remote.ip(), &reserved)),
                )
                .and_then(|()| {
                    self.kernel
                        .reserve_for(&self.config, *sa, &policy, local, remote)
                });
                *spi_in = Some(r);
            }
            (
                ParentAnswer::Authenticated {
                    sa,
                    verdict: Ok(()),
                    auth,
                    child: slot,
                    ..
                },
                Post::Authenticate {
                    policy,
                    peer_id,
                    child,
                },
            ) => {
                self.gate.authenticated(*sa, &policy, &peer_id);
                if auth.as_ref().is_none_or(|a| a.is_ok())
                    && let Some(keys) = child
                {
                    let result = refused(self.child_allowed(*sa, &keys))
                        .and_then(|()| self.kernel.install(*keys, &self.config, true));
                    *slot = Some(result);
                }
            }
            _ => {}
        }
    }

    /// A CHILD SA install for IKE SA `sa`, as the gate sees it against
    /// what the kernel holds (proc/gate_kernel.rs).
    fn child_allowed(&self, sa: SaId, keys: &ChildSaKeys) -> Result<(), String> {
        self.gate
            .may_install(&self.config, sa, keys, &self.kernel.installed())
    }

    fn answer_negotiator(&self, answer: ParentAnswer) {
        if let Err(e) = self
            .negotiator
            .channel
            .send(0, &ToNegotiator::Answer(answer), &[])
        {
            log_error!("cannot answer the negotiator: {e}");
        }
    }
}

/// The answer that refuses `work` with `why`, nothing computed.
fn refusal(sa: SaId, request: u64, work: &Work, why: String) -> ParentAnswer {
    match work {
        Work::Sign { .. } => ParentAnswer::Signed {
            sa,
            request,
            auth: Err(why),
            spi_in: None,
        },
        Work::Authenticate { sign, .. } => ParentAnswer::Authenticated {
            sa,
            request,
            auth: sign.as_ref().map(|_| Err(why.clone())),
            verdict: Err(why),
            child: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_id_must_be_the_policys_remote_id_and_certificates_are_bounded() {
        let c = crate::config::parse(
            "kernel: none\npolicies:\n  - name: bob\n    remote: {address: 192.0.2.2, id: {fqdn: bob.example}}\n    auth: {psk: k}\n  - name: any\n    remote: {address: 192.0.2.3}\n    auth: {psk: k}\n",
            "t.conf",
        )
        .unwrap();
        remote_id_allowed(&c, "bob", &Identification::fqdn("bob.example")).unwrap();
        let e = remote_id_allowed(&c, "bob", &Identification::fqdn("mallory.example")).unwrap_err();
        assert!(e.contains("is not its remote ID"), "{e}");
        remote_id_allowed(&c, "any", &Identification::fqdn("mallory.example")).unwrap();
        certs_bounded(&vec![vec![0; 100]; MAX_CERTS]).unwrap();
        assert!(certs_bounded(&vec![vec![0; 100]; MAX_CERTS + 1]).is_err());
        assert!(certs_bounded(&[vec![0; MAX_CERT_BYTES + 1]]).is_err());
    }
}
