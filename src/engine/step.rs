//! Executing one step: its actions in order (apply), or its undo (compensation, rollback).

use super::backend::{Backend, Limits};
use super::backfill;
use super::error::EngineError;
use super::ledger::StepRecord;
use super::reporter::Event;
use super::retry::{self, Attempt, Position};
use super::ErrorKind;
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, GuardQuery, PlannedStep, RebuildChange, Statement, TableRebuild,
    Undo,
};

use super::context::{StepContext, StepError};

fn ledger_error(error: EngineError) -> StepError {
    StepError::from_engine(&error)
}

/// Runs a guard and reports its result; `Err` (kind `Guard`) when it does not hold.
pub async fn check_guard<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    guard: &GuardQuery,
) -> Result<(), StepError> {
    run_guard(backend, ctx, guard, true).await
}

/// A step's guard checked again when the step runs (rows may have changed since its phase's
/// guards ran): said only if it now fails, so a passing guard is reported once.
async fn recheck_guard<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    guard: &GuardQuery,
) -> Result<(), StepError> {
    run_guard(backend, ctx, guard, false).await
}

async fn run_guard<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    guard: &GuardQuery,
    report_pass: bool,
) -> Result<(), StepError> {
    let limits = retry::limits_for(crate::dialect::planned::LockPolicy::Plain, ctx.config);
    let value = backend.guard(guard, limits).await.map_err(|e| match e {
        super::backend::AttemptError::Engine(e) => StepError::from_engine(&e),
        super::backend::AttemptError::Failed(e) => StepError::database(&e, Some(&guard.query))
            .context(&format!("guard `{}` could not run", guard.description)),
        other => StepError::new(
            ErrorKind::Failed,
            format!("guard `{}` could not run: {other}", guard.description),
        ),
    })?;
    let passed = match (guard.expect, &value) {
        (
            crate::dialect::planned::Expect::Integer(n),
            super::backend::GuardValue::Integer(found),
        ) => n == *found,
        (
            crate::dialect::planned::Expect::Boolean(b),
            super::backend::GuardValue::Boolean(found),
        ) => b == *found,
        _ => false,
    };
    if passed && !report_pass {
        return Ok(());
    }
    ctx.reporter.report(Event::GuardChecked {
        step: ctx.step.clone(),
        description: guard.description.clone(),
        query: guard.query.clone(),
        expected: guard.expect.to_string(),
        found: value.to_string(),
        passed,
    });
    if passed {
        Ok(())
    } else {
        Err(StepError::new(
            ErrorKind::Guard,
            format!(
                "guard failed: {}: expected {}, found {value}\n  query: {}",
                guard.description,
                guard.expect,
                one_line(&guard.query)
            ),
        ))
    }
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs the step's actions after the `record.actions_done` already done, recording progress
/// in `record` (and the ledger) after each.
pub async fn apply<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    planned: &PlannedStep,
    record: &mut StepRecord,
) -> Result<(), StepError> {
    for (i, action) in planned.planned.actions.iter().enumerate() {
        if i < record.actions_done {
            continue;
        }
        if ctx.stop.is_stopped() {
            return Err(StepError::new(
                ErrorKind::Interrupted,
                format!("stopped before action {} of {}", i + 1, ctx.describe()),
            ));
        }
        let at = Position::action(i + 1);
        match action {
            Action::Execute(statement) => {
                retry::run(backend, ctx, Attempt::Statement(statement), at).await?;
            }
            Action::Guard(guard) => recheck_guard(backend, ctx, guard).await?,
            Action::Capture(capture) => {
                let limits =
                    retry::limits_for(crate::dialect::planned::LockPolicy::Plain, ctx.config);
                let value = backend.capture(capture, limits).await.map_err(|e| {
                    StepError::new(
                        ErrorKind::Failed,
                        format!("could not save {}: {e}", capture.description),
                    )
                })?;
                let Some(value) = value else {
                    let why = explain_missing(backend, capture, limits).await;
                    return Err(StepError::new(
                        ErrorKind::Failed,
                        format!("could not save {}: {why}", capture.description),
                    ));
                };
                record.captures.insert(capture.name.to_string(), value);
                ctx.reporter.report(Event::CaptureSaved {
                    step: ctx.step.clone(),
                    name: capture.name.to_string(),
                    description: capture.description.clone(),
                });
            }
            Action::ExecuteSaved(saved) => {
                let statement = saved_statement(saved, record)?;
                retry::run(backend, ctx, Attempt::Statement(&statement), at).await?;
            }
            Action::Backfill(plan) => backfill::run(backend, ctx, plan, record).await?,
            Action::Rebuild(rebuild) => {
                let saved = saved_definition(rebuild, record)?;
                retry::run(backend, ctx, Attempt::Rebuild(rebuild, saved), at).await?
            }
        }
        record.action_done(i + 1);
        backend
            .save_step(&ctx.step.plan, record)
            .await
            .map_err(ledger_error)?;
    }
    Ok(())
}

