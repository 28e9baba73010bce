//! The parent process: start-up while still root (configuration, sockets,
//! children) and the orderly ways it ends. The event loop is in
//! `parent_loop`.

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::{Group, User};
use privsep::Channel;
use privsep::spawn::{Child, spawn_child};

use super::args::Args;
use super::sockets::{Bind, IkeSocket, open_control_socket, open_ike_sockets};
use crate::config::{Config, LogLevel};
use crate::control_proto::Stats;
use crate::ipc::{ChildSetup, IPC_VERSION, SocketInfo, ToControl, ToNegotiator};
use crate::logging::{self, Level, Target};
use crate::{log_error, log_info, log_warn};

/// "exited with status 1", "was killed by signal 9 (SIGKILL)".
fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (_, Some(s)) => {
            let name = Signal::try_from(s).map_or("?", |s| s.as_str());
            format!("was killed by signal {s} ({name})")
        }
        _ => format!("ended: {status}"),
    }
}

/// The engine settings of a configuration.
pub(crate) fn engine_settings(config: &Config) -> crate::ipc::EngineSettings {
    let g = &config.global;
    crate::ipc::EngineSettings {
        fragment_size: g.fragmentation.enabled.then_some(g.fragmentation.size),
        cookie_threshold: g.dos.cookie_threshold,
        max_half_open_per_peer: g.dos.max_half_open_per_peer,
        max_half_open: g.dos.max_half_open,
        ipv6_prefix: g.dos.ipv6_prefix,
        max_child_sas_per_ike: g.dos.max_child_sas_per_ike,
        max_message: g.dos.max_message,
        max_init_message: g.dos.max_init_message,
    }
}

/// One unprivileged child and its channel.
pub(crate) struct Kid {
    pub(crate) child: Child,
    /// Shared: the ca's is used by the custody worker thread too.
    pub(crate) channel: std::sync::Arc<Channel>,
}

/// The parent's state.
pub(crate) struct Parent {
    pub(crate) args: Args,
    pub(crate) config: Config,
    pub(crate) socket_path: PathBuf,
    pub(crate) pid_file: Option<PathBuf>,
    /// The lock on the pid file, held while we run.
    pub(crate) pid_lock: Option<PidLock>,
    pub(crate) negotiator: Kid,
    pub(crate) control: Kid,
    /// Validates peers' certificates for the custody worker.
    pub(crate) ca: Kid,
    pub(crate) stats: Stats,
    pub(crate) started: Instant,
    /// Certificate policies' credentials (key custody), by policy name.
    pub(crate) creds: std::collections::HashMap<String, std::sync::Arc<super::certs::Credentials>>,
    /// The custody worker thread (started with the event loop).
    pub(crate) worker: Option<super::custody_worker::Worker>,
    /// AUTH requests at the worker.
    pub(crate) in_flight: super::parent_requests::InFlight,
    /// The negotiator's and the control process's channels hold messages
    /// not read yet (the per-round budget ran out).
    pub(crate) unread: [bool; 2],
    /// The negotiator's reports of live SAs.
    pub(crate) reconciler: super::reconcile::Reconciler,
    /// Which policy each IKE SA may use (its AUTH, the parent's verdict).
    pub(crate) gate: super::gate::Gate,
    /// Signal pipes, installed before the children start.
    pub(crate) signals: Option<super::signals::Signals>,
    /// The kernel backend and the CHILD SAs installed through it.
    pub(crate) kernel: crate::kernel::KernelState,
}

/// The verbosity: the configured level raised by `-v`.
pub(crate) fn level_for(config: LogLevel, verbose: u8) -> Level {
    let base = match config {
        LogLevel::Brief => 2u8,
        LogLevel::Verbose => 3,
        LogLevel::Debug => 4,
    };
    super::child::level_from_u8(base.saturating_add(verbose))
}

