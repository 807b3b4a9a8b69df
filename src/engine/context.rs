//! What one step's execution carries: its [`StepContext`] (plan, configuration, reporter, stop
//! signal) and its [`StepError`]. Shared by the step runner, the retry loop and the backfill
//! loop, below all three.

use super::error::{DbError, EngineError};
use super::ledger::StepKey;
use super::reporter::{Reporter, StepRef};
use super::{ErrorKind, StopSignal};
use crate::config::Config;
use crate::dialect::planned::PlannedStep;
use crate::plan::Plan;

/// Everything a step's execution needs besides the backend.
pub struct StepContext<'a> {
    pub plan: &'a Plan,
    pub step: StepRef,
    pub config: &'a Config,
    pub reporter: &'a dyn Reporter,
    pub stop: &'a StopSignal,
}

impl StepContext<'_> {
    pub fn key(&self) -> StepKey<'_> {
        StepKey {
            plan: &self.step.plan,
            phase: self.step.phase,
            index: self.step.index,
        }
    }

    /// "step 2 of expand (`add_column users.email_verified`)".
    pub fn describe(&self) -> String {
        describe_step(&self.step)
    }
}

pub fn describe_step(step: &StepRef) -> String {
    format!(
        "step {} of {} (`{} {}`)",
        step.index + 1,
        step.phase,
        step.op,
        step.target
    )
}

pub fn step_ref(plan: &str, planned: &PlannedStep) -> StepRef {
    StepRef {
        plan: plan.to_string(),
        phase: planned.phase,
        index: planned.index,
        op: planned.op.to_string(),
        target: planned.target.clone(),
    }
}

/// Why a step did not complete.
#[derive(Debug, Clone, PartialEq)]
pub struct StepError {
    pub kind: ErrorKind,
    pub message: String,
    /// The failing action ran outside a transaction and may have left something behind
    /// (an INVALID index, half of a `transaction = false` script).
    pub left_something: bool,
    /// Running `apply` again unchanged cannot succeed: the plan or the schema must change
    /// first (a backfill without a usable key). No "run it again to resume" advice.
    pub needs_fix: bool,
    /// What the database said, when the step failed on a database error.
    pub db: Option<Box<DbError>>,
    /// The statement the database refused (to find the plan's own SQL in it).
    pub statement: Option<String>,
}

impl StepError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> StepError {
        StepError {
            kind,
            message: message.into(),
            left_something: false,
            needs_fix: false,
            db: None,
            statement: None,
        }
    }

    /// A statement the database refused: keeps the server's error whole. An error in the SQL
    /// itself or in the data it computes fails the same way on every run, so it needs a fix.
    pub fn database(error: &sqlx::Error, statement: Option<&str>) -> StepError {
        let db = DbError::from_sqlx(error).map(Box::new);
        let mut step_error = StepError::new(ErrorKind::Failed, super::error::db_message(error));
        step_error.needs_fix = db.as_deref().is_some_and(DbError::is_in_the_sql);
        step_error.db = db;
        step_error.statement = statement.map(str::to_string);
        step_error
    }

    /// Prefixes the message ("backfill batch failed: …"), keeping everything else.
    pub fn context(mut self, prefix: &str) -> StepError {
        self.message = format!("{prefix}: {}", self.message);
        self
    }

    /// Marks an error that a re-run cannot fix (see [`StepError::needs_fix`]).
    pub fn needs_fix(mut self) -> StepError {
        self.needs_fix = true;
        self
    }

    pub fn left_something(mut self, yes: bool) -> StepError {
        self.left_something = yes;
        self
    }

    pub fn from_engine(error: &EngineError) -> StepError {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        StepError::new(error.kind(), message)
    }
}
