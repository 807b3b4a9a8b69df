//! `bellows check PLAN…`: parse, validate and lint plans without a database.
//!
//! Where output goes: the findings are what this command produces, so they are printed on
//! **stdout** — the rendered diagnostics and the summary line, or with `--format json` one JSON
//! document. Only an invalid invocation (a path that does not exist, a directory without plans)
//! ends up on stderr, printed by `main` like every other error. Colour follows stdout.

use std::path::Path;

use serde::Serialize;

use super::args::{CheckArgs, Format};
use super::{out, Exit, ExitError};
use crate::dialect::DialectKind;
use crate::plan::discover::plan_files;
use crate::plan::load::{load_path, Loaded};
use crate::plan::render::{locate, render_with, Located};
use crate::vocab::diagnostic::{Code, Diagnostic, Severity};

pub fn run(args: &CheckArgs) -> anyhow::Result<Exit> {
    let files =
        plan_files(&args.plans).map_err(|e| ExitError::new(Exit::Invalid, e.to_string()))?;
    let mut loaded: Vec<Loaded> = files.iter().map(|f| load_path(f)).collect();
    refuse_duplicate_names(&mut loaded);
    let mut dialects = args.dialect.clone();
    if let Some(kind) = args.database.as_deref().and_then(DialectKind::from_url) {
        dialects.push(kind);
    }
    dialects.dedup();
    for l in loaded.iter_mut() {
        for &kind in &dialects {
            add_unsupported(l, kind);
        }
    }
    if let Some(url) = &args.database {
        check_online(url, &mut loaded)?;
    }
    let report = Report::new(&loaded, args.deny_warnings);
    let text = match args.format {
        Format::Human => report.human(&loaded, console::colors_enabled()),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
    };
    out::print(&text)?;
    Ok(if report.ok {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

/// `-d URL`: each plan without errors so far is checked against the database too.
fn check_online(url: &str, loaded: &mut [Loaded]) -> anyhow::Result<()> {
    let runtime = super::online_check::runtime()?;
    for l in loaded.iter_mut() {
        if l.diagnostics.iter().any(Diagnostic::is_error) {
            continue;
        }
        if let Some(plan) = &l.plan {
            let found = super::online_check::run(&runtime, url, plan, &l.source)?;
            l.diagnostics.extend(found);
        }
    }
    Ok(())
}

/// `--dialect`: the steps `kind` cannot run, as errors at their step (as `plan --dialect` says).
fn add_unsupported(loaded: &mut Loaded, kind: DialectKind) {
    let mut found: Vec<Diagnostic> = super::plan_report::diagnostics(loaded, kind)
        .into_iter()
        .filter(|d| d.code == Code::Unsupported && !loaded.diagnostics.contains(d))
        .collect();
    loaded.diagnostics.append(&mut found);
    loaded
        .diagnostics
        .sort_by_key(|d| d.span.as_ref().map(|s| s.start).unwrap_or(0));
}

/// A plan named like an earlier one of the same check gets an error: the ledger knows plans
/// by name, so the second would be taken for the first.
fn refuse_duplicate_names(loaded: &mut [Loaded]) {
    for i in 1..loaded.len() {
        let Some(name) = loaded[i].plan.as_ref().map(|p| p.name.clone()) else {
            continue;
        };
        let first = loaded[..i]
            .iter()
            .find(|l| l.plan.as_ref().is_some_and(|p| p.name == name));
        if let Some(first) = first {
            let message = format!(
                "another plan is named `{name}`: {}",
                first.source.path.display()
            );
            loaded[i].diagnostics.push(
                Diagnostic::error(Code::Duplicate, None, message).with_help(
                    "the ledger knows plans by name: give this one another `name` (or file name)",
                ),
            );
        }
    }
}

/// Everything `check` found, as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Whether the command succeeds: no error, and no warning under `--deny-warnings`.
    pub ok: bool,
    pub plans: Vec<PlanReport>,
    pub totals: Totals,
}

#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub file: String,
    /// The plan's name, when it loaded without errors.
    pub name: Option<String>,
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    pub findings: Vec<Located>,
}

#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub plans: usize,
    /// Plans with at least one error.
    pub invalid: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl Report {
    pub fn new(loaded: &[Loaded], deny_warnings: bool) -> Report {
        let mut totals = Totals::default();
        let plans: Vec<PlanReport> = loaded
            .iter()
            .map(|l| {
                let count = |s| l.diagnostics.iter().filter(|d| d.severity == s).count();
                let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
                totals.plans += 1;
                totals.invalid += usize::from(errors > 0);
                totals.errors += errors;
                totals.warnings += warnings;
                PlanReport {
                    file: display(&l.source.path),
                    name: l.plan.as_ref().map(|p| p.name.clone()),
                    valid: errors == 0,
                    errors,
                    warnings,
                    findings: l.diagnostics.iter().map(|d| locate(&l.source, d)).collect(),
                }
            })
            .collect();
        let ok = totals.errors == 0 && !(deny_warnings && totals.warnings > 0);
        Report { ok, plans, totals }
    }

    /// Every diagnostic rendered with its source line, then one summary line.
    pub fn human(&self, loaded: &[Loaded], color: bool) -> String {
        let mut out = String::new();
        for plan in loaded {
            for diagnostic in &plan.diagnostics {
                out.push_str(&render_with(&plan.source, diagnostic, color));
                out.push('\n');
            }
        }
        let summary = self.summary();
        let style = if !self.ok {
            console::Style::new().red().bold()
        } else if self.totals.warnings > 0 {
            console::Style::new().yellow()
        } else {
            console::Style::new().green()
        };
        out.push_str(&format!(
            "{}\n",
            style.force_styling(color).apply_to(summary)
        ));
        out
    }

    /// "checked 3 plans: 1 error, 2 warnings (1 plan invalid)".
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let mut text = format!("checked {}: ", plural(t.plans, "plan"));
        if t.errors == 0 && t.warnings == 0 {
            text.push_str("no problems found");
            return text;
        }
        let mut parts = Vec::new();
        if t.errors > 0 {
            parts.push(plural(t.errors, "error"));
        }
        if t.warnings > 0 {
            parts.push(plural(t.warnings, "warning"));
        }
        text.push_str(&parts.join(", "));
        if t.invalid > 0 {
            let verb = if t.invalid == 1 { "is" } else { "are" };
            text.push_str(&format!("; {} {verb} invalid", plural(t.invalid, "plan")));
        } else if !self.ok {
            text.push_str(" (denied by --deny-warnings)");
        }
        text
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
