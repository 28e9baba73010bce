//! The IPC channel over a real socketpair: round trips, descriptor passing,
//! every rejection with its exact error and no descriptor left open, end of
//! stream, non-blocking mode with its bounded outbound queue (a tiny
//! SO_SNDBUF loses nothing) and the handshake.
//!
//! Every test holds `LOCK`, so that while one counts `/proc/self/fd` no
//! other test of this binary opens or closes descriptors.

use std::fs::File;
use std::io::{IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use privsep::channel::{
    Channel, ChannelError, HEADER_LEN, Header, IpcMessage, MAX_FDS, MAX_MESSAGE, Received,
    encode_frame,
};
use privsep::secret::Secret;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

privsep::ipc_enum! {
    /// Several payload shapes.
    #[derive(Debug, Clone, PartialEq)]
    enum Msg {
        Ping = 1,
        Sign { sa: u64, octets: Vec<u8> } = 2,
        Install(u32, String) = 3,
        Text(String) = 10,
    }
}

privsep::ipc_enum! {
    /// A message with key material.
    #[derive(Debug)]
    enum KeyMsg {
        Key { spi: u32, key: Secret<Vec<u8>> } = 1,
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap()
}

fn frame(kind: u16, nfds: u8, payload: &[u8]) -> Vec<u8> {
    let h = Header {
        kind,
        peer: 0,
        len: payload.len() as u32,
        nfds,
    };
    let mut v = h.encode().to_vec();
    v.extend_from_slice(payload);
    v
}

fn raw_send(ch: &Channel, bytes: &[u8], fds: &[RawFd]) {
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    sendmsg::<()>(
        ch.as_raw_fd(),
        &[IoSlice::new(bytes)],
        cmsgs,
        MsgFlags::empty(),
        None,
    )
    .unwrap();
}

#[test]
fn round_trip_of_every_variant() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    let msgs = [
        Msg::Ping,
        Msg::Sign {
            sa: u64::MAX,
            octets: vec![1, 2, 3],
        },
        Msg::Install(7, "esp".into()),
        Msg::Text(String::new()),
    ];
    for (i, m) in msgs.iter().enumerate() {
        let peer = if i == 3 { u32::MAX } else { i as u32 };
        a.send(peer, m, &[]).unwrap();
        let r: Received<Msg> = b.recv().unwrap();
        assert_eq!(&r.msg, m);
        assert_eq!(r.peer, peer);
        assert!(r.fds.is_empty());
        assert_eq!(Msg::kind_name(m.kind()), Some(m.name()));
    }
    // Both directions.
    b.send(5, &Msg::Ping, &[]).unwrap();
    assert_eq!(a.recv::<Msg>().unwrap().msg, Msg::Ping);
}

#[test]
fn largest_message_fits() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    // Text(s) is the variant index (1 byte), the length (3 bytes) and s.
    let m = Msg::Text("x".repeat(MAX_MESSAGE - 4));
    assert_eq!(
        encode_frame(0, &m, 0).unwrap().len(),
        HEADER_LEN + MAX_MESSAGE
    );
    let t = std::thread::spawn(move || b.recv::<Msg>().map(|r| r.msg));
    a.send(0, &m, &[]).unwrap();
    assert_eq!(t.join().unwrap().unwrap(), m);
}

#[test]
fn secrets_cross_and_stay_redacted() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    a.send(
        0,
        &KeyMsg::Key {
            spi: 9,
            key: Secret::new(vec![0xaa; 32]),
        },
        &[],
    )
    .unwrap();
    let r = b.recv::<KeyMsg>().unwrap();
    let KeyMsg::Key { spi, key } = &r.msg;
    assert_eq!(*spi, 9);
    assert_eq!(key.expose(), &vec![0xaa; 32]);
    let shown = format!("{:?}", r.msg);
    assert!(
        shown.contains("<redacted>") && !shown.contains("170"),
        "{shown}"
    );
}

