//! Who may do what over the control socket, and how much of the control
//! process one client may hold (issue 13, Low): members of the socket's
//! group may read (`show`, `monitor`); anything that changes state —
//! reload, reset, couple/decouple (which unloads every SA and fails open),
//! initiate, terminate, the log level — needs root. Idle clients are
//! dropped after `IDLE_TIMEOUT`, one slot is kept for root, and a
//! `monitor` client that does not read is dropped past `MAX_BACKLOG`.

use std::time::Duration;

use crate::control_proto::Request;

/// Clients at once (the last slot only for root).
pub(crate) const MAX_CLIENTS: usize = 64;
/// A client that sends nothing and waits for nothing this long is dropped
/// (`monitor` clients wait for events and are exempt).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes queued for one client at most.
pub(crate) const MAX_BACKLOG: usize = 1 << 20;

/// Whether `req` changes the daemon's state (root only).
pub(crate) fn changes_state(req: &Request) -> bool {
    !matches!(
        req,
        Request::ShowPolicies
            | Request::ShowSa
            | Request::ShowStats
            | Request::ShowFlows
            | Request::Monitor
    )
}

/// The refusal of a request by `uid`, if it is refused.
pub(crate) fn refusal(uid: u32, req: &Request) -> Option<String> {
    (uid != 0 && changes_state(req)).then(|| {
        format!("permission denied: uid {uid} may only show and monitor; {req:?} needs root")
    })
}

/// Whether a new client of `uid` may connect while `clients` are.
pub(crate) fn room_for(uid: u32, clients: usize) -> bool {
    let limit = if uid == 0 {
        MAX_CLIENTS
    } else {
        MAX_CLIENTS - 1
    };
    clients < limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control_proto::{LogMode, ResetWhat};

    #[test]
    fn only_root_changes_state() {
        for r in [
            Request::ShowPolicies,
            Request::ShowSa,
            Request::ShowStats,
            Request::ShowFlows,
            Request::Monitor,
        ] {
            assert_eq!(refusal(1000, &r), None);
        }
        for r in [
            Request::Reload,
            Request::Reset(ResetWhat::Sa),
            Request::Couple,
            Request::Decouple,
            Request::Initiate("p".into()),
            Request::Terminate("p".into()),
            Request::Log(LogMode::Verbose),
        ] {
            assert!(refusal(1000, &r).unwrap().contains("needs root"), "{r:?}");
            assert_eq!(refusal(0, &r), None);
        }
    }

    #[test]
    fn the_last_slot_is_roots() {
        assert!(room_for(1000, MAX_CLIENTS - 2));
        assert!(!room_for(1000, MAX_CLIENTS - 1));
        assert!(room_for(0, MAX_CLIENTS - 1));
        assert!(!room_for(0, MAX_CLIENTS));
    }
}
