//! The kernel's CHILD SAs in `ikectl show sa`: each one goes under its
//! IKE SA (found by our SPI) with the kernel's byte and packet counters.

use crate::control_proto::{ChildInfo, SaInfo};
use crate::kernel::KernelState;

/// Puts each installed CHILD SA under its IKE SA in a `show sa` answer.
pub(crate) fn attach(kernel: &mut KernelState, sas: &mut [SaInfo]) {
    for v in kernel.views() {
        let Some(ike) = sas.iter_mut().find(|s| s.id == v.ike) else {
            continue;
        };
        ike.children.push(ChildInfo {
            spi_in: format!("{:08x}", v.spi_in),
            spi_out: format!("{:08x}", v.spi_out),
            algorithms: v.algorithms,
            mode: v.mode,
            local_ts: vec![v.local_ts],
            remote_ts: vec![v.remote_ts],
            installed: v.installed,
            age_secs: v.age_secs,
            expires_in: v.expires_in,
            bytes: v.usage.map(|(i, o)| (i.bytes, o.bytes)),
            packets: v.usage.map(|(i, o)| (i.packets, o.packets)),
        });
    }
}
