//! Backfill batches on the work connection: bounds, update and checkpoint in one transaction,
//! or the dialect's one-statement batch sent as one message.

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::attempt::{classify, setting};
use super::ledger::{write_checkpoint, write_range_checkpoint};
use super::PgBackend;
use crate::dialect::planned::{Expect, GuardQuery};
use crate::dialect::postgres::BACKFILL_LOOP_STATE;
use crate::engine::backend::{
    AttemptError, BatchRequest, BatchResult, BatchRunner, GuardValue, Limits, StatementRunner,
};
use crate::engine::backfill::connection_room::ConnectionLimit;
use crate::engine::backfill::parallel::SavedRange;
use crate::engine::batch_steps::{batch_in_steps, BatchSteps};
use crate::engine::error::EngineError;
use crate::engine::ledger::StepKey;
use crate::engine::throttle::{ReplicaState, POSTGRES_REPLICA_LAG_SQL};
use crate::vocab::TableName;

impl BatchRunner for PgBackend {
    async fn backfill_worker(&mut self) -> Result<Option<Self>, EngineError> {
        self.worker().await.map(Some)
    }

    async fn connection_limits(&mut self) -> Result<Vec<ConnectionLimit>, EngineError> {
        self.limits_of_connections().await
    }

    async fn key_split_points(
        &mut self,
        table: &TableName,
        key: &[String],
        after: Option<&[String]>,
        offsets: &[u64],
    ) -> Result<Vec<Vec<String>>, EngineError> {
        self.split_points(table, key, after, offsets).await
    }

    async fn read_ranges(&mut self, step: StepKey<'_>) -> Result<Vec<SavedRange>, EngineError> {
        self.ranges(step).await
    }

    async fn finish_ranges(
        &mut self,
        step: StepKey<'_>,
        last: &[String],
        rows_done: u64,
    ) -> Result<(), EngineError> {
        self.end_ranges(step, last, rows_done).await
    }

    async fn save_ranges(
        &mut self,
        step: StepKey<'_>,
        ranges: &[SavedRange],
    ) -> Result<(), EngineError> {
        self.write_ranges(step, ranges).await
    }

