//! A policy's `auth:`: tells the forms apart (inline psk, psk_file,
//! certificate + private_key + ca), refuses mixes and gaps, reads
//! `psk_file`, checks that certificate files open and that secrets are
//! owner-only — all positioned at the key concerned.

use serde_saphyr::Spanned;

use super::build::Ctx;
use super::error::{ConfigError, ErrorKind, Position};
use super::model::AuthSpec;
use super::raw::RawAuth;
use super::secret::{FileRef, Redacted, mode_too_open};

const FORMS: &str = "give psk, psk_file, or certificate with private_key and ca";

/// Builds the authentication of the policy whose name is at `name_pos`.
pub(crate) fn build_auth(
    raw: Option<RawAuth>,
    name: &Spanned<String>,
    ctx: &Ctx<'_>,
) -> Result<AuthSpec, ConfigError> {
    let name_pos = Position::of(name);
    let Some(a) = raw else {
        return Err(ctx.errors.semantic(
            name_pos,
            format!("policy \"{}\" has no auth: {FORMS}", name.value),
        ));
    };
    let psk_keys = [&a.psk, &a.psk_file];
    let cert_keys = [&a.certificate, &a.private_key];
    let has_psk = psk_keys.iter().any(|k| k.is_some());
    let cert_pos = cert_keys
        .iter()
        .filter_map(|k| k.as_ref().map(Position::of))
        .chain(a.ca.as_ref().map(Position::of))
        .min();
    match (has_psk, cert_pos) {
        (false, None) => Err(ctx.errors.semantic(
            name_pos,
            format!("policy \"{}\" has an empty auth: {FORMS}", name.value),
        )),
        (true, Some(pos)) => Err(ctx.errors.semantic(
            pos,
            "auth takes either a psk (psk or psk_file) or a certificate (certificate, \
             private_key, ca), not both",
        )),
        (true, None) => psk(a, ctx),
        (false, Some(_)) => certificate(a, ctx),
    }
}

fn psk(a: RawAuth, ctx: &Ctx<'_>) -> Result<AuthSpec, ConfigError> {
    match (a.psk, a.psk_file) {
        (Some(_), Some(f)) => Err(ctx
            .errors
            .semantic(Position::of(&f), "give either psk or psk_file, not both")),
        (Some(inline), None) => {
            let pos = Position::of(&inline);
            if let Some(mode) = ctx.config_mode.filter(|m| mode_too_open(*m)) {
                return Err(ctx.errors.at(
                    pos,
                    ErrorKind::Permission,
                    format!(
                        "inline psk in {}, which is {} by group or others (mode {:04o}); \
                         chmod 600 it or use psk_file",
                        ctx.file,
                        super::secret::access_word(mode),
                        mode & 0o7777
                    ),
                ));
            }
            if inline.value.is_empty() {
                return Err(ctx.errors.value(pos, "psk is empty"));
            }
            Ok(AuthSpec::Psk(Redacted::new(inline.value.into_bytes())))
        }
        (None, Some(f)) => {
            let path = ctx.path(&f, "psk_file")?;
            let file = FileRef {
                errors: &ctx.errors,
                pos: Position::of(&f),
                what: "psk_file",
            };
            let secret = file.read_secret(&path)?;
            if secret.expose().is_empty() {
                return Err(ctx.errors.value(
                    Position::of(&f),
                    format!("psk_file {} is empty", path.display()),
                ));
            }
            Ok(AuthSpec::Psk(secret))
        }
        (None, None) => Err(ctx.errors.semantic(Position::START, FORMS)),
    }
}

fn certificate(a: RawAuth, ctx: &Ctx<'_>) -> Result<AuthSpec, ConfigError> {
    let Some(cert) = a.certificate else {
        let pos = a
            .private_key
            .as_ref()
            .map(Position::of)
            .or(a.ca.as_ref().map(Position::of))
            .unwrap_or(Position::START);
        return Err(ctx.errors.semantic(
            pos,
            "private_key and ca go with certificate, which is missing",
        ));
    };
    let cert_pos = Position::of(&cert);
    let Some(key) = a.private_key else {
        return Err(ctx.errors.semantic(
            cert_pos,
            "certificate needs private_key (our private key file) too",
        ));
    };
    let Some(ca) = a.ca else {
        return Err(ctx.errors.semantic(
            cert_pos,
            "certificate needs ca (one or more CA files to verify the peer) too",
        ));
    };
    if ca.value.is_empty() {
        return Err(ctx.errors.value(
            Position::of(&ca),
            "ca: expected one or more CA certificate files",
        ));
    }
    let file = |pos, what| FileRef {
        errors: &ctx.errors,
        pos,
        what,
    };
    let cert_path = ctx.path(&cert, "certificate")?;
    file(cert_pos, "certificate").check_readable(&cert_path)?;
    let key_path = ctx.path(&key, "private_key")?;
    file(Position::of(&key), "private_key").check_private(&key_path)?;
    let mut ca_paths = Vec::with_capacity(ca.value.len());
    for c in &ca.value {
        let p = ctx.path(c, "ca")?;
        file(Position::of(c), "ca").check_readable(&p)?;
        ca_paths.push(p);
    }
    Ok(AuthSpec::Certificate {
        cert: cert_path,
        key: key_path,
        ca: ca_paths,
    })
}
