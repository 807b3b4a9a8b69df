//! The PostgreSQL ledger: schema `bellows` with tables `plans` and `steps`, read and written on
//! the control connection; the step marks that travel inside a statement's or a batch's own
//! transaction on the work connection.

use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::run_lock::lock_lost;
use super::PgBackend;
use crate::engine::backend::LedgerStore;
use crate::engine::error::{DbContext, EngineError};
use crate::engine::ledger::{
    from_epoch, group_steps, to_epoch, Mark, PlanLedger, PlanRecord, StepKey, StepRecord, StepState,
};
use crate::engine::step_row::step_of;
use crate::vocab::Phase;

const LEDGER_DDL: &str = "
CREATE SCHEMA IF NOT EXISTS bellows;
COMMENT ON SCHEMA bellows IS 'bellows ledger: plans and steps applied to this database';
CREATE TABLE IF NOT EXISTS bellows.plans (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    path        text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS bellows.steps (
    plan         text NOT NULL REFERENCES bellows.plans (name) ON DELETE CASCADE,
    phase        text NOT NULL CHECK (phase IN ('expand', 'backfill', 'switch', 'contract')),
    step_index   integer NOT NULL,
    op           text NOT NULL,
    target       text NOT NULL,
    state        text NOT NULL
                 CHECK (state IN ('pending', 'running', 'applied', 'failed', 'rolled_back')),
    started_at   timestamptz,
    finished_at  timestamptz,
    error        text,
    captures     jsonb NOT NULL DEFAULT '{}',
    checkpoint   jsonb,
    rows_done    bigint NOT NULL DEFAULT 0,
    actions_done integer NOT NULL DEFAULT 0,
    undo_done    integer,
    definition   text,
    PRIMARY KEY (plan, phase, step_index)
);
-- NOTE: ledgers made before undo progress (and step definitions) were recorded lack the
-- columns.
ALTER TABLE bellows.steps ADD COLUMN IF NOT EXISTS undo_done integer;
ALTER TABLE bellows.steps ADD COLUMN IF NOT EXISTS definition text;
-- A parallel backfill's ranges, each with its own checkpoint (the last key it walked) and end.
CREATE TABLE IF NOT EXISTS bellows.backfill_ranges (
    plan         text NOT NULL,
    phase        text NOT NULL,
    step_index   integer NOT NULL,
    range_index  integer NOT NULL,
    checkpoint   jsonb,
    until        jsonb,
    rows_done    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (plan, phase, step_index, range_index),
    FOREIGN KEY (plan, phase, step_index) REFERENCES bellows.steps ON DELETE CASCADE
);
";

/// Gives each step with a parallel backfill's ranges their rows together as its rows done (the
/// first range counts the rows walked before the split): the step's own `rows_done` is only
/// written when the walk ends.
///
/// NOTE: a ledger made before parallel backfills has no ranges table (`status` does not
/// create it): then nothing is added.
async fn add_ranges_rows(
    conn: &mut PgConnection,
    plan: Option<&str>,
    steps: &mut [(String, StepRecord)],
) -> Result<(), EngineError> {
    let sums: Vec<(String, String, i32, i64)> = sqlx::query_as(
        "SELECT plan, phase, step_index, sum(rows_done)::int8
           FROM bellows.backfill_ranges
          WHERE $1::text IS NULL OR plan = $1
          GROUP BY 1, 2, 3",
    )
    .bind(plan)
    .fetch_all(conn)
    .await
    .or_else(|e| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Ok(Vec::new()),
        _ => Err(e),
    })
    .context(|| "reading the ledger (bellows.backfill_ranges)".into())?;
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

/// A rolled-back step's parallel ranges are forgotten with its checkpoint: applied again, it
/// walks the whole key anew.
async fn forget_ranges(
    conn: &mut PgConnection,
    plan: &str,
    step: &StepRecord,
) -> Result<(), EngineError> {
    sqlx::query(
        "DELETE FROM bellows.backfill_ranges WHERE plan = $1 AND phase = $2 AND step_index = $3",
    )
    .bind(plan)
    .bind(step.phase.as_str())
    .bind(step.index as i32)
    .execute(conn)
    .await
    .or_else(|e| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => {
            Ok(Default::default())
        }
        _ => Err(e),
    })
    .context(|| "forgetting the parallel backfill's ranges".into())
    .map(|_| ())
}

