//! The YAML layer: serde-saphyr options (duplicate keys rejected, aliases
//! bounded, no `!include`) and the translation of its errors into
//! positioned [`ConfigError`]s that say what was expected and what was
//! found.

use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{
    DuplicateKeyPolicy, Error as YamlError, MessageFormatter, UserMessageFormatter,
};

use super::error::{ConfigError, ErrorKind, Position};

/// Largest configuration text accepted, in bytes.
pub(crate) const MAX_CONFIG_BYTES: usize = 4 << 20;

/// The parser options: duplicate keys are errors, alias expansion is
/// bounded far below serde-saphyr's permissive defaults (a configuration
/// has no reason to replay more than a few thousand events), and error
/// snippets are off (we render our own one-line message).
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::Error,
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
        budget: serde_saphyr::budget! {
            max_events: 1_000_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
        },
        with_snippet: false,
    }
}

/// Deserializes `text` into `T`, translating errors.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, ConfigError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| translate(&e, text, file))
}

/// Unwraps snippet and alias wrappers down to the error that happened.
fn original(mut err: &YamlError) -> &YamlError {
    loop {
        match err {
            YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } => {
                err = error;
            }
            other => return other,
        }
    }
}

/// Turns a serde-saphyr error into a positioned configuration error.
pub(crate) fn translate(err: &YamlError, text: &str, file: &str) -> ConfigError {
    let pos = err
        .location()
        .map(Position::from_location)
        .unwrap_or(Position::START);
    let inner = original(err);
    if matches!(inner, YamlError::Eof { .. }) && is_blank(text) {
        return ConfigError::new(
            file,
            Position::START,
            ErrorKind::MissingKey,
            "the configuration is empty; expected at least the key \"policies\"",
        );
    }
    let found = || describe_found(text, pos);
    let (kind, message) = match inner {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => (
            ErrorKind::UnknownKey,
            format!("unknown key \"{field}\" (allowed: {})", expected.join(", ")),
        ),
        YamlError::DuplicateMappingKey { key, .. } => (
            ErrorKind::DuplicateKey,
            match key {
                Some(k) => format!("duplicate key \"{k}\""),
                None => "duplicate key".to_string(),
            },
        ),
        YamlError::SerdeMissingField { field, .. } => (
            ErrorKind::MissingKey,
            format!("missing required key \"{field}\""),
        ),
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => (
            ErrorKind::Value,
            format!(
                "expected one of {}, found \"{variant}\"",
                expected.join(", ")
            ),
        ),
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (
            ErrorKind::Type,
            format!("expected {expected}, found {unexpected}"),
        ),
        YamlError::InvalidScalar { ty, .. } => (
            ErrorKind::Type,
            format!("expected {}, found {}", describe_type(ty), found()),
        ),
        YamlError::InvalidBooleanStrict { .. } => (
            ErrorKind::Type,
            format!("expected true or false, found {}", found()),
        ),
        YamlError::Unexpected { expected, .. } => (
            ErrorKind::Type,
            format!(
                "expected {}, found {}",
                describe_expected(expected),
                found()
            ),
        ),
        YamlError::NullIntoString { .. } => (
            ErrorKind::Type,
            "expected a string, found nothing (an empty value or null)".to_string(),
        ),
        YamlError::Message { msg, .. } => (ErrorKind::Value, msg.clone()),
        YamlError::ExternalMessage { .. } | YamlError::Eof { .. } => (
            ErrorKind::Syntax,
            format!(
                "YAML syntax error: {}",
                UserMessageFormatter.format_message(inner)
            ),
        ),
        YamlError::InvalidUtf8Input => (ErrorKind::Syntax, "the file is not UTF-8".to_string()),
        YamlError::Budget { breach, .. } => (
            ErrorKind::Limit,
            format!("YAML limit exceeded: {}", describe_breach(breach)),
        ),
        YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayStackDepthExceeded { .. }
        | YamlError::AliasReplayCounterOverflow { .. } => (
            ErrorKind::Limit,
            format!(
                "YAML limit exceeded: {}",
                UserMessageFormatter.format_message(inner)
            ),
        ),
        other => (
            ErrorKind::Syntax,
            UserMessageFormatter.format_message(other).into_owned(),
        ),
    };
    ConfigError::new(file, pos, kind, message)
}

