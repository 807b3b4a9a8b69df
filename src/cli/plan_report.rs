//! What `bellows plan` shows, as data: each phase's planned steps for one dialect, with the
//! plan's settings applied, and the plan file's diagnostics. Drawn by `plan_render`, serialized
//! as is by `--format json`.

use std::time::Duration;

use serde::Serialize;

use crate::dialect::planned::PlannedStep;
use crate::dialect::DialectKind;
use crate::ops::Op;
use crate::plan::load::Loaded;
use crate::plan::render::{locate, Located};
use crate::plan::{Plan, Settings};
use crate::vocab::defaults;
use crate::vocab::{Code, Diagnostic, Phase};

/// Everything `bellows plan` shows, as data: the human output draws it, `--format json`
/// serializes it.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub valid: bool,
    pub file: String,
    pub dialect: DialectKind,
    /// Whether `--database` was given and read.
    pub connected: bool,
    /// What the database says: applied steps and backfill row counts (`--database` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<crate::engine::preview::Preview>,
    pub plan: Option<PlanSummary>,
    pub phases: Vec<PhaseReport>,
    /// Errors and warnings of the plan file, located.
    pub diagnostics: Vec<Located>,
}

#[derive(Debug, Serialize)]
pub struct PlanSummary {
    pub name: String,
    pub description: Option<String>,
    pub checksum: String,
    /// The plan's `[settings]`, as written.
    pub settings: Settings,
    /// What applies when the plan and the command line leave them unset.
    #[serde(with = "crate::vocab::duration::opt_duration")]
    pub lock_timeout: Option<Duration>,
    pub lock_retries: u32,
}

#[derive(Debug, Serialize)]
pub struct PhaseReport {
    pub phase: Phase,
    pub summary: &'static str,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Serialize)]
pub struct StepReport {
    #[serde(flatten)]
    pub step: PlannedStep,
    /// For a backfill: its batching and throttling, with the plan's settings applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillSettings>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackfillSettings {
    pub batch_size: u64,
    #[serde(with = "crate::vocab::duration::opt_duration")]
    pub pause: Option<Duration>,
    #[serde(with = "crate::vocab::duration::opt_duration")]
    pub target_batch_time: Option<Duration>,
    pub max_lag: Option<crate::vocab::lag::MaxLag>,
    pub throttle_query: Option<String>,
}

/// What each phase is for, in one line.
pub fn phase_summary(phase: Phase) -> &'static str {
    match phase {
        Phase::Expand => "additive changes; the old application keeps running untouched",
        Phase::Backfill => "existing rows brought to the new shape in small batches",
        Phase::Switch => "the new shape becomes the one in use; deploy the new application",
        Phase::Contract => "destructive clean-up, guarded; only the new application runs",
    }
}

/// The plan file's findings plus the steps `dialect` cannot run, in file order.
pub fn diagnostics(loaded: &Loaded, dialect: DialectKind) -> Vec<Diagnostic> {
    let mut diagnostics = loaded.diagnostics.clone();
    if let Some(plan) = &loaded.plan {
        for step in &plan.steps {
            if let Err(unsupported) = crate::dialect::plan_op(&step.op, dialect.dialect()) {
                diagnostics.push(
                    Diagnostic::error(Code::Unsupported, Some(step.span.clone()), unsupported.to_string())
                        .with_help(format!(
                            "step {} of `{}` cannot run on {dialect}; change the step, or plan for another database with --dialect",
                            step.index + 1,
                            step.phase
                        )),
                );
            }
        }
    }
    diagnostics.sort_by_key(|d| d.span.as_ref().map(|s| s.start).unwrap_or(0));
    diagnostics
}

/// Builds the report of a loaded plan for `dialect`.
pub fn report(loaded: &Loaded, dialect: DialectKind) -> PlanReport {
    let diagnostics = diagnostics(loaded, dialect);
    let plan = loaded
        .plan
        .as_ref()
        .filter(|_| !diagnostics.iter().any(Diagnostic::is_error))
        .map(with_settings_applied);
    let mut phases = Vec::new();
    if let Some(plan) = &plan {
        for phase in Phase::ALL {
            let steps = plan
                .steps_in(phase)
                .filter_map(|step| {
                    let planned = crate::dialect::plan_op(&step.op, dialect.dialect()).ok()?;
                    Some(StepReport {
                        step: PlannedStep {
                            phase: step.phase,
                            index: step.index,
                            op: step.op.name(),
                            target: step.op.target(),
                            planned,
                        },
                        backfill: backfill_settings(&step.op, &plan.settings),
                    })
                })
                .collect();
            phases.push(PhaseReport {
                phase,
                summary: phase_summary(phase),
                steps,
            });
        }
    }
    PlanReport {
        valid: plan.is_some(),
        file: loaded.source.path.display().to_string(),
        dialect,
        connected: false,
        database: None,
        plan: plan.as_ref().map(|plan| PlanSummary {
            name: plan.name.clone(),
            description: plan.description.clone(),
            checksum: plan.checksum.clone(),
            settings: plan.settings.clone(),
            lock_timeout: Some(plan.settings.lock_timeout.unwrap_or(defaults::LOCK_TIMEOUT)),
            lock_retries: plan.settings.lock_retries.unwrap_or(defaults::LOCK_RETRIES),
        }),
        phases,
        diagnostics: diagnostics
            .iter()
            .map(|d| locate(&loaded.source, d))
            .collect(),
    }
}

/// The plan with `[settings]` defaults copied into the steps that leave them unset, so the SQL
/// shown is the SQL that runs (the batch size is part of the batch statement) and the notes
/// say how it runs (`parallel`).
fn with_settings_applied(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    for step in &mut plan.steps {
        if let Op::Backfill(backfill) = &mut step.op {
            backfill.batch_size = backfill.batch_size.or(plan.settings.batch_size);
            backfill.parallel = backfill.parallel.or(plan.settings.parallel);
        }
    }
    plan
}

fn backfill_settings(op: &Op, settings: &Settings) -> Option<BackfillSettings> {
    let Op::Backfill(backfill) = op else {
        return None;
    };
    Some(BackfillSettings {
        batch_size: backfill
            .batch_size
            .or(settings.batch_size)
            .unwrap_or(crate::vocab::defaults::BATCH_SIZE),
        pause: backfill.pause.or(settings.pause),
        target_batch_time: backfill.target_batch_time.or(settings.target_batch_time),
        max_lag: backfill.max_lag.or(settings.max_lag),
        throttle_query: backfill.throttle_query.clone(),
    })
}
