//! The SQLite ledger: tables `bellows_plans` and `bellows_steps` in the target database, with
//! the same columns as PostgreSQL's `bellows.plans` / `bellows.steps`. Times are REAL seconds
//! since the Unix epoch; captures and checkpoints are JSON text.

use sqlx::sqlite::SqliteConnection;
use sqlx::Row;

use crate::engine::error::{DbContext, EngineError};
use crate::engine::ledger::{
    from_epoch, group_steps, Mark, PlanLedger, PlanRecord, StepKey, StepRecord,
};
use crate::engine::step_row::{
    bind_kept_steps, bind_step, delete_steps_except_sql, step_of, upsert_step_sql, Upsert,
};
use crate::vocab::Phase;

use super::{in_write_transaction, is_busy, LEDGER_BUSY_TIMEOUT};

/// `now` as seconds since the Unix epoch, in SQL every SQLite version understands.
const NOW: &str = "((julianday('now') - 2440587.5) * 86400.0)";

fn ledger_ddl() -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS bellows_plans (
    name        TEXT PRIMARY KEY,
    checksum    TEXT NOT NULL,
    path        TEXT NOT NULL,
    started_at  REAL NOT NULL DEFAULT ({NOW}),
    updated_at  REAL NOT NULL DEFAULT ({NOW})
);
CREATE TABLE IF NOT EXISTS bellows_steps (
    plan         TEXT NOT NULL REFERENCES bellows_plans (name) ON DELETE CASCADE,
    phase        TEXT NOT NULL CHECK (phase IN ('expand', 'backfill', 'switch', 'contract')),
    step_index   INTEGER NOT NULL,
    op           TEXT NOT NULL,
    target       TEXT NOT NULL,
    state        TEXT NOT NULL
                 CHECK (state IN ('pending', 'running', 'applied', 'failed', 'rolled_back')),
    started_at   REAL,
    finished_at  REAL,
    error        TEXT,
    captures     TEXT NOT NULL DEFAULT '{{}}',
    checkpoint   TEXT,
    rows_done    INTEGER NOT NULL DEFAULT 0,
    actions_done INTEGER NOT NULL DEFAULT 0,
    undo_done    INTEGER,
    definition   TEXT,
    PRIMARY KEY (plan, phase, step_index)
);
"
    )
}

pub async fn exists(conn: &mut SqliteConnection) -> Result<bool, EngineError> {
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master
          WHERE type = 'table' AND name IN ('bellows_plans', 'bellows_steps')",
    )
    .fetch_one(conn)
    .await
    .context(|| "looking for the ledger tables (bellows_plans, bellows_steps)".into())?;
    Ok(found == 2)
}

/// Whether `bellows_steps` has `column` (`undo_done`, `definition`: ledgers made before them
/// do not).
async fn has_column(conn: &mut SqliteConnection, column: &str) -> Result<bool, EngineError> {
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pragma_table_info('bellows_steps') WHERE name = ?1",
    )
    .bind(column)
    .fetch_one(conn)
    .await
    .context(|| "reading the columns of the ledger (bellows_steps)".into())?;
    Ok(found > 0)
}

pub async fn create(conn: &mut SqliteConnection) -> Result<(), EngineError> {
    let mut ddl = ledger_ddl();
    if exists(conn).await? {
        for (column, type_) in [("undo_done", "INTEGER"), ("definition", "TEXT")] {
            if !has_column(conn, column).await? {
                ddl.push_str(&format!(
                    "ALTER TABLE bellows_steps ADD COLUMN {column} {type_};\n"
                ));
            }
        }
    }
    in_write_transaction(
        conn,
        |e| e,
        async |conn| sqlx::raw_sql(&ddl).execute(conn).await.map(|_| ()),
    )
    .await
    .write_context(|| "creating the ledger tables (bellows_plans, bellows_steps)".into())
}

/// Like `DbContext::context` for ledger writes: the database write lock not obtained within
/// [`LEDGER_BUSY_TIMEOUT`] is a lock error (exit 4), not a database failure.
trait WriteContext<T> {
    fn write_context(self, context: impl FnOnce() -> String) -> Result<T, EngineError>;
}

impl<T> WriteContext<T> for Result<T, sqlx::Error> {
    fn write_context(self, context: impl FnOnce() -> String) -> Result<T, EngineError> {
        self.map_err(|error| {
            if is_busy(&error) {
                EngineError::LockRetriesExhausted {
                    message: format!(
                        "{}: another connection held the database write lock for more than {}s; \
                         run again when the database is quieter",
                        context(),
                        LEDGER_BUSY_TIMEOUT.as_secs()
                    ),
                }
            } else {
                EngineError::database(context(), error)
            }
        })
    }
}

