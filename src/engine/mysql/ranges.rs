//! A parallel backfill on MySQL/MariaDB: the key's split points (read from its index) and the
//! ranges' rows in the ledger (`bellows_backfill_ranges`), each with its own checkpoint.

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Row};

use super::ledger::write_checkpoint;
use super::statement::text_cell;
use crate::dialect::mysql::ranges::key_split_sql;
use crate::engine::backfill::parallel::SavedRange;
use crate::engine::error::{DbContext, EngineError};
use crate::engine::ledger::{StepKey, StepRecord};
use crate::vocab::TableName;

/// The ledger table of the ranges; its rows go with their step's.
pub(super) const RANGES_DDL: &str = "CREATE TABLE IF NOT EXISTS bellows_backfill_ranges (
    plan         VARCHAR(191) NOT NULL,
    phase        VARCHAR(16) NOT NULL,
    step_index   INT NOT NULL,
    range_index  INT NOT NULL,
    checkpoint   LONGTEXT NULL,
    until        LONGTEXT NULL,
    rows_done    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (plan, phase, step_index, range_index),
    CONSTRAINT bellows_backfill_ranges_step FOREIGN KEY (plan, phase, step_index)
        REFERENCES bellows_steps (plan, phase, step_index) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/// MySQL's "table does not exist": a ledger made before parallel backfills has no ranges
/// table (only `apply` creates it).
const ER_NO_SUCH_TABLE: u16 = 1146;

fn no_ranges_table(error: &sqlx::Error) -> bool {
    super::error_number(error) == Some(ER_NO_SUCH_TABLE)
}

fn json(keys: &Option<Vec<String>>) -> Option<String> {
    keys.as_ref()
        .map(|k| serde_json::to_string(k).unwrap_or_else(|_| "[]".into()))
}

/// The key at each of `offsets` rows after `after`, in key order; fewer when the table is
/// shorter.
pub(super) async fn split_points(
    conn: &mut MySqlConnection,
    table: &TableName,
    key: &[String],
    after: Option<&[String]>,
    offsets: &[u64],
) -> Result<Vec<Vec<String>>, EngineError> {
    let what = || format!("splitting the key of {table} into ranges");
    let mut points: Vec<Vec<String>> = Vec::new();
    for offset in offsets {
        let sql = key_split_sql(table, key, after, *offset);
        let found = sqlx::query(&sql)
            .persistent(false)
            .fetch_optional(&mut *conn)
            .await
            .context(what)?;
        let Some(found) = found else { break };
        let point = (0..found.len())
            .map(|i| text_cell(&found, i).map(Option::unwrap_or_default))
            .collect::<Result<Vec<_>, _>>()
            .context(what)?;
        // The same key twice (a table shorter than the estimate): one range fewer.
        if points.last() != Some(&point) {
            points.push(point);
        }
    }
    Ok(points)
}

/// The step's ranges, in order.
///
/// NOTE: a locking read (`LOCK IN SHARE MODE`): a batch whose connection was killed, or whose
/// run died, may still be committing or rolling back on the server with its range's row
/// locked; the read waits for it to end, so the checkpoint read is the one its rows agree with
/// and no batch is walked twice.
pub(super) async fn read(
    conn: &mut MySqlConnection,
    step: StepKey<'_>,
) -> Result<Vec<SavedRange>, EngineError> {
    let rows = sqlx::query(
        "SELECT range_index, checkpoint, until, rows_done FROM bellows_backfill_ranges
          WHERE plan = ? AND phase = ? AND step_index = ?
          ORDER BY range_index LOCK IN SHARE MODE",
    )
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i64)
    .fetch_all(conn)
    .await
    .context(|| "reading the parallel backfill's ranges (bellows_backfill_ranges)".into())?;
    Ok(rows
        .iter()
        .map(|r| {
            SavedRange::from_row(
                r.get("range_index"),
                r.get("checkpoint"),
                r.get("until"),
                r.get("rows_done"),
            )
        })
        .collect())
}

