//! The kernel's CHILD SAs in `ikectl show sa`: each one goes under its
//! IKE SA (found by our SPI), with the kernel's byte and packet counters.

use crate::control_proto::SaInfo;
use crate::kernel::KernelState;

/// Puts each installed CHILD SA under its IKE SA in a `show sa` answer.
pub(crate) fn attach(kernel: &mut KernelState, sas: &mut [SaInfo]) {
    for (ike, child) in kernel.views() {
        if let Some(sa) = sas.iter_mut().find(|s| s.id == ike) {
            sa.children.push(child);
        }
    }
}
