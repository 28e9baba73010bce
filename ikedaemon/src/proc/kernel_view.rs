//! The kernel's CHILD SAs in `ikectl show sa`: each one goes under its
//! IKE SA (found by our SPI), with the kernel's byte and packet counters.

use crate::control_proto::SaInfo;
use crate::kernel::KernelState;

/// Puts each installed CHILD SA under its IKE SA in a `show sa` answer.
pub(crate) fn attach(kernel: &mut KernelState, sas: &mut [SaInfo]) {
    for (ike, mut child) in kernel.views() {
        if let Some(sa) = sas.iter_mut().find(|s| s.id == ike) {
            // The negotiator's view of it (rekeying, replaced), and what
            // the kernel holds of it.
            let state = sa
                .child_states
                .iter()
                .find(|(spi, _)| *spi == child.spi_in)
                .map_or("INSTALLED", |(_, s)| s.as_str());
            child.state = match child.state.as_str() {
                "" => state.to_string(),
                kernel => format!("{state}, {kernel}"),
            };
            sa.children.push(child);
        }
    }
}
