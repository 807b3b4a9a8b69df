//! `apply`: run the pending phases of each plan in order, recording every step in the ledger,
//! compensating a phase whose step fails.

use std::time::{Instant, SystemTime};

use super::backend::Backend;
use super::context::{step_ref, StepContext, StepError};
use super::error::EngineError;
use super::failure;
use super::ledger::{PlanLedger, PlanRecord, StepRecord, StepState};
use super::reporter::{Event, Reporter, StepOutcome};
use super::session;
use super::step;
use super::{Confirm, Confirmation, ErrorKind, PlanRun, StopSignal};
use crate::dialect::planned::{Action, PlannedStep, Special};
use crate::vocab::Phase;

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Stop after this phase (default: all).
    pub to: Option<Phase>,
    /// Do not ask before `contract`.
    pub yes: bool,
    /// Run plans whose file changed since they were started.
    pub allow_changed: bool,
    /// Names the run to other sessions (`bellows apply 0001_users`).
    pub application_name: String,
    pub stop: StopSignal,
}

/// What a run did, per plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplySummary {
    /// Plans with nothing left to do up to `--to`.
    pub up_to_date: Vec<String>,
    /// (plan, phases applied by this run).
    pub applied: Vec<(String, Vec<Phase>)>,
    /// The run stopped before this phase of this plan (declined confirmation).
    pub stopped_before: Option<(String, Phase)>,
}

/// The whole run: connect, lock, ledger, plans in order; the lock is released on every path.
pub async fn run<B: Backend>(
    url: &str,
    plans: &[PlanRun],
    options: &ApplyOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<ApplySummary, EngineError> {
    session::connected(url, &options.application_name, async |backend: &mut B| {
        session::with_run_lock(backend, async |backend: &mut B| {
            backend.create_ledger().await?;
            let mut summary = ApplySummary::default();
            for run in plans {
                let stopped =
                    apply_plan(backend, run, options, reporter, confirm, &mut summary).await?;
                if stopped {
                    break;
                }
            }
            Ok(summary)
        })
        .await
    })
    .await
}

/// Reads the plan's ledger, checks its checksum and makes a row for every step.
pub(crate) async fn prepare_ledger<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    allow_changed: bool,
    reporter: &dyn Reporter,
) -> Result<PlanLedger, EngineError> {
    let plan = &run.plan;
    let existing = backend.read_ledger(Some(&plan.name)).await?.pop();
    if let Some(ledger) = &existing {
        if super::ledger::refuse_edits(ledger, plan, allow_changed)? {
            reporter.report(Event::ChecksumChangedAllowed {
                plan: plan.name.clone(),
                recorded: ledger.plan.checksum.clone(),
                current: plan.checksum.clone(),
            });
        }
    }
    let record = PlanRecord {
        name: plan.name.clone(),
        checksum: plan.checksum.clone(),
        path: plan.path.display().to_string(),
        started_at: existing.as_ref().and_then(|l| l.plan.started_at),
        updated_at: Some(SystemTime::now()),
    };
    backend.save_plan(&record).await?;
    let mut steps = Vec::new();
    for planned in &run.steps {
        let known = existing
            .as_ref()
            .and_then(|l| l.step(planned.phase, planned.index))
            .cloned();
        // NOTE: past the check above, the file's definition of every step is the one to
        // remember: settled steps are unchanged (or --allow-changed said so), the others may
        // change freely.
        let definition = plan
            .steps
            .iter()
            .find(|s| s.phase == planned.phase && s.index == planned.index)
            .map(|s| s.op.definition());
        let record = match known {
            Some(mut record) => {
                if record.op != planned.op
                    || record.target != planned.target
                    || record.definition != definition
                {
                    record.op = planned.op.to_string();
                    record.target = planned.target.clone();
                    record.definition = definition;
                    backend.save_step(&plan.name, &record).await?;
                }
                record
            }
            None => {
                let mut record =
                    StepRecord::pending(planned.phase, planned.index, planned.op, &planned.target);
                record.definition = definition;
                backend.save_step(&plan.name, &record).await?;
                record
            }
        };
        steps.push(record);
    }
    if existing.is_some_and(|l| l.steps.len() != steps.len()) {
        let keep: Vec<(Phase, usize)> = steps.iter().map(|s| (s.phase, s.index)).collect();
        backend.delete_steps_except(&plan.name, &keep).await?;
    }
    Ok(PlanLedger {
        plan: record,
        steps,
    })
}

