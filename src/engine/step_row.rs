//! A ledger step row as the backends that keep times as epoch seconds and captures and
//! checkpoints as JSON text store it (SQLite, MySQL; PostgreSQL selects its row in that
//! shape): read back into a [`StepRecord`] by one generic reader, and written (SQLite, MySQL)
//! by one upsert whose SQL differs only in its conflict clause.

use std::collections::BTreeMap;

use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, IntoArguments, Row, Type};

use super::error::{EngineError, ErrorKind};
use super::ledger::{from_epoch, to_epoch, StepRecord, StepState};
use crate::vocab::Phase;

/// The step columns after the key (`plan`, `phase`, `step_index`), in insert order.
const VALUE_COLUMNS: [&str; 12] = [
    "op",
    "target",
    "state",
    "started_at",
    "finished_at",
    "error",
    "captures",
    "checkpoint",
    "rows_done",
    "actions_done",
    "undo_done",
    "definition",
];

/// How a database spells "insert, or update the row with the same key".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// SQLite: `ON CONFLICT (…) DO UPDATE SET c = excluded.c`, placeholders `?1…`.
    OnConflict,
    /// MySQL: `ON DUPLICATE KEY UPDATE c = VALUES(c)`, placeholders `?`.
    OnDuplicateKey,
}

/// The upsert of one step row into `bellows_steps`.
pub fn upsert_step_sql(style: Upsert) -> String {
    let columns = ["plan", "phase", "step_index"]
        .iter()
        .chain(VALUE_COLUMNS.iter())
        .copied()
        .collect::<Vec<_>>();
    let placeholders = (1..=columns.len())
        .map(|n| match style {
            Upsert::OnConflict => format!("?{n}"),
            Upsert::OnDuplicateKey => "?".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let set = VALUE_COLUMNS
        .iter()
        .map(|c| match style {
            Upsert::OnConflict => format!("{c} = excluded.{c}"),
            Upsert::OnDuplicateKey => format!("{c} = VALUES({c})"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let conflict = match style {
        Upsert::OnConflict => "ON CONFLICT (plan, phase, step_index) DO UPDATE SET",
        Upsert::OnDuplicateKey => "ON DUPLICATE KEY UPDATE",
    };
    format!(
        "INSERT INTO bellows_steps ({}) VALUES ({placeholders}) {conflict} {set}",
        columns.join(", ")
    )
}

/// Binds `plan` and `step` to [`upsert_step_sql`], in its column order.
pub fn bind_step<'q, DB>(
    query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    plan: &'q str,
    step: &'q StepRecord,
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
    &'q Option<String>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
{
    let captures = serde_json::to_string(&step.captures).unwrap_or_else(|_| "{}".into());
    let checkpoint = step
        .checkpoint
        .as_ref()
        .map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()));
    query
        .bind(plan)
        .bind(step.phase.as_str())
        .bind(step.index as i64)
        .bind(step.op.as_str())
        .bind(step.target.as_str())
        .bind(step.state.as_str())
        .bind(step.started_at.map(to_epoch))
        .bind(step.finished_at.map(to_epoch))
        .bind(&step.error)
        .bind(captures)
        .bind(checkpoint)
        .bind(step.rows_done as i64)
        .bind(step.actions_done as i64)
        .bind(step.undo_done.map(|n| n as i64))
        .bind(&step.definition)
}

fn bad(what: &str, value: &str) -> EngineError {
    EngineError::refused(
        ErrorKind::Failed,
        format!(
            "the ledger's steps table holds an unknown {what} `{value}`; was it written by a newer bellows?"
        ),
    )
}

/// A step read back from its row.
pub fn step_of<'r, R>(row: &'r R) -> Result<StepRecord, EngineError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let phase: String = row.get("phase");
    let state: String = row.get("state");
    let captures: String = row.get("captures");
    let checkpoint: Option<String> = row.get("checkpoint");
    Ok(StepRecord {
        phase: Phase::parse(&phase).ok_or_else(|| bad("phase", &phase))?,
        index: row.get::<i64, _>("step_index").max(0) as usize,
        op: row.get("op"),
        target: row.get("target"),
        state: StepState::parse(&state).ok_or_else(|| bad("state", &state))?,
        started_at: row.get::<Option<f64>, _>("started_at").map(from_epoch),
        finished_at: row.get::<Option<f64>, _>("finished_at").map(from_epoch),
        error: row.get("error"),
        captures: serde_json::from_str::<BTreeMap<String, String>>(&captures)
            .map_err(|_| bad("captures value", &captures))?,
        checkpoint: match checkpoint {
            Some(text) => Some(
                serde_json::from_str::<Vec<String>>(&text).map_err(|_| bad("checkpoint", &text))?,
            ),
            None => None,
        },
        rows_done: row.get::<i64, _>("rows_done").max(0) as u64,
        actions_done: row.get::<i64, _>("actions_done").max(0) as usize,
        undo_done: row
            .get::<Option<i64>, _>("undo_done")
            .map(|n| n.max(0) as usize),
        definition: row.get("definition"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_upsert_in_each_spelling() {
        let sqlite = upsert_step_sql(Upsert::OnConflict);
        assert!(sqlite.starts_with("INSERT INTO bellows_steps (plan, phase, step_index, op, "));
        assert!(sqlite.contains("VALUES (?1, ?2, ?3, ?4,"));
        assert!(sqlite.contains(
            "?15) ON CONFLICT (plan, phase, step_index) DO UPDATE SET op = excluded.op,"
        ));
        assert!(sqlite.ends_with("definition = excluded.definition"));
        let mysql = upsert_step_sql(Upsert::OnDuplicateKey);
        assert!(mysql.contains("VALUES (?, ?, ?,"));
        assert!(mysql.contains("ON DUPLICATE KEY UPDATE op = VALUES(op),"));
        assert_eq!(mysql.matches('?').count(), 15);
    }
}

/// One statement that removes a plan's steps not in `keep` (steps the plan no longer has):
/// `?` placeholders, the plan then each kept step's phase and index ([`bind_kept_steps`]).
pub fn delete_steps_except_sql(kept: usize) -> String {
    let mut sql = "DELETE FROM bellows_steps WHERE plan = ?".to_string();
    if kept > 0 {
        // NOTE: a list of comparisons rather than a row-value IN list, which SQLite accepts
        // only against a subquery and MySQL 8 spells as VALUES ROW(…).
        let steps = vec!["(phase = ? AND step_index = ?)"; kept].join(" OR ");
        sql.push_str(&format!(" AND NOT ({steps})"));
    }
    sql
}

/// Binds [`delete_steps_except_sql`]'s values.
pub fn bind_kept_steps<'q, DB>(
    mut query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    plan: &'q str,
    keep: &[(Phase, usize)],
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    query = query.bind(plan);
    for (phase, index) in keep {
        query = query.bind(phase.as_str()).bind(*index as i64);
    }
    query
}

#[cfg(test)]
mod delete_tests {
    use super::*;

    #[test]
    fn the_delete_keeps_each_listed_step_and_nothing_else() {
        assert_eq!(
            delete_steps_except_sql(0),
            "DELETE FROM bellows_steps WHERE plan = ?"
        );
        assert_eq!(
            delete_steps_except_sql(2),
            "DELETE FROM bellows_steps WHERE plan = ? AND NOT ((phase = ? AND step_index = ?) OR (phase = ? AND step_index = ?))"
        );
    }
}
