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
    /// Installs handlers for `signals`, registering each pipe with the
    /// token `first + i`.
    pub(crate) fn install(
        registry: &Registry,
        signals: &[i32],
        first: usize,
    ) -> std::io::Result<Self> {
        let mut pipes = Vec::new();
        for (i, sig) in signals.iter().enumerate() {
            let (read, write) = UnixStream::pair()?;
            read.set_nonblocking(true)?;
            write.set_nonblocking(true)?;
            signal_hook::low_level::pipe::register(*sig, write)?;
            let token = Token(first + i);
            registry.register(&mut SourceFd(&read.as_raw_fd()), token, Interest::READABLE)?;
            pipes.push((*sig, token, read));
        }
        Ok(Self { pipes })
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
