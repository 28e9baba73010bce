//! Which request an incoming PF_KEY message answers.
//!
//! Pure logic, separate from the socket so it can be tested without a
//! kernel. The rules:
//! - a reply carries the requester's `sadb_msg_pid` and echoes its
//!   `sadb_msg_seq` and type;
//! - dump records (DUMP, SPDDUMP) carry our pid and the dump's type; Linux
//!   and KAME number the records themselves and mark the last one with
//!   seq 0, so they are matched by pid and type, not seq;
//! - messages with pid 0 come from the kernel itself (ACQUIRE, EXPIRE,
//!   SPDEXPIRE, ...) and are events for whoever listens;
//! - messages with another process's pid are that process's replies, which
//!   Linux broadcasts to every PF_KEY socket: ignored, never misread.

use crate::message::Message;
use crate::numbers::MessageType;

/// A request waiting for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The request's type.
    pub msg_type: MessageType,
    /// The request's sequence number.
    pub seq: u32,
}

impl Pending {
    /// Whether `msg_type` is answered by a series of records.
    pub fn is_dump_type(msg_type: MessageType) -> bool {
        matches!(msg_type, MessageType::Dump | MessageType::XSpdDump)
    }

    /// Whether this request is answered by a series of records.
    pub fn is_dump(&self) -> bool {
        Self::is_dump_type(self.msg_type)
    }
}

/// What an incoming message is, relative to our outstanding requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The answer to the pending request with this seq (possibly an error
    /// reply: check `errno`).
    Reply {
        /// The request's seq.
        seq: u32,
    },
    /// One record of a dump started by the request with this seq.
    DumpRecord {
        /// The dump request's seq.
        seq: u32,
        /// This is the final record (or an error reply ending the dump).
        last: bool,
    },
    /// Originated by the kernel (pid 0): ACQUIRE, EXPIRE and the like.
    Event,
    /// A reply meant for another process.
    Foreign,
    /// Carries our pid but answers no pending request (late or duplicate).
    Unmatched,
}

/// Classify `msg` for a socket of process `our_pid` with `pending` requests.
pub fn classify(msg: &Message, our_pid: u32, pending: &[Pending]) -> Disposition {
    if msg.pid == 0 {
        return Disposition::Event;
    }
    if msg.pid != our_pid {
        return Disposition::Foreign;
    }
    for p in pending {
        if p.is_dump() && p.msg_type == msg.msg_type {
            // An error reply (e.g. ENOENT for an empty table) echoes the
            // request's seq and ends the dump.
            let last = msg.seq == 0 || msg.errno != 0;
            return Disposition::DumpRecord { seq: p.seq, last };
        }
        if matches_reply(p, msg) {
            return Disposition::Reply { seq: p.seq };
        }
    }
    Disposition::Unmatched
}

fn matches_reply(p: &Pending, msg: &Message) -> bool {
    !p.is_dump() && p.msg_type == msg.msg_type && p.seq == msg.seq
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::{ExtBody, Lifetime};
    use crate::numbers::{ExtKind, SaType};

    const ME: u32 = 4242;

    fn msg(t: MessageType, seq: u32, pid: u32) -> Message {
        let mut m = Message::new(t, SaType::Esp);
        m.seq = seq;
        m.pid = pid;
        m
    }

    fn record(t: MessageType, seq: u32) -> Message {
        let mut m = msg(t, seq, ME);
        m.push(
            ExtKind::LifetimeCurrent,
            ExtBody::Lifetime(Lifetime::default()),
        )
        .unwrap();
        m
    }

    fn pending(t: MessageType, seq: u32) -> Pending {
        Pending { msg_type: t, seq }
    }

    #[test]
    fn reply_matches_by_type_seq_and_pid() {
        let p = [
            pending(MessageType::Add, 7),
            pending(MessageType::GetSpi, 8),
        ];
        assert_eq!(
            classify(&msg(MessageType::Add, 7, ME), ME, &p),
            Disposition::Reply { seq: 7 }
        );
        assert_eq!(
            classify(&msg(MessageType::GetSpi, 8, ME), ME, &p),
            Disposition::Reply { seq: 8 }
        );
        // Right seq, wrong type: not our answer.
        assert_eq!(
            classify(&msg(MessageType::Delete, 7, ME), ME, &p),
            Disposition::Unmatched
        );
        // Our pid, unknown seq (a late answer after a timeout).
        assert_eq!(
            classify(&msg(MessageType::Add, 99, ME), ME, &p),
            Disposition::Unmatched
        );
    }

    #[test]
    fn other_processes_replies_are_foreign_even_with_our_seq() {
        let p = [pending(MessageType::Add, 7)];
        assert_eq!(
            classify(&msg(MessageType::Add, 7, ME + 1), ME, &p),
            Disposition::Foreign
        );
    }

    #[test]
    fn kernel_originated_messages_are_events() {
        let p = [pending(MessageType::Add, 7)];
        assert_eq!(
            classify(&msg(MessageType::Acquire, 3, 0), ME, &p),
            Disposition::Event
        );
        assert_eq!(
            classify(&msg(MessageType::Expire, 0, 0), ME, &[]),
            Disposition::Event
        );
    }

    #[test]
    fn dump_records_match_by_pid_and_type_until_seq_zero() {
        let p = [pending(MessageType::Dump, 5)];
        // The kernel numbers the records itself (Linux counts up, FreeBSD
        // down) and gives the last one seq 0.
        for s in [1, 2, 3] {
            assert_eq!(
                classify(&record(MessageType::Dump, s), ME, &p),
                Disposition::DumpRecord {
                    seq: 5,
                    last: false
                }
            );
        }
        assert_eq!(
            classify(&record(MessageType::Dump, 0), ME, &p),
            Disposition::DumpRecord { seq: 5, last: true }
        );
        // An error reply (ENOENT: empty table) ends the dump.
        let mut e = msg(MessageType::Dump, 5, ME);
        e.errno = 2;
        assert_eq!(
            classify(&e, ME, &p),
            Disposition::DumpRecord { seq: 5, last: true }
        );
        // Another process's dump is not ours.
        assert_eq!(
            classify(&record(MessageType::Dump, 2), ME + 1, &p),
            Disposition::Foreign
        );
        // SPD dump records do not end an SAD dump.
        assert_eq!(
            classify(&record(MessageType::XSpdDump, 0), ME, &p),
            Disposition::Unmatched
        );
    }
}
