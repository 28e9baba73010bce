//! ikedaemon: the IKEv2 keying daemon.
//!
//! Today the crate holds the sans-IO IKEv2 layer (`ike/`: wire codec and
//! crypto suite). The kernel backends (`kernel/`), configuration
//! (`config/`) and the three process loops (`proc/`) arrive with their own
//! issues (see ../shared/DESIGN.md for the layout); no binary is built yet,
//! so nothing can be started that pretends to negotiate.

pub mod ike;