/// The contract question: each step it will run (what it destroys), then a short last line,
/// the prompt itself (short, so that a terminal never wraps and redraws it).
fn contract_question(run: &PlanRun) -> String {
    let mut text = format!(
        "The contract phase of `{}` is destructive; the application must no longer use the old shape. It runs:\n",
        run.plan.name
    );
    for step in run.steps.iter().filter(|s| s.phase == Phase::Contract) {
        text.push_str(&format!(
            "  {}. {} {}\n",
            step.index + 1,
            step.op,
            step.target
        ));
    }
    text.push_str(&format!("Apply the contract phase of `{}`?", run.plan.name));
    text
}

/// The phases of `run` up to `to` with a step not yet applied.
pub(crate) fn pending_phases(run: &PlanRun, ledger: &PlanLedger, to: Option<Phase>) -> Vec<Phase> {
    Phase::ALL
        .into_iter()
        .filter(|phase| to.is_none_or(|to| *phase <= to))
        .filter(|phase| {
            run.steps.iter().any(|s| {
                s.phase == *phase
                    && ledger
                        .step(s.phase, s.index)
                        .is_none_or(|r| r.state != StepState::Applied || r.is_being_undone())
            })
        })
        .collect()
}

/// Applies one plan's pending phases. `Ok(true)`: the run stopped on purpose before a phase.
async fn apply_plan<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
    summary: &mut ApplySummary,
) -> Result<bool, EngineError> {
    let plan = &run.plan;
    let started = Instant::now();
    let mut ledger = prepare_ledger(backend, run, options.allow_changed, reporter).await?;
    let phases = pending_phases(run, &ledger, options.to);
    if phases.is_empty() {
        reporter.report(Event::NothingToDo {
            plan: plan.name.clone(),
        });
        report_version(backend, run, reporter).await?;
        summary.up_to_date.push(plan.name.clone());
        return Ok(false);
    }
    refuse_broken_concurrently(backend, run, &phases).await?;
    release_older_versions(backend, run).await?;
    reporter.report(Event::PlanStarted {
        plan: plan.name.clone(),
        checksum: plan.checksum.clone(),
        phases: phases.clone(),
    });
    let mut applied = Vec::new();
    for phase in phases {
        if phase == Phase::Contract
            && !options.yes
            && !confirm_contract(run, &applied, reporter, confirm)?
        {
            summary.applied.push((plan.name.clone(), applied));
            summary.stopped_before = Some((plan.name.clone(), phase));
            return Ok(true);
        }
        apply_phase(backend, run, &mut ledger, phase, options, reporter).await?;
        applied.push(phase);
    }
    report_version(backend, run, reporter).await?;
    reporter.report(Event::PlanDone {
        plan: plan.name.clone(),
        duration: started.elapsed(),
        pending: pending_phases(run, &ledger, None),
    });
    summary.applied.push((plan.name.clone(), applied));
    Ok(false)
}