#[test]
fn descriptors_arrive_usable_and_cloexec() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    let (rd, wr) = pipe();
    let (rd2, wr2) = pipe();
    a.send(1, &Msg::Ping, &[wr.as_fd(), wr2.as_fd()]).unwrap();
    drop(wr);
    drop(wr2);
    let r = b.recv::<Msg>().unwrap();
    assert_eq!(r.fds.len(), 2);
    for fd in &r.fds {
        let flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
        assert!(
            flags.contains(FdFlag::FD_CLOEXEC),
            "received fd is not close-on-exec"
        );
    }
    let mut fds = r.fds.into_iter();
    let mut w = File::from(fds.next().unwrap());
    w.write_all(b"through the channel").unwrap();
    drop(w);
    let mut got = String::new();
    File::from(rd).read_to_string(&mut got).unwrap();
    assert_eq!(got, "through the channel");
    drop(fds);
    let mut rest = Vec::new();
    File::from(rd2).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

/// Send `bytes` raw with `nfds` write ends of one pipe, expect `check` to
/// accept the error (the caller holds `LOCK`), and verify that no descriptor was left open: the fd
/// count is back and the pipe's read end sees end of file.
fn rejected(bytes: &[u8], nfds: usize, check: impl FnOnce(&ChannelError) -> bool) {
    let (a, b) = Channel::pair().unwrap();
    let (rd, wr) = pipe();
    nix::fcntl::fcntl(&rd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let before = open_fds();
    let raw: Vec<RawFd> = (0..nfds).map(|_| wr.as_raw_fd()).collect();
    raw_send(&a, bytes, &raw);
    drop(wr);
    let err = b.recv::<Msg>().expect_err("the frame must be rejected");
    assert!(check(&err), "unexpected error: {err:?}");
    assert!(!err.to_string().contains('\n'));
    assert_eq!(open_fds(), before - 1, "received descriptors left open");
    let mut buf = [0u8; 1];
    assert_eq!(
        File::from(rd).read(&mut buf).unwrap(),
        0,
        "pipe still has a writer"
    );
    // Message boundaries hold: the next frame is fine.
    a.send(0, &Msg::Ping, &[]).unwrap();
    assert_eq!(b.recv::<Msg>().unwrap().msg, Msg::Ping);
}

#[test]
fn truncated_frame() {
    let _g = lock();
    rejected(b"PS\x01\x00\x01", 1, |e| {
        matches!(e, ChannelError::Truncated { len: 5 })
    });
}

#[test]
fn oversized_announced() {
    let _g = lock();
    let payload = vec![0u8; MAX_MESSAGE + 1];
    rejected(
        &frame(1, 1, &payload),
        1,
        |e| matches!(e, ChannelError::Oversized { len, max: MAX_MESSAGE } if *len == MAX_MESSAGE + 1),
    );
}

#[test]
fn oversized_datagram_with_small_header() {
    let _g = lock();
    let mut f = frame(1, 0, &[0]);
    f.resize(HEADER_LEN + MAX_MESSAGE + 100, 0);
    rejected(&f, 0, |e| {
        matches!(
            e,
            ChannelError::Oversized {
                max: MAX_MESSAGE,
                ..
            }
        )
    });
}

#[test]
fn oversized_send_is_refused() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    let e = a
        .send(0, &Msg::Text("x".repeat(MAX_MESSAGE)), &[])
        .unwrap_err();
    assert!(
        matches!(
            e,
            ChannelError::Oversized {
                max: MAX_MESSAGE,
                ..
            }
        ),
        "{e:?}"
    );
    b.set_nonblocking(true).unwrap();
    assert!(matches!(b.recv::<Msg>(), Err(ChannelError::WouldBlock)));
}

#[test]
fn bad_magic() {
    let _g = lock();
    let mut f = frame(1, 1, &[0]);
    f[0..2].copy_from_slice(b"XX");
    rejected(
        &f,
        1,
        |e| matches!(e, ChannelError::BadMagic { found } if found == b"XX"),
    );
}

#[test]
fn bad_version() {
    let _g = lock();
    let mut f = frame(1, 1, &[0]);
    f[2] = 9;
    rejected(&f, 1, |e| {
        matches!(e, ChannelError::BadVersion { found: 9 })
    });
}

