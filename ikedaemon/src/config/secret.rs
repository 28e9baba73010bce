//! Secrets in the configuration: PSK bytes held as [`Redacted`]
//! (zeroized on drop, never printed), reading `psk_file`, and the checks
//! that files holding secrets are not group- or world-accessible and that
//! certificate files can be opened.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use zeroize::Zeroizing;

use super::error::{ConfigError, ErrorKind, ErrorSink, Position};

/// Secret bytes (a pre-shared key): zeroized on drop, printed as
/// `<redacted>` (the IPC layer's [`privsep::secret::Secret`]).
pub type Redacted = privsep::secret::Secret<Vec<u8>>;

/// Largest secret file accepted, in bytes.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// True when a file with this mode is accessible by group or others.
pub(crate) fn mode_too_open(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// The refusal for a file with loose permissions.
pub(crate) fn too_open_message(what: &str, path: &Path, mode: u32) -> String {
    format!(
        "{what} {} is {} by group or others (mode {:04o}); chmod 600 it",
        path.display(),
        access_word(mode),
        mode & 0o7777
    )
}

/// How a too-open mode exposes a file: "readable", or "accessible" when
/// group and others may not read it but have other bits.
pub(crate) fn access_word(mode: u32) -> &'static str {
    if mode & 0o044 != 0 {
        "readable"
    } else {
        "accessible"
    }
}