/// True for text with nothing but blank lines and comments.
fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    })
}

/// Words for a budget breach.
fn describe_breach(b: &BudgetBreach) -> String {
    match b {
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => {
            format!("{aliases} aliases for {anchors} anchors (at most 10 per anchor)")
        }
        BudgetBreach::Aliases { aliases } => format!("{aliases} aliases"),
        BudgetBreach::Anchors { anchors } => format!("{anchors} anchors"),
        BudgetBreach::Depth { depth } => format!("nesting {depth} deep"),
        BudgetBreach::Events { events } => format!("{events} YAML events"),
        BudgetBreach::Nodes { nodes } => format!("{nodes} nodes"),
        other => format!("{other:?}"),
    }
}

/// Words for the primitive types serde-saphyr names in `InvalidScalar`.
fn describe_type(ty: &str) -> String {
    match ty {
        "u8" => "an integer from 0 to 255".into(),
        "u16" => "an integer from 0 to 65535".into(),
        "u32" => "an integer from 0 to 4294967295".into(),
        "u64" => "a non-negative integer".into(),
        "bool" | "boolean" => "true or false".into(),
        other => format!("a value of type {other}"),
    }
}

/// Words for the structural tokens serde-saphyr names in `Unexpected`.
fn describe_expected(expected: &str) -> String {
    match expected {
        "mapping start" => "a mapping (key: value pairs)".into(),
        "sequence start" => "a list".into(),
        "string scalar" | "scalar" => "a single value".into(),
        other => other.to_string(),
    }
}

/// What the text holds at `pos`: a list, a mapping, or the scalar quoted
/// (at most 40 characters).
fn describe_found(text: &str, pos: Position) -> String {
    let line = usize::try_from(pos.line.saturating_sub(1)).unwrap_or(usize::MAX);
    let col = usize::try_from(pos.column.saturating_sub(1)).unwrap_or(usize::MAX);
    let Some(rest) = text
        .lines()
        .nth(line)
        .map(|l| l.chars().skip(col).collect::<String>())
    else {
        return "nothing".into();
    };
    let rest = rest.trim_start();
    match rest.chars().next() {
        None | Some('#' | ':') => "nothing".into(),
        Some('[') => "a list".into(),
        Some('{') => "a mapping".into(),
        Some('-') if rest.len() == 1 || rest[1..].starts_with(' ') => "a list".into(),
        Some(q @ ('"' | '\'')) => {
            let body: String = rest[1..].chars().take_while(|c| *c != q).take(40).collect();
            format!("\"{body}\"")
        }
        Some(_) => {
            let token: String = rest
                .chars()
                .take_while(|c| !matches!(c, ',' | ']' | '}' | '#'))
                .take(40)
                .collect();
            let token = token.trim_end();
            if token.contains(": ") || token.ends_with(':') {
                "a mapping".into()
            } else {
                format!("\"{token}\"")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u64, column: u64) -> Position {
        Position { line, column }
    }

    #[test]
    fn describes_what_was_found() {
        let text = "a: 70000\nb: [1, 2]\nc: {x: 1}\nd: \"q\"\ne:\n  f: 1\n";
        assert_eq!(describe_found(text, pos(1, 4)), "\"70000\"");
        assert_eq!(describe_found(text, pos(2, 4)), "a list");
        assert_eq!(describe_found(text, pos(3, 4)), "a mapping");
        assert_eq!(describe_found(text, pos(4, 4)), "\"q\"");
        assert_eq!(describe_found(text, pos(6, 3)), "a mapping");
        assert_eq!(describe_found(text, pos(9, 1)), "nothing");
        assert_eq!(describe_found("policies:\n", pos(1, 9)), "nothing");
    }
}
