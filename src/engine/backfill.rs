//! The backfill batch loop: walk the key in order, one batch per transaction together with its
//! checkpoint, resume from the checkpoint after an interruption.
//!
//! The seam for the backfill engine: [`run`] resolves the key and the settings, then drives
//! [`BatchLoop`] — throttling, adaptive batch size and progress belong in the loop, the batch
//! itself (bounds + update + checkpoint in one transaction) in `Backend::backfill_batch`.

use std::time::{Duration, Instant};

use super::backend::{AttemptError, Backend, BatchRequest, GuardValue};
use super::ledger::StepRecord;
use super::reporter::Event;
use super::retry;
use super::step::{StepContext, StepError};
use super::ErrorKind;
use crate::ops::planned::{BackfillPlan, Expect, GuardQuery, LockPolicy};
use crate::ops::{Backfill, Op};

/// How often progress is reported (at most).
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Runs a backfill action to the end of the table, resuming from `record.checkpoint`.
pub async fn run<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    plan: &BackfillPlan,
    record: &mut StepRecord,
) -> Result<(), StepError> {
    let key = match &plan.key {
        Some(key) => key.clone(),
        None => backend
            .primary_key(&plan.table)
            .await
            .map_err(|e| StepError::from_engine(&e))?
            .ok_or_else(|| {
                StepError::new(
                    ErrorKind::Failed,
                    format!(
                        "table {} has no primary key to walk the backfill by; add `key = [\"column\", …]` \
                         to the backfill step naming unique, not-null columns (or add a primary key)",
                        plan.table
                    ),
                )
            })?,
    };
    if let Some(explicit) = &plan.key {
        refuse_null_keys(backend, ctx, plan, explicit).await?;
    }
    let written = match ctx.op() {
        Some(Op::Backfill(op)) => Some(op),
        _ => None,
    };
    // The operation the dialect renders batches from: the plan's, with the key resolved.
    let op = Backfill {
        table: plan.table.clone(),
        set: plan.set.clone(),
        filter: plan.filter.clone(),
        key: Some(key.clone()),
        batch_size: written.and_then(|w| w.batch_size),
        pause: written.and_then(|w| w.pause),
        target_batch_time: written.and_then(|w| w.target_batch_time),
        max_lag: written.and_then(|w| w.max_lag),
        throttle_query: written.and_then(|w| w.throttle_query.clone()),
    };
    let total = backend
        .estimate_rows(&plan.table)
        .await
        .map_err(|e| StepError::from_engine(&e))?;
    ctx.reporter.report(Event::BackfillStarted {
        step: ctx.step.clone(),
        key: key.clone(),
        resumed_after: record.checkpoint.clone(),
        rows_done: record.rows_done,
        total,
    });
    let mut batches = BatchLoop {
        batch_size: ctx.config.batch_size_for(op.batch_size),
        pause: ctx.config.pause_for(op.pause),
        total,
        started: Instant::now(),
        rows_at_start: record.rows_done,
        last_report: None,
    };
    batches.run(backend, ctx, &op, &key, record).await
}

/// The loop over batches, with its settings and progress state.
pub struct BatchLoop {
    pub batch_size: u64,
    pub pause: Duration,
    pub total: Option<u64>,
    started: Instant,
    rows_at_start: u64,
    last_report: Option<Instant>,
}