#[test]
fn unknown_kind() {
    let _g = lock();
    rejected(&frame(99, 1, &[0]), 1, |e| {
        matches!(e, ChannelError::UnknownKind { kind: 99, .. }) && e.to_string().contains("kind 99")
    });
}

#[test]
fn garbage_payload() {
    let _g = lock();
    rejected(&frame(2, 2, &[0xff; 5]), 2, |e| {
        matches!(
            e,
            ChannelError::Decode {
                kind: 2,
                name: "Sign",
                ..
            }
        )
    });
}

#[test]
fn trailing_bytes() {
    let _g = lock();
    rejected(&frame(1, 0, &[0, 0]), 0, |e| {
        matches!(
            e,
            ChannelError::TrailingBytes {
                kind: 1,
                extra: 1,
                ..
            }
        )
    });
}

#[test]
fn kind_mismatch() {
    let _g = lock();
    // The payload is an Install (kind 3), the header says Text (kind 10).
    let mut f = encode_frame(0, &Msg::Install(1, "x".into()), 1).unwrap();
    f[4..6].copy_from_slice(&10u16.to_le_bytes());
    rejected(&f, 1, |e| {
        matches!(
            e,
            ChannelError::KindMismatch {
                header: 10,
                payload: 3
            }
        )
    });
}

#[test]
fn length_mismatch() {
    let _g = lock();
    let mut f = frame(1, 1, &[0]);
    f[10..14].copy_from_slice(&10u32.to_le_bytes());
    rejected(&f, 1, |e| {
        matches!(
            e,
            ChannelError::LengthMismatch {
                announced: 10,
                actual: 1
            }
        )
    });
}

#[test]
fn too_many_fds_announced_and_sent() {
    let _g = lock();
    let n = MAX_FDS + 1;
    rejected(
        &frame(1, n as u8, &[0]),
        n,
        |e| matches!(e, ChannelError::TooManyFds { count, .. } if *count == n),
    );
}

#[test]
fn more_fds_than_room() {
    let _g = lock();
    rejected(&frame(1, 1, &[0]), MAX_FDS + 1, |e| {
        matches!(e, ChannelError::ControlTruncated { max: MAX_FDS })
    });
}

#[test]
fn unannounced_fds() {
    let _g = lock();
    rejected(&frame(1, 1, &[0]), 2, |e| {
        matches!(
            e,
            ChannelError::UnexpectedFds {
                announced: 1,
                received: 2
            }
        )
    });
}

#[test]
fn announced_fds_missing() {
    let _g = lock();
    rejected(&frame(1, 2, &[0]), 1, |e| {
        matches!(
            e,
            ChannelError::MissingFds {
                announced: 2,
                received: 1
            }
        )
    });
}

#[test]
fn too_many_fds_refused_on_send() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    let (_rd, wr) = pipe();
    let fds: Vec<BorrowedFd<'_>> = (0..=MAX_FDS).map(|_| wr.as_fd()).collect();
    let e = a.send(0, &Msg::Ping, &fds).unwrap_err();
    assert!(matches!(e, ChannelError::TooManyFds { count, max: MAX_FDS } if count == MAX_FDS + 1));
    b.set_nonblocking(true).unwrap();
    assert!(matches!(b.recv::<Msg>(), Err(ChannelError::WouldBlock)));
}

#[test]
fn closed_when_the_peer_goes() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    a.send(0, &Msg::Ping, &[]).unwrap();
    drop(a);
    // What was sent before is still delivered, then end of stream.
    assert_eq!(b.recv::<Msg>().unwrap().msg, Msg::Ping);
    assert!(matches!(b.recv::<Msg>(), Err(ChannelError::Closed)));
    assert!(matches!(b.recv::<Msg>(), Err(ChannelError::Closed)));
    assert!(matches!(
        b.send(0, &Msg::Ping, &[]),
        Err(ChannelError::Closed)
    ));
}

