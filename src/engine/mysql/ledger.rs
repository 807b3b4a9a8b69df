//! The MySQL/MariaDB ledger: InnoDB tables `bellows_plans` and `bellows_steps` in the target
//! database, with the same columns as PostgreSQL's `bellows.plans` / `bellows.steps`. Times are
//! DOUBLE seconds since the Unix epoch; captures and checkpoints are JSON text.

use std::collections::BTreeMap;

use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::Row;

use crate::engine::error::{DbContext, EngineError, ErrorKind};
use crate::engine::ledger::{
    from_epoch, group_steps, to_epoch, Mark, PlanLedger, PlanRecord, StepKey, StepRecord, StepState,
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
    for ddl in LEDGER_DDL {
        sqlx::raw_sql(ddl)
            .execute(&mut *conn)
            .await
            .context(|| "creating the ledger tables (bellows_plans, bellows_steps)".into())?;
    }
    Ok(())
}

fn bad(what: &str, value: &str) -> EngineError {
    EngineError::refused(
        ErrorKind::Failed,
        format!(
            "the ledger (bellows_steps) holds an unknown {what} `{value}`; was it written by a newer bellows?"
        ),
    )
}

fn step_of(row: &MySqlRow) -> Result<StepRecord, EngineError> {
    let phase: String = row.get("phase");
    let state: String = row.get("state");
    let captures: String = row.get("captures");
    let checkpoint: Option<String> = row.get("checkpoint");
    Ok(StepRecord {
        phase: Phase::parse(&phase).ok_or_else(|| bad("phase", &phase))?,
        index: row.get::<i32, _>("step_index").max(0) as usize,
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
        actions_done: row.get::<i32, _>("actions_done").max(0) as usize,
        undo_done: row
            .get::<Option<i32>, _>("undo_done")
            .map(|n| n.max(0) as usize),
        definition: row.get("definition"),
    })
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
    let steps = steps
        .iter()
        .map(|row| Ok((row.get("plan"), step_of(row)?)))
        .collect::<Result<Vec<_>, EngineError>>()?;
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
    let captures = serde_json::to_string(&step.captures).unwrap_or_else(|_| "{}".into());
    let checkpoint = step
        .checkpoint
        .as_ref()
        .map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()));
    sqlx::query(
        "INSERT INTO bellows_steps (plan, phase, step_index, op, target, state, started_at,
                                    finished_at, error, captures, checkpoint, rows_done,
                                    actions_done, undo_done, definition)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
            op = VALUES(op), target = VALUES(target), state = VALUES(state),
            started_at = VALUES(started_at), finished_at = VALUES(finished_at),
            error = VALUES(error), captures = VALUES(captures),
            checkpoint = VALUES(checkpoint), rows_done = VALUES(rows_done),
            actions_done = VALUES(actions_done), undo_done = VALUES(undo_done),
            definition = VALUES(definition)",
    )
    .bind(plan)
    .bind(step.phase.as_str())
    .bind(step.index as i64)
    .bind(&step.op)
    .bind(&step.target)
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
    .execute(conn)
    .await
    .context(|| {
        format!(
            "recording step {} of {} of plan `{plan}` in the ledger",
            step.index + 1,
            step.phase
        )
    })
    .map(|_| ())
}

pub async fn delete_steps_except(
    conn: &mut MySqlConnection,
    plan: &str,
    keep: &[(Phase, usize)],
) -> Result<(), EngineError> {
    let context = || format!("removing steps no longer in plan `{plan}` from the ledger");
    let rows: Vec<(String, i32)> =
        sqlx::query_as("SELECT phase, step_index FROM bellows_steps WHERE plan = ?")
            .bind(plan)
            .fetch_all(&mut *conn)
            .await
            .context(context)?;
    for (phase, index) in rows {
        let kept = keep
            .iter()
            .any(|(p, i)| p.as_str() == phase && *i as i32 == index);
        if kept {
            continue;
        }
        sqlx::query("DELETE FROM bellows_steps WHERE plan = ? AND phase = ? AND step_index = ?")
            .bind(plan)
            .bind(&phase)
            .bind(index)
            .execute(&mut *conn)
            .await
            .context(context)?;
    }
    Ok(())
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
