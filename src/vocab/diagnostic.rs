//! Findings about a plan file: errors and warnings with a source span, a stable code and a hint.

use std::fmt;

use serde::Serialize;

use super::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Said for information; never fails a check.
    Note,
    Warning,
    Error,
}

impl Severity {
    /// `error` or `warning`, as printed.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// What a finding is about: the stable, kebab-case code users see (`as_str`), in the JSON of
/// `check` and `plan` and after `error[…]` in the rendered diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// Not TOML.
    Syntax,
    /// Not a UTF-8 file, or not readable at all.
    Unreadable,
    UnknownKey,
    UnknownOp,
    /// An op in a phase it may not appear in.
    WrongPhase,
    MissingKey,
    /// A value of the wrong type, or a value the key does not accept.
    InvalidValue,
    InvalidDuration,
    /// A backfill whose `set` names no column.
    EmptySet,
    NotNullWithoutDefault,
    NoSteps,
    UnknownColumn,
    /// Two steps doing the same.
    Duplicate,
    /// Steps that undo or break each other.
    Contradiction,
    /// A step the chosen database cannot run.
    Unsupported,
    /// Warning: a step rollback cannot undo.
    Irreversible,
    /// Warning: a backfilled column that nothing fills for rows written meanwhile.
    BackfillWithoutSync,
    /// SQL of the plan that does not parse.
    SqlSyntax,
    /// Note: SQL the offline parser cannot read; the database decides.
    NotCheckedOffline,
    /// SQL the database refuses: an unknown table, column or type, or an expression that does
    /// not type-check (`check -d`, `plan -d`).
    SqlInvalid,
    /// Warning: a `sql` step builds an index on an existing table without `CONCURRENTLY`.
    IndexWithoutConcurrently,
    /// Warning: a `sql` step adds a constraint that is checked under a lock (no `NOT VALID`).
    ConstraintWithoutNotValid,
    /// Warning: a `sql` step runs `SET NOT NULL` directly.
    SetNotNullDirectly,
    /// Warning: a `sql` step rewrites the table (a type change, a volatile default).
    TableRewrite,
    /// Warning: a `sql` step renames a table or a column.
    Rename,
    /// Warning: a `sql` step drops something outside contract.
    DropOutsideContract,
    /// Warning: one transactional `sql` step holds the locks of several DDL statements.
    SeveralDdlInOneTransaction,
    /// Warning: a `sync_column` whose trigger cannot tell every write apart (a target with a
    /// default, a constant `from`).
    SyncInexact,
}

impl Code {
    /// The code as users see it: `unknown-key`, `backfill-without-sync`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::Unreadable => "unreadable",
            Code::UnknownKey => "unknown-key",
            Code::UnknownOp => "unknown-op",
            Code::WrongPhase => "wrong-phase",
            Code::MissingKey => "missing-key",
            Code::InvalidValue => "invalid-value",
            Code::InvalidDuration => "invalid-duration",
            Code::EmptySet => "empty-set",
            Code::NotNullWithoutDefault => "not-null-without-default",
            Code::NoSteps => "no-steps",
            Code::UnknownColumn => "unknown-column",
            Code::Duplicate => "duplicate",
            Code::Contradiction => "contradiction",
            Code::Unsupported => "unsupported",
            Code::Irreversible => "irreversible",
            Code::BackfillWithoutSync => "backfill-without-sync",
            Code::SqlSyntax => "sql-syntax",
            Code::NotCheckedOffline => "not-checked-offline",
            Code::SqlInvalid => "sql-invalid",
            Code::IndexWithoutConcurrently => "index-without-concurrently",
            Code::ConstraintWithoutNotValid => "constraint-without-not-valid",
            Code::SetNotNullDirectly => "set-not-null-directly",
            Code::TableRewrite => "table-rewrite",
            Code::Rename => "rename",
            Code::DropOutsideContract => "drop-outside-contract",
            Code::SeveralDdlInOneTransaction => "several-ddl-in-one-transaction",
            Code::SyncInexact => "sync-inexact",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the code as users see it (`code == "duplicate"`).
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One finding. Line and column are computed from `span` when rendered, against the source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    #[serde(skip)]
    pub span: Option<Span>,
    /// What would be accepted, or what to do instead.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn warning(code: Code, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn note(code: Code, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_users_see_them() {
        for code in [
            Code::UnknownKey,
            Code::NotNullWithoutDefault,
            Code::BackfillWithoutSync,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
        }
    }
}
