//! Backfill batches on the work connection: bounds, update and checkpoint in one transaction,
//! or the dialect's one-statement batch sent as one message.

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::attempt::{classify, setting};
use super::ledger::write_checkpoint;
use super::PgBackend;
use crate::dialect::planned::{Expect, GuardQuery};
use crate::engine::backend::{
    AttemptError, BatchRequest, BatchResult, BatchRunner, GuardValue, Limits, StatementRunner,
};
use crate::engine::batch_steps::{batch_in_steps, BatchSteps};
use crate::engine::ledger::StepKey;
use crate::engine::throttle::{replica_lag, LagReading, POSTGRES_REPLICA_LAG_SQL};

impl BatchRunner for PgBackend {
    async fn backfill_batch(
        &mut self,
        request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError> {
        self.ensure_work().await?;
        let begin = begin_batch(request.limits);
        let result = match &request.batch_sql {
            Some(batch_sql) => one_message(&mut self.work, &begin, batch_sql).await,
            None => in_steps(&mut self.work, &begin, request).await,
        };
        if let Err(error) = &result {
            self.note(error);
        }
        result
    }

    async fn replica_lag(
        &mut self,
        _replicas: &[String],
        limits: Limits,
    ) -> Result<LagReading, AttemptError> {
        let query = GuardQuery {
            description: "replica lag".into(),
            query: POSTGRES_REPLICA_LAG_SQL.into(),
            expect: Expect::Boolean(false),
        };
        Ok(replica_lag(match self.guard(&query, limits).await? {
            GuardValue::Integer(n) => Some(n as f64),
            GuardValue::Other(text) => text.parse::<f64>().ok(),
            _ => None,
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
        return Ok(BatchResult {
            scanned: 0,
            updated: 0,
            last_key: None,
        });
    }
    Ok(BatchResult {
        scanned: scanned as u64,
        updated: updated.max(0) as u64,
        last_key: Some(last_key(row, 2).map_err(AttemptError::Failed)?),
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
        last: &[String],
        rows_done: u64,
    ) -> Result<(), sqlx::Error> {
        write_checkpoint(self, step, last, rows_done).await
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