pub async fn read(
    conn: &mut SqliteConnection,
    plan: Option<&str>,
) -> Result<Vec<PlanLedger>, EngineError> {
    let plans = sqlx::query(
        "SELECT name, checksum, path, started_at, updated_at FROM bellows_plans
          WHERE ?1 IS NULL OR name = ?1
          ORDER BY started_at, name",
    )
    .bind(plan)
    .fetch_all(&mut *conn)
    .await
    .context(|| "reading the ledger (bellows_plans)".into())?;
    // NOTE: a ledger made before undo progress was recorded lacks `undo_done`.
    let undo_done = match has_column(conn, "undo_done").await? {
        true => "undo_done",
        false => "NULL AS undo_done",
    };
    let definition = match has_column(conn, "definition").await? {
        true => "definition",
        false => "NULL AS definition",
    };
    let steps = sqlx::query(&format!(
        "SELECT plan, phase, step_index, op, target, state, started_at, finished_at, error,
                captures, checkpoint, rows_done, actions_done, {undo_done}, {definition}
           FROM bellows_steps
          WHERE ?1 IS NULL OR plan = ?1"
    ))
    .bind(plan)
    .fetch_all(&mut *conn)
    .await
    .context(|| "reading the ledger (bellows_steps)".into())?;
    let plans = plans
        .iter()
        .map(|row| PlanRecord {
            name: row.get("name"),
            checksum: row.get("checksum"),
            path: row.get("path"),
            started_at: row.get::<Option<f64>, _>("started_at").map(from_epoch),
            updated_at: row.get::<Option<f64>, _>("updated_at").map(from_epoch),
        })
        .collect();
    let steps = steps
        .iter()
        .map(|row| Ok((row.get("plan"), step_of(row)?)))
        .collect::<Result<Vec<_>, EngineError>>()?;
    Ok(group_steps(plans, steps))
}

pub async fn save_plan(conn: &mut SqliteConnection, plan: &PlanRecord) -> Result<(), EngineError> {
    sqlx::query(&format!(
        "INSERT INTO bellows_plans (name, checksum, path) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE
            SET checksum = excluded.checksum, path = excluded.path, updated_at = {NOW}"
    ))
    .bind(&plan.name)
    .bind(&plan.checksum)
    .bind(&plan.path)
    .execute(conn)
    .await
    .write_context(|| format!("recording plan `{}` in the ledger", plan.name))
    .map(|_| ())
}

pub async fn save_step(
    conn: &mut SqliteConnection,
    plan: &str,
    step: &StepRecord,
) -> Result<(), EngineError> {
    bind_step(
        sqlx::query(&upsert_step_sql(Upsert::OnConflict)),
        plan,
        step,
    )
    .execute(conn)
    .await
    .write_context(|| {
        format!(
            "recording step {} of {} of plan `{plan}` in the ledger",
            step.index + 1,
            step.phase
        )
    })
    .map(|_| ())
}

pub async fn delete_steps_except(
    conn: &mut SqliteConnection,
    plan: &str,
    keep: &[(Phase, usize)],
) -> Result<(), EngineError> {
    let sql = delete_steps_except_sql(keep.len());
    bind_kept_steps(sqlx::query(&sql), plan, keep)
        .execute(conn)
        .await
        .write_context(|| format!("removing steps no longer in plan `{plan}` from the ledger"))
        .map(|_| ())
}

/// Records a step counter (`actions_done` or `undo_done`); run inside the transaction of the
/// action it counts.
pub async fn write_progress(
    conn: &mut SqliteConnection,
    mark: Mark<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE bellows_steps SET {} = ?4
          WHERE plan = ?1 AND phase = ?2 AND step_index = ?3",
        mark.progress.column()
    ))
    .bind(mark.step.plan)
    .bind(mark.step.phase.as_str())
    .bind(mark.step.index as i64)
    .bind(mark.done as i64)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records a backfill checkpoint; run inside the transaction of the batch it follows.
pub async fn write_checkpoint(
    conn: &mut SqliteConnection,
    step: StepKey<'_>,
    last: &[String],
    rows_done: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE bellows_steps SET checkpoint = ?4, rows_done = ?5
          WHERE plan = ?1 AND phase = ?2 AND step_index = ?3",
    )
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i64)
    .bind(serde_json::to_string(last).unwrap_or_else(|_| "[]".into()))
    .bind(rows_done as i64)
    .execute(conn)
    .await
    .map(|_| ())
}
