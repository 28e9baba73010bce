//! Dropping privileges in a child: resolve the user, chroot, switch to the
//! user's ids, and verify that the drop held (regaining root must fail). On
//! Linux the capability bounding and ambient sets are emptied and
//! no_new_privs is set while still root. On OpenBSD, [`pledge`] and
//! [`unveil`] are here for the caller to apply per role after the drop.

use std::io;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, User};

/// What to drop to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropSpec {
    /// The unprivileged user (its primary group becomes the only group).
    pub user: String,
    /// The directory to chroot into (it must exist).
    pub chroot: PathBuf,
}

/// What the drop reached, for logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The user's name.
    pub user: String,
    /// Its uid (real, effective and saved).
    pub uid: u32,
    /// Its primary gid (real, effective, saved and the only group).
    pub gid: u32,
    /// The new root directory.
    pub chroot: PathBuf,
}

/// Why privileges could not be dropped. The process must not go on (the
/// caller exits); what was already changed cannot be undone.
#[derive(Debug, thiserror::Error)]
pub enum DropError {
    /// No such user in the password database.
    #[error("user \"{0}\" does not exist")]
    NoSuchUser(String),
    /// The password database could not be read.
    #[error("cannot look up user \"{user}\": {source}")]
    UserLookup {
        /// The user looked up.
        user: String,
        /// What getpwnam_r said.
        source: nix::Error,
    },
    /// The user is root: nothing would be dropped.
    #[error("user \"{0}\" has uid 0: refusing to run an unprivileged process as root")]
    RootUser(String),
    /// The chroot directory does not exist.
    #[error("chroot directory {} does not exist", .0.display())]
    NoSuchChroot(PathBuf),
    /// The chroot path is not a directory.
    #[error("chroot path {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The chroot path could not be checked.
    #[error("cannot use chroot directory {}: {source}", .path.display())]
    ChrootUnusable {
        /// The chroot path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A step of the drop failed.
    #[error("privilege drop failed at {step}: {source}")]
    Step {
        /// The call that failed.
        step: &'static str,
        /// Its error.
        source: io::Error,
    },
    /// The drop seemed to work but the check after it failed.
    #[error("privilege drop did not hold: {0}")]
    NotDropped(String),
    /// This system has no implementation.
    #[error("privilege drop is not implemented on this system")]
    Unsupported,
}

/// Turn a failed call into [`DropError::Step`].
fn step<E: Into<io::Error>>(step: &'static str) -> impl FnOnce(E) -> DropError {
    move |e| DropError::Step {
        step,
        source: e.into(),
    }
}

/// Drop to `spec.user` inside `spec.chroot`, in this order: look the user
/// up (before chroot), check the directory; on Linux empty the capability
/// bounding and ambient sets, clear the inheritable set and set
/// no_new_privs (all while root); chroot and chdir("/"); setgroups to the
/// user's primary group; setresgid; setresuid; then verify. Call it after
/// everything that needs the real filesystem or root (openlog, library
/// initialisation, receiving descriptors).
pub fn drop_privileges(spec: &DropSpec) -> Result<Dropped, DropError> {
    let user = User::from_name(&spec.user)
        .map_err(|source| DropError::UserLookup {
            user: spec.user.clone(),
            source,
        })?
        .ok_or_else(|| DropError::NoSuchUser(spec.user.clone()))?;
    if user.uid.is_root() {
        return Err(DropError::RootUser(spec.user.clone()));
    }
    check_chroot(&spec.chroot)?;

    #[cfg(target_os = "linux")]
    linux::drop_capability_bounds()?;

    nix::unistd::chroot(&spec.chroot).map_err(step("chroot"))?;
    nix::unistd::chdir("/").map_err(step("chdir(\"/\")"))?;
    ids::set(user.uid, user.gid)?;
    no_core_dumps()?;
    verify(user.uid, user.gid)?;
    Ok(Dropped {
        user: spec.user.clone(),
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        chroot: spec.chroot.clone(),
    })
}

/// No core dumps and, on Linux, not dumpable (no ptrace by processes of
/// the same user, /proc/PID files owned by root): a crash must not write
/// keys to disk, and a sibling running as the same unprivileged user must
/// not read this process's memory. For every process, the root parent
/// included; `drop_privileges` calls it again after the change of user,
/// which resets the dumpable flag.
pub fn no_core_dumps() -> Result<(), DropError> {
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)
        .map_err(step("setrlimit(RLIMIT_CORE, 0)"))?;
    #[cfg(target_os = "linux")]
    nix::sys::prctl::set_dumpable(false).map_err(step("PR_SET_DUMPABLE"))?;
    Ok(())
}

