//! Where a failed step's error lies in its plan file: the step's place, and — when the database
//! refused the plan's own SQL (a `set`, `from`, `where`, `query`, `up`, a type or a default) —
//! which piece of it. Pure: decided from the plan, the step and the error, drawn by the CLI.

use std::ops::Range;

use super::context::StepError;
use super::error::{DbError, FailedExpression, StepFailure};
use super::reporter::StepRef;
use crate::ops::{Expression, Op};
use crate::plan::Plan;

/// Locates `error` of `step` in `plan`; `None` when the plan has no such step (a plan run
/// without its file).
pub fn locate(plan: &Plan, step: &StepRef, error: &StepError) -> Option<StepFailure> {
    let written = plan
        .steps
        .iter()
        .find(|s| s.phase == step.phase && s.index == step.index)?;
    let change = change_type_of(plan, written);
    let expression = error.db.as_deref().and_then(|db| {
        let op = change.unwrap_or(&written.op);
        failed_expression(op, db, error.statement.as_deref())
            .or_else(|| conversion_failed(&written.op, change?, db))
    });
    Some(StepFailure {
        file: plan.path.clone(),
        span: written.span.clone(),
        db: error.db.as_deref().cloned(),
        expression,
    })
}

/// The `change_type` a step bellows added for it comes from (its hidden column, sync and
/// backfill carry its place in the file): the user wrote that step's SQL, not the derived one's.
fn change_type_of<'p>(plan: &'p Plan, step: &crate::plan::Step) -> Option<&'p Op> {
    if !matches!(
        step.op,
        Op::AddColumn(_) | Op::SyncColumn(_) | Op::Backfill(_)
    ) {
        return None;
    }
    plan.steps
        .iter()
        .find(|s| s.span == step.span && matches!(s.op, Op::ChangeType(_)))
        .map(|s| &s.op)
}

/// A data error (class 22) in a type change's backfill: its `using`, the one expression the
/// backfill computes, failed on a row.
fn conversion_failed(derived: &Op, change: &Op, db: &DbError) -> Option<FailedExpression> {
    match (derived, change) {
        (Op::Backfill(_), Op::ChangeType(change)) if db.class() == Some("22") => {
            Some(FailedExpression {
                key: "using",
                text: change.using.clone(),
                focus: None,
            })
        }
        _ => None,
    }
}

/// The expression of `op` the database's error `db` (in `statement`) lies in, with the token
/// it is about.
pub fn failed_expression(
    op: &Op,
    db: &DbError,
    statement: Option<&str>,
) -> Option<FailedExpression> {
    let found = expression_at(op, db, statement)?;
    Some(FailedExpression {
        key: found.key,
        text: found.text.to_string(),
        focus: focus(found.text, db, statement),
    })
}

/// The expression of `op` the database's error lies in: the one at the server's position in
/// the statement; else the only one naming the object the message quotes (`column "nme" does
/// not exist`); else, for an error in the data computed, the step's only expression.
pub fn expression_at<'o>(
    op: &'o Op,
    db: &DbError,
    statement: Option<&str>,
) -> Option<Expression<'o>> {
    let expressions = op.expressions();
    if let (Some(position), Some(sql)) = (db.position, statement) {
        if let Some(found) = at_position(&expressions, sql, position) {
            return Some(found);
        }
    }
    let quoted = quoted_names(&db.message);
    let naming: Vec<_> = expressions
        .iter()
        .filter(|e| quoted.iter().any(|name| contains_word(e.text, name)))
        .collect();
    if let [only] = naming.as_slice() {
        return Some(**only);
    }
    match expressions.as_slice() {
        [only] if db.class() == Some("22") => Some(*only),
        _ => None,
    }
}

/// The expression whose text, where it stands in `sql`, covers the 1-based character
/// `position`.
fn at_position<'o>(
    expressions: &[Expression<'o>],
    sql: &str,
    position: usize,
) -> Option<Expression<'o>> {
    let at = sql
        .char_indices()
        .nth(position.checked_sub(1)?)
        .map(|(i, _)| i)?;
    expressions.iter().copied().find(|e| {
        !e.text.is_empty()
            && sql
                .match_indices(e.text)
                .any(|(start, text)| (start..=start + text.len()).contains(&at))
    })
}

