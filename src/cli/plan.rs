//! `bellows plan`: the dry run. Loads a plan and shows, phase by phase, the exact SQL each step
//! will run on the chosen dialect, the lock it takes and how it is undone. It never connects to
//! a database: a URL only chooses the dialect.

use std::time::Duration;

use serde::Serialize;

use super::args::{Format, PlanArgs};
use super::plan_render;
use super::{Exit, ExitError};
use crate::dialect::planned::PlannedStep;
use crate::dialect::DialectKind;
use crate::ops::Op;
use crate::plan::load::{load_file, Loaded};
use crate::plan::render::{locate, render, Located};
use crate::plan::{Plan, Settings};
use crate::vocab::{defaults, Code, Diagnostic, Phase};

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
    #[serde(with = "crate::vocab::duration::opt_duration")]
    pub max_lag: Option<Duration>,
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

/// `--dialect`, else the database URL's scheme, else PostgreSQL.
pub fn resolve_dialect(
    flag: Option<DialectKind>,
    database: Option<&str>,
) -> Result<DialectKind, ExitError> {
    if let Some(kind) = flag {
        return Ok(kind);
    }
    match database.filter(|url| !url.trim().is_empty()) {
        None => Ok(DialectKind::Postgres),
        Some(url) => DialectKind::from_url(url).ok_or_else(|| {
            // NOTE: only the scheme is shown; the URL may hold a password.
            let scheme = url.split(':').next().unwrap_or_default();
            ExitError::new(
                Exit::Invalid,
                format!(
                    "bellows does not know the database URL scheme `{scheme}:`; use postgres://…, postgresql://…, sqlite:… or pass --dialect postgres|sqlite"
                ),
            )
        }),
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

/// Reads the plan's ledger state and the backfills' row counts from the database at `url`.
fn read_database(
    url: &str,
    plan: &Plan,
    report: &PlanReport,
) -> anyhow::Result<crate::engine::preview::Preview> {
    let backfills: Vec<_> = report
        .phases
        .iter()
        .flat_map(|phase| &phase.steps)
        .flat_map(|step| &step.step.planned.actions)
        .filter_map(|action| match action {
            crate::dialect::planned::Action::Backfill(backfill) => Some(backfill.clone()),
            _ => None,
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let preview = runtime
        .block_on(crate::engine::preview(url, plan, &backfills))
        .map_err(|error| {
            anyhow::Error::new(error).context(format!(
                "while reading {} for `bellows plan` (drop --database for a dry run without a database)",
                crate::engine::redact_url(url)
            ))
        })?;
    Ok(preview)
}

/// The plan with `[settings]` defaults copied into the steps that leave them unset, so the SQL
/// shown is the SQL that runs (the batch size is part of the batch statement).
fn with_settings_applied(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    for step in &mut plan.steps {
        if let Op::Backfill(backfill) = &mut step.op {
            backfill.batch_size = backfill.batch_size.or(plan.settings.batch_size);
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
            .unwrap_or(defaults::BATCH_SIZE),
        pause: backfill.pause.or(settings.pause),
        target_batch_time: backfill.target_batch_time.or(settings.target_batch_time),
        max_lag: backfill.max_lag.or(settings.max_lag),
        throttle_query: backfill.throttle_query.clone(),
    })
}

/// Runs `bellows plan`.
pub fn run(args: &PlanArgs) -> anyhow::Result<Exit> {
    // NOTE: only an explicit --database makes `plan` connect; DATABASE_URL (often set in a
    // shell or CI for other tools) only picks the dialect, so a dry run never surprises anyone
    // by reaching for a server.
    let environment = std::env::var("DATABASE_URL").ok();
    let dialect = match &args.database {
        Some(url) => {
            let from_url = resolve_dialect(None, Some(url))?;
            if let Some(flag) = args.dialect.filter(|flag| *flag != from_url) {
                return Err(ExitError::new(
                    Exit::Invalid,
                    format!("--dialect {flag} contradicts --database, which is a {from_url} database; drop one of the two"),
                )
                .into());
            }
            from_url
        }
        None => resolve_dialect(args.dialect, environment.as_deref())?,
    };
    let loaded = load_file(&args.plan).map_err(|error| {
        ExitError::new(
            Exit::Invalid,
            format!("cannot read plan file {}: {error}", args.plan.display()),
        )
    })?;
    let mut report = report(&loaded, dialect);
    if let (Some(url), Some(plan)) = (&args.database, &loaded.plan) {
        if report.valid {
            report.database = Some(read_database(url, plan, &report)?);
            report.connected = true;
        }
    }
    match args.format {
        Format::Json => {
            println!("{}", plan_render::json(&report)?);
        }
        Format::Human => {
            // Diagnostics go to stderr, rendered against the source with a caret.
            let diagnostics = diagnostics(&loaded, dialect);
            for diagnostic in &diagnostics {
                eprintln!("{}", render(&loaded.source, diagnostic));
            }
            if report.valid {
                // NOTE: console lets CLICOLOR_FORCE override NO_COLOR; NO_COLOR wins here.
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let styled = console::colors_enabled() && !no_color;
                print!("{}", plan_render::human(&report, styled));
            } else {
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                eprintln!(
                    "{}: {} is invalid for {dialect}: {errors} error{}; nothing is shown until it is fixed",
                    console::style("error").red().bold(),
                    loaded.source.path.display(),
                    if errors == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(if report.valid {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_comes_from_flag_then_url_then_default() {
        assert_eq!(
            resolve_dialect(Some(DialectKind::Sqlite), Some("postgres://x/y")).unwrap(),
            DialectKind::Sqlite
        );
        assert_eq!(
            resolve_dialect(None, Some("sqlite:app.db")).unwrap(),
            DialectKind::Sqlite
        );
        assert_eq!(
            resolve_dialect(None, Some("postgresql://u@h/db")).unwrap(),
            DialectKind::Postgres
        );
        assert_eq!(resolve_dialect(None, None).unwrap(), DialectKind::Postgres);
        let error = resolve_dialect(None, Some("mysql://root:secret@h/db")).unwrap_err();
        assert_eq!(error.exit, Exit::Invalid);
        assert!(error.message.contains("`mysql:`"), "{}", error.message);
        assert!(!error.message.contains("secret"), "{}", error.message);
    }
}