/// The chroot directory must exist and be a directory.
fn check_chroot(path: &Path) -> Result<(), DropError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(DropError::NotADirectory(path.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(DropError::NoSuchChroot(path.to_owned()))
        }
        Err(source) => Err(DropError::ChrootUnusable {
            path: path.to_owned(),
            source,
        }),
    }
}

/// After the drop: root must be out of reach and every id the target.
fn verify(uid: Uid, gid: Gid) -> Result<(), DropError> {
    let root = Uid::from_raw(0);
    if nix::unistd::setuid(root).is_ok() || nix::unistd::seteuid(root).is_ok() {
        return Err(DropError::NotDropped("setuid(0) succeeded".into()));
    }
    if nix::unistd::setgid(Gid::from_raw(0)).is_ok() {
        return Err(DropError::NotDropped("setgid(0) succeeded".into()));
    }
    ids::verify(uid, gid)?;
    #[cfg(target_os = "linux")]
    linux::verify()?;
    Ok(())
}

/// Setting and checking the ids, with setres[ug]id where the system has
/// them.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd"
))]
mod ids {
    use nix::unistd::{Gid, Uid, getgroups, getresgid, getresuid, setgroups, setresgid, setresuid};

    use super::{DropError, step};

    pub(super) fn set(uid: Uid, gid: Gid) -> Result<(), DropError> {
        setgroups(&[gid]).map_err(step("setgroups"))?;
        setresgid(gid, gid, gid).map_err(step("setresgid"))?;
        setresuid(uid, uid, uid).map_err(step("setresuid"))?;
        Ok(())
    }

    pub(super) fn verify(uid: Uid, gid: Gid) -> Result<(), DropError> {
        let u = getresuid().map_err(step("getresuid"))?;
        if (u.real, u.effective, u.saved) != (uid, uid, uid) {
            return Err(DropError::NotDropped(format!(
                "uids are {}/{}/{}, expected {uid}",
                u.real, u.effective, u.saved
            )));
        }
        let g = getresgid().map_err(step("getresgid"))?;
        if (g.real, g.effective, g.saved) != (gid, gid, gid) {
            return Err(DropError::NotDropped(format!(
                "gids are {}/{}/{}, expected {gid}",
                g.real, g.effective, g.saved
            )));
        }
        let groups = getgroups().map_err(step("getgroups"))?;
        if groups.iter().any(|g| *g != gid) {
            return Err(DropError::NotDropped(format!(
                "supplementary groups {groups:?}, expected only {gid}"
            )));
        }
        Ok(())
    }
}

/// Setting and checking the ids without setres[ug]id: setuid as root sets
/// real, effective and saved ids there.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd"
)))]
mod ids {
    use nix::unistd::{Gid, Uid};

    use super::{DropError, step};

    #[cfg(not(target_vendor = "apple"))]
    pub(super) fn set(uid: Uid, gid: Gid) -> Result<(), DropError> {
        nix::unistd::setgroups(&[gid]).map_err(step("setgroups"))?;
        nix::unistd::setgid(gid).map_err(step("setgid"))?;
        nix::unistd::setuid(uid).map_err(step("setuid"))?;
        Ok(())
    }

    #[cfg(target_vendor = "apple")]
    pub(super) fn set(_uid: Uid, _gid: Gid) -> Result<(), DropError> {
        Err(DropError::Unsupported)
    }

    pub(super) fn verify(uid: Uid, gid: Gid) -> Result<(), DropError> {
        use nix::unistd::{getegid, geteuid, getgid, getuid};
        if (getuid(), geteuid(), getgid(), getegid()) != (uid, uid, gid, gid) {
            return Err(DropError::NotDropped(
                "ids are not the target user's".into(),
            ));
        }
        Ok(())
    }
}

