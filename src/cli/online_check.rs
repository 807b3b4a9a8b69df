//! `check -d URL` and `plan -d URL`: the engine's online check, drawn as plan diagnostics (the
//! plan file's line and column, the caret inside the fragment the database refused).

use crate::engine::online_check::{Finding, Problem};
use crate::plan::load::Source;
use crate::plan::sql::fragment_offset;
use crate::plan::{Plan, Step};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::Span;

/// Runs the online check of `plan` against `url` (a blocking call for the CLI).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    plan: &Plan,
    source: &Source,
) -> anyhow::Result<Vec<Diagnostic>> {
    let findings = runtime
        .block_on(crate::engine::online_check(url, plan))
        .map_err(|error| {
            anyhow::Error::new(error).context(format!(
                "while checking {} against {} (drop -d to check without a database)",
                plan.path.display(),
                crate::engine::redact_url(url)
            ))
        })?;
    Ok(diagnostics(plan, source, &findings))
}

/// A runtime for [`run`].
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// One error diagnostic per finding, at the fragment it lies in.
pub fn diagnostics(plan: &Plan, source: &Source, findings: &[Finding]) -> Vec<Diagnostic> {
    findings
        .iter()
        .filter_map(|finding| {
            let step = plan
                .steps
                .iter()
                .find(|s| s.phase == finding.phase && s.index == finding.index)?;
            Some(diagnostic(step, source, &finding.problem))
        })
        .collect()
}

fn diagnostic(step: &Step, source: &Source, problem: &Problem) -> Diagnostic {
    match problem {
        Problem::NotAvailable { database } => Diagnostic::warning(
            Code::SqlInvalid,
            Some(first_line(step, source)),
            format!("the online check is not available on {database} yet: the plan's SQL was not compiled against the database"),
        )
        .with_help("`apply` still refuses what the server refuses, step by step; on MySQL every ALTER states its ALGORITHM and LOCK, so the server refuses a blocking change instead of running it"),
        Problem::MissingTable { table } => {
            let span = step
                .values
                .iter()
                .find(|v| v.text == *table)
                .map_or_else(|| first_line(step, source), |v| v.span.clone());
            Diagnostic::error(
                Code::SqlInvalid,
                Some(span),
                format!("table `{table}` does not exist in the database, and no earlier step of the plan creates it"),
            )
            .with_help("check the table's name (and schema) against the database, or create the table in an earlier step")
        }
        Problem::Refused { db, expression, .. } => {
            let sqlstate = db
                .sqlstate
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let hint = db
                .hint
                .as_deref()
                .map(|h| format!("{}; ", h.trim_end_matches('.')))
                .unwrap_or_default();
            let Some(expression) = expression else {
                // Not in a fragment: at the value the message quotes (a column name), else the
                // step.
                let span = step
                    .values
                    .iter()
                    .find(|v| db.message.contains(&format!("\"{}\"", v.text)))
                    .map_or_else(|| first_line(step, source), |v| v.span.clone());
                return Diagnostic::error(
                    Code::SqlInvalid,
                    Some(span),
                    format!("the database refuses this step: {}{sqlstate}", db.message),
                )
                .with_help(format!(
                    "{hint}the step is checked against the tables as the earlier steps of the plan leave them"
                ));
            };
            let value = step.value_span(expression.key, &expression.text);
            let span = match value {
                Some(value) => match (fragment_offset(&source.text, value), &expression.focus) {
                    (Some(start), Some(focus)) => start + focus.start..start + focus.end,
                    (Some(start), None) => start..start + expression.text.len(),
                    (None, _) => value.span.clone(),
                },
                None => first_line(step, source),
            };
            Diagnostic::error(
                Code::SqlInvalid,
                Some(span),
                format!(
                    "the database refuses the SQL in `{}`: {}{sqlstate}",
                    expression.key, db.message
                ),
            )
            .with_help(format!(
                "{hint}fix the SQL in `{}`: it is checked against the table as the earlier steps of the plan leave it",
                expression.key
            ))
        }
    }
}

/// The step's first line.
fn first_line(step: &Step, source: &Source) -> Span {
    let start = step.span.start.min(source.text.len());
    let end = source.text[start..]
        .find('\n')
        .map_or(source.text.len(), |i| start + i);
    start..end
}
