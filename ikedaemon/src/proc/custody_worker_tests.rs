//! The custody worker: a responder's AUTH is made only for a peer whose
//! AUTH verified, and only through the signing gate; answers come back
//! through the queue with a wake-up.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::config::Redacted;
use crate::ike::crypto::auth_octets::psk_auth;
use crate::ike::crypto::prf::PrfAlg;
use crate::ike::engine::rng::SeededRng;
use crate::ike::wire::{AuthMethod, Identification};
use crate::proc::gate_sign::tests::octets;

const SHA256: u16 = 5;

/// These tests use PSKs only.
struct NoCerts;

impl ChainCheck for NoCerts {
    fn check(
        &mut self,
        _: &str,
        _: &[Vec<u8>],
        _: &Identification,
    ) -> Result<crate::ike::crypto::sig_keys::PublicKey, String> {
        Err("no certificates in these tests".into())
    }
}

fn psk() -> PolicySecret {
    PolicySecret::Psk(Redacted::new(b"the right key".to_vec()))
}

/// A signing gate with issued SPIs.
fn signing() -> (Mutex<Signing>, Vec<SaId>) {
    let mut s = Signing::default();
    let ids = s.issue(&mut SeededRng::new(11));
    (Mutex::new(s), ids)
}

/// The peer's (initiator's) AUTH with `key` over its octets.
fn peer_auth(key: &[u8]) -> PeerAuth {
    let octets = vec![0x33; 120];
    PeerAuth {
        peer_id: Identification::fqdn("peer.example"),
        method: AuthMethod::SHARED_KEY_MIC,
        auth: psk_auth(PrfAlg::HmacSha256, key, &octets).unwrap().to_vec(),
        octets,
        certs: Vec::new(),
        prf: SHA256,
    }
}

fn authenticate(sa: SaId, key: &[u8], signing: &Mutex<Signing>) -> ParentAnswer {
    let job = Job {
        sa,
        request: 1,
        policy: "p".into(),
        secret: psk(),
        work: Work::Authenticate {
            peer: Box::new(peer_auth(key)),
            sign: Some(octets(sa, Role::Responder, 32)),
            hashes: Vec::new(),
        },
    };
    run(job, signing, &mut NoCerts)
}

#[test]
fn a_responder_signs_nothing_for_a_peer_whose_auth_fails() {
    let (s, ids) = signing();
    let ParentAnswer::Authenticated { verdict, auth, .. } =
        authenticate(ids[0], b"a wrong key", &s)
    else {
        panic!("not an Authenticated answer")
    };
    assert!(verdict.unwrap_err().contains("does not match"));
    assert_eq!(
        auth,
        Some(Err("not made: the peer's AUTH did not verify".into()))
    );
    // The failed attempt used none of the SA's two AUTH computations.
    for _ in 0..2 {
        let ParentAnswer::Authenticated { verdict, auth, .. } =
            authenticate(ids[0], b"the right key", &s)
        else {
            panic!("not an Authenticated answer")
        };
        assert_eq!(verdict, Ok(()));
        assert!(auth.unwrap().is_ok());
    }
    let ParentAnswer::Authenticated { auth, .. } = authenticate(ids[0], b"the right key", &s)
    else {
        panic!("not an Authenticated answer")
    };
    assert!(
        auth.unwrap()
            .unwrap_err()
            .contains("had its 2 AUTH computations")
    );
}

#[test]
fn signing_goes_through_the_gate() {
    let (s, ids) = signing();
    let sign = |sa: SaId, o: Vec<u8>| {
        run(
            Job {
                sa,
                request: 2,
                policy: "p".into(),
                secret: psk(),
                work: Work::Sign {
                    octets: o,
                    prf: SHA256,
                    hashes: Vec::new(),
                },
            },
            &s,
            &mut NoCerts,
        )
    };
    let ParentAnswer::Signed { auth, .. } = sign(ids[1], octets(ids[1], Role::Initiator, 32))
    else {
        panic!()
    };
    assert_eq!(auth.unwrap().method, AuthMethod::SHARED_KEY_MIC);
    let ParentAnswer::Signed { auth, .. } = sign(ids[2], vec![0x42; 300]) else {
        panic!()
    };
    assert!(auth.unwrap_err().starts_with("AUTH refused"));
    let ParentAnswer::Signed { auth, .. } = sign(77, octets(77, Role::Initiator, 32)) else {
        panic!()
    };
    assert!(auth.unwrap_err().contains("not an SPI the parent issued"));
}

#[test]
fn the_thread_answers_each_job_and_wakes_the_loop() {
    let (s, ids) = signing();
    let woken = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&woken);
    let worker = Worker::start(Arc::new(s), Box::new(NoCerts), move || {
        w.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    for (i, sa) in ids.iter().take(3).enumerate() {
        worker
            .submit(Job {
                sa: *sa,
                request: i as u64,
                policy: "p".into(),
                secret: psk(),
                work: Work::Authenticate {
                    peer: Box::new(peer_auth(b"the right key")),
                    sign: None,
                    hashes: Vec::new(),
                },
            })
            .unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..500 {
        got.extend(worker.answers());
        if got.len() == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|a| matches!(
        a,
        ParentAnswer::Authenticated {
            verdict: Ok(()),
            ..
        }
    )));
    assert_eq!(woken.load(Ordering::SeqCst), 3);
}