/// Asks before the destructive contract phase of `plan`: `Ok(false)` when declined, an error
/// when there is nobody to ask (`applied`: the phases this run applied before it).
fn confirm_contract(
    run: &PlanRun,
    applied: &[Phase],
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<bool, EngineError> {
    let plan = run.plan.name.as_str();
    let question = contract_question(run);
    let stopped = |reason: &str| {
        reporter.report(Event::StoppedBefore {
            plan: plan.to_string(),
            phase: Phase::Contract,
            reason: reason.into(),
        })
    };
    let reason = match confirm.confirm(&question) {
        Confirmation::Yes => return Ok(true),
        Confirmation::No => {
            stopped("not confirmed");
            return Ok(false);
        }
        Confirmation::NoTerminal => "contract asks for confirmation, and there is no terminal to ask on; pass --yes to apply it (or --to switch to stop before it)",
    };
    stopped(reason);
    let done = if applied.is_empty() {
        String::from("nothing was applied")
    } else {
        format!(
            "applied {}",
            applied
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(EngineError::refused(
        ErrorKind::Invalid,
        format!("stopped before the contract phase of `{plan}` ({done}): {reason}"),
    ))
}

/// Says what the new application sets to use the plan's version schema, once it exists.
async fn report_version<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let Some(schema) = run.plan.steps.iter().find_map(|s| match &s.op {
        crate::ops::Op::Version(v) => Some(v.schema.clone()),
        _ => None,
    }) else {
        return Ok(());
    };
    let versions = super::versions::read(backend, &[]).await?;
    if let Some(version) = versions.into_iter().find(|v| v.schema == schema) {
        reporter.report(Event::VersionReady {
            plan: run.plan.name.clone(),
            schema: version.schema,
            search_path: version.search_path,
            connection_option: version.connection_option,
        });
    }
    Ok(())
}

/// Drops the views that finished plans' version schemas have of the tables this plan changes
/// (they are pass-throughs by then), so that none blocks its DDL.
async fn release_older_versions<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
) -> Result<(), EngineError> {
    let mut tables = Vec::new();
    for step in &run.plan.steps {
        for table in crate::ops::version::tables_changed(&step.op) {
            if !tables.contains(&table) {
                tables.push(table);
            }
        }
    }
    let makes_views = run
        .plan
        .steps
        .iter()
        .any(|s| matches!(s.op, crate::ops::Op::Version(_)));
    let limits = super::retry::limits_for(crate::dialect::planned::LockPolicy::Short, &run.config);
    super::versions::release(backend, &run.plan.name, &tables, makes_views, limits).await
}

/// Refuses `CONCURRENTLY` on PostgreSQL 14.0–14.3 before anything of the plan runs.
async fn refuse_broken_concurrently<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    phases: &[Phase],
) -> Result<(), EngineError> {
    if B::KIND != crate::dialect::DialectKind::Postgres {
        return Ok(());
    }
    let concurrent = run.steps.iter().filter(|s| phases.contains(&s.phase)).find(|s| {
        s.planned.actions.iter().any(|a| {
            matches!(a, Action::Execute(st) if matches!(st.special, Some(Special::CreateIndexConcurrently { .. }) | Some(Special::Concurrently)))
        })
    });
    let Some(step) = concurrent else {
        return Ok(());
    };
    let version = backend.server_version().await?;
    if super::postgres::concurrently_is_broken(&version) {
        return Err(EngineError::refused(
            ErrorKind::Failed,
            format!(
                "refusing to build or drop indexes CONCURRENTLY on PostgreSQL {}: releases 14.0 to 14.3 \
                 can silently corrupt indexes built that way (fixed in 14.4). Upgrade to 14.4 or later \
                 first. (first such step: step {} of {}, `{} {}`)",
                version.text,
                step.index + 1,
                step.phase,
                step.op,
                step.target
            ),
        ));
    }
    Ok(())
}

fn ctx<'a>(
    run: &'a PlanRun,
    planned: &PlannedStep,
    reporter: &'a dyn Reporter,
    stop: &'a StopSignal,
) -> StepContext<'a> {
    StepContext {
        plan: &run.plan,
        step: step_ref(&run.plan.name, planned),
        config: &run.config,
        reporter,
        stop,
    }
}

fn record_mut<'l>(ledger: &'l mut PlanLedger, planned: &PlannedStep) -> &'l mut StepRecord {
    let position = ledger
        .steps
        .iter()
        .position(|s| s.phase == planned.phase && s.index == planned.index)
        .unwrap_or_else(|| unreachable!("prepare_ledger made a record for every planned step"));
    &mut ledger.steps[position]
}

