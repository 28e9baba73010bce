//! The configuration error: every failure to load a configuration, from a
//! YAML syntax error to a secret file with loose permissions, as one type
//! whose text always starts with `FILE:LINE:COLUMN: ` and says what was
//! expected.

use std::fmt;

use serde_saphyr::{Location, Spanned};

/// A 1-based line and column in the configuration file (columns count
/// characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl Position {
    /// The start of the file, for errors about the file as a whole.
    pub const START: Position = Position { line: 1, column: 1 };

    /// The position of a YAML location; unknown locations map to the
    /// start of the file.
    pub fn from_location(loc: Location) -> Position {
        if loc.line() == 0 {
            return Position::START;
        }
        Position {
            line: loc.line(),
            column: loc.column().max(1),
        }
    }

    /// Where a spanned value is used in the file.
    pub fn of<T>(spanned: &Spanned<T>) -> Position {
        Position::from_location(spanned.referenced)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What kind of mistake a [`ConfigError`] reports, for callers that react
/// differently (tests, `ikedaemon -n` exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not well-formed YAML (or not UTF-8).
    Syntax,
    /// A key the schema does not know.
    UnknownKey,
    /// A key given twice in one mapping.
    DuplicateKey,
    /// A required key is absent.
    MissingKey,
    /// A value of the wrong YAML type (a list where a string belongs...).
    Type,
    /// A value of the right type that does not parse or is out of range
    /// (an address, a proposal, a duration...).
    Value,
    /// A consistency rule between values (duplicate policy names, two
    /// forms of authentication...).
    Semantic,
    /// A file (the configuration or one it names) is missing or unreadable.
    File,
    /// A file holding a secret is readable by group or others.
    Permission,
    /// A YAML resource limit (aliases, nesting, size) was exceeded.
    Limit,
}

/// A configuration error, positioned in the configuration file.
///
/// Its `Display` is `FILE:LINE:COLUMN: MESSAGE`, e.g.
/// `ikedaemon.conf:12:14: expected an IPv4 or IPv6 address or "any", found "192.0.2.300"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{position}: {message}")]
pub struct ConfigError {
    file: String,
    position: Position,
    kind: ErrorKind,
    message: String,
}

impl ConfigError {
    /// An error at `position` of `file`.
    pub fn new(
        file: impl Into<String>,
        position: Position,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            position,
            kind,
            message: message.into(),
        }
    }

    /// The configuration file's name as given to [`super::load`] or
    /// [`super::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Where in the file.
    pub fn position(&self) -> Position {
        self.position
    }

    /// What kind of mistake.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the `FILE:LINE:COLUMN: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Builds positioned errors for one file; the configuration builders carry
/// one so that every check can say `err.at(pos, kind, msg)`.
#[derive(Debug, Clone)]
pub(crate) struct ErrorSink {
    file: String,
}

impl ErrorSink {
    pub(crate) fn new(file: &str) -> Self {
        Self { file: file.into() }
    }

    pub(crate) fn at(&self, pos: Position, kind: ErrorKind, msg: impl Into<String>) -> ConfigError {
        ConfigError::new(self.file.clone(), pos, kind, msg)
    }

    /// A [`ErrorKind::Semantic`] error at `pos`.
    pub(crate) fn semantic(&self, pos: Position, msg: impl Into<String>) -> ConfigError {
        self.at(pos, ErrorKind::Semantic, msg)
    }

    /// A [`ErrorKind::Value`] error at `pos`.
    pub(crate) fn value(&self, pos: Position, msg: impl Into<String>) -> ConfigError {
        self.at(pos, ErrorKind::Value, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_column_prefix() {
        let e = ConfigError::new(
            "ikedaemon.conf",
            Position {
                line: 12,
                column: 14,
            },
            ErrorKind::Value,
            "expected an IPv4 or IPv6 address or \"any\", found \"192.0.2.300\"",
        );
        assert_eq!(
            e.to_string(),
            "ikedaemon.conf:12:14: expected an IPv4 or IPv6 address or \"any\", found \"192.0.2.300\""
        );
        assert_eq!(e.kind(), ErrorKind::Value);
        assert_eq!(e.file(), "ikedaemon.conf");
    }
}