/// The bytes of `text` the error is about: the token at the server's position, else the first
/// whole-word use of a name the message quotes.
fn focus(text: &str, db: &DbError, statement: Option<&str>) -> Option<Range<usize>> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let token_at = |offset: usize| {
        let rest = &text[offset..];
        let len = match rest.chars().next()? {
            c if is_word(c) => rest.find(|c: char| !is_word(c)).unwrap_or(rest.len()),
            c => c.len_utf8(),
        };
        Some(offset..offset + len)
    };
    let at = match (db.position, statement) {
        (Some(position), Some(sql)) => position
            .checked_sub(1)
            .and_then(|p| sql.char_indices().nth(p))
            .map(|(i, _)| (sql, i)),
        _ => None,
    };
    if let Some((sql, at)) = at {
        let inside = sql
            .match_indices(text)
            .find(|(start, _)| (*start..*start + text.len()).contains(&at));
        if let Some((start, _)) = inside {
            return token_at(at - start);
        }
    }
    let lower = text.to_lowercase();
    quoted_names(&db.message).into_iter().find_map(|name| {
        let name = name.to_lowercase();
        lower
            .match_indices(&name)
            .find(|(start, _)| {
                let before = lower[..*start].chars().next_back();
                let after = lower[start + name.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
            .filter(|_| lower.len() == text.len())
            .map(|(start, _)| start..start + name.len())
    })
}

/// The names a server message quotes (`column "nme" does not exist` → `nme`), or names after
/// its last colon, as SQLite words them (`no such column: nme` → `nme`).
fn quoted_names(message: &str) -> Vec<&str> {
    let mut names: Vec<&str> = message
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|name| !name.is_empty())
        .collect();
    // MySQL quotes with single quotes, a column maybe with its table (`Unknown column 'u.nme'`).
    names.extend(
        message
            .split('\'')
            .skip(1)
            .step_by(2)
            .filter(|name| !name.is_empty())
            .map(|name| name.rsplit('.').next().unwrap_or(name)),
    );
    if let Some((_, last)) = message.rsplit_once(": ") {
        let last = last.trim();
        if !last.is_empty() && !last.contains(' ') {
            names.push(last.rsplit('.').next().unwrap_or(last));
        }
    }
    names
}

/// Whether `name` stands in `text` as a whole word, ignoring case.
fn contains_word(text: &str, name: &str) -> bool {
    let text = text.to_lowercase();
    let name = name.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(&name).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + name.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{AddColumn, Backfill};
    use crate::vocab::TableName;

    fn backfill(set: &[&str], filter: Option<&str>) -> Op {
        Op::Backfill(Backfill {
            table: TableName::parse("users"),
            set: set
                .iter()
                .enumerate()
                .map(|(i, e)| (format!("c{i}"), e.to_string()))
                .collect(),
            filter: filter.map(str::to_string),
            key: None,
            batch_size: None,
            pause: None,
            target_batch_time: None,
            max_lag: None,
            throttle_query: None,
            parallel: None,
        })
    }

    fn db(sqlstate: &str, message: &str, position: Option<usize>) -> DbError {
        DbError {
            message: message.to_string(),
            sqlstate: Some(sqlstate.to_string()),
            position,
            ..DbError::default()
        }
    }

    #[test]
    fn the_expression_is_found_by_the_server_position_then_by_the_quoted_name_then_alone() {
        let op = backfill(&["upper(name)", "length(kind"], Some("c0 IS NULL"));
        let sql = "UPDATE users SET c0 = (upper(name)), c1 = (length(kind) WHERE (c0 IS NULL)";
        let position = sql.find("length").unwrap() + 3;
        let cases: &[(DbError, Option<&str>, Option<&str>)] = &[
            // The server's position falls inside the second `set` expression.
            (
                db("42601", "syntax error at or near \"WHERE\"", Some(position)),
                Some(sql),
                Some("length(kind"),
            ),
            // No position: the quoted column names one expression only.
            (
                db("42703", "column \"name\" does not exist", None),
                None,
                Some("upper(name)"),
            ),
            (
                db("42703", "column \"c0\" does not exist", None),
                None,
                Some("c0 IS NULL"),
            ),
            // A quoted name in no expression: no guess.
            (
                db("42P01", "relation \"users\" does not exist", None),
                None,
                None,
            ),
        ];
        for (error, statement, expected) in cases {
            let found = expression_at(&op, error, *statement).map(|e| e.text);
            assert_eq!(found, *expected, "{}", error.message);
        }
        // A quoted name in two expressions: no guess either.
        let twice = backfill(&["upper(name)"], Some("name IS NOT NULL"));
        let error = db("42703", "column \"name\" does not exist", None);
        assert_eq!(expression_at(&twice, &error, None), None);
    }

    #[test]
    fn a_data_error_points_at_the_only_expression_and_a_type_typo_at_the_type() {
        let op = backfill(&["price / qty"], None);
        let division = db("22012", "division by zero", None);
        assert_eq!(
            expression_at(&op, &division, None).map(|e| e.key),
            Some("set")
        );
        let column = Op::AddColumn(AddColumn {
            table: TableName::parse("users"),
            column: "age".into(),
            type_: "intger".into(),
            nullable: true,
            default: None,
            comment: None,
        });
        let typo = db("42704", "type \"intger\" does not exist", None);
        assert_eq!(
            expression_at(&column, &typo, None).map(|e| e.key),
            Some("type")
        );
        // A missing table is not the type's fault, though the step has one expression.
        let missing = db("42P01", "relation \"users\" does not exist", None);
        assert_eq!(expression_at(&column, &missing, None), None);
    }

    #[test]
    fn the_focus_is_the_token_at_the_position_else_the_quoted_name() {
        let up = "CREATE INDEX i ON accounts (no_such_column)";
        let at = up.find("no_such").unwrap() + 1;
        let error = db(
            "42703",
            "column \"no_such_column\" does not exist",
            Some(at),
        );
        assert_eq!(
            focus(up, &error, Some(up)).map(|r| &up[r]),
            Some("no_such_column")
        );
        let set = "upper(nme) || 'x'";
        let error = db("42703", "column \"nme\" does not exist", None);
        assert_eq!(focus(set, &error, None).map(|r| &set[r]), Some("nme"));
        let error = db("22012", "division by zero", None);
        assert_eq!(focus(set, &error, None), None);
    }

    #[test]
    fn words_match_whole_and_without_case() {
        assert!(contains_word("upper(Name)", "name"));
        assert!(!contains_word("upper(full_name)", "name"));
        assert_eq!(quoted_names("a \"x\" b \"y\""), vec!["x", "y"]);
        assert_eq!(quoted_names("no such column: users.nme"), vec!["nme"]);
        assert_eq!(
            quoted_names("Unknown column 'users.nme' in 'SET'"),
            vec!["nme", "SET"]
        );
    }
}
