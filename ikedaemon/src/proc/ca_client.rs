//! The custody worker's side of the `ca` process: one request at a time
//! over the parent's channel to it, with a time limit, so that a hung or
//! dead ca process fails verification instead of hanging key custody.

use std::sync::Arc;
use std::time::Duration;

use privsep::Channel;

use crate::ike::crypto::sig_keys::PublicKey;
use crate::ike::wire::Identification;
use crate::ipc::{FromCa, ToCa};

/// How long the worker waits for the ca process's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Validates a peer's certificates for a policy; gives the leaf's key.
pub(crate) trait ChainCheck: Send {
    /// The leaf's public key, or why the certificates are refused.
    fn check(
        &mut self,
        policy: &str,
        certs: &[Vec<u8>],
        peer_id: &Identification,
    ) -> Result<PublicKey, String>;
}

/// The ca process, reached over its channel.
pub(crate) struct CaClient {
    channel: Arc<Channel>,
    next_id: u64,
}

impl CaClient {
    /// A client on `channel` (blocking reads with a time limit; the event
    /// loop only ever sends on it).
    pub(crate) fn new(channel: Arc<Channel>) -> std::io::Result<Self> {
        let tv = nix::sys::time::TimeVal::new(
            ANSWER_TIMEOUT.as_secs() as _,
            ANSWER_TIMEOUT.subsec_micros() as _,
        );
        nix::sys::socket::setsockopt(&*channel, nix::sys::socket::sockopt::ReceiveTimeout, &tv)?;
        Ok(Self {
            channel,
            next_id: 1,
        })
    }
}

impl ChainCheck for CaClient {
    fn check(
        &mut self,
        policy: &str,
        certs: &[Vec<u8>],
        peer_id: &Identification,
    ) -> Result<PublicKey, String> {
        let id = self.next_id;
        self.next_id += 1;
        let req = ToCa::Verify {
            id,
            policy: policy.to_string(),
            certs: certs.to_vec(),
            peer_id: peer_id.clone(),
        };
        self.channel
            .send(0, &req, &[])
            .map_err(|e| format!("cannot ask the ca process: {e}"))?;
        // Answers to requests that timed out before may still come: skip
        // them.
        loop {
            match self.channel.recv::<FromCa>() {
                Ok(r) => match r.msg {
                    FromCa::Verified { id: got, result } if got == id => {
                        return result.and_then(|spki| {
                            PublicKey::from_spki_der(&spki).map_err(|e| {
                                format!("the ca process returned an unusable key: {e}")
                            })
                        });
                    }
                    FromCa::Verified { .. } => continue,
                },
                Err(privsep::ChannelError::WouldBlock) => {
                    return Err(format!(
                        "the ca process did not answer within {}s",
                        ANSWER_TIMEOUT.as_secs()
                    ));
                }
                Err(e) => return Err(format!("no answer from the ca process: {e}")),
            }
        }
    }
}