/// Why a capture found nothing: its `missing` query's answer, or the default guess.
async fn explain_missing<B: Backend>(backend: &mut B, capture: &Capture, limits: Limits) -> String {
    const DEFAULT: &str = "the query returned nothing (does it exist?)";
    let Some(query) = &capture.missing else {
        return DEFAULT.into();
    };
    let explain = Capture {
        query: query.clone(),
        missing: None,
        ..capture.clone()
    };
    match backend.capture(&explain, limits).await {
        Ok(Some(why)) => why,
        _ => DEFAULT.into(),
    }
}

/// Runs the step's undo, after the undo actions an interrupted run already completed, recording
/// each in `record` (and the ledger) as it completes: a transactional statement in its own
/// transaction, anything else right after it. `Err` when an action failed or the step cannot be
/// undone. The caller records the step undone.
pub async fn undo<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    planned: &PlannedStep,
    record: &mut StepRecord,
) -> Result<(), StepError> {
    let actions = match &planned.planned.undo {
        Undo::Nothing(_) => return Ok(()),
        Undo::Irreversible(why) => {
            return Err(StepError::new(
                ErrorKind::Failed,
                format!("{} cannot be undone: {why}", ctx.describe()),
            ))
        }
        Undo::Actions(actions) => actions,
    };
    if !record.is_being_undone() {
        record.undo_started();
        backend
            .save_step(&ctx.step.plan, record)
            .await
            .map_err(ledger_error)?;
    }
    for (i, action) in actions.iter().enumerate() {
        if i < record.undo_done.unwrap_or(0) {
            continue;
        }
        undo_action(backend, ctx, action, record, Position::undo(i + 1)).await?;
        record.undo_action_done(i + 1);
        backend
            .save_step(&ctx.step.plan, record)
            .await
            .map_err(ledger_error)?;
    }
    Ok(())
}

/// One action of an undo.
async fn undo_action<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    action: &Action,
    record: &StepRecord,
    at: Position,
) -> Result<(), StepError> {
    match action {
        Action::Execute(statement) => {
            retry::run(backend, ctx, Attempt::Statement(statement), at).await
        }
        Action::ExecuteSaved(saved) => {
            let statement = saved_statement(saved, record)?;
            retry::run(backend, ctx, Attempt::Statement(&statement), at).await
        }
        Action::Guard(guard) => check_guard(backend, ctx, guard).await,
        Action::Rebuild(rebuild) => {
            let saved = saved_definition(rebuild, record)?;
            retry::run(backend, ctx, Attempt::Rebuild(rebuild, saved), at).await
        }
        Action::Capture(_) | Action::Backfill(_) => Err(StepError::new(
            ErrorKind::Failed,
            format!(
                "the undo of {} contains an action the engine cannot run backwards",
                ctx.describe()
            ),
        )),
    }
}

/// The statement an `ExecuteSaved` runs: the SQL saved when the step was applied.
fn saved_statement(saved: &ExecuteSaved, record: &StepRecord) -> Result<Statement, StepError> {
    let sql = record.captures.get(saved.name).ok_or_else(|| {
        StepError::new(
            ErrorKind::Failed,
            format!(
                "the ledger has no saved `{}` ({}) for this step; it cannot be recreated automatically",
                saved.name, saved.description
            ),
        )
    })?;
    Ok(Statement {
        sql: sql.clone(),
        lock: saved.lock,
        table: saved.table.clone(),
        effect: saved.effect,
        transaction: saved.transaction,
        policy: saved.policy,
        special: saved.special.clone(),
    })
}

/// The table definition a `RestoreDefinition` rebuild goes back to: saved in the ledger by the
/// step's capture when it was applied. `None` for other rebuilds.
fn saved_definition<'r>(
    rebuild: &TableRebuild,
    record: &'r StepRecord,
) -> Result<Option<&'r str>, StepError> {
    let RebuildChange::RestoreDefinition { saved } = &rebuild.change else {
        return Ok(None);
    };
    record
        .captures
        .get(*saved)
        .map(|sql| Some(sql.as_str()))
        .ok_or_else(|| {
            StepError::new(
                ErrorKind::Failed,
                format!(
                    "the ledger has no saved `{saved}` (the definition of {} before the step); it cannot be restored automatically",
                    rebuild.table
                ),
            )
        })
}

/// Whether a step only checks (its actions are all guards): applied once its guards pass.
pub fn is_guard_only(planned: &PlannedStep) -> bool {
    !planned.planned.actions.is_empty()
        && planned
            .planned
            .actions
            .iter()
            .all(|a| matches!(a, Action::Guard(_)))
}

/// Whether a step walks a table in batches (its failure keeps the checkpoint and is not
/// compensated: the next `apply` resumes it).
pub fn is_backfill(planned: &PlannedStep) -> bool {
    planned
        .planned
        .actions
        .iter()
        .any(|a| matches!(a, Action::Backfill(_)))
}
