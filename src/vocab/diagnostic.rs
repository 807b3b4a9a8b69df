//! Findings about a plan file: errors and warnings with a source span, a stable code and a hint.

use serde::Serialize;

use super::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    /// `error` or `warning`, as printed.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding. Line and column are computed from `span` when rendered, against the source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case. Errors: `syntax` (not TOML), `unreadable` (not a UTF-8 file),
    /// `unknown-key`, `unknown-op`, `wrong-phase`, `missing-key`, `invalid-value` (wrong type or
    /// value), `invalid-duration`, `empty-set`, `not-null-without-default`, `no-steps`,
    /// `unknown-column`, `duplicate` (two steps doing the same), `contradiction` (steps that undo
    /// or break each other). Warnings: `irreversible`, `backfill-without-sync`.
    pub code: &'static str,
    pub message: String,
    #[serde(skip)]
    pub span: Option<Span>,
    /// What would be accepted, or what to do instead.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn warning(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