/// Writes the step counter a statement advances, in the statement's own transaction.
pub(super) async fn write_progress(
    conn: &mut PgConnection,
    mark: Mark<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE bellows.steps SET {} = $4 WHERE plan = $1 AND phase = $2 AND step_index = $3",
        mark.progress.column()
    ))
    .bind(mark.step.plan)
    .bind(mark.step.phase.as_str())
    .bind(mark.step.index as i32)
    .bind(mark.done as i32)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Writes a backfill batch's checkpoint, in the batch's own transaction.
pub(super) async fn write_checkpoint(
    conn: &mut PgConnection,
    step: StepKey<'_>,
    last: &[String],
    rows_done: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE bellows.steps SET checkpoint = $4::jsonb, rows_done = $5
          WHERE plan = $1 AND phase = $2 AND step_index = $3",
    )
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i32)
    .bind(serde_json::to_string(last).unwrap_or_else(|_| "[]".into()))
    .bind(rows_done as i64)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records a parallel backfill range's checkpoint, inside the transaction of its batch.
pub(super) async fn write_range_checkpoint(
    conn: &mut PgConnection,
    step: StepKey<'_>,
    range: usize,
    last: &[String],
    rows_done: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE bellows.backfill_ranges SET checkpoint = $5::jsonb, rows_done = $6
          WHERE plan = $1 AND phase = $2 AND step_index = $3 AND range_index = $4",
    )
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i32)
    .bind(range as i32)
    .bind(serde_json::to_string(last).unwrap_or_else(|_| "[]".into()))
    .bind(rows_done as i64)
    .execute(conn)
    .await
    .map(|_| ())
}

impl PgBackend {
    /// After the connection broke during a statement: whether its transaction committed, read
    /// from the ledger mark it carried.
    pub(super) async fn committed(&mut self, mark: Mark<'_>) -> Result<bool, EngineError> {
        let recorded: Option<Option<i32>> = on_control!(
            self,
            sqlx::query_scalar(&format!(
                "SELECT {} FROM bellows.steps WHERE plan = $1 AND phase = $2 AND step_index = $3",
                mark.progress.column()
            ))
            .bind(mark.step.plan)
            .bind(mark.step.phase.as_str())
            .bind(mark.step.index as i32)
            .fetch_optional(self.control().await?)
            .await
            .context(|| "reading the ledger mark of the interrupted statement".into())
        )?;
        Ok(matches!(recorded, Some(Some(n)) if n as usize >= mark.done))
    }
}

impl LedgerStore for PgBackend {
    async fn ledger_exists(&mut self) -> Result<bool, EngineError> {
        on_control!(self, async {
            sqlx::query_scalar("SELECT to_regclass('bellows.steps') IS NOT NULL AND to_regclass('bellows.plans') IS NOT NULL")
                .fetch_one(self.control().await?)
                .await
                .context(|| "looking for the ledger (schema bellows)".into())
        }.await)
    }