/// `-n`: prints `configuration OK` or the error; the exit status.
pub(crate) fn check_only(args: &Args) -> u8 {
    match crate::config::load(&args.config) {
        Ok(config) => match crate::kernel::check_with_kernel(&config) {
            Ok(None) => {
                println!("configuration OK");
                0
            }
            Ok(Some(note)) => {
                println!("configuration OK ({note})");
                0
            }
            Err(e) => {
                eprintln!("{}: {e}", args.config.display());
                1
            }
        },
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// The listen addresses after `-4` / `-6`.
pub(crate) fn listen_addresses(args: &Args, config: &Config) -> Result<Vec<IpAddr>, String> {
    let addrs: Vec<IpAddr> = config
        .global
        .listen
        .iter()
        .copied()
        .filter(|a| !(args.only_v4 && a.is_ipv6() || args.only_v6 && a.is_ipv4()))
        .collect();
    if addrs.is_empty() {
        return Err("no listen address is left after -4/-6".into());
    }
    Ok(addrs)
}

/// The socket group's gid and the uids of its members.
pub(crate) fn socket_access(config: &Config) -> Result<(u32, Vec<u32>), String> {
    let Some(name) = &config.global.socket_group else {
        return Ok((0, Vec::new()));
    };
    let group = Group::from_name(name)
        .map_err(|e| format!("cannot look up socket_group {name}: {e}"))?
        .ok_or_else(|| format!("socket_group {name} does not exist"))?;
    let uids = group
        .mem
        .iter()
        .filter_map(|m| User::from_name(m).ok().flatten())
        .map(|u| u.uid.as_raw())
        .collect();
    Ok((group.gid.as_raw(), uids))
}

fn check_identity(config: &Config) -> Result<(), String> {
    let user = &config.global.user;
    match User::from_name(user) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(format!(
                "user {user} does not exist (create it, e.g. useradd --system --home-dir /var/empty --shell /usr/sbin/nologin {user})"
            ));
        }
        Err(e) => return Err(format!("cannot look up user {user}: {e}")),
    }
    let chroot = &config.global.chroot;
    if !chroot.is_dir() {
        return Err(format!(
            "chroot directory {} does not exist",
            chroot.display()
        ));
    }
    chroot_safe(chroot)
}

/// The children's chroot must be root's and writable by root only: an
/// unprivileged process that could write there could plant files for them
/// (or, if it is their own user, keep state across the privilege drop).
pub(crate) fn chroot_safe(chroot: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(chroot)
        .map_err(|e| format!("chroot directory {}: {e}", chroot.display()))?;
    let mode = meta.permissions().mode();
    if meta.uid() != 0 || mode & 0o022 != 0 {
        return Err(format!(
            "chroot directory {} must be owned by root and writable by root only (it is owned by uid {}, mode {:04o}); chown root and chmod go-w it",
            chroot.display(),
            meta.uid(),
            mode & 0o7777
        ));
    }
    Ok(())
}

fn spawn(role: &str) -> Result<Kid, String> {
    let (ours, theirs) =
        Channel::pair().map_err(|e| format!("cannot create the {role} channel: {e}"))?;
    let child =
        spawn_child(role, &[], theirs).map_err(|e| format!("cannot start the {role}: {e}"))?;
    ours.handshake(IPC_VERSION)
        .map_err(|e| format!("IPC handshake with the {role} failed: {e}"))?;
    Ok(Kid {
        child,
        channel: std::sync::Arc::new(ours),
    })
}

fn send_negotiator_start(
    kid: &Kid,
    setup: &ChildSetup,
    sockets: Vec<IkeSocket>,
    config: &Config,
    creds: &std::collections::HashMap<String, std::sync::Arc<super::certs::Credentials>>,
    spis: Vec<u64>,
) -> Result<(), String> {
    let send = |m: &ToNegotiator, fds: &[std::os::fd::BorrowedFd<'_>]| {
        kid.channel
            .send(0, m, fds)
            .map_err(|e| format!("cannot send to the negotiator: {e}"))
    };
    send(&ToNegotiator::Setup(setup.clone()), &[])?;
    send(&ToNegotiator::Settings(engine_settings(config)), &[])?;
    send_sockets(&kid.channel, sockets)?;
    let policies = super::policy_info::policy_specs(config, creds);
    send(&ToNegotiator::Policies(policies), &[])?;
    send(&ToNegotiator::Spis(spis), &[])?;
    send(&ToNegotiator::Start, &[])
}

/// Hands IKE sockets to the negotiator (start-up and a reload that moves
/// them); each descriptor is closed here once sent: the parent keeps no
/// copy.
pub(crate) fn send_sockets(channel: &Channel, sockets: Vec<IkeSocket>) -> Result<(), String> {
    for s in sockets {
        let info = SocketInfo {
            local: s.local,
            natt: s.natt,
        };
        channel
            .send(0, &ToNegotiator::Socket(info), &[s.fd.as_fd()])
            .map_err(|e| format!("cannot send a socket to the negotiator: {e}"))?;
    }
    Ok(())
}

