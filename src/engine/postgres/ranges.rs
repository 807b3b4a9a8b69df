//! A parallel backfill on PostgreSQL: worker backends, the key's split points (read from its
//! index) and the ranges' rows in the ledger (`bellows.backfill_ranges`).

use sqlx::Row;

use super::ledger::write_checkpoint;
use super::PgBackend;
use crate::dialect::{key_select, row, row_literals, Dialect, KeySelect};
use crate::engine::backfill::parallel::SavedRange;
use crate::engine::error::{DbContext, EngineError};
use crate::engine::ledger::StepKey;
use crate::vocab::TableName;

impl PgBackend {
    /// A backend for one worker: its own work connection only. The worker runs batches and
    /// nothing else: the ranges are read, saved and finished by the first backend, which also
    /// holds the run lock, flushes the batches and re-reads the ranges at the end of the walk.
    pub(super) async fn worker(&mut self) -> Result<PgBackend, EngineError> {
        Self::work_only(self.options.clone()).await
    }

    /// The key at each of `offsets` rows, in key order.
    ///
    /// NOTE: `OFFSET n LIMIT 1` over the key's index reads n index entries, never the table's
    /// rows and never `count(*)`: the offsets come from the planner's row estimate.
    pub(super) async fn split_points(
        &mut self,
        table: &TableName,
        key: &[String],
        after: Option<&[String]>,
        offsets: &[u64],
    ) -> Result<Vec<Vec<String>>, EngineError> {
        let pg = crate::dialect::postgres::Postgres;
        let KeySelect { cols, .. } = key_select(&pg, key);
        let text: Vec<String> = cols.iter().map(|c| format!("{c}::text")).collect();
        let after = after
            .map(|a| format!(" WHERE {} > {}", row(&cols), row_literals(a)))
            .unwrap_or_default();
        let mut points: Vec<Vec<String>> = Vec::new();
        for offset in offsets {
            let sql = format!(
                "SELECT json_build_array({})::text FROM {}{after} ORDER BY {} OFFSET {offset} LIMIT 1",
                text.join(", "),
                pg.table(table),
                cols.join(", ")
            );
            let found: Option<String> = sqlx::query_scalar(&sql)
                .fetch_optional(self.control().await?)
                .await
                .context(|| format!("splitting the key of {table} into ranges"))?;
            let Some(found) = found.and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok())
            else {
                break;
            };
            // The same key twice (a table shorter than the estimate): one range fewer.
            if points.last() != Some(&found) {
                points.push(found);
            }
        }
        Ok(points)
    }

    pub(super) async fn ranges(
        &mut self,
        step: StepKey<'_>,
    ) -> Result<Vec<SavedRange>, EngineError> {
        let rows = sqlx::query(
            "SELECT range_index, checkpoint::text AS checkpoint, until::text AS until, rows_done
               FROM bellows.backfill_ranges
              WHERE plan = $1 AND phase = $2 AND step_index = $3
              ORDER BY range_index",
        )
        .bind(step.plan)
        .bind(step.phase.as_str())
        .bind(step.index as i32)
        .fetch_all(self.control().await?)
        .await
        .context(|| "reading the parallel backfill's ranges".into())?;
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

    pub(super) async fn end_ranges(
        &mut self,
        step: StepKey<'_>,
        last: &[String],
        rows_done: u64,
    ) -> Result<(), EngineError> {
        let what = || "ending the parallel backfill's ranges".to_string();
        let mut tx = sqlx::Connection::begin(self.control().await?)
            .await
            .context(what)?;
        write_checkpoint(&mut tx, step, last, rows_done)
            .await
            .context(what)?;
        sqlx::query(
            "DELETE FROM bellows.backfill_ranges
              WHERE plan = $1 AND phase = $2 AND step_index = $3",
        )
        .bind(step.plan)
        .bind(step.phase.as_str())
        .bind(step.index as i32)
        .execute(&mut *tx)
        .await
        .context(what)?;
        tx.commit().await.context(what)
    }

    pub(super) async fn write_ranges(
        &mut self,
        step: StepKey<'_>,
        ranges: &[SavedRange],
    ) -> Result<(), EngineError> {
        let json = |keys: &Option<Vec<String>>| {
            keys.as_ref()
                .map(|k| serde_json::to_string(k).unwrap_or_else(|_| "[]".into()))
        };
        let mut tx = sqlx::Connection::begin(self.control().await?)
            .await
            .context(|| "saving the parallel backfill's ranges".into())?;
        for range in ranges {
            sqlx::query(
                "INSERT INTO bellows.backfill_ranges
                   (plan, phase, step_index, range_index, checkpoint, until, rows_done)
                 VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)",
            )
            .bind(step.plan)
            .bind(step.phase.as_str())
            .bind(step.index as i32)
            .bind(range.index as i32)
            .bind(json(&range.checkpoint))
            .bind(json(&range.until))
            .bind(range.rows_done as i64)
            .execute(&mut *tx)
            .await
            .context(|| "saving the parallel backfill's ranges".into())?;
        }
        tx.commit()
            .await
            .context(|| "saving the parallel backfill's ranges".into())
    }
}
