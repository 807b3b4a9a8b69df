//! Errors of the engine, each with the kind of exit it maps to (the CLI owns the exit codes).

use std::path::PathBuf;

use serde::Serialize;

use crate::dialect::Unsupported;
use crate::vocab::Span;

/// How an engine error ends the process; the CLI maps these to exit codes (README.md, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A step failed (its phase was compensated) or the database errored: exit 1.
    Failed,
    /// The invocation cannot be carried out as asked (changed plan, irreversible step, missing
    /// `--yes`): exit 2.
    Invalid,
    /// A guard did not hold: exit 3.
    Guard,
    /// Another run holds the lock, or lock retries ran out: exit 4.
    Locked,
    /// Interrupted by a signal: exit 130.
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "cannot connect to the database: {}{}",
        db_message(error),
        hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default()
    )]
    Connect {
        error: sqlx::Error,
        /// How to fix it, when we can tell.
        hint: Option<String>,
    },

    #[error("{context}: {}", db_message(error))]
    Database { context: String, error: sqlx::Error },

    #[error("another bellows run holds the lock on this database: {holder}")]
    RunLocked { holder: String },

    #[error("{message}")]
    LockRetriesExhausted { message: String },

    #[error("{message}")]
    GuardFailed { message: String },

    #[error(
        "plan `{plan}` changed since it was started: the ledger records checksum {recorded}, \
         the file now has {current}; pass --allow-changed to run it anyway"
    )]
    ChecksumChanged {
        plan: String,
        recorded: String,
        current: String,
    },

    /// Steps already in the database are no longer the same in the plan file.
    #[error("{}", steps_changed(plan, steps))]
    StepsChanged {
        plan: String,
        steps: Vec<super::ledger::ChangedStep>,
    },

    /// A step failed; its phase has been compensated (or the report says what needs a hand).
    #[error("{message}")]
    StepFailed { message: String },

    /// Refused before changing anything (irreversible step, unconfirmed contract, …).
    #[error("{message}")]
    Refused { message: String, kind: ErrorKind },

    #[error(transparent)]
    Unsupported(#[from] Unsupported),

    #[error("interrupted; {message}")]
    Interrupted { message: String },

    /// An error of one step, with where the step is in its plan file (and the database's
    /// error whole): the CLI draws it like a plan diagnostic.
    #[error("{error}")]
    AtStep {
        error: Box<EngineError>,
        at: Box<StepFailure>,
    },
}

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Connect { .. } | EngineError::Database { .. } => ErrorKind::Failed,
            EngineError::RunLocked { .. } | EngineError::LockRetriesExhausted { .. } => {
                ErrorKind::Locked
            }
            EngineError::GuardFailed { .. } => ErrorKind::Guard,
            EngineError::ChecksumChanged { .. } => ErrorKind::Invalid,
            EngineError::StepsChanged { .. } => ErrorKind::Invalid,
            EngineError::StepFailed { .. } => ErrorKind::Failed,
            EngineError::Refused { kind, .. } => *kind,
            EngineError::Unsupported(_) => ErrorKind::Invalid,
            EngineError::Interrupted { .. } => ErrorKind::Interrupted,
            EngineError::AtStep { error, .. } => error.kind(),
        }
    }

    pub fn database(context: impl Into<String>, source: sqlx::Error) -> EngineError {
        EngineError::Database {
            context: context.into(),
            error: source,
        }
    }

    /// The error that ends a run because a step failed, by the step error's kind.
    pub fn of_step(kind: ErrorKind, message: String) -> EngineError {
        match kind {
            ErrorKind::Locked => EngineError::LockRetriesExhausted { message },
            ErrorKind::Guard => EngineError::GuardFailed { message },
            ErrorKind::Interrupted => EngineError::Interrupted { message },
            _ => EngineError::StepFailed { message },
        }
    }

    /// Attaches where the failed step is in its plan (nothing when it cannot be located).
    pub fn at_step(self, at: Option<StepFailure>) -> EngineError {
        match at {
            Some(at) => EngineError::AtStep {
                error: Box::new(self),
                at: Box::new(at),
            },
            None => self,
        }
    }

    /// Where the failed step is in its plan, if this error is a step's.
    pub fn step_failure(&self) -> Option<&StepFailure> {
        match self {
            EngineError::AtStep { at, .. } => Some(at),
            _ => None,
        }
    }

    pub fn refused(kind: ErrorKind, message: impl Into<String>) -> EngineError {
        EngineError::Refused {
            message: message.into(),
            kind,
        }
    }
}

