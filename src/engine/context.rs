//! What one step's execution carries: its [`StepContext`] (plan, configuration, reporter, stop
//! signal) and its [`StepError`]. Shared by the step runner, the retry loop and the backfill
//! loop, below all three.

use super::error::EngineError;
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
}

impl StepError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> StepError {
        StepError {
            kind,
            message: message.into(),
            left_something: false,
            needs_fix: false,
        }
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