/// One phase: guards first, then each pending step; on failure, compensation.
async fn apply_phase<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    ledger: &mut PlanLedger,
    phase: Phase,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let plan = &run.plan.name;
    let started = Instant::now();
    finish_interrupted_undo(backend, run, ledger, phase, options, reporter).await?;
    let pending: Vec<&PlannedStep> = run
        .steps
        .iter()
        .filter(|s| s.phase == phase)
        .filter(|s| {
            ledger
                .step(s.phase, s.index)
                .is_none_or(|r| r.state != StepState::Applied)
        })
        .collect();
    reporter.report(Event::PhaseStarted {
        plan: plan.clone(),
        phase,
    });
    check_phase_guards(backend, run, &pending, phase, options, reporter).await?;
    for planned in &pending {
        let context = ctx(run, planned, reporter, &options.stop);
        if options.stop.stops_between_steps() {
            // Between steps: everything before is applied, this one has not started.
            return Err(EngineError::Interrupted {
                message: format!(
                    "stopped before {} of plan `{plan}`; run `bellows apply` again to continue",
                    context.describe()
                ),
            });
        }
        if let Err(error) = apply_step(backend, &context, ledger, planned).await? {
            return Err(fail_phase(backend, run, ledger, planned, error, options, reporter).await);
        }
    }
    reporter.report(Event::PhaseDone {
        plan: plan.clone(),
        phase,
        duration: started.elapsed(),
    });
    Ok(())
}

/// Finishes the undo an interrupted run began in `phase` (a compensation, a failed step's
/// cleanup, or a rollback), last step first, so the phase is applied again from a known state.
async fn finish_interrupted_undo<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    ledger: &mut PlanLedger,
    phase: Phase,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let steps: Vec<&PlannedStep> = run
        .steps
        .iter()
        .filter(|s| s.phase == phase)
        .filter(|s| {
            ledger
                .step(s.phase, s.index)
                .is_some_and(|r| r.is_being_undone())
        })
        .rev()
        .collect();
    if !steps.is_empty() {
        reporter.report(Event::Notice {
            message: format!(
                "finishing the undo of {} step(s) of the {phase} phase that an interrupted run began",
                steps.len()
            ),
        });
    }
    for planned in steps {
        let context = ctx(run, planned, reporter, &options.stop);
        if record_mut(ledger, planned).state == StepState::Failed {
            let error = StepError::new(ErrorKind::Failed, "interrupted cleanup");
            clean_up_after(backend, &context, ledger, planned, &error).await;
        } else if let Some(problem) = compensate_step(backend, &context, ledger, planned).await {
            return Err(EngineError::StepFailed { message: problem });
        }
    }
    Ok(())
}

/// The guards of a phase, run before any of its other steps.
async fn check_phase_guards<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    pending: &[&PlannedStep],
    phase: Phase,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    for planned in pending {
        let context = ctx(run, planned, reporter, &options.stop);
        for action in &planned.planned.actions {
            let Action::Guard(guard) = action else {
                continue;
            };
            if let Err(error) = step::check_guard(backend, &context, guard).await {
                let message = format!(
                    "{} of plan `{}`: {}; nothing of the {phase} phase was applied",
                    context.describe(),
                    run.plan.name,
                    error.message
                );
                let at = failure::locate(&run.plan, &context.step, &error);
                return Err(match error.kind {
                    ErrorKind::Guard => EngineError::GuardFailed { message },
                    _ => EngineError::StepFailed { message },
                }
                .at_step(at));
            }
        }
    }
    Ok(())
}

