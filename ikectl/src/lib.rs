//! ikectl: the control tool that talks to ikedaemon's control socket.
//!
//! The control protocol and the `ikectl` binary come with the
//! privilege-separated daemon issue; until then this crate is empty on
//! purpose and builds no binary.
