//! The `ca` process (as in OpenBSD's iked): unprivileged, chrooted, with
//! no network socket. It holds the certificate policies' trusted CAs and
//! validates the certificates peers send (ca_verify.rs), so that OpenSSL's
//! X.509 parser never runs on attacker input as root. The parent's custody
//! worker asks it (`ToCa::Verify`) and gets back only the leaf's public
//! key, which it then uses to verify the AUTH signature itself.

use std::collections::HashMap;

use openssl::x509::store::X509Store;
use privsep::Channel;

use super::ca_verify::{store, verify_chain};
use crate::ipc::{FromCa, ToCa, TrustSet};
use crate::{log_error, log_info, log_verbose};

struct Ca {
    channel: Channel,
    stores: HashMap<String, X509Store>,
    allow_sha1: bool,
}

/// The role's entry point; returns the exit status.
pub(crate) fn run() -> u8 {
    super::child::run_role("ca", start, |ca| ca.serve())
}

fn start() -> Result<Ca, String> {
    let channel = super::child::start("ca", |m| match m {
        ToCa::Setup(s) => Some(s),
        _ => None,
    })?;
    Ok(Ca {
        channel,
        stores: HashMap::new(),
        allow_sha1: false,
    })
}

impl Ca {
    fn trust(&mut self, sets: Vec<TrustSet>, allow_sha1: bool) {
        self.stores.clear();
        for s in sets {
            match store(&s.cas) {
                Ok(st) => {
                    self.stores.insert(s.policy, st);
                }
                Err(e) => log_error!("policy \"{}\": {e}", s.policy),
            }
        }
        self.allow_sha1 = allow_sha1;
        log_verbose!("CA sets for {} certificate policies", self.stores.len());
    }

    /// Answers requests until the parent closes the channel or says stop.
    fn serve(mut self) -> u8 {
        log_info!("ready");
        loop {
            let r = match self.channel.recv::<ToCa>() {
                Ok(r) => r,
                Err(privsep::ChannelError::Closed) => return 0,
                Err(e) => {
                    log_error!("dropped a message from the parent: {e}");
                    continue;
                }
            };
            match r.msg {
                ToCa::Trust { sets, allow_sha1 } => self.trust(sets, allow_sha1),
                ToCa::Verify {
                    id,
                    policy,
                    certs,
                    peer_id,
                } => {
                    let result = match self.stores.get(&policy) {
                        Some(st) => verify_chain(st, &certs, &peer_id, self.allow_sha1),
                        None => Err(format!("policy \"{policy}\" has no CA set")),
                    };
                    let answer = FromCa::Verified { id, result };
                    if let Err(e) = self.channel.send(0, &answer, &[]) {
                        log_error!("cannot answer the parent: {e}");
                        return 1;
                    }
                }
                ToCa::LogLevel(l) => crate::logging::set_level(super::child::level_from_u8(l)),
                ToCa::Shutdown => return 0,
                ToCa::Setup(_) => log_error!("a second Setup from the parent, ignored"),
            }
        }
    }
}