    async fn backfill_batch(
        &mut self,
        request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError> {
        self.ensure_work().await?;
        let begin = begin_batch(request.limits);
        let result = match (&request.loop_sql, &request.batch_sql) {
            (Some(loop_sql), _) => in_a_loop(&mut self.work, request, loop_sql).await,
            (None, Some(batch_sql)) => one_message(&mut self.work, &begin, batch_sql).await,
            (None, None) => in_steps(&mut self.work, &begin, request).await,
        };
        if let Err(error) = &result {
            self.note(error);
        }
        result
    }

    async fn flush_batches(&mut self) -> Result<(), AttemptError> {
        self.ensure_work().await?;
        // NOTE: `txid_current()` gives the transaction an id, so its commit is a log record
        // that (with `synchronous_commit = on`) waits until the log is flushed up to it.
        let result = sqlx::raw_sql(
            "BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_catalog.txid_current(); COMMIT",
        )
        .execute(&mut self.work)
        .await
        .map(|_| ())
        .map_err(classify);
        if let Err(error) = &result {
            self.note(error);
        }
        result
    }

    async fn replica_lag(
        &mut self,
        _replicas: &[String],
        limits: Limits,
    ) -> Result<ReplicaState, AttemptError> {
        let query = GuardQuery {
            description: "replica lag".into(),
            query: POSTGRES_REPLICA_LAG_SQL.into(),
            expect: Expect::Boolean(false),
        };
        let text = match self.guard(&query, limits).await? {
            GuardValue::Other(text) => text,
            other => format!("{other:?}"),
        };
        Ok(ReplicaState::parse(&text).unwrap_or_else(|| ReplicaState {
            unknown: Some(format!("pg_stat_replication read as {text:?}")),
            ..ReplicaState::default()
        }))
    }
}

/// The start of a batch's transaction, with its limits.
///
/// NOTE: `synchronous_commit = off` for the batch only: its COMMIT returns before the WAL
/// is flushed to disk. Safe here because the checkpoint is written in the same
/// transaction: a batch lost in a server crash is lost together with its checkpoint, and
/// the resumed backfill simply does it again. It saves one disk flush per batch, which
/// is most of a small batch's time.
fn begin_batch(limits: Limits) -> String {
    format!(
        "BEGIN; SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}; SET LOCAL synchronous_commit = off",
        setting(limits.lock_timeout),
        setting(limits.statement_timeout)
    )
}

/// The dialect's batch statement (which writes its own checkpoint) in one simple-query
/// message: one round trip per batch, between BEGIN and COMMIT. A failing statement skips the
/// rest of the message and leaves the transaction aborted, so it is rolled back here.
async fn one_message(
    work: &mut PgConnection,
    begin: &str,
    batch_sql: &str,
) -> Result<BatchResult, AttemptError> {
    let message = format!("{begin};\n{batch_sql};\nCOMMIT");
    let rows = match sqlx::raw_sql(&message).fetch_all(&mut *work).await {
        Ok(rows) => rows,
        Err(error) => {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
            return Err(classify(error));
        }
    };
    let row = rows
        .first()
        .ok_or(AttemptError::Failed(sqlx::Error::RowNotFound))?;
    let scanned: i64 = row.try_get("scanned").map_err(AttemptError::Failed)?;
    let updated: i64 = row.try_get("updated").map_err(AttemptError::Failed)?;
    if scanned <= 0 {
        return Ok(BatchResult::empty());
    }
    Ok(BatchResult::one(
        scanned as u64,
        updated.max(0) as u64,
        last_key(row, 2).map_err(AttemptError::Failed)?,
    ))
}

/// The dialect's loop of batches (`Dialect::backfill_loop_sql`), sent alone so that it may
/// commit each batch, under the batch's limits for the session meanwhile; then its outcome.
// NOTE: `synchronous_commit = off` as for one batch (see `begin_batch`): each batch's
// checkpoint commits with its rows.
async fn in_a_loop(
    work: &mut PgConnection,
    request: &BatchRequest<'_>,
    loop_sql: &str,
) -> Result<BatchResult, AttemptError> {
    let limits = request.limits;
    sqlx::raw_sql(&format!(
        "SET lock_timeout = {}; SET statement_timeout = {}; SET synchronous_commit = off",
        setting(limits.lock_timeout),
        setting(limits.statement_timeout)
    ))
    .execute(&mut *work)
    .await
    .map_err(classify)?;
    let ran = sqlx::raw_sql(loop_sql).execute(&mut *work).await;
    let state = sqlx::raw_sql(&format!(
        "RESET lock_timeout; RESET statement_timeout; RESET synchronous_commit; SELECT current_setting('{BACKFILL_LOOP_STATE}', true)"
    ))
    .fetch_all(&mut *work)
    .await;
    ran.map_err(classify)?;
    let rows = state.map_err(classify)?;
    let text: Option<String> = match rows.first() {
        Some(row) => row.try_get(0).map_err(AttemptError::Failed)?,
        None => None,
    };
    loop_outcome(text.as_deref().unwrap_or_default(), request.rows_done).ok_or_else(|| {
        AttemptError::Failed(sqlx::Error::Protocol(format!(
            "the backfill loop left no outcome ({text:?})"
        )))
    })
}

/// The [`BatchResult`] of a loop from its outcome `[batches, rows_done, updated, [key…]]`.
fn loop_outcome(state: &str, rows_done_before: u64) -> Option<BatchResult> {
    let (batches, rows_done, updated, key): (u64, u64, u64, Vec<Option<String>>) =
        serde_json::from_str(state).ok()?;
    let scanned = rows_done.checked_sub(rows_done_before)?;
    Some(BatchResult {
        scanned,
        updated,
        last_key: (scanned > 0).then(|| key.into_iter().map(Option::unwrap_or_default).collect()),
        batches: batches.max(1),
    })
}

/// Bounds, update and checkpoint as separate statements in one transaction.
async fn in_steps(
    work: &mut PgConnection,
    begin: &str,
    request: &BatchRequest<'_>,
) -> Result<BatchResult, AttemptError> {
    sqlx::raw_sql(begin)
        .execute(&mut *work)
        .await
        .map_err(classify)?;
    let result: Result<BatchResult, sqlx::Error> = async {
        let done = batch_in_steps(&mut *work, request).await?;
        sqlx::raw_sql("COMMIT").execute(&mut *work).await?;
        Ok(done)
    }
    .await;
    match result {
        Ok(done) => Ok(done),
        Err(error) => {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
            Err(classify(error))
        }
    }
}

/// The batch's last key: the row's columns from `first` on, as text.
impl BatchSteps for PgConnection {
    async fn bounds(&mut self, sql: &str) -> Result<(i64, Vec<String>), sqlx::Error> {
        let row = sqlx::query(sql).persistent(false).fetch_one(self).await?;
        Ok((row.try_get(0)?, last_key(&row, 1)?))
    }

    async fn update(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(sqlx::raw_sql(sql).execute(self).await?.rows_affected())
    }

    async fn checkpoint(
        &mut self,
        step: StepKey<'_>,
        range: Option<usize>,
        last: &[String],
        rows_done: u64,
    ) -> Result<(), sqlx::Error> {
        match range {
            None => write_checkpoint(self, step, last, rows_done).await,
            Some(range) => write_range_checkpoint(self, step, range, last, rows_done).await,
        }
    }
}

fn last_key(row: &PgRow, first: usize) -> Result<Vec<String>, sqlx::Error> {
    let mut last = Vec::new();
    for i in first..row.len() {
        let value: Option<String> = row.try_get(i)?;
        last.push(value.unwrap_or_default());
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::loop_outcome;

    #[test]
    fn a_loop_outcome_is_what_its_batches_walked_in_all() {
        let result = loop_outcome(r#"[7, 7500, 6000, ["7500", null]]"#, 1000).unwrap();
        assert_eq!(
            (result.scanned, result.updated, result.batches),
            (6500, 6000, 7)
        );
        assert_eq!(
            result.last_key,
            Some(vec!["7500".to_string(), String::new()])
        );
        assert!(
            result.reached_end(1000),
            "7 batches of 1000 walked 6500: the last was short"
        );
        let full = loop_outcome(r#"[3, 3000, 3000, ["3000"]]"#, 0).unwrap();
        assert!(!full.reached_end(1000));
        let nothing = loop_outcome(r#"[1, 3000, 0, ["3000"]]"#, 3000).unwrap();
        assert_eq!((nothing.scanned, nothing.last_key), (0, None));
        assert!(loop_outcome("", 0).is_none());
        assert!(
            loop_outcome(r#"[1, 10, 0, []]"#, 20).is_none(),
            "rows done went back"
        );
    }
}