#[test]
fn would_block_in_nonblocking_mode() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    assert!(b.is_nonblocking().unwrap());
    assert!(matches!(b.recv::<Msg>(), Err(ChannelError::WouldBlock)));
    a.send(0, &Msg::Install(1, "x".into()), &[]).unwrap();
    assert_eq!(b.recv::<Msg>().unwrap().msg, Msg::Install(1, "x".into()));
    assert!(matches!(b.recv::<Msg>(), Err(ChannelError::WouldBlock)));

    // A sender whose peer does not read fills the socket, then its
    // bounded outbound queue, then is refused.
    a.set_nonblocking(true).unwrap();
    let big = Msg::Text("y".repeat(64 * 1024));
    let mut sent = 0;
    let blocked = loop {
        match a.send(0, &big, &[]) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 100_000, "send never refused");
    };
    assert!(
        matches!(blocked, ChannelError::QueueFull { max, .. } if max == privsep::channel::MAX_QUEUED_BYTES),
        "{blocked:?}"
    );
    assert!(a.queued() > 0 && a.queued() <= privsep::channel::MAX_QUEUED_BYTES / (64 * 1024));
    assert!(sent > 0);
    b.set_nonblocking(false).unwrap();
    assert!(!b.is_nonblocking().unwrap());
    assert_eq!(b.recv::<Msg>().unwrap().msg, big);
}

#[test]
fn handshake_agrees() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let t = std::thread::spawn(move || b.handshake(3).map(|()| b.is_nonblocking().unwrap()));
    a.handshake(3).unwrap();
    // The handshake waited even on a non-blocking channel, then restored it.
    assert!(t.join().unwrap().unwrap());
}

#[test]
fn handshake_version_mismatch() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    let t = std::thread::spawn(move || b.handshake(2));
    let e = a.handshake(1).unwrap_err();
    assert!(
        matches!(e, ChannelError::VersionMismatch { ours: 1, theirs: 2 }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "IPC protocol version mismatch: this process speaks 1, the peer speaks 2"
    );
    assert!(matches!(
        t.join().unwrap(),
        Err(ChannelError::VersionMismatch { ours: 2, theirs: 1 })
    ));
}

#[test]
fn handshake_times_out() {
    let _g = lock();
    let (a, _b) = Channel::pair().unwrap();
    let e = a
        .handshake_timeout(1, Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(e, ChannelError::HandshakeTimeout(_)), "{e:?}");
}

#[test]
fn handshake_rejects_other_messages() {
    let _g = lock();
    let (a, b) = Channel::pair().unwrap();
    b.send(0, &Msg::Ping, &[]).unwrap();
    let e = a.handshake(1).unwrap_err();
    assert!(
        matches!(e, ChannelError::UnknownKind { kind: 1, .. }),
        "{e:?}"
    );
}

/// Shrinks a socket's send buffer to the kernel's minimum.
fn tiny_sndbuf(c: &Channel) {
    nix::sys::socket::setsockopt(&c.as_fd(), nix::sys::socket::sockopt::SndBuf, &1).unwrap();
}

#[test]
fn a_full_socket_queues_frames_in_order_and_flush_delivers_them() {
    let _l = lock();
    let (a, b) = Channel::pair().unwrap();
    tiny_sndbuf(&a);
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    // Far more than the socket holds: none is lost, all are queued.
    let text = "x".repeat(4000);
    for i in 0..200u32 {
        a.send(0, &Msg::Install(i, text.clone()), &[]).unwrap();
    }
    assert!(a.queued() > 0, "the tiny buffer held everything?");
    // With a descriptor too: it waits with its frame.
    let file = File::open("/proc/self/status").unwrap();
    a.send(0, &Msg::Ping, &[file.as_fd()]).unwrap();
    let mut got = Vec::new();
    let mut fds = 0;
    for _ in 0..10_000 {
        a.flush().unwrap();
        match b.recv::<Msg>() {
            Ok(r) => {
                fds += r.fds.len();
                got.push(r.msg);
            }
            Err(ChannelError::WouldBlock) if a.queued() == 0 => break,
            Err(ChannelError::WouldBlock) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got.len(), 201);
    for (i, m) in got.iter().take(200).enumerate() {
        assert_eq!(*m, Msg::Install(i as u32, text.clone()), "in order");
    }
    assert_eq!((got[200].clone(), fds), (Msg::Ping, 1));
    assert_eq!(a.queued(), 0);
}
