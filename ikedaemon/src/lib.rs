//! ikedaemon: the IKEv2 keying daemon.
//!
//! The IKE engine (`ike/`), kernel backends (`kernel/`), configuration
//! (`config/`) and the three process loops (`proc/`) arrive with their own
//! issues (see ../shared/DESIGN.md for the layout). Today the crate holds no
//! code and builds no binary, so nothing can be started that pretends to
//! negotiate.
