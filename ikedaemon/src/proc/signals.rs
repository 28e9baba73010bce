//! Signals as events of the parent's mio loop: each signal the parent
//! handles gets its own self-pipe (signal-hook writes a byte from the
//! handler; the loop sees the read end become readable).

use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// The handled signals and their pipes.
#[derive(Debug)]
pub(crate) struct Signals {
    pipes: Vec<(i32, Token, UnixStream)>,
}

impl Signals {
    /// Installs handlers for `signals` (early, before any child exists, so
    /// no signal finds the default action).
    pub(crate) fn install(signals: &[i32]) -> std::io::Result<Self> {
        let mut pipes = Vec::new();
        for sig in signals {
            let (read, write) = UnixStream::pair()?;
            read.set_nonblocking(true)?;
            write.set_nonblocking(true)?;
            signal_hook::low_level::pipe::register(*sig, write)?;
            pipes.push((*sig, Token(0), read));
        }
        Ok(Self { pipes })
    }

    /// Registers the pipes with the event loop, token `first + i` each.
    pub(crate) fn register(&mut self, registry: &Registry, first: usize) -> std::io::Result<()> {
        for (i, (_, token, read)) in self.pipes.iter_mut().enumerate() {
            *token = Token(first + i);
            registry.register(&mut SourceFd(&read.as_raw_fd()), *token, Interest::READABLE)?;
        }
        Ok(())
    }

    /// The signal of a token, after draining its pipe.
    pub(crate) fn take(&mut self, token: Token) -> Option<i32> {
        let (sig, _, pipe) = self.pipes.iter_mut().find(|(_, t, _)| *t == token)?;
        let mut buf = [0u8; 64];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        Some(*sig)
    }
}