/// Saves the step's ranges, all in one transaction (before any is walked).
pub(super) async fn write(
    conn: &mut MySqlConnection,
    step: StepKey<'_>,
    ranges: &[SavedRange],
) -> Result<(), EngineError> {
    let what = || "saving the parallel backfill's ranges (bellows_backfill_ranges)".to_string();
    let mut tx = conn.begin().await.context(what)?;
    for range in ranges {
        sqlx::query(
            "INSERT INTO bellows_backfill_ranges
               (plan, phase, step_index, range_index, checkpoint, until, rows_done)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(step.plan)
        .bind(step.phase.as_str())
        .bind(step.index as i64)
        .bind(range.index as i64)
        .bind(json(&range.checkpoint))
        .bind(json(&range.until))
        .bind(range.rows_done as i64)
        .execute(&mut *tx)
        .await
        .context(what)?;
    }
    tx.commit().await.context(what)
}

/// Ends the walk in one transaction: the step's checkpoint becomes `last` with `rows_done`,
/// and its ranges are deleted.
pub(super) async fn end(
    conn: &mut MySqlConnection,
    step: StepKey<'_>,
    last: &[String],
    rows_done: u64,
) -> Result<(), EngineError> {
    let what = || "ending the parallel backfill's ranges".to_string();
    let mut tx = conn.begin().await.context(what)?;
    write_checkpoint(&mut tx, step, last, rows_done)
        .await
        .context(what)?;
    sqlx::query(
        "DELETE FROM bellows_backfill_ranges WHERE plan = ? AND phase = ? AND step_index = ?",
    )
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i64)
    .execute(&mut *tx)
    .await
    .context(what)?;
    tx.commit().await.context(what)
}

/// Records a range's checkpoint; run inside the transaction of the batch it follows.
pub(super) async fn write_range_checkpoint(
    conn: &mut MySqlConnection,
    step: StepKey<'_>,
    range: usize,
    last: &[String],
    rows_done: u64,
) -> Result<(), sqlx::Error> {
    // NOTE: the comment names the statement in the process list (see `wait_for_orphans`).
    sqlx::query(
        "/* bellows batch */ UPDATE bellows_backfill_ranges SET checkpoint = ?, rows_done = ?
          WHERE plan = ? AND phase = ? AND step_index = ? AND range_index = ?",
    )
    .bind(serde_json::to_string(last).unwrap_or_else(|_| "[]".into()))
    .bind(rows_done as i64)
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i64)
    .bind(range as i64)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Gives each step with ranges their rows together as its rows done (the first range counts
/// the rows walked before the split): the step's own `rows_done` is only written when the
/// walk ends.
pub(super) async fn add_rows(
    conn: &mut MySqlConnection,
    plan: Option<&str>,
    steps: &mut [(String, StepRecord)],
) -> Result<(), EngineError> {
    let sums: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT plan, phase, CAST(step_index AS SIGNED), CAST(SUM(rows_done) AS SIGNED)
           FROM bellows_backfill_ranges
          WHERE ? IS NULL OR plan = ?
          GROUP BY plan, phase, step_index",
    )
    .bind(plan)
    .bind(plan)
    .fetch_all(conn)
    .await
    .or_else(|e| {
        if no_ranges_table(&e) {
            Ok(Vec::new())
        } else {
            Err(e)
        }
    })
    .context(|| "reading the ledger (bellows_backfill_ranges)".into())?;
    for (plan, phase, index, rows) in sums {
        let step = steps.iter_mut().find(|(p, s)| {
            *p == plan && s.phase.as_str() == phase && s.index == index.max(0) as usize
        });
        if let Some((_, step)) = step {
            step.rows_done = rows.max(0) as u64;
        }
    }
    Ok(())
}

/// A rolled-back step's ranges are forgotten with its checkpoint: applied again, it walks the
/// whole key anew.
pub(super) async fn forget(
    conn: &mut MySqlConnection,
    plan: &str,
    step: &StepRecord,
) -> Result<(), EngineError> {
    sqlx::query(
        "DELETE FROM bellows_backfill_ranges WHERE plan = ? AND phase = ? AND step_index = ?",
    )
    .bind(plan)
    .bind(step.phase.as_str())
    .bind(step.index as i64)
    .execute(conn)
    .await
    .map(|_| ())
    .or_else(|e| if no_ranges_table(&e) { Ok(()) } else { Err(e) })
    .context(|| "forgetting the parallel backfill's ranges".into())
}
