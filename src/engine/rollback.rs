//! `rollback`: undo a plan's applied steps in reverse order, back to before a phase; refuse
//! before changing anything when an irreversible step stands in the way.

use std::time::Instant;

use super::apply::prepare_ledger;
use super::backend::Backend;
use super::context::{step_ref, StepContext};
use super::error::EngineError;
use super::failure;
use super::ledger::{PlanLedger, StepRecord, StepState};
use super::reporter::{Event, Reporter};
use super::session;
use super::step;
use super::{Confirm, Confirmation, ErrorKind, PlanRun, StopSignal};
use crate::dialect::planned::{PlannedStep, Undo};
use crate::vocab::Phase;

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
    session::connected(url, &options.application_name, async |backend: &mut B| {
        session::with_run_lock(backend, async |backend: &mut B| {
            undo_plan(backend, run, options, reporter, confirm).await
        })
        .await
    })
    .await
}

/// What a rollback does, decided before anything changes.
#[derive(Debug)]
pub enum RollbackDecision<'a> {
    /// Nothing of the plan is (possibly) in the database.
    NothingToDo,
    /// Undo these steps, in this order (last applied first).
    Undo(Vec<&'a PlannedStep>),
}

/// Decides what rolling back `run` undoes, from what the ledger recorded (`None`: no ledger, or
/// the plan is not in it): the steps to undo in order, nothing, or a refusal when the plan file
/// changed, an applied step left the plan file, or an irreversible step stands in the way.
pub fn decide<'a>(
    run: &'a PlanRun,
    recorded: Option<&PlanLedger>,
    options: &RollbackOptions,
) -> Result<RollbackDecision<'a>, EngineError> {
    let plan = &run.plan;
    let Some(recorded) = recorded else {
        return Ok(RollbackDecision::NothingToDo);
    };
    super::ledger::refuse_edits(recorded, plan, options.allow_changed)?;
    let from = options.to.unwrap_or(Phase::Expand);
    let targets: Vec<&PlannedStep> = run
        .steps
        .iter()
        .rev()
        .filter(|s| s.phase >= from)
        .filter(|s| {
            recorded
                .step(s.phase, s.index)
                .is_some_and(|r| needs_undo(r, s))
        })
        .collect();
    refuse_orphans(run, recorded, from)?;
    if targets.is_empty() {
        return Ok(RollbackDecision::NothingToDo);
    }
    refuse_irreversible(run, &targets)?;
    Ok(RollbackDecision::Undo(targets))
}

/// Refuses when the ledger has a step as applied that the plan file no longer has: its undo
/// is unknown.
fn refuse_orphans(run: &PlanRun, recorded: &PlanLedger, from: Phase) -> Result<(), EngineError> {
    let Some(orphan) = recorded.steps.iter().find(|r| {
        r.phase >= from
            && matches!(r.state, StepState::Applied | StepState::Running)
            && !run
                .steps
                .iter()
                .any(|s| s.phase == r.phase && s.index == r.index)
    }) else {
        return Ok(());
    };
    Err(EngineError::refused(
        ErrorKind::Invalid,
        format!(
            "step {} of {} (`{} {}`) is applied but no longer in the plan file, so its undo is unknown; nothing was changed",
            orphan.index + 1,
            orphan.phase,
            orphan.op,
            orphan.target
        ),
    ))
}