/// A file holding a secret must be owned by the user reading it (root,
/// for the daemon: no other user may have written the key it uses) and
/// accessible by that owner only.
fn private_file_ok(what: &str, path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(format!(
            "{what} {} is owned by uid {}, not by uid {euid} who reads it; chown it",
            path.display(),
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode();
    if mode_too_open(mode) {
        return Err(too_open_message(what, path, mode));
    }
    Ok(())
}

/// Opens `path` and checks, on the open descriptor (so a rename in
/// between cannot swap the file), that it is a regular file and, with
/// `private`, that its owner and mode keep it private. Returns the file
/// and its length, or the kind of refusal and its text.
fn open_checked(
    what: &str,
    path: &Path,
    private: bool,
) -> Result<(File, u64), (ErrorKind, String)> {
    let file = open_nonblocking(path).map_err(|e| {
        (
            ErrorKind::File,
            format!("{what} {}: cannot open: {e}", path.display()),
        )
    })?;
    let meta = file.metadata().map_err(|e| {
        (
            ErrorKind::File,
            format!("{what} {}: cannot stat: {e}", path.display()),
        )
    })?;
    if !meta.is_file() {
        return Err((
            ErrorKind::File,
            format!("{what} {} is not a regular file", path.display()),
        ));
    }
    if private {
        private_file_ok(what, path, &meta).map_err(|e| (ErrorKind::Permission, e))?;
    }
    Ok((file, meta.len()))
}

/// Reads at most `MAX_SECRET_BYTES` of `file` into a buffer sized up front
/// (it never reallocates, which would leave an unzeroized copy behind).
fn read_bounded(file: File) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let cap = usize::try_from(MAX_SECRET_BYTES + 1).unwrap_or(usize::MAX);
    let mut buf = Zeroizing::new(Vec::with_capacity(cap));
    file.take(MAX_SECRET_BYTES + 1).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads a private file (a private key, at most 64 KiB) through the
/// descriptor whose owner and mode were checked.
pub fn read_private(what: &str, path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let (file, _) = open_checked(what, path, true).map_err(|(_, e)| e)?;
    let buf = read_bounded(file).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if buf.len() as u64 > MAX_SECRET_BYTES {
        return Err(format!(
            "{what} {} is larger than {MAX_SECRET_BYTES} bytes",
            path.display()
        ));
    }
    Ok(buf)
}

/// Opens `path` for reading without blocking: a FIFO (or a device) named
/// where a file is expected would otherwise hang the root parent in
/// open(2) until someone writes to it. Callers check for a regular file on
/// the open descriptor; reading a regular file is unaffected by the flag.
pub(crate) fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Where a checked file is named in the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileRef<'a> {
    pub(crate) errors: &'a ErrorSink,
    pub(crate) pos: Position,
    /// The key naming the file (`psk_file`, `private_key`, ...).
    pub(crate) what: &'a str,
}

impl FileRef<'_> {
    fn fail(&self, kind: ErrorKind, msg: String) -> ConfigError {
        self.errors.at(self.pos, kind, msg)
    }

    /// Opens `path` and checks it is a regular file; with `private`, also
    /// that it is ours and group and others have no access.
    fn open(&self, path: &Path, private: bool) -> Result<(File, u64), ConfigError> {
        open_checked(self.what, path, private).map_err(|(kind, e)| self.fail(kind, e))
    }

    /// Checks that a private file (a private key) exists, is a regular
    /// file and is accessible by its owner only.
    pub(crate) fn check_private(&self, path: &Path) -> Result<(), ConfigError> {
        self.open(path, true).map(|_| ())
    }

    /// Checks that a public file (a certificate) can be opened.
    pub(crate) fn check_readable(&self, path: &Path) -> Result<(), ConfigError> {
        self.open(path, false).map(|_| ())
    }

    /// Reads a secret file (private, at most 64 KiB), dropping one
    /// trailing newline.
    pub(crate) fn read_secret(&self, path: &Path) -> Result<Redacted, ConfigError> {
        let (file, len) = self.open(path, true)?;
        if len > MAX_SECRET_BYTES {
            return Err(self.fail(
                ErrorKind::File,
                format!(
                    "{} {} is too large for a secret ({len} bytes, at most {MAX_SECRET_BYTES})",
                    self.what,
                    path.display()
                ),
            ));
        }
        let mut buf = read_bounded(file).map_err(|e| {
            self.fail(
                ErrorKind::File,
                format!("{} {}: cannot read: {e}", self.what, path.display()),
            )
        })?;
        // The length was checked; a file that grew since is cut to it.
        buf.truncate(usize::try_from(MAX_SECRET_BYTES).unwrap_or(usize::MAX));
        let strip = if buf.ends_with(b"\r\n") {
            2
        } else {
            usize::from(buf.ends_with(b"\n"))
        };
        let keep = buf.len() - strip;
        buf.truncate(keep);
        let mut out = Vec::with_capacity(buf.len());
        out.extend_from_slice(&buf);
        Ok(Redacted::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &Path, name: &str, body: &[u8], mode: u32) -> std::path::PathBuf {
        let p = dir.join(name);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn fref(errors: &ErrorSink) -> FileRef<'_> {
        FileRef {
            errors,
            pos: Position { line: 3, column: 7 },
            what: "psk_file",
        }
    }

    #[test]
    fn redacted_debug_hides_bytes() {
        let r = Redacted::new(b"hunter2".to_vec());
        assert_eq!(format!("{r:?}"), "<redacted>");
        assert_eq!(r.expose(), b"hunter2");
    }

    #[test]
    fn reads_and_strips_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let errors = ErrorSink::new("t.conf");
        let p = write(dir.path(), "a.psk", b"secret\n\n", 0o600);
        assert_eq!(fref(&errors).read_secret(&p).unwrap().expose(), b"secret\n");
        let p = write(dir.path(), "b.psk", b"secret\r\n", 0o400);
        assert_eq!(fref(&errors).read_secret(&p).unwrap().expose(), b"secret");
    }

    #[test]
    fn refuses_open_modes() {
        let dir = tempfile::tempdir().unwrap();
        let errors = ErrorSink::new("t.conf");
        let p = write(dir.path(), "a.psk", b"s", 0o640);
        let e = fref(&errors).read_secret(&p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert_eq!(
            e.to_string(),
            format!(
                "t.conf:3:7: psk_file {} is readable by group or others (mode 0640); chmod 600 it",
                p.display()
            )
        );
        let p = write(dir.path(), "b.psk", b"s", 0o620);
        assert!(
            fref(&errors)
                .read_secret(&p)
                .unwrap_err()
                .message()
                .contains("accessible")
        );
        assert!(fref(&errors).check_readable(&p).is_ok());
        assert!(fref(&errors).check_private(&p).is_err());
    }

    #[test]
    fn missing_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let errors = ErrorSink::new("t.conf");
        let e = fref(&errors)
            .read_secret(&dir.path().join("none"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::File);
        assert!(
            e.message()
                .contains("cannot open: No such file or directory")
        );
        let e = fref(&errors).check_readable(dir.path()).unwrap_err();
        assert!(e.message().contains("not a regular file"));
    }
}