    async fn create_ledger(&mut self) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                sqlx::raw_sql(LEDGER_DDL)
                    .execute(self.control().await?)
                    .await
                    .context(|| "creating the ledger (schema bellows)".into())
                    .map(|_| ())
            }
            .await
        )
    }

    async fn read_ledger(&mut self, plan: Option<&str>) -> Result<Vec<PlanLedger>, EngineError> {
        on_control!(
            self,
            async {
                let plans = sqlx::query(
                "SELECT name, checksum, path, extract(epoch FROM started_at)::float8 AS started,
                        extract(epoch FROM updated_at)::float8 AS updated
                   FROM bellows.plans WHERE $1::text IS NULL OR name = $1 ORDER BY name",
            )
            .bind(plan)
            .fetch_all(self.control().await?)
            .await
            .context(|| "reading the ledger (bellows.plans)".into())?;
                let steps = sqlx::query(
                    "SELECT plan, phase, step_index::int8 AS step_index, op, target, state,
                        extract(epoch FROM started_at)::float8 AS started_at,
                        extract(epoch FROM finished_at)::float8 AS finished_at,
                        error, captures::text AS captures, checkpoint::text AS checkpoint,
                        rows_done, actions_done::int8 AS actions_done,
                        -- NOTE: read through jsonb so a ledger older than the column reads too.
                        (to_jsonb(s) ->> 'undo_done')::int8 AS undo_done,
                        to_jsonb(s) ->> 'definition' AS definition
                   FROM bellows.steps s WHERE $1::text IS NULL OR plan = $1",
                )
                .bind(plan)
                .fetch_all(self.control().await?)
                .await
                .context(|| "reading the ledger (bellows.steps)".into())?;
                let plans = plans
                    .iter()
                    .map(|row| PlanRecord {
                        name: row.get("name"),
                        checksum: row.get("checksum"),
                        path: row.get("path"),
                        started_at: row.get::<Option<f64>, _>("started").map(from_epoch),
                        updated_at: row.get::<Option<f64>, _>("updated").map(from_epoch),
                    })
                    .collect();
                let mut steps = steps
                    .iter()
                    .map(|row| Ok((row.get("plan"), step_of(row)?)))
                    .collect::<Result<Vec<_>, EngineError>>()?;
                add_ranges_rows(self.control().await?, plan, &mut steps).await?;
                Ok(group_steps(plans, steps))
            }
            .await
        )
    }

    async fn save_plan(&mut self, plan: &PlanRecord) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                sqlx::query(
                    "INSERT INTO bellows.plans (name, checksum, path) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE
                    SET checksum = excluded.checksum, path = excluded.path,
                        updated_at = clock_timestamp()",
                )
                .bind(&plan.name)
                .bind(&plan.checksum)
                .bind(&plan.path)
                .execute(self.control().await?)
                .await
                .context(|| format!("recording plan `{}` in the ledger", plan.name))
                .map(|_| ())
            }
            .await
        )
    }

    async fn save_step(&mut self, plan: &str, step: &StepRecord) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                let captures =
                    serde_json::to_string(&step.captures).unwrap_or_else(|_| "{}".into());
                let checkpoint = step
                    .checkpoint
                    .as_ref()
                    .map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()));
                sqlx::query(
                "INSERT INTO bellows.steps (plan, phase, step_index, op, target, state, started_at,
                                            finished_at, error, captures, checkpoint, rows_done,
                                            actions_done, undo_done, definition)
                 VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), to_timestamp($8), $9,
                         $10::jsonb, $11::jsonb, $12, $13, $14, $15)
                 ON CONFLICT (plan, phase, step_index) DO UPDATE SET
                    op = excluded.op, target = excluded.target, state = excluded.state,
                    started_at = excluded.started_at, finished_at = excluded.finished_at,
                    error = excluded.error, captures = excluded.captures,
                    checkpoint = excluded.checkpoint, rows_done = excluded.rows_done,
                    actions_done = excluded.actions_done, undo_done = excluded.undo_done,
                    definition = excluded.definition",
            )
            .bind(plan)
            .bind(step.phase.as_str())
            .bind(step.index as i32)
            .bind(&step.op)
            .bind(&step.target)
            .bind(step.state.as_str())
            .bind(step.started_at.map(to_epoch))
            .bind(step.finished_at.map(to_epoch))
            .bind(&step.error)
            .bind(captures)
            .bind(checkpoint)
            .bind(step.rows_done as i64)
            .bind(step.actions_done as i32)
            .bind(step.undo_done.map(|n| n as i32))
            .bind(&step.definition)
            .execute(self.control().await?)
            .await
            .context(|| {
                format!(
                    "recording step {} of {} of plan `{plan}` in the ledger",
                    step.index + 1,
                    step.phase
                )
            })?;
                if step.state == StepState::RolledBack {
                    forget_ranges(self.control().await?, plan, step).await?;
                }
                Ok(())
            }
            .await
        )
    }

    async fn delete_steps_except(
        &mut self,
        plan: &str,
        keep: &[(Phase, usize)],
    ) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                let keys: Vec<String> = keep
                    .iter()
                    .map(|(phase, index)| format!("{phase}/{index}"))
                    .collect();
                sqlx::query(
                    "DELETE FROM bellows.steps
                  WHERE plan = $1 AND NOT (phase || '/' || step_index::text = ANY ($2))",
                )
                .bind(plan)
                .bind(keys)
                .execute(self.control().await?)
                .await
                .context(|| format!("removing steps no longer in plan `{plan}` from the ledger"))
                .map(|_| ())
            }
            .await
        )
    }
}