impl BatchLoop {
    async fn run<B: Backend>(
        &mut self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        op: &Backfill,
        key: &[String],
        record: &mut StepRecord,
    ) -> Result<(), StepError> {
        let dialect = B::KIND.dialect();
        let attempts = ctx.config.lock_retries.max(1);
        let mut attempt = 1;
        loop {
            if ctx.stop.is_stopped() {
                return Err(StepError::new(
                    ErrorKind::Interrupted,
                    format!(
                        "backfill of {} stopped after {} rows; the checkpoint is saved and `bellows apply` resumes it",
                        op.table, record.rows_done
                    ),
                ));
            }
            let after = record.checkpoint.clone();
            let bounds_sql =
                dialect.backfill_bounds_sql(op, key, after.as_deref(), self.batch_size);
            let update_sql =
                |upto: &[String]| dialect.backfill_update_sql(op, key, after.as_deref(), upto);
            let request = BatchRequest {
                step: ctx.key(),
                bounds_sql,
                update_sql: &update_sql,
                rows_done: record.rows_done,
                limits: retry::limits_for(LockPolicy::Short, ctx.config),
            };
            let result = match backend.backfill_batch(&request).await {
                Ok(result) => result,
                Err(error @ (AttemptError::LockTimeout { .. } | AttemptError::Transient(_)))
                    if attempt < attempts =>
                {
                    let wait = retry::backoff(attempt);
                    ctx.reporter.report(match error {
                        AttemptError::Transient(e) => Event::Retrying {
                            step: ctx.step.clone(),
                            reason: super::error::db_message(&e),
                            attempt,
                            attempts,
                            backoff: wait,
                        },
                        _ => Event::LockRetry {
                            step: ctx.step.clone(),
                            table: Some(op.table.to_string()),
                            attempt,
                            attempts,
                            backoff: wait,
                            blockers: Vec::new(),
                        },
                    });
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    // NOTE: a batch whose connection broke may have committed before the
                    // error reached us: continue from the checkpoint the ledger holds.
                    self.refresh(backend, ctx, record).await?;
                    continue;
                }
                Err(AttemptError::LockTimeout { .. }) => {
                    return Err(StepError::new(
                        ErrorKind::Locked,
                        format!(
                            "a backfill batch could not take its row locks in {attempts} attempts; \
                             the checkpoint is saved and `bellows apply` resumes it"
                        ),
                    ))
                }
                Err(AttemptError::Engine(e)) => return Err(StepError::from_engine(&e)),
                Err(other) => {
                    return Err(StepError::new(
                        ErrorKind::Failed,
                        format!("backfill batch failed: {other}"),
                    ))
                }
            };
            attempt = 1;
            if result.scanned == 0 {
                self.report(ctx, record, true);
                return Ok(());
            }
            record.rows_done += result.scanned;
            record.checkpoint = result.last_key;
            self.report(ctx, record, false);
            if !self.pause.is_zero() {
                tokio::time::sleep(self.pause).await;
            }
        }
    }

    /// Reloads the checkpoint and rows done from the ledger.
    async fn refresh<B: Backend>(
        &self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        record: &mut StepRecord,
    ) -> Result<(), StepError> {
        let ledger = backend
            .read_ledger(Some(&ctx.step.plan))
            .await
            .map_err(|e| StepError::from_engine(&e))?;
        if let Some(saved) = ledger
            .first()
            .and_then(|l| l.step(ctx.step.phase, ctx.step.index))
        {
            record.checkpoint = saved.checkpoint.clone();
            record.rows_done = saved.rows_done;
        }
        Ok(())
    }

    fn report(&mut self, ctx: &StepContext<'_>, record: &StepRecord, last: bool) {
        let now = Instant::now();
        if !last && self.last_report.is_some_and(|t| now - t < PROGRESS_EVERY) {
            return;
        }
        self.last_report = Some(now);
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        ctx.reporter.report(Event::BackfillProgress {
            step: ctx.step.clone(),
            rows_done: record.rows_done,
            total: self.total.map(|t| t.max(record.rows_done)),
            batch_size: self.batch_size,
            rows_per_second: (record.rows_done - self.rows_at_start) as f64 / elapsed,
        });
    }
}

/// Refuses an explicit `key` one of whose columns holds a NULL: keyset pagination never reaches
/// such rows (`NULL > x` is not true), so they would be skipped while the backfill reported
/// success.
async fn refuse_null_keys<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    plan: &BackfillPlan,
    key: &[String],
) -> Result<(), StepError> {
    let dialect = B::KIND.dialect();
    let nulls = key
        .iter()
        .map(|k| format!("{} IS NULL", dialect.ident(k)))
        .collect::<Vec<_>>()
        .join(" OR ");
    let guard = GuardQuery {
        description: format!("NULLs in the backfill key of {}", plan.table),
        query: format!(
            "SELECT count(*) FROM (SELECT 1 FROM {} WHERE {nulls} LIMIT 1) AS null_keys",
            dialect.table(&plan.table)
        ),
        expect: Expect::Integer(0),
    };
    let value = backend
        .guard(&guard, retry::limits_for(LockPolicy::Short, ctx.config))
        .await
        .map_err(|e| StepError::new(ErrorKind::Failed, format!("{}: {e}", guard.description)))?;
    if value == GuardValue::Integer(0) {
        return Ok(());
    }
    Err(StepError::new(
        ErrorKind::Failed,
        format!(
            "the backfill key [{}] of table {} holds NULLs; keyset batches never reach rows with a \
             NULL key, so they would be skipped. Name unique, not-null columns in `key = [...]`",
            key.join(", "),
            plan.table
        ),
    ))
}
