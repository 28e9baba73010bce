//! The control process: unprivileged, chrooted, serving `ikectl` on the
//! control socket the parent opened. It checks each client's credentials
//! (root, the socket's group, or a member of it), decodes requests, hands
//! them to the parent with the client's id as the IPC peer id, and writes
//! back the replies and `monitor` events.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use privsep::Channel;

use super::control_access::{IDLE_TIMEOUT, MAX_BACKLOG, MAX_CLIENTS, refusal, room_for};
use crate::control_proto::{self, Event, FrameError, MAX_FRAME, Request, Response};
use crate::ipc::{FromControl, ToControl};
use crate::{log_error, log_info, log_verbose};

const CHANNEL: Token = Token(0);
const LISTENER: Token = Token(1);
const FIRST_CLIENT: usize = 16;

/// The uid and gid of the process at the other end of a unix socket.
#[cfg(target_os = "linux")]
fn peer_ids(s: &UnixStream) -> nix::Result<(u32, u32)> {
    let c = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials)?;
    Ok((c.uid(), c.gid()))
}

/// The uid and gid of the process at the other end of a unix socket.
#[cfg(not(target_os = "linux"))]
fn peer_ids(s: &UnixStream) -> nix::Result<(u32, u32)> {
    let (uid, gid) = nix::unistd::getpeereid(s)?;
    Ok((uid.as_raw(), gid.as_raw()))
}

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    monitor: bool,
    uid: u32,
    /// When it last sent something.
    active: std::time::Instant,
    /// Requests forwarded and not yet answered.
    waiting: u32,
}

struct Control {
    channel: Channel,
    listener: UnixListener,
    gid: u32,
    member_uids: Vec<u32>,
    clients: HashMap<u32, Client>,
    next_id: u32,
}

/// The role's entry point; returns the exit status.
pub(crate) fn run() -> u8 {
    super::child::run_role("control", start, |x| x.event_loop())
}

fn start() -> Result<Control, String> {
    let channel = super::child::start("control", |m| match m {
        ToControl::Setup(s) => Some(s),
        _ => None,
    })?;
    let mut listener = None;
    let mut access = None;
    while listener.is_none() || access.is_none() {
        let r = channel
            .recv::<ToControl>()
            .map_err(|e| format!("while receiving the control socket: {e}"))?;
        match r.msg {
            ToControl::Listener => {
                let fd = r
                    .fds
                    .into_iter()
                    .next()
                    .ok_or("the control socket arrived without its descriptor")?;
                listener = Some(UnixListener::from(fd));
            }
            ToControl::Access { gid, member_uids } => access = Some((gid, member_uids)),
            ToControl::LogLevel(l) => crate::logging::set_level(super::child::level_from_u8(l)),
            other => return Err(format!("unexpected {other:?} during start-up")),
        }
    }
    let (Some(listener), Some((gid, member_uids))) = (listener, access) else {
        return Err("start-up incomplete".into());
    };
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    channel
        .send(0, &FromControl::Ready, &[])
        .map_err(|e| format!("cannot tell the parent we are ready: {e}"))?;
    log_verbose!("ready");
    Ok(Control {
        channel,
        listener,
        gid,
        member_uids,
        clients: HashMap::new(),
        next_id: 1,
    })
}

