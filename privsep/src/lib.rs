//! Process separation for ikedaemon: spawning children by re-exec, dropping
//! privileges, and the typed IPC channel between the three processes.
//!
//! Nothing is implemented yet: this crate is filled in by the
//! privilege-separated daemon issue. It deliberately exports nothing, so no
//! caller can mistake it for a working implementation.
