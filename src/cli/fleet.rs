//! `apply`, `rollback` and `status` over a fleet (`--databases FILE` or `-d` given more than
//! once): resolve the fleet and its plans before any connection, let the fleet runner run the
//! ordinary single-database command on each database, then draw the summary table.

use console::{pad_str, style, Alignment};

use crate::cli::args::{
    ApplyArgs, FleetArgs, Format, PlanArgs, RollbackArgs, SettingsArgs, StatusArgs,
};
use crate::cli::out;
use crate::cli::printer::fleet::FleetPrinter;
use crate::cli::printer::{duration, Printer};
use crate::cli::prompt::TerminalConfirm;
use crate::cli::{exit_of, plan_files, Exit, ExitError};
use crate::dialect::DialectKind;
use crate::engine::status::Selection;
use crate::engine::{
    self, Answer, ApplyOptions, Confirm, Confirmation, RollbackOptions, StopSignal,
};
use crate::fleet::runner::{self, FleetSummary, Outcome, RunsByDialect};
use crate::fleet::schedule::Policy;
use crate::fleet::{file, Fleet};
use crate::plan::{render, Plan};
use crate::vocab::Phase;

/// The fleet the database arguments name, if they name one: `--databases FILE`, or `-d`
/// given more than once. A databases file with mistakes is exit 2 with each one drawn.
pub fn fleet(args: &crate::cli::args::DatabaseArgs) -> anyhow::Result<Option<Fleet>> {
    if let Some(path) = &args.databases {
        let loaded = file::load_file(path, &|name| std::env::var(name).ok()).map_err(|e| {
            ExitError::new(
                Exit::Invalid,
                format!("cannot read the databases file {}: {e}", path.display()),
            )
        })?;
        let Some(fleet) = loaded.fleet else {
            for diagnostic in loaded.diagnostics.iter().filter(|d| d.is_error()) {
                eprint!(
                    "{}",
                    render::render_with(
                        &loaded.source,
                        diagnostic,
                        console::colors_enabled_stderr()
                    )
                );
            }
            return Err(ExitError::new(
                Exit::Invalid,
                format!("invalid databases file {}; nothing was run", path.display()),
            )
            .into());
        };
        return Ok(Some(fleet));
    }
    if args.database.len() < 2 {
        return Ok(None);
    }
    for url in &args.database {
        engine::dialect_of(url).map_err(|e| ExitError::new(Exit::Invalid, e.to_string()))?;
    }
    Ok(Some(Fleet::from_urls(&args.database)))
}