/// A database error as a person should read it: the server's message with its detail and
/// hint, without sqlx's "error returned from database:" prefix.
pub fn db_message(error: &sqlx::Error) -> String {
    match DbError::from_sqlx(error) {
        Some(db) => db.to_string(),
        None => error.to_string(),
    }
}

/// The refusal of a plan whose applied steps changed: each step, each key old → new.
fn steps_changed(plan: &str, steps: &[super::ledger::ChangedStep]) -> String {
    let mut text = format!(
        "plan `{plan}` changed a step that is already in the database (only comments, formatting, \
         pending steps and a backfill's pacing may change):"
    );
    for step in steps {
        text.push_str(&format!(
            "\n  {} step {} ({}):",
            step.phase,
            step.index + 1,
            step.what
        ));
        for (key, old, new) in &step.keys {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
            text.push_str(&format!("\n    {key}: {} → {}", show(old), show(new)));
        }
    }
    text.push_str(
        "\n  hint: put the step back as it was and make the change in a new plan, or roll the \
         plan back first; --allow-changed runs the file as it is now",
    );
    text
}

/// What the database said about a failed statement, as data: kept whole until the CLI draws
/// it (and puts the fields in the JSON `error` event).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbError {
    pub message: String,
    /// The five-character SQLSTATE (PostgreSQL, MySQL).
    pub sqlstate: Option<String>,
    /// The database's own error code (SQLite's result code, MySQL's error number).
    pub code: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement where the server found the error.
    pub position: Option<usize>,
    pub constraint: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
}

impl DbError {
    /// The server's error, or `None` for errors that never reached a database (I/O, TLS, …).
    pub fn from_sqlx(error: &sqlx::Error) -> Option<DbError> {
        let sqlx::Error::Database(db) = error else {
            return None;
        };
        let mut found = DbError {
            message: db.message().to_string(),
            code: db.code().map(|c| c.to_string()),
            constraint: db.constraint().map(str::to_string),
            table: db.table().map(str::to_string),
            ..DbError::default()
        };
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            found.sqlstate = found.code.take();
            found.detail = pg.detail().map(str::to_string);
            found.hint = pg.hint().map(str::to_string);
            found.column = pg.column().map(str::to_string);
            found.position = match pg.position() {
                Some(sqlx::postgres::PgErrorPosition::Original(at)) => Some(at),
                _ => None,
            };
        }
        if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            // NOTE: sqlx gives MySQL's SQLSTATE as the code; its own error number is the code.
            found.sqlstate = found.code.take();
            found.code = Some(my.number().to_string());
        }
        Some(found)
    }

    /// The SQLSTATE class: `42` (syntax error or access rule violation), `22` (data), ….
    pub fn class(&self) -> Option<&str> {
        self.sqlstate.as_deref().and_then(|code| code.get(..2))
    }

    /// Whether running the same statement again cannot succeed: an error in the SQL itself
    /// (syntax, unknown column, function or type) or in the data it computes.
    pub fn is_in_the_sql(&self) -> bool {
        // NOTE: SQLite reports syntax errors, unknown columns, functions and tables all as
        // SQLITE_ERROR (1); constraint failures, busy and I/O errors have codes of their own.
        matches!(self.class(), Some("42" | "22")) || self.code.as_deref() == Some("1")
    }
}

impl std::fmt::Display for DbError {
    /// `message (detail); hint: hint`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

/// Adds "while …" context to database errors.
pub trait DbContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T, EngineError>;
}

impl<T> DbContext<T> for Result<T, sqlx::Error> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T, EngineError> {
        self.map_err(|source| EngineError::database(context(), source))
    }
}

/// A failed step, located in its plan, with the database's error kept whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFailure {
    /// The plan file.
    pub file: PathBuf,
    /// The step's table in the file.
    #[serde(skip)]
    pub span: Span,
    /// What the database said, when it was a database error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<DbError>,
    /// The plan's own SQL the error lies in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<FailedExpression>,
}

/// A piece of the plan's SQL: the key it is the value of, and its text as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedExpression {
    pub key: &'static str,
    pub text: String,
    /// The bytes of `text` the error is about (the token the server pointed at, or the name
    /// its message quotes), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focus: Option<std::ops::Range<usize>>,
}