/// The ca process's start: setup, then the CA sets.
fn send_ca_start(
    kid: &Kid,
    setup: &ChildSetup,
    config: &Config,
    creds: &std::collections::HashMap<String, std::sync::Arc<super::certs::Credentials>>,
) -> Result<(), String> {
    let send = |m: &crate::ipc::ToCa| {
        kid.channel
            .send(0, m, &[])
            .map_err(|e| format!("cannot send to the ca process: {e}"))
    };
    send(&crate::ipc::ToCa::Setup(setup.clone()))?;
    send(&trust(config, creds))
}

/// The CA sets of a configuration, for the ca process.
pub(crate) fn trust(
    config: &Config,
    creds: &std::collections::HashMap<String, std::sync::Arc<super::certs::Credentials>>,
) -> crate::ipc::ToCa {
    crate::ipc::ToCa::Trust {
        sets: super::certs::trust_sets(creds),
        allow_sha1: config.global.allow_sha1_certificates,
    }
}

fn send_control_start(
    kid: &Kid,
    setup: &ChildSetup,
    listener: std::os::unix::net::UnixListener,
    access: (u32, Vec<u32>),
) -> Result<(), String> {
    let send = |m: &ToControl, fds: &[std::os::fd::BorrowedFd<'_>]| {
        kid.channel
            .send(0, m, fds)
            .map_err(|e| format!("cannot send to the control process: {e}"))
    };
    send(&ToControl::Setup(setup.clone()), &[])?;
    send(&ToControl::Listener, &[listener.as_fd()])?;
    drop(listener);
    send(
        &ToControl::Access {
            gid: access.0,
            member_uids: access.1,
        },
        &[],
    )
}

/// A pid file we hold an exclusive lock on (as BSD's pidfile(3) does), for
/// as long as we run: a second ikedaemon with the same pid file is refused.
type PidLock = nix::fcntl::Flock<std::fs::File>;

/// Takes the lock on `file`, or says which ikedaemon holds it.
fn lock(file: std::fs::File, path: &std::path::Path) -> Result<PidLock, String> {
    use std::io::Read;
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(f) => Ok(f),
        Err((mut f, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut held = String::new();
            let _ = f.read_to_string(&mut held);
            Err(format!(
                "another ikedaemon (pid {}) holds the pid file {}",
                held.trim(),
                path.display()
            ))
        }
        Err((_, e)) => Err(format!("cannot lock the pid file {}: {e}", path.display())),
    }
}

/// Before detaching, so that the refusal reaches the terminal: an existing
/// pid file locked by a running ikedaemon stops the start. The lock taken
/// here is held until `write_pid_file` has replaced the file.
fn check_pid_file(path: &std::path::Path) -> Result<Option<PidLock>, String> {
    match std::fs::File::open(path) {
        Ok(f) => lock(f, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot open the pid file {}: {e}", path.display())),
    }
}

/// Writes our pid into a new file, locks it and renames it over the pid
/// file: a reader never sees it empty or half written, and whoever opens
/// the path finds a locked file, the old one until the rename, ours after.
fn write_pid_file(path: &std::path::Path) -> Result<PidLock, String> {
    use std::io::Write;
    let err = |e: std::io::Error| format!("cannot write the pid file {}: {e}", path.display());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(err)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
        .map_err(err)?;
    let locked = lock(file, path)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })?;
    Ok(locked)
}