/// The plans prepared for every dialect the fleet holds, before any connection.
fn prepare(
    fleet: &Fleet,
    plans: Vec<Plan>,
    settings: &SettingsArgs,
) -> anyhow::Result<RunsByDialect> {
    let mut kinds: Vec<DialectKind> = Vec::new();
    for database in &fleet.databases {
        let kind = engine::dialect_of(&database.url)
            .map_err(|e| ExitError::new(Exit::Invalid, e.to_string()))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
        .into_iter()
        .map(|kind| Ok((kind, plan_files::prepare(plans.clone(), kind, settings)?)))
        .collect()
}

fn policy(fleet: &Fleet, args: &FleetArgs) -> Result<Policy, ExitError> {
    let canaries = match &args.canary {
        Some(spec) => fleet
            .canaries(spec)
            .map_err(|message| ExitError::new(Exit::Invalid, message))?,
        None => Vec::new(),
    };
    Ok(Policy {
        parallel: usize::from(args.parallel),
        canaries,
        keep_going: args.keep_going,
    })
}

/// The contract question, asked once for the whole fleet before anything starts.
fn confirm_contract(fleet: &Fleet, yes: bool, to: Option<Phase>) -> Answer {
    if yes || to.is_some_and(|to| to < Phase::Contract) {
        return Answer(Confirmation::Yes);
    }
    let question = format!(
        "The contract phase is destructive; the application must no longer use the old shape.\n\
         Apply every pending phase, contract included, to the {} databases of the fleet?",
        fleet.databases.len()
    );
    Answer(TerminalConfirm.confirm(&question))
}

pub fn apply(fleet: Fleet, args: ApplyArgs) -> anyhow::Result<Exit> {
    let plans = plan_files::load_all(&args.plans)?;
    let runs = prepare(&fleet, plans, &args.settings)?;
    let policy = policy(&fleet, &args.fleet)?;
    let printer = FleetPrinter::new(args.format, fleet.name_width());
    let stop = StopSignal::new();
    let answer = confirm_contract(&fleet, args.yes, args.to);
    let options = ApplyOptions {
        to: args.to,
        yes: answer.0 == Confirmation::Yes,
        allow_changed: args.allow_changed,
        application_name: plan_files::application_name("apply", &runs[0].1),
        stop: stop.clone(),
    };
    let runtime = plan_files::runtime()?;
    let summary = runtime.block_on(async {
        let _interrupts = super::stop_on_ctrl_c(stop);
        runner::apply(&fleet, &policy, &runs, &options, &printer, &answer).await
    });
    finish(&printer, &summary, "apply")
}

pub fn rollback(fleet: Fleet, args: RollbackArgs) -> anyhow::Result<Exit> {
    let plans = plan_files::load_all(std::slice::from_ref(&args.plan))?;
    if plans.len() != 1 {
        return Err(ExitError::new(
            Exit::Invalid,
            format!(
                "rollback takes one plan file; {} holds {}",
                args.plan.display(),
                plans.len()
            ),
        )
        .into());
    }
    let settings = SettingsArgs {
        lock: args.lock.clone(),
        backfill: Default::default(),
    };
    let runs = prepare(&fleet, plans, &settings)?;
    let policy = policy(&fleet, &args.fleet)?;
    let printer = FleetPrinter::new(args.format, fleet.name_width());
    let stop = StopSignal::new();
    let answer = if args.yes {
        Answer(Confirmation::Yes)
    } else {
        Answer(TerminalConfirm.confirm(&format!(
            "Roll back `{}` on the {} databases of the fleet?",
            runs[0].1[0].plan.name,
            fleet.databases.len()
        )))
    };
    let options = RollbackOptions {
        to: args.to,
        yes: answer.0 == Confirmation::Yes,
        allow_changed: args.allow_changed,
        application_name: plan_files::application_name("rollback", &runs[0].1),
        stop: stop.clone(),
    };
    let runtime = plan_files::runtime()?;
    let summary = runtime.block_on(async {
        let _interrupts = super::stop_on_ctrl_c(stop);
        runner::rollback(&fleet, &policy, &runs, &options, &printer, &answer).await
    });
    finish(&printer, &summary, "rollback")
}

/// Draws the summary and ends with the worst database's exit, naming those that failed.
fn finish(printer: &FleetPrinter, summary: &FleetSummary, command: &str) -> anyhow::Result<Exit> {
    let exit = summary.worst.map_or(Exit::Success, exit_of);
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "event": "fleet_summary",
            "databases": summary.databases,
            "exit_code": exit as u8,
        }));
    } else {
        for line in summary_table(summary) {
            printer.line(line);
        }
    }
    if exit == Exit::Success {
        return Ok(exit);
    }
    let failed: Vec<String> = summary
        .databases
        .iter()
        .filter_map(|d| match &d.outcome {
            Outcome::Failed { reason, .. } => Some(format!("`{}` ({reason})", d.database)),
            _ => None,
        })
        .collect();
    let message = if failed.is_empty() {
        format!("{command} interrupted; run it again to resume every database")
    } else {
        format!(
            "{command} failed on {} of {} databases: {}",
            failed.len(),
            summary.databases.len(),
            failed.join("; ")
        )
    };
    Err(ExitError::new(exit, message).into())
}

/// The summary: one row per database with the phase reached, rows backfilled, time, result and
/// why it failed.
pub fn summary_table(summary: &FleetSummary) -> Vec<String> {
    let header = ["database", "reached", "rows", "time", "result", "reason"].map(String::from);
    let rows: Vec<Vec<String>> = summary
        .databases
        .iter()
        .map(|d| {
            let (result, reason) = match &d.outcome {
                Outcome::Succeeded => (style("ok").green().to_string(), String::new()),
                Outcome::Failed { kind, reason } => (
                    style(format!("failed ({})", exit_of(*kind) as u8))
                        .red()
                        .bold()
                        .to_string(),
                    reason.clone(),
                ),
                Outcome::Stopped => (
                    style("stopped").yellow().to_string(),
                    "another database failed; the next run resumes it".to_string(),
                ),
                Outcome::Interrupted => (
                    style("interrupted").yellow().to_string(),
                    "Ctrl-C; the next run resumes it".to_string(),
                ),
                Outcome::NotStarted => (style("not started").dim().to_string(), String::new()),
            };
            vec![
                d.database.clone(),
                d.reached.clone().unwrap_or_else(|| "—".into()),
                d.rows_backfilled.to_string(),
                duration(d.duration),
                result,
                reason,
            ]
        })
        .collect();
    let mut lines = table(
        &header,
        &rows,
        &[Alignment::Left, Alignment::Left, Alignment::Right],
    );
    let ok = summary
        .databases
        .iter()
        .filter(|d| d.outcome == Outcome::Succeeded)
        .count();
    lines.push(format!(
        "{ok} of {} databases succeeded",
        summary.databases.len()
    ));
    lines
}