/// Refuses when one of `targets` cannot be undone, saying how far back a rollback can go.
fn refuse_irreversible(run: &PlanRun, targets: &[&PlannedStep]) -> Result<(), EngineError> {
    let Some((planned, why)) = targets.iter().find_map(|s| match &s.planned.undo {
        Undo::Irreversible(why) => Some((s, why)),
        _ => None,
    }) else {
        return Ok(());
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
    Err(EngineError::refused(
        ErrorKind::Invalid,
        format!(
            "cannot roll back plan `{}`: step {} of {} (`{} {}`) is irreversible ({why}); nothing was changed. {advice}",
            run.plan.name,
            planned.index + 1,
            planned.phase,
            planned.op,
            planned.target
        ),
    ))
}

/// Whether a step is (possibly) in the database and so must be undone.
fn needs_undo(record: &StepRecord, planned: &PlannedStep) -> bool {
    if record.is_being_undone() && record.state != StepState::Failed {
        // An interrupted undo (rollback or compensation): finish it.
        return true;
    }
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
    let recorded = match backend.ledger_exists().await? {
        true => backend.read_ledger(Some(&plan.name)).await?.pop(),
        false => None,
    };
    let targets = match decide(run, recorded.as_ref(), options)? {
        RollbackDecision::Undo(targets) => targets,
        RollbackDecision::NothingToDo => {
            reporter.report(Event::NothingToDo {
                plan: plan.name.clone(),
            });
            return Ok(RollbackSummary {
                nothing_to_do: true,
                ..RollbackSummary::default()
            });
        }
    };
    if !options.yes && !confirmed(run, targets.len(), options, reporter, confirm)? {
        return Ok(RollbackSummary {
            declined: true,
            ..RollbackSummary::default()
        });
    }
    // From here on the ledger is the plan's own (steps of the current file); a ledger made by
    // an older bellows gains the columns this one records.
    backend.create_ledger().await?;
    let mut ledger: PlanLedger =
        prepare_ledger(backend, run, true, &super::reporter::Silent).await?;
    let started = Instant::now();
    reporter.report(Event::RollbackStarted {
        plan: plan.name.clone(),
        steps: targets.len(),
    });
    let mut summary = RollbackSummary::default();
    for planned in targets {
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
        if undo_step(backend, &context, &mut ledger, planned).await? {
            summary.undone.push((planned.phase, planned.index));
        }
    }
    reporter.report(Event::PlanDone {
        plan: plan.name.clone(),
        duration: started.elapsed(),
        pending: Vec::new(),
    });
    Ok(summary)
}

/// Asks before rolling back `steps` steps; `Ok(false)` when declined.
fn confirmed(
    run: &PlanRun,
    steps: usize,
    options: &RollbackOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<bool, EngineError> {
    let question = format!(
        "Roll back {steps} step(s) of `{}`{}?",
        run.plan.name,
        match options.to {
            Some(phase) => format!(" back to before {phase}"),
            None => String::new(),
        }
    );
    match confirm.confirm(&question) {
        Confirmation::Yes => Ok(true),
        Confirmation::No => {
            reporter.report(Event::Notice {
                message: "rollback not confirmed; nothing was changed".into(),
            });
            Ok(false)
        }
        Confirmation::NoTerminal => Err(EngineError::refused(
            ErrorKind::Invalid,
            "rollback asks for confirmation and there is no terminal to ask on; pass --yes; nothing was changed",
        )),
    }
}

/// Undoes one step and records it; `Ok(false)` when the ledger has no row for it.
async fn undo_step<B: Backend>(
    backend: &mut B,
    context: &StepContext<'_>,
    ledger: &mut PlanLedger,
    planned: &PlannedStep,
) -> Result<bool, EngineError> {
    let plan = &context.step.plan;
    let Some(record) = ledger
        .steps
        .iter_mut()
        .find(|r| r.phase == planned.phase && r.index == planned.index)
    else {
        return Ok(false);
    };
    let started = Instant::now();
    let error = match step::undo(backend, context, planned, record).await {
        Ok(()) => {
            record.rolled_back();
            backend.save_step(plan, record).await?;
            context.reporter.report(Event::StepUndone {
                step: context.step.clone(),
                duration: started.elapsed(),
            });
            return Ok(true);
        }
        Err(error) => error,
    };
    let hint = format!(
        "steps after it are rolled back; {} is still applied: fix the cause and run `bellows rollback` again",
        context.describe()
    );
    record.undo_failed("rollback", &error.message);
    let _ = backend.save_step(plan, record).await;
    context.reporter.report(Event::UndoFailed {
        step: context.step.clone(),
        error: error.message.clone(),
        hint: hint.clone(),
    });
    let message = format!(
        "rolling back {} of plan `{plan}` failed: {}\n  {hint}",
        context.describe(),
        error.message
    );
    let at = failure::locate(context.plan, &context.step, &error);
    Err(match error.kind {
        ErrorKind::Locked => EngineError::LockRetriesExhausted { message },
        ErrorKind::Interrupted => EngineError::Interrupted { message },
        _ => EngineError::StepFailed { message },
    }
    .at_step(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::dialect::DialectKind;
    use crate::engine::ledger::{PlanRecord, StepRecord};

    /// Expand: two reversible `sql` steps; contract: one without `down` (irreversible).
    const PLAN: &str = r#"
[[expand]]
op = "sql"
up = "SELECT 1"
down = "SELECT 1"

[[expand]]
op = "sql"
up = "SELECT 2"
down = "SELECT 2"

[[contract]]
op = "sql"
up = "SELECT 3"
"#;

    fn plan_run() -> PlanRun {
        let plan = crate::plan::load::load_str(std::path::Path::new("p.toml"), PLAN)
            .plan
            .unwrap();
        let steps = crate::dialect::plan_steps(&plan, DialectKind::Postgres.dialect()).unwrap();
        PlanRun {
            plan,
            steps,
            config: Config::defaults(),
        }
    }

    /// The ledger of `run` with each step in the given state (expand 0, expand 1, contract 0).
    fn ledger(run: &PlanRun, states: [StepState; 3]) -> PlanLedger {
        PlanLedger {
            plan: PlanRecord {
                name: run.plan.name.clone(),
                checksum: run.plan.checksum.clone(),
                path: "p.toml".into(),
                started_at: None,
                updated_at: None,
            },
            steps: run
                .steps
                .iter()
                .zip(states)
                .map(|(s, state)| StepRecord {
                    state,
                    ..StepRecord::pending(s.phase, s.index, s.op, &s.target)
                })
                .collect(),
        }
    }

    /// The decision as text: "nothing", the steps to undo ("expand/1 expand/0"), or the refusal.
    fn decided(run: &PlanRun, recorded: Option<&PlanLedger>, to: Option<Phase>) -> String {
        let options = RollbackOptions {
            to,
            ..RollbackOptions::default()
        };
        match decide(run, recorded, &options) {
            Ok(RollbackDecision::NothingToDo) => "nothing".into(),
            Ok(RollbackDecision::Undo(steps)) => steps
                .iter()
                .map(|s| format!("{}/{}", s.phase, s.index))
                .collect::<Vec<_>>()
                .join(" "),
            Err(error) => format!("refused: {error}"),
        }
    }

    /// What the case is, the ledger's step states (`None`: no ledger), `--to`, the decision.
    type Case = (
        &'static str,
        Option<[StepState; 3]>,
        Option<Phase>,
        &'static str,
    );

    #[test]
    fn decisions() {
        use StepState::*;
        let run = plan_run();
        let cases: Vec<Case> = vec![
            ("no ledger", None, None, "nothing"),
            ("nothing applied", Some([Pending, Pending, Pending]), None, "nothing"),
            ("last first", Some([Applied, Applied, Pending]), None, "expand/1 expand/0"),
            ("running counts", Some([Applied, Running, Pending]), None, "expand/1 expand/0"),
            ("rolled back is done", Some([Applied, RolledBack, Pending]), None, "expand/0"),
            ("a failed sql step is not in the database", Some([Applied, Failed, Pending]), None, "expand/0"),
            ("--to contract leaves expand", Some([Applied, Applied, Pending]), Some(Phase::Contract), "nothing"),
            ("irreversible", Some([Applied, Applied, Applied]), None, "refused: cannot roll back plan `p`: step 1 of contract (`sql SELECT 3`) is irreversible"),
        ];
        for (what, states, to, expected) in cases {
            let recorded = states.map(|states| ledger(&run, states));
            let found = decided(&run, recorded.as_ref(), to);
            assert!(found.starts_with(expected), "{what}: {found}");
        }
    }

    #[test]
    fn a_changed_plan_file_is_refused_unless_allowed() {
        let run = plan_run();
        let mut recorded = ledger(
            &run,
            [StepState::Applied, StepState::Applied, StepState::Pending],
        );
        recorded.plan.checksum = "older".into();
        let refused = decided(&run, Some(&recorded), None);
        assert!(refused.starts_with("refused:"), "{refused}");
        let options = RollbackOptions {
            allow_changed: true,
            ..RollbackOptions::default()
        };
        assert!(matches!(
            decide(&run, Some(&recorded), &options),
            Ok(RollbackDecision::Undo(steps)) if steps.len() == 2
        ));
    }

    #[test]
    fn an_applied_step_no_longer_in_the_plan_is_refused() {
        let run = plan_run();
        let mut recorded = ledger(
            &run,
            [StepState::Applied, StepState::Pending, StepState::Pending],
        );
        recorded.steps.push(StepRecord {
            state: StepState::Applied,
            ..StepRecord::pending(Phase::Expand, 7, "add_column", "users.x")
        });
        let found = decided(&run, Some(&recorded), None);
        assert!(
            found.starts_with("refused: step 8 of expand (`add_column users.x`) is applied but no longer in the plan file"),
            "{found}"
        );
    }
}
