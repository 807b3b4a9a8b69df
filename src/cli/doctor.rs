//! `bellows doctor [PLAN…]`: compares the ledger with the catalog and lists every difference;
//! exits 1 when there is one.

use crate::cli::args::{DoctorArgs, Format};
use crate::cli::plan_files;
use crate::cli::printer::Printer;
use crate::cli::{engine_error, Exit};
use crate::config::Config;
use crate::engine::doctor::DoctorReport;
use crate::engine::{self, PlanRun};

pub fn run(args: DoctorArgs) -> anyhow::Result<Exit> {
    let (url, dialect) = plan_files::database(&args.db)?;
    let plans = if args.plans.is_empty() {
        Vec::new()
    } else {
        plan_files::load_all(&args.plans)?
    };
    let mut runs = Vec::new();
    for plan in plans {
        let steps = crate::dialect::plan_steps(&plan, dialect.dialect()).map_err(|e| {
            crate::cli::ExitError::new(Exit::Invalid, format!("plan `{}`: {e}", plan.name))
        })?;
        runs.push(PlanRun {
            plan,
            steps,
            config: Config::defaults(),
        });
    }
    let printer = Printer::new(args.format);
    let runtime = plan_files::runtime()?;
    let report = runtime
        .block_on(engine::doctor(&url, &runs))
        .map_err(|e| engine_error(&printer, e))?;
    if args.format == Format::Json {
        printer.json(&report);
    } else {
        for line in render(&report) {
            printer.line(line);
        }
    }
    Ok(if report.drift() {
        Exit::StepFailed
    } else {
        Exit::Success
    })
}

/// The human rendering: one line per finding, or one line saying all is well.
pub fn render(report: &DoctorReport) -> Vec<String> {
    if !report.drift() {
        return vec![format!(
            "no drift: the ledger and the catalog agree ({} object(s) of the given plans checked{})",
            report.checked,
            if report.ledger { "" } else { "; no ledger" }
        )];
    }
    let mut lines = vec![format!(
        "drift: {} difference(s) between the ledger and the catalog",
        report.findings.len()
    )];
    for finding in &report.findings {
        let plan = finding
            .plan
            .as_ref()
            .map(|p| format!("plan `{p}`: "))
            .unwrap_or_default();
        lines.push(format!(
            "  {:<11} {plan}{}: {}",
            serde_json::to_value(finding.problem)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            finding.object,
            finding.detail
        ));
    }
    lines
}
