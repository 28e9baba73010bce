//! The custody worker: one thread of the parent that verifies the peers'
//! AUTH payloads and makes ours (issue 13, M3), so that the parent's event
//! loop — ACQUIRE and EXPIRE from the kernel, signals, `ikectl` — never
//! waits behind a signature or a certificate chain.
//!
//! The event loop checks each request at the gate (gate.rs), queues it
//! here (a bounded queue: past it the request is refused at once), and
//! gets the answer back through a channel and a `mio::Waker`. Our AUTH is
//! made only after the peer's verified (a responder signs nothing for an
//! unauthenticated peer) and only as the signing gate allows
//! (gate_sign.rs: our own IKE_SA_INIT octets, a parent-issued SPI, twice
//! at most, within the global budget). The secrets a job needs travel with
//! it (`PolicySecret`); the thread holds nothing else but its line to the
//! `ca` process, which validates peers' certificates (ca_client.rs).

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::ca_client::ChainCheck;
use super::gate_sign::{Role, Signing};
use super::secrets::{PeerAuth, PolicySecret, make_auth, verify_peer_auth};
use crate::ike::engine::{ParentAnswer, SaId};
use crate::log_warn;

/// Requests queued for the worker at most.
pub(crate) const MAX_QUEUED: usize = 256;

/// What to compute.
#[derive(Debug)]
pub(crate) enum Work {
    /// Our AUTH as initiator, before the peer's AUTH exists.
    Sign {
        /// The octets.
        octets: Vec<u8>,
        /// The IKE SA's PRF.
        prf: u16,
        /// The peer's hash algorithms (RFC 7427).
        hashes: Vec<u16>,
    },
    /// The peer's AUTH; then, if `sign` and the peer verified, ours as
    /// responder.
    Authenticate {
        /// The peer's AUTH.
        peer: Box<PeerAuth>,
        /// Our octets to sign once the peer is verified.
        sign: Option<Vec<u8>>,
        /// The peer's hash algorithms.
        hashes: Vec<u16>,
    },
}

/// One request for the worker.
#[derive(Debug)]
pub(crate) struct Job {
    /// The IKE SA.
    pub(crate) sa: SaId,
    /// The negotiator's request id.
    pub(crate) request: u64,
    /// The policy (its CAs, in the ca process).
    pub(crate) policy: String,
    /// The policy's secret.
    pub(crate) secret: PolicySecret,
    /// What to do.
    pub(crate) work: Work,
}

/// The worker's handle in the event loop.
pub(crate) struct Worker {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<ParentAnswer>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Worker")
    }
}

/// Runs one job: verify, then (only then) sign.
pub(crate) fn run(job: Job, signing: &Mutex<Signing>, chain: &mut dyn ChainCheck) -> ParentAnswer {
    let Job {
        sa,
        request,
        policy,
        secret,
        work,
    } = job;
    let gate = |role: Role, octets: &[u8], prf: u16| {
        signing
            .lock()
            .map_err(|_| "the signing gate is poisoned".to_string())
            .and_then(|mut s| s.may_sign(sa, role, octets, prf, Instant::now()))
            .inspect_err(|e| log_warn!("{e}"))
    };
    match work {
        Work::Sign {
            octets,
            prf,
            hashes,
        } => ParentAnswer::Signed {
            sa,
            request,
            auth: gate(Role::Initiator, &octets, prf)
                .and_then(|()| make_auth(&secret, prf, &hashes, &octets)),
            spi_in: None,
        },
        Work::Authenticate { peer, sign, hashes } => {
            let verdict = verify_peer_auth(&secret, &policy, &peer, chain);
            let auth = sign.map(|octets| match &verdict {
                Ok(()) => gate(Role::Responder, &octets, peer.prf)
                    .and_then(|()| make_auth(&secret, peer.prf, &hashes, &octets)),
                Err(_) => Err("not made: the peer's AUTH did not verify".to_string()),
            });
            ParentAnswer::Authenticated {
                sa,
                request,
                verdict,
                auth,
                child: None,
            }
        }
    }
}

impl Worker {
    /// Starts the thread; `wake` is called after each answer.
    pub(crate) fn start(
        signing: Arc<Mutex<Signing>>,
        mut chain: Box<dyn ChainCheck>,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<Job>(MAX_QUEUED);
        let (outbox, done) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("custody".into())
            .spawn(move || {
                for job in inbox {
                    if outbox.send(run(job, &signing, chain.as_mut())).is_err() {
                        return;
                    }
                    wake();
                }
            })?;
        Ok(Self {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }

    /// Queues `job`; gives it back with the reason when the queue is full
    /// or the thread is gone.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Box<(Job, String)>> {
        let Some(jobs) = &self.jobs else {
            return Err(Box::new((job, "key custody is stopped".into())));
        };
        jobs.try_send(job).map_err(|e| {
            Box::new(match e {
                TrySendError::Full(j) => (
                    j,
                    format!("key custody is busy ({MAX_QUEUED} requests queued)"),
                ),
                TrySendError::Disconnected(j) => (j, "key custody stopped".into()),
            })
        })
    }

    /// The answers ready now.
    pub(crate) fn answers(&self) -> Vec<ParentAnswer> {
        let mut out = Vec::new();
        loop {
            match self.done.try_recv() {
                Ok(a) => out.push(a),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return out,
            }
        }
    }
}

#[cfg(test)]
#[path = "custody_worker_tests.rs"]
mod tests;

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the job at hand.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