/// Columns padded to their widest cell (measured without colours), `align` per column (left
/// for the rest). A row shorter than the header ends in a cell that spans the remaining
/// columns (an error) and does not widen them.
fn table(header: &[String], rows: &[Vec<String>], align: &[Alignment]) -> Vec<String> {
    let mut widths = vec![0usize; header.len()];
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let spans = row.len() < header.len();
        for (i, cell) in row.iter().enumerate() {
            if spans && i + 1 == row.len() {
                break;
            }
            widths[i] = widths[i].max(console::measure_text_width(cell));
        }
    }
    let draw = |row: &[String]| {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let align = align.get(i).copied().unwrap_or(Alignment::Left);
                pad_str(cell, widths[i], align, None).into_owned()
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    let mut lines = vec![style(draw(header)).bold().to_string()];
    lines.extend(rows.iter().map(|row| draw(row)));
    lines
}

pub fn status(fleet: Fleet, args: StatusArgs) -> anyhow::Result<Exit> {
    let plans = if args.plans.is_empty() {
        Vec::new()
    } else {
        plan_files::load_all(&args.plans)?
    };
    let selection = if plans.is_empty() {
        Selection::All
    } else {
        Selection::Files(&plans)
    };
    let runtime = plan_files::runtime()?;
    let reports = runtime.block_on(runner::status(
        &fleet,
        usize::from(args.parallel),
        selection,
    ));
    let printer = Printer::new(args.format);
    if args.format == Format::Json {
        let databases: Vec<serde_json::Value> = reports.iter().map(status_json).collect();
        printer.json(&serde_json::json!({ "databases": databases }));
    } else {
        for line in status_table(&reports) {
            printer.line(line);
        }
    }
    let worst = crate::fleet::schedule::worst(reports.iter().map(|r| r.error_kind));
    match worst {
        None => Ok(Exit::Success),
        Some(kind) => {
            let unread: Vec<&str> = reports
                .iter()
                .filter(|r| r.error.is_some())
                .map(|r| r.database.as_str())
                .collect();
            Err(ExitError::new(
                exit_of(kind),
                format!("cannot read the status of {}", unread.join(", ")),
            )
            .into())
        }
    }
}

/// One database in `status --format json`: each plan's phase reached, and the full report.
fn status_json(report: &runner::DatabaseStatus) -> serde_json::Value {
    let reached: Vec<serde_json::Value> = report
        .status
        .iter()
        .flat_map(|s| &s.plans)
        .map(|plan| {
            serde_json::json!({
                "plan": plan.name,
                "reached": runner::plan_reached(plan),
                "state": plan.state,
            })
        })
        .collect();
    let mut value = serde_json::to_value(report).unwrap_or_default();
    value["plans"] = reached.into();
    value
}

/// The databases × plans table: each cell the phase that plan reached on that database.
pub fn status_table(reports: &[runner::DatabaseStatus]) -> Vec<String> {
    let mut plans: Vec<&str> = Vec::new();
    for plan in reports
        .iter()
        .flat_map(|r| r.status.iter().flat_map(|s| &s.plans))
    {
        if !plans.contains(&plan.name.as_str()) {
            plans.push(&plan.name);
        }
    }
    let header: Vec<String> = std::iter::once("database".to_string())
        .chain(plans.iter().map(|p| p.to_string()))
        .collect();
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|report| {
            let mut row = vec![report.database.clone()];
            match (&report.status, &report.error) {
                (Some(status), _) => row.extend(plans.iter().map(|name| {
                    status
                        .plans
                        .iter()
                        .find(|p| p.name == *name)
                        .map_or_else(|| "—".to_string(), runner::plan_reached)
                })),
                (None, error) => row.push(
                    style(format!(
                        "unreachable: {}",
                        error.as_deref().unwrap_or_default()
                    ))
                    .red()
                    .to_string(),
                ),
            }
            row
        })
        .collect();
    table(&header, &rows, &[])
}

/// `plan --databases FILE`: the dry run read against each database of the fleet in turn, each
/// under a line naming it; ends with the worst exit.
pub fn plan(args: &PlanArgs) -> anyhow::Result<Exit> {
    let db = crate::cli::args::DatabaseArgs {
        database: Vec::new(),
        databases: args.databases.clone(),
    };
    let Some(fleet) = fleet(&db)? else {
        return super::plan::run(args);
    };
    let mut exit = Exit::Success;
    for database in &fleet.databases {
        if args.format == Format::Human {
            out::line(
                &style(format!("── {} ──", database.name))
                    .bold()
                    .cyan()
                    .to_string(),
            );
        }
        let one = PlanArgs {
            plans: args.plans.clone(),
            database: Some(database.url.clone()),
            databases: None,
            dialect: args.dialect,
            format: args.format,
            settings: args.settings.clone(),
        };
        let result = super::plan::run(&one).unwrap_or_else(|error| {
            eprintln!("{}: {}", database.name, super::render_error(&error));
            super::exit_for(&error)
        });
        if result != Exit::Success && exit != Exit::StepFailed {
            exit = result;
        }
    }
    Ok(exit)
}
