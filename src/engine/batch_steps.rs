//! One backfill batch run statement by statement inside the caller's transaction — the bounds
//! query, the update of the keys up to the last one it found, the checkpoint — written once;
//! each backend says how its connection runs the three statements ([`BatchSteps`]).

use super::backend::{BatchRequest, BatchResult};
use super::ledger::StepKey;

/// How one connection runs the statements of a batch.
#[allow(async_fn_in_trait)]
pub trait BatchSteps {
    /// Runs the bounds query: rows scanned, then the batch's last key, as text.
    async fn bounds(&mut self, sql: &str) -> Result<(i64, Vec<String>), sqlx::Error>;

    /// Runs the update; the rows it changed.
    async fn update(&mut self, sql: &str) -> Result<u64, sqlx::Error>;

    /// Writes the checkpoint: the batch's last key and the rows walked so far, in the step's
    /// row, or in the row of its parallel backfill's range `range`.
    async fn checkpoint(
        &mut self,
        step: StepKey<'_>,
        range: Option<usize>,
        last: &[String],
        rows_done: u64,
    ) -> Result<(), sqlx::Error>;
}

/// The batch of `request` on `conn`, inside a transaction the caller opened and ends.
/// `scanned == 0` means the walk is complete: nothing is written.
pub async fn batch_in_steps<C: BatchSteps>(
    conn: &mut C,
    request: &BatchRequest<'_>,
) -> Result<BatchResult, sqlx::Error> {
    let (scanned, last) = conn.bounds(&request.bounds_sql).await?;
    if scanned <= 0 {
        return Ok(BatchResult::empty());
    }
    let updated = conn.update(&(request.update_sql)(&last)).await?;
    let rows_done = request.rows_done + scanned as u64;
    conn.checkpoint(request.step, request.range, &last, rows_done)
        .await?;
    Ok(BatchResult::one(scanned as u64, updated, last))
}