/// Start-up: everything that needs root, then the children.
pub(crate) fn start(args: Args) -> Result<Parent, String> {
    privsep::privdrop::no_core_dumps().map_err(|e| e.to_string())?;
    let config = crate::config::load(&args.config).map_err(|e| e.to_string())?;
    check_identity(&config)?;
    let listen = listen_addresses(&args, &config)?;
    let access = socket_access(&config)?;
    let socket_path = args
        .socket
        .clone()
        .unwrap_or_else(|| config.global.socket.clone());
    let level = level_for(config.global.log_level, args.verbose);

    // The kernel socket first: a backend that cannot open, or that cannot
    // install what the policies ask for, stops the start here.
    let (backend, backend_line) = crate::kernel::open(&config)?;
    crate::kernel::check_algorithms(&config, &*backend)?;
    let sockets = open_ike_sockets(
        &listen,
        config.global.ike_port,
        config.global.natt_port,
        Bind::Exclusive,
    )
    .map_err(|e| e.to_string())?;
    let listener = open_control_socket(&socket_path, Some(access.0).filter(|g| *g != 0))
        .map_err(|e| format!("control socket: {e}"))?;

    let mut pid_file = None;
    let mut pid_lock = None;
    if args.foreground {
        logging::init("parent", Target::Stderr, level);
    } else {
        let old = check_pid_file(&config.global.pid_file)?;
        nix::unistd::daemon(false, false).map_err(|e| format!("cannot detach: {e}"))?;
        logging::init("parent", Target::Syslog, level);
        pid_lock = Some(write_pid_file(&config.global.pid_file)?);
        drop(old);
        pid_file = Some(config.global.pid_file.clone());
    }
    openssl::init();
    let signals = super::signals::Signals::install(&[
        libc::SIGHUP,
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGCHLD,
    ])
    .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let setup = ChildSetup {
        user: config.global.user.clone(),
        chroot: config.global.chroot.clone(),
        log_stderr: args.foreground,
        log_level: level as u8,
    };
    if backend.name() == "none" {
        log_warn!("{backend_line}");
    } else {
        log_info!("{backend_line}");
    }
    let mut kernel = crate::kernel::KernelState::new(backend);
    kernel.start(&config);
    let negotiator = spawn("negotiator")?;
    let creds = super::certs::load(&config)?;
    let gate = super::gate::Gate::default();
    let spis = gate.issue_spis();
    send_negotiator_start(&negotiator, &setup, sockets, &config, &creds, spis)?;
    let control = spawn("control")?;
    send_control_start(&control, &setup, listener, access)?;
    let ca = spawn("ca")?;
    send_ca_start(&ca, &setup, &config, &creds)?;
    log_info!(
        "started: {} policies, kernel backend {}, negotiator pid {}, control pid {}",
        config.policies.len(),
        kernel.name(),
        negotiator.child.pid(),
        control.child.pid()
    );
    Ok(Parent {
        args,
        config,
        socket_path,
        pid_file,
        pid_lock,
        negotiator,
        control,
        ca,
        stats: Stats {
            config_loads: 1,
            ..Stats::default()
        },
        started: Instant::now(),
        creds,
        worker: None,
        in_flight: Default::default(),
        reconciler: Default::default(),
        unread: [false; 2],
        gate,
        signals: Some(signals),
        kernel,
    })
}

impl Parent {
    /// Orderly end: children told to stop, waited for (bounded), killed
    /// if they do not; socket and pid file removed. Returns `code`.
    pub(crate) fn shutdown(&mut self, code: u8) -> u8 {
        let _ = self
            .negotiator
            .channel
            .send(0, &ToNegotiator::Shutdown, &[]);
        let _ = self.control.channel.send(0, &ToControl::Shutdown, &[]);
        let _ = self.ca.channel.send(0, &crate::ipc::ToCa::Shutdown, &[]);
        // The custody worker stops before the ca it talks to.
        self.worker = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        for kid in [&mut self.negotiator, &mut self.control, &mut self.ca] {
            loop {
                match kid.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        log_warn!(
                            "{} (pid {}) did not stop; killing it",
                            kid.child.role(),
                            kid.child.pid()
                        );
                        let _ = kid.child.kill(Signal::SIGKILL);
                        let _ = kid.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
        // The negotiator has sent its DELETEs (or is dead): what we
        // installed leaves the kernel.
        self.kernel.remove_all(if code == 0 {
            "at shutdown"
        } else {
            "after a child process failed"
        });
        if let Err(e) = std::fs::remove_file(&self.socket_path) {
            log_error!("cannot remove {}: {e}", self.socket_path.display());
        }
        if let Some(p) = &self.pid_file {
            let _ = std::fs::remove_file(p);
        }
        // Unlocked only once the file is gone.
        drop(self.pid_lock.take());
        log_info!("exiting{}", if code == 0 { "" } else { " after an error" });
        code
    }

    /// A child has exited: log which and why; `true` if one did.
    pub(crate) fn reap(&mut self) -> bool {
        let mut any = false;
        for kid in [&mut self.negotiator, &mut self.control, &mut self.ca] {
            if let Ok(Some(status)) = kid.child.try_wait() {
                log_error!(
                    "{} (pid {}) {}",
                    kid.child.role(),
                    kid.child.pid(),
                    describe(status)
                );
                any = true;
            }
        }
        any
    }

    /// `reap`, waiting up to `limit` for the child that closed its
    /// channel to become waitable (its exit status says why it died).
    pub(crate) fn reap_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.reap() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn uptime(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}