/// Runs one step, recording it in the ledger: `Ok(Err(_))` when the step failed (the phase is
/// then compensated), `Err` when the ledger could not be written.
async fn apply_step<B: Backend>(
    backend: &mut B,
    context: &StepContext<'_>,
    ledger: &mut PlanLedger,
    planned: &PlannedStep,
) -> Result<Result<(), StepError>, EngineError> {
    let plan = &context.step.plan;
    let started = Instant::now();
    context.reporter.report(Event::StepStarted {
        step: context.step.clone(),
    });
    let record = record_mut(ledger, planned);
    let outcome = if step::is_guard_only(planned) {
        // Its guards passed before the phase started.
        record.applied_at_once(planned.planned.actions.len());
        backend.save_step(plan, record).await?;
        Ok(())
    } else {
        record.start(step::is_backfill(planned));
        backend.save_step(plan, record).await?;
        let outcome = step::apply(backend, context, planned, record).await;
        if outcome.is_ok() {
            record.applied();
            backend.save_step(plan, record).await?;
        }
        outcome
    };
    context.reporter.report(Event::StepFinished {
        step: context.step.clone(),
        outcome: match &outcome {
            Ok(()) => StepOutcome::Applied,
            Err(error) if error.kind == ErrorKind::Interrupted => StepOutcome::Interrupted,
            Err(error) => StepOutcome::Failed {
                error: error.message.clone(),
            },
        },
        duration: started.elapsed(),
    });
    Ok(outcome)
}

/// Records the failure of `failed`, cleans up after it, undoes the phase's applied steps in
/// reverse order, and returns the error that ends the run.
async fn fail_phase<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    ledger: &mut PlanLedger,
    failed: &PlannedStep,
    error: StepError,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
) -> EngineError {
    let plan = &run.plan.name;
    let context = ctx(run, failed, reporter, &options.stop);
    let mut problems: Vec<String> = Vec::new();
    let interrupted = error.kind == ErrorKind::Interrupted;
    let record = record_mut(ledger, failed);
    record.failed(&error.message, interrupted);
    if let Err(e) = backend.save_step(plan, record).await {
        problems.push(format!(
            "the ledger could not record the failure of {}: {e}",
            context.describe()
        ));
    }
    let headline = format!(
        "{} of plan `{plan}` failed: {}",
        context.describe(),
        error.message
    );
    let at = failure::locate(&run.plan, &context.step, &error);
    if interrupted || step::is_backfill(failed) {
        let conversion = at
            .as_ref()
            .and_then(|at| at.expression.as_ref())
            .is_some_and(|e| e.key == "using");
        return resumable_error(headline, &error, conversion).at_step(at);
    }
    clean_up_after(backend, &context, ledger, failed, &error).await;
    problems.extend(compensate(backend, run, ledger, failed.phase, options, reporter).await);
    let tail = if problems.is_empty() {
        format!(
            "\n  the {} phase was rolled back; earlier phases stay applied",
            failed.phase
        )
    } else {
        format!(
            "\n  the {} phase could NOT be fully rolled back and needs a hand:\n  - {}",
            failed.phase,
            problems.join("\n  - ")
        )
    };
    let message = format!("{headline}{tail}");
    match error.kind {
        ErrorKind::Locked => EngineError::LockRetriesExhausted { message },
        ErrorKind::Guard => EngineError::GuardFailed { message },
        _ => EngineError::StepFailed { message },
    }
    .at_step(at)
}

/// The error of a failed backfill or an interrupted step: it keeps its checkpoint and is
/// resumed by the next `apply`, not compensated. `conversion`: a `change_type`'s `using` failed
/// on a row, which expand's sync trigger also computes.
fn resumable_error(headline: String, error: &StepError, conversion: bool) -> EngineError {
    // NOTE: "run again" only when a re-run can help: an error that needs the plan or the table
    // changed first (no usable key) would fail the same way again.
    let in_the_plan = error.db.as_ref().is_some_and(|db| db.is_in_the_sql());
    let message = if conversion {
        // NOTE: the sync trigger made at expand computes the `using` it was made with: a fixed
        // `using` reaches it only through a rollback and a new expand.
        format!(
            "{headline}\n  `using` fails on a row of the table (the old application's writes of such \
             a value fail the same way, in the sync trigger): correct that row, then `bellows \
             apply` resumes from the saved checkpoint; or make `using` handle the value, then \
             `bellows rollback --allow-changed` and `bellows apply` the plan again"
        )
    } else if in_the_plan {
        format!(
            "{headline}\n  the error is in the plan's SQL: fix the plan, then `bellows apply \
             --allow-changed` resumes from the saved checkpoint"
        )
    } else if error.needs_fix || error.kind == ErrorKind::Interrupted {
        // An interrupted step's own message already says how to resume.
        headline
    } else {
        format!("{headline}\n  the checkpoint is saved; run `bellows apply` again to resume")
    };
    match error.kind {
        ErrorKind::Interrupted => EngineError::Interrupted { message },
        ErrorKind::Locked => EngineError::LockRetriesExhausted { message },
        _ => EngineError::StepFailed { message },
    }
}

