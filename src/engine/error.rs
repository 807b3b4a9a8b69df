//! Errors of the engine, each with the kind of exit it maps to (the CLI owns the exit codes).

use crate::dialect::Unsupported;

/// How an engine error ends the process; the CLI maps these to its exit codes.
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
            EngineError::StepFailed { .. } => ErrorKind::Failed,
            EngineError::Refused { kind, .. } => *kind,
            EngineError::Unsupported(_) => ErrorKind::Invalid,
            EngineError::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }

    pub fn database(context: impl Into<String>, source: sqlx::Error) -> EngineError {
        EngineError::Database {
            context: context.into(),
            error: source,
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
    match error {
        sqlx::Error::Database(db) => {
            let mut text = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    text.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = pg.hint() {
                    text.push_str(&format!("; hint: {hint}"));
                }
            }
            text
        }
        other => other.to_string(),
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
