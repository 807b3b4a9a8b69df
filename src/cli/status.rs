//! `bellows status [PLAN…]`: each plan's phases and steps as the ledger records them.

use console::style;

use crate::cli::args::{Format, StatusArgs};
use crate::cli::plan_files;
use crate::cli::printer::{duration, Printer};
use std::path::{Path, PathBuf};

use crate::cli::{engine_error, Exit, ExitError};
use crate::engine::status::{PhaseState, Selection, StatusReport};
use crate::engine::{self};

pub fn run(args: StatusArgs) -> anyhow::Result<Exit> {
    if let Some(fleet) = super::fleet::fleet(&args.db)? {
        return super::fleet::status(fleet, args);
    }
    let (url, _dialect) = plan_files::database(&args.db)?;
    let (paths, names): (Vec<PathBuf>, Vec<PathBuf>) =
        args.plans.iter().cloned().partition(|p| is_path(p));
    let names: Vec<String> = names.iter().map(|n| n.display().to_string()).collect();
    if !paths.is_empty() && !names.is_empty() {
        return Err(ExitError::new(
            Exit::Invalid,
            "give either plan files and folders or plan names, not both",
        )
        .into());
    }
    let plans = if paths.is_empty() {
        Vec::new()
    } else {
        plan_files::load_all(&paths)?
    };
    let selection = if !names.is_empty() {
        Selection::Names(&names)
    } else if !plans.is_empty() {
        Selection::Files(&plans)
    } else {
        Selection::All
    };
    let printer = Printer::new(args.format);
    let runtime = plan_files::runtime()?;
    let report = runtime
        .block_on(engine::status(&url, selection))
        .map_err(|e| engine_error(&printer, e))?;
    if args.format == Format::Json {
        printer.json(&report);
    } else {
        for line in render(&report) {
            printer.line(line);
        }
    }
    Ok(Exit::Success)
}

/// A PLAN argument that names a file or folder (it exists, or looks like a path), rather than
/// a plan's name in the ledger (`0001_users`).
fn is_path(arg: &Path) -> bool {
    arg.exists()
        || arg.extension().is_some()
        || arg.components().count() > 1
        || arg.as_os_str().to_string_lossy().ends_with('/')
}

fn phase_style(state: PhaseState) -> console::StyledObject<&'static str> {
    let text = state.as_str();
    match state {
        PhaseState::Applied => style(text).green(),
        PhaseState::Failed => style(text).red().bold(),
        PhaseState::Running | PhaseState::Interrupted | PhaseState::Partial => style(text).yellow(),
        PhaseState::RolledBack => style(text).magenta(),
        PhaseState::Pending => style(text).dim(),
    }
}

fn step_mark(state: PhaseState) -> console::StyledObject<&'static str> {
    match state {
        PhaseState::Applied => style("✓").green(),
        PhaseState::Failed => style("✗").red().bold(),
        PhaseState::Running => style("…").yellow(),
        PhaseState::Interrupted | PhaseState::Partial => style("‖").yellow(),
        PhaseState::RolledBack => style("↺").magenta(),
        PhaseState::Pending => style("·").dim(),
    }
}

/// The human rendering, one line per plan, phase and step.
pub fn render(report: &StatusReport) -> Vec<String> {
    let mut lines = Vec::new();
    if report.plans.is_empty() {
        lines.push(if report.ledger {
            "no plans in the ledger".to_string()
        } else {
            "nothing applied yet (this database has no bellows ledger)".to_string()
        });
        return lines;
    }
    lines.extend(render_plans(report));
    lines.extend(render_versions(report));
    lines
}

/// The version schemas, each with its plan and the lines the new application sets.
pub fn render_versions(report: &StatusReport) -> Vec<String> {
    let mut lines = Vec::new();
    if !report.versions.is_empty() {
        lines.push(style("version schemas").bold().to_string());
    }
    for version in &report.versions {
        let views: Vec<&str> = version.views.iter().map(|v| v.view.as_str()).collect();
        lines.push(format!(
            "  {} of plan {}  {}",
            style(&version.schema).cyan(),
            version.plan,
            style(if views.is_empty() {
                "(no views left: the tables themselves)".to_string()
            } else {
                format!("(views: {})", views.join(", "))
            })
            .dim()
        ));
        lines.push(format!("    SET search_path = {};", version.search_path));
        lines.push(format!("    {}", version.connection_option));
    }
    lines
}

fn render_plans(report: &StatusReport) -> Vec<String> {
    let mut lines = Vec::new();
    for plan in &report.plans {
        let mut head = format!(
            "{} {}",
            style(&plan.name).bold().cyan(),
            phase_style(plan.state)
        );
        if let Some(path) = &plan.path {
            head.push_str(&format!("  {}", style(path).dim()));
        }
        if plan.changed {
            head.push_str(&format!(
                "  {}",
                style("(file changed since it was started)").yellow()
            ));
        }
        lines.push(head);
        for phase in &plan.phases {
            lines.push(format!(
                "  {:<9} {}",
                phase.phase.as_str(),
                phase_style(phase.state)
            ));
            for step in &phase.steps {
                let mut line = format!(
                    "    {} {}. {} {}  {}",
                    step_mark(step.state),
                    step.index + 1,
                    step.op,
                    step.target,
                    style(step.state.as_str()).dim()
                );
                if let Some(took) = step.duration {
                    line.push_str(&format!("  {}", style(duration(took)).dim()));
                }
                if step.rows_done > 0 {
                    line.push_str(&format!("  {} rows done", step.rows_done));
                }
                lines.push(line);
                if let Some(error) = &step.error {
                    lines.push(format!(
                        "       {}",
                        style(error.lines().next().unwrap_or_default()).red()
                    ));
                }
            }
        }
    }
    lines
}
