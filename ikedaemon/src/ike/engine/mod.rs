//! The sans-IO IKEv2 engine (DESIGN.md "The IKE engine is sans-IO"): it
//! takes datagrams, time, and the parent's answers, and returns datagrams
//! to send, requests for the parent and events. It reads no clock and no
//! socket, so every exchange can be run in-process with a fake clock.
//!
//! It establishes IKE SAs with IKE_SA_INIT and IKE_AUTH as initiator and
//! responder (PSK or signatures through the parent), with NAT detection
//! and the move to the NAT-T port, COOKIE and INVALID_KE_PAYLOAD retries,
//! retransmission with back-off and a give-up limit, cached responses, the
//! first CHILD SA (ESP proposal, traffic-selector narrowing, KEYMAT),
//! INFORMATIONAL exchanges and DPD, fragmentation, half-open limits and
//! cookies; and CREATE_CHILD_SA: new CHILD SAs, CHILD and IKE SA rekeys
//! with their collisions, lifetimes and a message window above 1.

mod auth;
mod child;
mod child_answer;
mod create_child;
mod dos;
mod endpoint;
mod ike_rekey;
mod info;
mod init;
pub mod io;
mod lifecycle;
mod lifetime;
pub mod natd;
pub mod policy;
pub mod rng;
mod sa;
pub mod stateless;
pub mod ts;
mod work;

pub use endpoint::{ChildSummary, Engine, EngineConfig, RekeyStats, SaSummary};
pub use io::{ChildSaKeys, Datagram, Event, Now, Outputs, ParentAnswer, ParentRequest, SaId};
pub use policy::{Childless, EnginePolicy, RemoteMatch, TsSpec};
pub use rng::{OsRng, Rng, SeededRng};
