//! The MySQL/MariaDB ledger: InnoDB tables `bellows_plans` and `bellows_steps` in the target
//! database, with the same columns as PostgreSQL's `bellows.plans` / `bellows.steps` (and a
//! parallel backfill's `bellows_backfill_ranges`, see `ranges`). Times are DOUBLE seconds since
//! the Unix epoch; captures and checkpoints are JSON text.

use sqlx::mysql::MySqlConnection;
use sqlx::Row;

use crate::engine::error::{DbContext, EngineError};
use crate::engine::ledger::{
    from_epoch, group_steps, Mark, PlanLedger, PlanRecord, StepKey, StepRecord, StepState,
};
use crate::engine::step_row::{
    bind_kept_steps, bind_step, delete_steps_except_sql, step_of, upsert_step_sql, Upsert,
};
use crate::vocab::Phase;

const NOW: &str = "UNIX_TIMESTAMP(NOW(6))";

const LEDGER_DDL: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS bellows_plans (
    name        VARCHAR(191) NOT NULL PRIMARY KEY,
    checksum    VARCHAR(191) NOT NULL,
    path        TEXT NOT NULL,
    started_at  DOUBLE NOT NULL,
    updated_at  DOUBLE NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS bellows_steps (
    plan         VARCHAR(191) NOT NULL,
    phase        VARCHAR(16) NOT NULL,
    step_index   INT NOT NULL,
    op           VARCHAR(64) NOT NULL,
    target       TEXT NOT NULL,
    state        VARCHAR(16) NOT NULL,
    started_at   DOUBLE NULL,
    finished_at  DOUBLE NULL,
    error        LONGTEXT NULL,
    captures     LONGTEXT NOT NULL,
    checkpoint   LONGTEXT NULL,
    rows_done    BIGINT NOT NULL DEFAULT 0,
    actions_done INT NOT NULL DEFAULT 0,
    undo_done    INT NULL,
    definition   LONGTEXT NULL,
    PRIMARY KEY (plan, phase, step_index),
    CONSTRAINT bellows_steps_plan FOREIGN KEY (plan) REFERENCES bellows_plans (name) ON DELETE CASCADE,
    CONSTRAINT bellows_steps_phase CHECK (phase IN ('expand', 'backfill', 'switch', 'contract')),
    CONSTRAINT bellows_steps_state
        CHECK (state IN ('pending', 'running', 'applied', 'failed', 'rolled_back'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
];

pub async fn exists(conn: &mut MySqlConnection) -> Result<bool, EngineError> {
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.TABLES
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('bellows_plans', 'bellows_steps')",
    )
    .fetch_one(conn)
    .await
    .context(|| "looking for the ledger tables (bellows_plans, bellows_steps)".into())?;
    Ok(found == 2)
}

pub async fn create(conn: &mut MySqlConnection) -> Result<(), EngineError> {
    for ddl in LEDGER_DDL.into_iter().chain([super::ranges::RANGES_DDL]) {
        sqlx::raw_sql(ddl).execute(&mut *conn).await.context(|| {
            "creating the ledger tables (bellows_plans, bellows_steps, bellows_backfill_ranges)"
                .into()
        })?;
    }
    Ok(())
}

pub async fn read(
    conn: &mut MySqlConnection,
    plan: Option<&str>,
) -> Result<Vec<PlanLedger>, EngineError> {
    let plans = sqlx::query(
        "SELECT name, checksum, path, started_at, updated_at FROM bellows_plans
          WHERE ? IS NULL OR name = ?
          ORDER BY started_at, name",
    )
    .bind(plan)
    .bind(plan)
    .fetch_all(&mut *conn)
    .await
    .context(|| "reading the ledger (bellows_plans)".into())?;
    let steps = sqlx::query(
        "SELECT plan, phase, step_index, op, target, state, started_at, finished_at, error,
                captures, checkpoint, rows_done, actions_done, undo_done, definition
           FROM bellows_steps
          WHERE ? IS NULL OR plan = ?",
    )
    .bind(plan)
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
    let mut steps = steps
        .iter()
        .map(|row| Ok((row.get("plan"), step_of(row)?)))
        .collect::<Result<Vec<_>, EngineError>>()?;
    super::ranges::add_rows(conn, plan, &mut steps).await?;
    Ok(group_steps(plans, steps))
}

pub async fn save_plan(conn: &mut MySqlConnection, plan: &PlanRecord) -> Result<(), EngineError> {
    sqlx::query(&format!(
        "INSERT INTO bellows_plans (name, checksum, path, started_at, updated_at)
         VALUES (?, ?, ?, {NOW}, {NOW})
         ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), path = VALUES(path), updated_at = {NOW}"
    ))
    .bind(&plan.name)
    .bind(&plan.checksum)
    .bind(&plan.path)
    .execute(conn)
    .await
    .context(|| format!("recording plan `{}` in the ledger", plan.name))
    .map(|_| ())
}

pub async fn save_step(
    conn: &mut MySqlConnection,
    plan: &str,
    step: &StepRecord,
) -> Result<(), EngineError> {
    bind_step(
        sqlx::query(&upsert_step_sql(Upsert::OnDuplicateKey)),
        plan,
        step,
    )
    .execute(&mut *conn)
    .await
    .context(|| {
        format!(
            "recording step {} of {} of plan `{plan}` in the ledger",
            step.index + 1,
            step.phase
        )
    })?;
    if step.state == StepState::RolledBack {
        super::ranges::forget(conn, plan, step).await?;
    }
    Ok(())
}

pub async fn delete_steps_except(
    conn: &mut MySqlConnection,
    plan: &str,
    keep: &[(Phase, usize)],
) -> Result<(), EngineError> {
    let sql = delete_steps_except_sql(keep.len());
    bind_kept_steps(sqlx::query(&sql), plan, keep)
        .execute(conn)
        .await
        .context(|| format!("removing steps no longer in plan `{plan}` from the ledger"))
        .map(|_| ())
}

/// Records a step counter (`actions_done` or `undo_done`).
pub async fn write_progress(conn: &mut MySqlConnection, mark: Mark<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE bellows_steps SET {} = ? WHERE plan = ? AND phase = ? AND step_index = ?",
        mark.progress.column()
    ))
    .bind(mark.done as i64)
    .bind(mark.step.plan)
    .bind(mark.step.phase.as_str())
    .bind(mark.step.index as i64)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records a backfill checkpoint; run inside the transaction of the batch it follows.
pub async fn write_checkpoint(
    conn: &mut MySqlConnection,
    step: StepKey<'_>,
    last: &[String],
    rows_done: u64,
) -> Result<(), sqlx::Error> {
    // NOTE: the comment names the statement in the process list: a run that takes over the
    // run lock waits for a batch of a killed run that is still committing (see `orphans`).
    sqlx::query(
        "/* bellows batch */ UPDATE bellows_steps SET checkpoint = ?, rows_done = ?
          WHERE plan = ? AND phase = ? AND step_index = ?",
    )
    .bind(serde_json::to_string(last).unwrap_or_else(|_| "[]".into()))
    .bind(rows_done as i64)
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i64)
    .execute(conn)
    .await
    .map(|_| ())
}
