//! A failed step, drawn for a person like a plan diagnostic (the plan file, the step's line or
//! the plan's own SQL the database refused, with a caret, and the SQLSTATE) and for machines
//! (the JSON `error` event with the database's fields kept apart).

use console::Style;
use serde_json::{json, Value};

use crate::engine::error::StepFailure;
use crate::engine::EngineError;
use crate::plan::load::Source;
use crate::plan::render::{line_col, snippet, Snippet};
use crate::vocab::Span;

/// The error as `main` prints it after `error: `: the message, and for a failed step its place
/// in the plan drawn under the first line.
pub fn draw(error: &EngineError, color: bool) -> String {
    let message = error.to_string();
    let Some((at, source)) = located(error) else {
        return message;
    };
    let (headline, rest) = message.split_once('\n').unwrap_or((&message, ""));
    let label = at
        .expression
        .as_ref()
        .map(|e| format!("in this `{}`", e.key));
    let notes = notes(at);
    let style = Snippet {
        accent: Style::new().red().bold(),
        label: label.as_deref(),
        notes: &notes,
        color,
    };
    let drawn = snippet(&source, Some(&span_in(&source.text, at)), &style);
    format!("{headline}\n{drawn}{rest}")
}

/// The `{"event": "error", …}` line: the message and exit code as before, and for a failed
/// step its place (`file`, `line`, `column`), the expression, and the database's fields.
pub fn json(error: &EngineError, exit_code: u8) -> Value {
    let mut event = json!({
        "event": "error",
        "exit_code": exit_code,
        "message": error.to_string(),
    });
    let Some(at) = error.step_failure() else {
        return event;
    };
    let (line, column) = located(error)
        .map(|(at, source)| line_col(&source.text, span_in(&source.text, at).start))
        .unwrap_or((1, 1));
    event["file"] = json!(at.file.display().to_string());
    event["line"] = json!(line);
    event["column"] = json!(column);
    if let Some(expression) = &at.expression {
        event["expression"] = json!(expression);
    }
    if let Some(db) = &at.db {
        event["sqlstate"] = json!(db.sqlstate);
        event["database"] = json!(db);
    }
    event
}

/// The failure and its plan file's text, when the error is a step's and the file is readable.
fn located(error: &EngineError) -> Option<(&StepFailure, Source)> {
    let at = error.step_failure()?;
    let text = std::fs::read_to_string(&at.file).ok()?;
    Some((
        at,
        Source {
            path: at.file.clone(),
            text,
        },
    ))
}

/// Where to put the caret: the expression the database refused, as written in the step (found
/// in the step's text, with TOML's escaped quotes tried too); else the step's first line.
fn span_in(text: &str, at: &StepFailure) -> Span {
    let start = at.span.start.min(text.len());
    // The span may cover only the step's `[[phase]]` header: its keys run to the next header.
    let after = at.span.end.clamp(start, text.len());
    let end = text[after..].find("\n[").map_or(text.len(), |i| after + i);
    let step_text = &text[start..end];
    let written = at.expression.as_ref().and_then(|e| {
        // As written, the caret narrows to the token the error is about.
        if let Some(i) = step_text.find(&e.text).filter(|_| !e.text.is_empty()) {
            let whole = start + i..start + i + e.text.len();
            return Some(match &e.focus {
                Some(focus) => whole.start + focus.start..whole.start + focus.end,
                None => whole,
            });
        }
        let escaped = e.text.replace('\\', "\\\\").replace('"', "\\\"");
        step_text
            .find(&escaped)
            .map(|i| start + i..start + i + escaped.len())
    });
    written.unwrap_or_else(|| {
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        start..line_end
    })
}

/// `= sqlstate: 42703`, `= constraint: …`: what the database said besides its message.
fn notes(at: &StepFailure) -> Vec<String> {
    let Some(db) = &at.db else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    if let Some(code) = &db.sqlstate {
        notes.push(format!("sqlstate: {code}"));
    }
    if let Some(code) = &db.code {
        notes.push(format!("error code: {code}"));
    }
    if let Some(constraint) = &db.constraint {
        notes.push(format!("constraint: {constraint}"));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::error::{DbError, FailedExpression};

    fn failure(text: &str, step_start: usize, expression: Option<&str>) -> (Source, StepFailure) {
        let source = Source {
            path: "plans/0002_x.toml".into(),
            text: text.to_string(),
        };
        let at = StepFailure {
            file: source.path.clone(),
            span: step_start..text.len(),
            db: Some(DbError {
                message: "column \"nme\" does not exist".into(),
                sqlstate: Some("42703".into()),
                ..DbError::default()
            }),
            expression: expression.map(|t| FailedExpression {
                key: "set",
                text: t.into(),
                focus: None,
            }),
        };
        (source, at)
    }

    #[test]
    fn the_caret_goes_under_the_refused_expression_else_under_the_step() {
        let text = "name = \"x\"\n\n[[backfill]]\ntable = \"users\"\nset = { full_name = \"nme || 'x'\" }\n";
        let step = text.find("[[backfill]]").unwrap();
        let (source, at) = failure(text, step, Some("nme || 'x'"));
        let span = span_in(&source.text, &at);
        assert_eq!(&source.text[span.clone()], "nme || 'x'");
        assert_eq!(line_col(&source.text, span.start), (5, 22));
        let (source, at) = failure(text, step, None);
        assert_eq!(&source.text[span_in(&source.text, &at)], "[[backfill]]");
        // TOML's escaped quotes are found too.
        let text = "[[switch]]\nop = \"guard\"\nquery = \"SELECT \\\"x\\\" FROM t\"\n";
        let (source, at) = failure(text, 0, Some("SELECT \"x\" FROM t"));
        assert_eq!(
            line_col(&source.text, span_in(&source.text, &at).start),
            (3, 10)
        );
    }

    #[test]
    fn notes_carry_the_sqlstate_and_constraint() {
        let (_, mut at) = failure("x", 0, None);
        at.db.as_mut().unwrap().constraint = Some("orders_total_check".into());
        assert_eq!(
            notes(&at),
            vec!["sqlstate: 42703", "constraint: orders_total_check"]
        );
    }
}
