//! The offline syntax check of every fragment of SQL a plan holds.

use super::fragment::{read, FragmentKind, Reading};
use super::locate::span_at;
use crate::plan::{Plan, Step};
use crate::vocab::diagnostic::{Code, Diagnostic};

/// A diagnostic for each fragment of `plan` that does not parse (an error) or that the parser
/// cannot read (a note); `source` is the plan file's text.
pub fn check_syntax(plan: &Plan, source: &str) -> Vec<Diagnostic> {
    plan.steps
        .iter()
        .flat_map(|step| check_step(step, source))
        .collect()
}

fn check_step(step: &Step, source: &str) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for expression in step.op.expressions() {
        let kind = FragmentKind::of(expression.key);
        let value = step.value_span(expression.key, expression.text);
        let whole = value.map_or(step.span.clone(), |v| v.span.clone());
        let what = describe(kind, expression.key);
        match read(kind, expression.text) {
            Reading::Parsed => {}
            Reading::Error { message, at } => {
                let span = value.map_or(whole, |v| span_at(source, v, at));
                found.push(syntax_error(kind, expression.key, &what, message, span));
            }
            Reading::Unchecked { why } => found.push(Diagnostic::note(
                Code::NotCheckedOffline,
                Some(whole.start..whole.start + 1),
                format!("{what} is not checked offline: {why}; the database will judge it"),
            )),
        }
    }
    found
}

/// A fragment the offline parser cannot read. For a type or an expression that is an error:
/// the parser covers their grammar. Statements (`up`, `down`, `query`) are a warning, never an
/// error: PostgreSQL has statements the offline parser does not know (`ALTER TABLE … SET
/// STATISTICS`), and the database, not the parser, is the authority on those.
fn syntax_error(
    kind: FragmentKind,
    key: &str,
    what: &str,
    message: String,
    span: crate::vocab::Span,
) -> Diagnostic {
    match kind {
        FragmentKind::Statements => Diagnostic::warning(
            Code::SqlSyntax,
            Some(span),
            format!("{what} does not parse offline: {message}"),
        )
        .with_help(format!(
            "fix the SQL in `{key}`; if your database accepts it as written, the offline parser \
             does not know this statement and the database will judge it"
        )),
        FragmentKind::Type | FragmentKind::Expression => Diagnostic::error(
            Code::SqlSyntax,
            Some(span),
            format!("{what} does not parse: {message}"),
        )
        .with_help(format!(
            "fix the SQL in `{key}`; it is checked with the PostgreSQL and SQLite grammars"
        )),
    }
}

/// "the type in `type`", "the expression in `set`", "the SQL in `up`".
fn describe(kind: FragmentKind, key: &str) -> String {
    match kind {
        FragmentKind::Type => format!("the type in `{key}`"),
        FragmentKind::Expression => format!("the expression in `{key}`"),
        FragmentKind::Statements => format!("the SQL in `{key}`"),
    }
}
