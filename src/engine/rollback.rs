//! `rollback`: undo a plan's applied steps in reverse order, back to before a phase; refuse
//! before changing anything when an irreversible step stands in the way.

use std::time::Instant;

use super::apply::prepare_ledger;
use super::backend::{Backend, RunLock};
use super::context::{step_ref, StepContext};
use super::error::EngineError;
use super::ledger::{PlanLedger, StepRecord, StepState};
use super::reporter::{Event, Reporter};
use super::step;
use super::{Confirm, Confirmation, ErrorKind, PlanRun, StopSignal};
use crate::ops::planned::{PlannedStep, Undo};
use crate::plan::model::Phase;

#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    /// Undo back to before this phase (default: everything).
    pub to: Option<Phase>,
    pub yes: bool,
    pub allow_changed: bool,
    pub application_name: String,
    pub stop: StopSignal,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollbackSummary {
    /// Steps undone, last first: (phase, index).
    pub undone: Vec<(Phase, usize)>,
    /// Nothing was applied (or the ledger does not exist).
    pub nothing_to_do: bool,
    /// The person asked said no.
    pub declined: bool,
}

pub async fn run<B: Backend>(
    url: &str,
    run: &PlanRun,
    options: &RollbackOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<RollbackSummary, EngineError> {
    let mut backend = B::connect(url, &options.application_name).await?;
    let result = locked(&mut backend, run, options, reporter, confirm).await;
    let closed = backend.close().await;
    let summary = result?;
    closed?;
    Ok(summary)
}

async fn locked<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    options: &RollbackOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<RollbackSummary, EngineError> {
    if let RunLock::HeldBy(holder) = backend.try_run_lock().await? {
        return Err(EngineError::RunLocked { holder });
    }
    let result = undo_plan(backend, run, options, reporter, confirm).await;
    let released = backend.release_run_lock().await;
    let summary = result?;
    released?;
    Ok(summary)
}

/// Whether a step is (possibly) in the database and so must be undone.
fn needs_undo(record: &StepRecord, planned: &PlannedStep) -> bool {
    match record.state {
        StepState::Applied | StepState::Running => true,
        // A failed backfill keeps its checkpoint; rolling back forgets it.
        StepState::Failed => step::is_backfill(planned) && record.checkpoint.is_some(),
        StepState::Pending | StepState::RolledBack => false,
    }
}

async fn undo_plan<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    options: &RollbackOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<RollbackSummary, EngineError> {
    let plan = &run.plan;
    let nothing = || {
        reporter.report(Event::NothingToDo {
            plan: plan.name.clone(),
        });
        Ok(RollbackSummary {
            nothing_to_do: true,
            ..RollbackSummary::default()
        })
    };
    if !backend.ledger_exists().await? {
        return nothing();
    }
    let Some(recorded) = backend.read_ledger(Some(&plan.name)).await?.pop() else {
        return nothing();
    };
    if recorded.plan.checksum != plan.checksum && recorded.is_started() && !options.allow_changed {
        return Err(EngineError::ChecksumChanged {
            plan: plan.name.clone(),
            recorded: recorded.plan.checksum.clone(),
            current: plan.checksum.clone(),
        });
    }
    let from = options.to.unwrap_or(Phase::Expand);
    let targets: Vec<(&PlannedStep, &StepRecord)> = run
        .steps
        .iter()
        .rev()
        .filter(|s| s.phase >= from)
        .filter_map(|s| recorded.step(s.phase, s.index).map(|r| (s, r)))
        .filter(|(s, r)| needs_undo(r, s))
        .collect();
    // Steps the ledger has as applied that the plan file no longer has: cannot be undone.
    if let Some(orphan) = recorded.steps.iter().find(|r| {
        r.phase >= from
            && matches!(r.state, StepState::Applied | StepState::Running)
            && !run
                .steps
                .iter()
                .any(|s| s.phase == r.phase && s.index == r.index)
    }) {
        return Err(EngineError::refused(
            ErrorKind::Invalid,
            format!(
                "step {} of {} (`{} {}`) is applied but no longer in the plan file, so its undo is unknown; nothing was changed",
                orphan.index + 1,
                orphan.phase,
                orphan.op,
                orphan.target
            ),
        ));
    }
    if targets.is_empty() {
        return nothing();
    }
    if let Some((planned, _)) = targets
        .iter()
        .find(|(s, _)| matches!(s.planned.undo, Undo::Irreversible(_)))
    {
        let why = match &planned.planned.undo {
            Undo::Irreversible(why) => why.clone(),
            _ => String::new(),
        };
        let later = Phase::ALL
            .into_iter()
            .find(|p| *p > planned.phase && run.steps.iter().any(|s| s.phase == *p));
        let advice = match later {
            Some(phase) => format!(
                "`--to {phase}` rolls back only the phases after it; what it changed can only be restored from a backup."
            ),
            None => "What it changed can only be restored from a backup.".to_string(),
        };
        return Err(EngineError::refused(
            ErrorKind::Invalid,
            format!(
                "cannot roll back plan `{}`: step {} of {} (`{} {}`) is irreversible ({why}); nothing was changed. {advice}",
                plan.name,
                planned.index + 1,
                planned.phase,
                planned.op,
                planned.target
            ),
        ));
    }
    if !options.yes {
        let question = format!(
            "Roll back {} step(s) of `{}`{}?",
            targets.len(),
            plan.name,
            match options.to {
                Some(phase) => format!(" back to before {phase}"),
                None => String::new(),
            }
        );
        match confirm.confirm(&question) {
            Confirmation::Yes => {}
            Confirmation::No => {
                reporter.report(Event::Notice {
                    message: "rollback not confirmed; nothing was changed".into(),
                });
                return Ok(RollbackSummary {
                    declined: true,
                    ..RollbackSummary::default()
                });
            }
            Confirmation::NoTerminal => {
                return Err(EngineError::refused(
                    ErrorKind::Invalid,
                    "rollback asks for confirmation and there is no terminal to ask on; pass --yes; nothing was changed",
                ))
            }
        }
    }

    // From here on the ledger is the plan's own (steps of the current file).
    let mut ledger: PlanLedger =
        prepare_ledger(backend, run, true, &super::reporter::Silent).await?;
    let started = Instant::now();
    reporter.report(Event::RollbackStarted {
        plan: plan.name.clone(),
        steps: targets.len(),
    });
    let mut summary = RollbackSummary::default();
    for (planned, _) in targets {
        let context = StepContext {
            plan: &run.plan,
            step: step_ref(&plan.name, planned),
            config: &run.config,
            reporter,
            stop: &options.stop,
        };
        if options.stop.is_stopped() {
            return Err(EngineError::Interrupted {
                message: format!(
                    "rollback stopped before {}; run `bellows rollback` again to continue",
                    context.describe()
                ),
            });
        }
        let Some(record) = ledger
            .steps
            .iter_mut()
            .find(|r| r.phase == planned.phase && r.index == planned.index)
        else {
            continue;
        };
        let step_started = Instant::now();
        match step::undo(backend, &context, planned, record).await {
            Ok(()) => {
                record.state = StepState::RolledBack;
                record.finished_at = step::now();
                record.error = None;
                record.actions_done = 0;
                record.checkpoint = None;
                record.rows_done = 0;
                record.captures.clear();
                backend.save_step(&plan.name, record).await?;
                reporter.report(Event::StepUndone {
                    step: context.step.clone(),
                    duration: step_started.elapsed(),
                });
                summary.undone.push((planned.phase, planned.index));
            }
            Err(error) => {
                let hint = format!(
                    "steps after it are rolled back; {} is still applied: fix the cause and run `bellows rollback` again",
                    context.describe()
                );
                record.error = Some(format!("rollback failed: {}", error.message));
                let _ = backend.save_step(&plan.name, record).await;
                reporter.report(Event::UndoFailed {
                    step: context.step.clone(),
                    error: error.message.clone(),
                    hint: hint.clone(),
                });
                let message = format!(
                    "rolling back {} of plan `{}` failed: {}\n  {hint}",
                    context.describe(),
                    plan.name,
                    error.message
                );
                return Err(match error.kind {
                    ErrorKind::Locked => EngineError::LockRetriesExhausted { message },
                    ErrorKind::Interrupted => EngineError::Interrupted { message },
                    _ => EngineError::StepFailed { message },
                });
            }
        }
    }
    reporter.report(Event::PlanDone {
        plan: plan.name.clone(),
        duration: started.elapsed(),
    });
    Ok(summary)
}