impl Control {
    fn event_loop(mut self) -> u8 {
        let Ok(mut poll) = Poll::new() else {
            log_error!("cannot create the event loop");
            return 1;
        };
        let reg = self.channel.set_nonblocking(true).and_then(|()| {
            poll.registry().register(
                &mut SourceFd(&self.channel.as_raw_fd()),
                CHANNEL,
                Interest::READABLE | Interest::WRITABLE,
            )?;
            poll.registry().register(
                &mut SourceFd(&self.listener.as_raw_fd()),
                LISTENER,
                Interest::READABLE,
            )
        });
        if let Err(e) = reg {
            log_error!("cannot register descriptors: {e}");
            return 1;
        }
        let mut events = Events::with_capacity(64);
        loop {
            self.drop_idle(&poll);
            if let Err(e) = poll.poll(&mut events, Some(Duration::from_secs(10))) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                log_error!("event loop: {e}");
                return 1;
            }
            let tokens: Vec<(Token, bool)> = events
                .iter()
                .map(|e| (e.token(), e.is_writable()))
                .collect();
            for (token, writable) in tokens {
                match token {
                    CHANNEL => {
                        if writable {
                            super::child::flush_channel(&self.channel, "parent");
                        }
                        if let Some(code) = self.on_channel(&poll) {
                            return code;
                        }
                    }
                    LISTENER => self.accept(&poll),
                    Token(t) => {
                        let id = u32::try_from(t - FIRST_CLIENT).unwrap_or(0);
                        if writable {
                            self.flush(&poll, id);
                        }
                        self.read(&poll, id);
                    }
                }
            }
        }
    }

    fn allowed(&self, uid: u32, gid: u32) -> bool {
        uid == 0 || (self.gid != 0 && (gid == self.gid || self.member_uids.contains(&uid)))
    }

    fn accept(&mut self, poll: &Poll) {
        loop {
            let (stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    log_error!("accept on the control socket: {e}");
                    return;
                }
            };
            let (uid, gid) = match peer_ids(&stream) {
                Ok(ids) => ids,
                Err(e) => {
                    log_error!("cannot read the credentials of an ikectl client: {e}");
                    continue;
                }
            };
            if !self.allowed(uid, gid) || !room_for(uid, self.clients.len()) {
                let why = if self.allowed(uid, gid) {
                    format!("too many ikectl clients ({MAX_CLIENTS}, the last slot is root's)")
                } else {
                    format!(
                        "permission denied: uid {uid} is neither root nor in the socket's group"
                    )
                };
                log_info!("refused an ikectl client: {why}");
                let mut s = stream;
                let _ = s.write_all(&control_proto::encode(&Response::Error(why)));
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            let token = Token(FIRST_CLIENT + id as usize);
            if poll
                .registry()
                .register(
                    &mut SourceFd(&stream.as_raw_fd()),
                    token,
                    Interest::READABLE,
                )
                .is_err()
            {
                continue;
            }
            log_verbose!("ikectl client {id} (uid {uid}) connected");
            self.clients.insert(
                id,
                Client {
                    stream,
                    inbuf: Vec::new(),
                    outbuf: Vec::new(),
                    monitor: false,
                    uid,
                    active: std::time::Instant::now(),
                    waiting: 0,
                },
            );
        }
    }

    fn drop_client(&mut self, poll: &Poll, id: u32) {
        if let Some(c) = self.clients.remove(&id) {
            let _ = poll
                .registry()
                .deregister(&mut SourceFd(&c.stream.as_raw_fd()));
            log_verbose!("ikectl client {id} (uid {}) disconnected", c.uid);
        }
    }

    fn read(&mut self, poll: &Poll, id: u32) {
        let mut requests = Vec::new();
        let mut gone = false;
        if let Some(c) = self.clients.get_mut(&id) {
            let mut chunk = [0u8; 4096];
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => {
                        gone = true;
                        break;
                    }
                    Ok(n) => {
                        c.active = std::time::Instant::now();
                        c.inbuf.extend_from_slice(&chunk[..n]);
                        if c.inbuf.len() > MAX_FRAME + 4 {
                            gone = true;
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        gone = true;
                        break;
                    }
                }
            }
            match control_proto::take_frames::<Request>(&mut c.inbuf) {
                Ok(r) => requests = r,
                Err(e @ (FrameError::Malformed(_) | FrameError::TooLarge(_))) => {
                    c.outbuf
                        .extend(control_proto::encode(&Response::Error(e.to_string())));
                    gone = true;
                }
                Err(_) => gone = true,
            }
        }
        for req in requests {
            let Some(c) = self.clients.get_mut(&id) else {
                break;
            };
            if let Some(why) = refusal(c.uid, &req) {
                log_info!("ikectl client {id}: {why}");
                c.outbuf
                    .extend(control_proto::encode(&Response::Error(why)));
                continue;
            }
            if req == Request::Monitor {
                c.monitor = true;
            }
            c.waiting += 1;
            if let Err(e) = self.channel.send(id, &FromControl::Request(req), &[]) {
                log_error!("cannot forward a request to the parent: {e}");
            }
        }
        self.flush(poll, id);
        if gone {
            self.drop_client(poll, id);
        }
    }

    fn queue(&mut self, poll: &Poll, id: u32, resp: &Response) {
        if let Some(c) = self.clients.get_mut(&id) {
            if !matches!(resp, Response::Event(_)) {
                c.waiting = c.waiting.saturating_sub(1);
            }
            c.outbuf.extend(control_proto::encode(resp));
            if c.outbuf.len() > MAX_BACKLOG {
                log_info!(
                    "ikectl client {id} dropped: it does not read ({} bytes waiting)",
                    c.outbuf.len()
                );
                self.drop_client(poll, id);
                return;
            }
        }
        self.flush(poll, id);
    }

    /// Drops clients that sent nothing and wait for nothing for
    /// `IDLE_TIMEOUT` (a `monitor` waits for events: it stays).
    fn drop_idle(&mut self, poll: &Poll) {
        let idle: Vec<u32> = self
            .clients
            .iter()
            .filter(|(_, c)| !c.monitor && c.waiting == 0 && c.active.elapsed() >= IDLE_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            log_info!(
                "ikectl client {id} dropped: idle for {}s",
                IDLE_TIMEOUT.as_secs()
            );
            self.drop_client(poll, id);
        }
    }

    fn flush(&mut self, poll: &Poll, id: u32) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        while !c.outbuf.is_empty() {
            match c.stream.write(&c.outbuf) {
                Ok(0) => break,
                Ok(n) => {
                    c.outbuf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.drop_client(poll, id);
                    return;
                }
            }
        }
        let interest = if c.outbuf.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let token = Token(FIRST_CLIENT + id as usize);
        let _ = poll
            .registry()
            .reregister(&mut SourceFd(&c.stream.as_raw_fd()), token, interest);
    }

    fn broadcast(&mut self, poll: &Poll, ev: &Event) {
        let ids: Vec<u32> = self
            .clients
            .iter()
            .filter(|(_, c)| c.monitor)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.queue(poll, id, &Response::Event(ev.clone()));
        }
    }

    fn on_channel(&mut self, poll: &Poll) -> Option<u8> {
        loop {
            let r = match super::child::next_message::<ToControl>(&self.channel, "parent") {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(()) => {
                    log_error!("the parent went away; exiting");
                    return Some(1);
                }
            };
            match r.msg {
                ToControl::Reply(resp) => self.queue(poll, r.peer, &resp),
                ToControl::Event(ev) => self.broadcast(poll, &ev),
                ToControl::Access { gid, member_uids } => {
                    self.gid = gid;
                    self.member_uids = member_uids;
                }
                ToControl::LogLevel(l) => crate::logging::set_level(super::child::level_from_u8(l)),
                ToControl::Shutdown => return Some(0),
                other => log_error!(
                    "unexpected message from the parent: {}",
                    privsep::IpcMessage::name(&other)
                ),
            }
        }
    }
}
