//! Kernel backends (DESIGN.md "Kernel backends"): the parent installs the
//! CHILD SAs the negotiator negotiated, and the flows (policies) that
//! send traffic through them, through one trait with three backends:
//!
//! - `pfkey`: PF_KEY v2 (the BSDs, macOS, Linux af_key) via the `pfkey`
//!   crate of this workspace;
//! - `xfrm`: Linux XFRM netlink via `netlink-packet-xfrm`, with AEAD,
//!   ESN and full-length HMAC-SHA2 ICVs, which af_key cannot express;
//! - `none`: SAs and flows kept in memory only, with emulated expiry, for
//!   tests and benchmarks.
//!
//! `children` turns a negotiated CHILD SA into SAs and flows in the right
//! order and remembers what it installed; `validate` checks each request
//! from the negotiator against the loaded policies first; `selector`
//! turns traffic selectors into kernel selectors and priorities.
//!
//! Ownership: every SA and flow ikedaemon installs carries a reqid from
//! [`Kernel::reqids`], and on Linux a priority from [`PRIORITY_BAND`], so
//! that exactly ikedaemon's state can be found and removed (at start,
//! shutdown, or when a child process dies) and everyone else's is left
//! alone.

mod children;
mod none;
mod pfkey;
mod selector;
mod types;
mod validate;
#[cfg(target_os = "linux")]
mod xfrm;

use std::ops::RangeInclusive;
use std::os::fd::RawFd;
use std::time::Instant;

pub(crate) use children::{KernelState, Notice, Reservation};
pub(crate) use types::*;

use crate::config::Config;
use crate::config::KernelBackend;

/// XFRM policy priorities ikedaemon uses (lower wins): 0x4b0000 plus a
/// value derived from the selector's specificity (see `selector`).
pub(crate) const PRIORITY_BAND: RangeInclusive<u32> = 0x004b_0000..=0x004b_ffff;

/// The reqids ikedaemon owns, unless a backend's kernel limits them
/// (PF_KEY): "K" "I" and a counter.
pub(crate) const REQIDS: RangeInclusive<u32> = 0x4b49_0000..=0x4b49_ffff;

/// One kernel IPsec interface.
pub(crate) trait Kernel: Send {
    /// `pfkey`, `xfrm` or `none`.
    fn name(&self) -> &'static str;

    /// The reqids this backend gives ikedaemon's SAs and flows.
    fn reqids(&self) -> RangeInclusive<u32> {
        REQIDS
    }

    /// Whether tunnel mode needs fwd flows (Linux: forwarded packets are
    /// checked against the fwd policies; KAME has no such direction).
    fn needs_fwd(&self) -> bool {
        true
    }

    /// A descriptor to watch for kernel events, if the backend has one.
    fn event_fd(&self) -> Option<RawFd>;

    /// When the backend needs `events` called without a readable fd (the
    /// `none` backend's emulated lifetimes).
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// Why this backend cannot install one of a policy's ESP proposals,
    /// if it cannot (checked at start, never silently dropped).
    fn check_proposals(
        &self,
        _policy: &str,
        _esp: &[crate::ike::proposal::ProposalConfig],
    ) -> Result<(), String> {
        Ok(())
    }

    /// A fresh inbound SPI for ESP from `src` (the peer) to `dst` (us),
    /// held by the kernel as a larval SA where it keeps one.
    fn allocate_spi(
        &mut self,
        src: std::net::IpAddr,
        dst: std::net::IpAddr,
        reqid: u32,
        acquire_seq: u32,
    ) -> Result<u32, KernelError>;

    /// Adds an SA. An inbound SA UPDATEs the larval SA that reserved its
    /// SPI where the kernel keeps one, and is ADDed when there is none
    /// (after `ikectl decouple`).
    fn add_sa(&mut self, sa: &SaParams<'_>) -> Result<(), KernelError>;

    /// Deletes an SA (a larval one too).
    fn delete_sa(&mut self, key: &SaKey) -> Result<(), KernelError>;

    /// Traffic counters of an SA.
    fn usage(&mut self, key: &SaKey) -> Result<Usage, KernelError>;

    /// Adds a flow, replacing one with the same selector and direction.
    fn add_flow(&mut self, flow: &Flow) -> Result<(), KernelError>;

    /// Deletes a flow.
    fn delete_flow(&mut self, flow: &Flow) -> Result<(), KernelError>;

    /// Reads the pending kernel events (never blocks).
    fn events(&mut self, now: Instant) -> Vec<KernelEvent>;

    /// Everything in the kernel that carries one of our reqids.
    fn owned(&mut self) -> Result<Owned, KernelError>;
}

/// Opens the backend the configuration names; `auto` is XFRM on Linux and
/// PF_KEY elsewhere. Returns it with the line to log (which one and why).
pub(crate) fn open(config: &Config) -> Result<(Box<dyn Kernel>, String), String> {
    let (choice, why) = match config.global.kernel {
        KernelBackend::Auto if cfg!(target_os = "linux") => (
            KernelBackend::Xfrm,
            "kernel: auto on Linux (XFRM netlink expresses AEAD and ESN; af_key does not)",
        ),
        KernelBackend::Auto => (KernelBackend::Pfkey, "kernel: auto on a BSD"),
        other => (other, "configured"),
    };
    let backend: Box<dyn Kernel> = match choice {
        KernelBackend::None => Box::new(none::NoKernel::default()),
        KernelBackend::Pfkey => Box::new(pfkey::PfKeyKernel::open()?),
        #[cfg(target_os = "linux")]
        KernelBackend::Xfrm => Box::new(xfrm::XfrmKernel::open()?),
        #[cfg(not(target_os = "linux"))]
        KernelBackend::Xfrm => return Err("kernel: xfrm exists only on Linux".into()),
        KernelBackend::Auto => return Err("kernel: auto did not resolve to a backend".into()),
    };
    let line = if choice == KernelBackend::None {
        "kernel backend none: SAs are negotiated and kept in memory, nothing is installed in the kernel (tests and benchmarks only)".to_string()
    } else {
        format!("kernel backend {} ({why})", backend.name())
    };
    Ok((backend, line))
}

/// `ikedaemon -n`: where the backend limits the algorithms (PF_KEY),
/// opens it and checks the ESP proposals against what it announced.
/// `Ok(Some(note))` when the check could not be made (and why).
pub(crate) fn check_with_kernel(config: &Config) -> Result<Option<String>, String> {
    let pfkey = match config.global.kernel {
        KernelBackend::Pfkey => true,
        KernelBackend::Auto => !cfg!(target_os = "linux"),
        _ => false,
    };
    if !pfkey {
        return Ok(None);
    }
    match pfkey::PfKeyKernel::open() {
        Ok(k) => check_algorithms(config, &k).map(|()| None),
        Err(e) => Ok(Some(format!(
            "ESP algorithms not checked against the kernel: {e}"
        ))),
    }
}

/// Checks the configured ESP proposals against what `backend` can
/// install; the error names the policy, the algorithm and the way out.
pub(crate) fn check_algorithms(
    config: &Config,
    backend: &(impl Kernel + ?Sized),
) -> Result<(), String> {
    for p in &config.policies {
        backend.check_proposals(&p.name, &p.esp)?;
    }
    Ok(())
}