/// Linux capability sets and no_new_privs.
#[cfg(target_os = "linux")]
mod linux {
    use super::{DropError, step};
    use crate::sys::caps;

    /// Capability numbers are below 64 (the sets are 64-bit masks).
    const CAP_LIMIT: u32 = 64;

    /// While still root: empty the bounding and ambient sets, clear the
    /// inheritable set, set no_new_privs.
    pub(super) fn drop_capability_bounds() -> Result<(), DropError> {
        for cap in 0..CAP_LIMIT {
            match caps::bounding_has(cap).map_err(step("PR_CAPBSET_READ"))? {
                None => break,
                Some(true) => caps::bounding_drop(cap).map_err(step("PR_CAPBSET_DROP"))?,
                Some(false) => {}
            }
        }
        caps::ambient_clear().map_err(step("PR_CAP_AMBIENT_CLEAR_ALL"))?;
        caps::clear_inheritable().map_err(step("capset (inheritable)"))?;
        nix::sys::prctl::set_no_new_privs().map_err(step("PR_SET_NO_NEW_PRIVS"))?;
        Ok(())
    }

    /// After setresuid: every capability set empty, no_new_privs on.
    pub(super) fn verify() -> Result<(), DropError> {
        let sets = caps::get().map_err(step("capget"))?;
        if sets.effective != 0 || sets.permitted != 0 || sets.inheritable != 0 {
            return Err(DropError::NotDropped(format!(
                "capabilities left: effective {:#x}, permitted {:#x}, inheritable {:#x}",
                sets.effective, sets.permitted, sets.inheritable
            )));
        }
        for cap in 0..CAP_LIMIT {
            let bounding = caps::bounding_has(cap).map_err(step("PR_CAPBSET_READ"))?;
            let ambient = caps::ambient_has(cap).map_err(step("PR_CAP_AMBIENT_IS_SET"))?;
            if bounding == Some(true) || ambient == Some(true) {
                return Err(DropError::NotDropped(format!(
                    "capability {cap} left in the bounding or ambient set"
                )));
            }
            if bounding.is_none() {
                break;
            }
        }
        if !nix::sys::prctl::get_no_new_privs().map_err(step("PR_GET_NO_NEW_PRIVS"))? {
            return Err(DropError::NotDropped("no_new_privs is not set".into()));
        }
        Ok(())
    }
}

/// OpenBSD `pledge(promises, NULL)`: restrict the process to the promised
/// system call groups (e.g. `"stdio recvfd sendfd inet"` for the
/// negotiator). Call after [`drop_privileges`].
#[cfg(target_os = "openbsd")]
pub fn pledge(promises: &str) -> io::Result<()> {
    crate::sys::openbsd::pledge(promises)
}

/// OpenBSD `unveil(path, permissions)`: make `path` visible with
/// `permissions` (`"r"`, `"rwc"`, ...); everything not unveiled disappears
/// after the first call.
#[cfg(target_os = "openbsd")]
pub fn unveil(path: &Path, permissions: &str) -> io::Result<()> {
    crate::sys::openbsd::unveil(path, permissions)
}

/// OpenBSD `unveil(NULL, NULL)`: forbid further [`unveil`] calls.
#[cfg(target_os = "openbsd")]
pub fn unveil_lock() -> io::Result<()> {
    crate::sys::openbsd::unveil_lock()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chroot_checks() {
        assert!(matches!(
            check_chroot(Path::new("/nonexistent/privsep-chroot")),
            Err(DropError::NoSuchChroot(_))
        ));
        assert!(matches!(
            check_chroot(Path::new("/proc/self/status")),
            Err(DropError::NotADirectory(_))
        ));
        assert!(check_chroot(Path::new("/")).is_ok());
    }

    #[test]
    fn messages_are_one_line() {
        let e = DropError::NoSuchUser("_ikedaemon".into());
        assert_eq!(e.to_string(), "user \"_ikedaemon\" does not exist");
        let e = DropError::NoSuchChroot("/var/empty".into());
        assert_eq!(e.to_string(), "chroot directory /var/empty does not exist");
    }
}