/// Best effort: removes what the failing step itself left (earlier actions of a multi-
/// statement step, or a statement that ran outside a transaction).
async fn clean_up_after<B: Backend>(
    backend: &mut B,
    context: &StepContext<'_>,
    ledger: &mut PlanLedger,
    failed: &PlannedStep,
    error: &StepError,
) {
    let record = record_mut(ledger, failed);
    if record.actions_done == 0 && !error.left_something && !record.is_being_undone() {
        return;
    }
    let outcome = step::undo(backend, context, failed, record).await;
    record.cleaned_up();
    let _ = backend.save_step(&context.step.plan, record).await;
    if let Err(cleanup) = outcome {
        context.reporter.report(Event::Notice {
            message: format!(
                "cleaning up after {} did not complete: {} (it may have left nothing behind)",
                context.describe(),
                cleanup.message
            ),
        });
    }
}

/// Undoes the applied steps of `phase` in reverse order; the problems met, for the error.
async fn compensate<B: Backend>(
    backend: &mut B,
    run: &PlanRun,
    ledger: &mut PlanLedger,
    phase: Phase,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
) -> Vec<String> {
    let plan = &run.plan.name;
    let to_undo: Vec<&PlannedStep> = run
        .steps
        .iter()
        .filter(|s| s.phase == phase)
        .filter(|s| {
            ledger
                .step(s.phase, s.index)
                .is_some_and(|r| r.state == StepState::Applied)
        })
        .rev()
        .collect();
    if !to_undo.is_empty() {
        reporter.report(Event::CompensationStarted {
            plan: plan.clone(),
            phase,
            steps: to_undo.len(),
        });
    }
    let mut problems = Vec::new();
    for planned in to_undo {
        let context = ctx(run, planned, reporter, &options.stop);
        if let Some(problem) = compensate_step(backend, &context, ledger, planned).await {
            problems.push(problem);
        }
    }
    problems
}

/// Undoes one applied step of a failed phase; the problem met, if any.
async fn compensate_step<B: Backend>(
    backend: &mut B,
    context: &StepContext<'_>,
    ledger: &mut PlanLedger,
    planned: &PlannedStep,
) -> Option<String> {
    let plan = &context.step.plan;
    let started = Instant::now();
    let record = record_mut(ledger, planned);
    match step::undo(backend, context, planned, record).await {
        Ok(()) => {
            record.compensated();
            let saved = backend.save_step(plan, record).await;
            context.reporter.report(Event::StepUndone {
                step: context.step.clone(),
                duration: started.elapsed(),
            });
            saved.err().map(|e| {
                format!(
                    "{} was undone but the ledger could not record it: {e}",
                    context.describe()
                )
            })
        }
        Err(undo_error) => {
            let hint = format!(
                "{} is still applied; undo it by hand (see `bellows plan` for its rollback SQL), \
                 then run `bellows rollback` or fix the plan and `bellows apply` again",
                context.describe()
            );
            context.reporter.report(Event::UndoFailed {
                step: context.step.clone(),
                error: undo_error.message.clone(),
                hint: hint.clone(),
            });
            record.undo_failed("compensation", &undo_error.message);
            let _ = backend.save_step(plan, record).await;
            Some(format!(
                "COMPENSATION FAILED for {}: {}; {hint}",
                context.describe(),
                undo_error.message
            ))
        }
    }
}
