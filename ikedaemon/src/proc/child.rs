//! What both unprivileged children do first, in the order DESIGN.md and
//! the privilege-separation issue prescribe: pick up the IPC channel,
//! check the protocol version, read the setup message, open the log
//! (syslog with LOG_NDELAY, before the chroot hides /dev/log), initialise
//! OpenSSL, ignore the signals the parent coordinates, then drop to the
//! unprivileged user inside the chroot and verify the drop.

use privsep::Channel;
use privsep::privdrop::{DropSpec, drop_privileges};

use crate::ipc::{ChildSetup, IPC_VERSION};
use crate::logging::{self, Level, Target};

/// Level number (as sent over IPC) to logging level.
pub(crate) fn level_from_u8(v: u8) -> Level {
    match v {
        0 => Level::Error,
        1 => Level::Warn,
        2 => Level::Info,
        3 => Level::Verbose,
        _ => Level::Debug,
    }
}

/// Takes the inherited channel and completes the handshake.
pub(crate) fn channel() -> Result<Channel, String> {
    let ch = privsep::spawn::inherited_channel()
        .map_err(|e| format!("no IPC channel from the parent: {e}"))?;
    ch.handshake(IPC_VERSION)
        .map_err(|e| format!("IPC handshake with the parent failed: {e}"))?;
    Ok(ch)
}

/// Runs a child role: start-up, then the event loop; logs a start-up
/// failure (to stderr too: the log may not be open yet) and returns the
/// exit status.
pub(crate) fn run_role<T>(
    role: &str,
    start: impl FnOnce() -> Result<T, String>,
    run: impl FnOnce(T) -> u8,
) -> u8 {
    match start() {
        Ok(x) => run(x),
        Err(e) => {
            crate::log_error!("{e}");
            eprintln!("ikedaemon: {role}: {e}");
            1
        }
    }
}

/// The common start of a child: channel and handshake, the Setup message
/// (`setup_of` picks it out of the role's message type), logging and the
/// privilege drop. Returns the channel.
pub(crate) fn start<M: privsep::IpcMessage + std::fmt::Debug>(
    role: &'static str,
    setup_of: impl FnOnce(M) -> Option<ChildSetup>,
) -> Result<Channel, String> {
    let ch = channel()?;
    let first = ch
        .recv::<M>()
        .map_err(|e| format!("no setup from the parent: {e}"))?;
    let got = privsep::IpcMessage::name(&first.msg).to_string();
    let setup =
        setup_of(first.msg).ok_or_else(|| format!("expected Setup from the parent, got {got}"))?;
    setup_and_drop(role, &setup)?;
    Ok(ch)
}

/// Everything from logging to the verified privilege drop.
pub(crate) fn setup_and_drop(role: &'static str, setup: &ChildSetup) -> Result<(), String> {
    let target = if setup.log_stderr {
        Target::Stderr
    } else {
        Target::Syslog
    };
    logging::init(role, target, level_from_u8(setup.log_level));
    openssl::init();
    // Ctrl-C in the foreground reaches the whole process group, and a
    // terminal hangup too: the parent coordinates both.
    for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGPIPE] {
        crate::sys::ignore_signal(sig).map_err(|e| format!("cannot ignore signal {sig}: {e}"))?;
    }
    let spec = DropSpec {
        user: setup.user.clone(),
        chroot: setup.chroot.clone(),
    };
    let dropped = drop_privileges(&spec).map_err(|e| e.to_string())?;
    // OpenBSD: what each role may still do. Both only use descriptors they
    // already hold or receive; nothing is opened by path after the chroot.
    #[cfg(target_os = "openbsd")]
    {
        let promises = match role {
            "negotiator" => "stdio inet recvfd",
            _ => "stdio unix recvfd",
        };
        privsep::privdrop::pledge(promises).map_err(|e| format!("pledge {promises}: {e}"))?;
    }
    crate::log_verbose!(
        "dropped privileges: user {} ({dropped:?}), chroot {}",
        setup.user,
        setup.chroot.display()
    );
    Ok(())
}

/// The next message on a non-blocking channel: `Ok(Some(m))`, `Ok(None)`
/// when nothing is queued, `Err(())` when the other side closed it.
/// Malformed messages are logged (naming `from`) and skipped.
#[allow(clippy::result_unit_err)]
pub(crate) fn next_message<M: privsep::IpcMessage>(
    ch: &Channel,
    from: &str,
) -> Result<Option<privsep::Received<M>>, ()> {
    loop {
        match ch.recv::<M>() {
            Ok(r) => return Ok(Some(r)),
            Err(privsep::ChannelError::WouldBlock) => return Ok(None),
            Err(privsep::ChannelError::Closed) => return Err(()),
            Err(e) => crate::log_error!("dropped a message from the {from}: {e}"),
        }
    }
}

/// The channel to `to` is writable: frames queued while it was full go
/// out (a closed channel shows on the next read).
pub(crate) fn flush_channel(ch: &Channel, to: &str) {
    match ch.flush() {
        Ok(_) | Err(privsep::ChannelError::Closed) => {}
        Err(e) => crate::log_error!("cannot send queued messages to the {to}: {e}"),
    }
}
