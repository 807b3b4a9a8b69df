//! The backfill batch loop: walk the key in order, one batch per transaction together with its
//! checkpoint, resume from the checkpoint after an interruption.
//!
//! The seam for the backfill engine: [`run`] resolves the key and the settings, then drives
//! [`BatchLoop`] — throttling, adaptive batch size and progress belong in the loop, the batch
//! itself (bounds + update + checkpoint in one transaction) in `Backend::backfill_batch`.

pub mod connection_room;
pub mod parallel;

use std::time::{Duration, Instant};

use super::backend::{AttemptError, Backend, BatchRequest, BatchResult, GuardValue, Limits};
use super::context::{StepContext, StepError};
use super::ledger::StepRecord;
use super::reporter::Event;
use super::retry;
use super::retry_policy::{self, RetryDecision};
use super::throttle::{
    BatchSizer, ReplayWatch, ReplicaLag, ReplicaState, Throttle, ThrottleChecks, ThrottleDecision,
    ThrottleReason,
};
use super::ErrorKind;
use crate::dialect::planned::{BackfillPlan, Expect, GuardQuery, LockPolicy};
use crate::dialect::{quote_literal, BatchCheckpoint, DialectKind};
use crate::ops::Backfill;
use crate::vocab::lag::MaxLag;

/// How often progress is reported (at most).
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Runs a backfill action to the end of the table, resuming from `record.checkpoint`.
pub async fn run<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    plan: &BackfillPlan,
    record: &mut StepRecord,
) -> Result<(), StepError> {
    let key = walk_key(backend, plan).await?;
    if let Some(explicit) = &plan.key {
        refuse_null_keys(backend, ctx, plan, explicit).await?;
    }
    // The operation the dialect renders batches from: the plan's, with the key resolved.
    let op = Backfill {
        table: plan.table.clone(),
        set: plan.set.clone(),
        filter: plan.filter.clone(),
        key: Some(key.clone()),
        batch_size: plan.settings.batch_size,
        pause: plan.settings.pause,
        target_batch_time: plan.settings.target_batch_time,
        max_lag: plan.settings.max_lag,
        throttle_query: plan.settings.throttle_query.clone(),
        parallel: plan.settings.parallel,
    };
    let (total, exact) = progress_total(backend, &plan.table).await?;
    // NOTE: a total from statistics may be stale: it is refined from the key range as the walk
    // proceeds (one indexed min/max now), when the key is one numeric column.
    let range = match (exact, key.as_slice()) {
        (false, [column]) => key_range(backend, &plan.table, column).await,
        _ => None,
    };
    ctx.reporter.report(Event::BackfillStarted {
        step: ctx.step.clone(),
        key: key.clone(),
        resumed_after: record.checkpoint.clone(),
        rows_done: record.rows_done,
        total,
    });
    let mut batches = BatchLoop::new::<B>(ctx, &op, total, record);
    batches.range = range;
    // NOTE: ranges saved by an interrupted parallel walk are walked to their ends whatever
    // `parallel` now says (it only says how many at a time): the step's own checkpoint stopped
    // where they were split, so walking from it would write their rows again.
    let walk = parallel::Parallel {
        op: &op,
        key: &key,
        workers: parallel::workers::<B>(ctx, plan.settings.parallel),
        estimate: total,
    };
    if let Some(ranges) = walk.ranges(backend, ctx, record).await? {
        return batches
            .run_ranges(backend, ctx, &walk, ranges, record)
            .await;
    }
    batches.run(backend, ctx, &op, &key, record).await
}

/// Below this many rows by the statistics' estimate, the backfill's total is counted exactly:
/// a few milliseconds, and the percentage and time left are then true on a small table or one
/// never analysed (whose estimate can be off many times over).
const EXACT_COUNT_BELOW: u64 = 100_000;

/// Whether to count the rows exactly rather than trust `estimate`.
fn count_exactly(estimate: Option<u64>) -> bool {
    estimate.is_none_or(|rows| rows < EXACT_COUNT_BELOW)
}

/// The rows the backfill will walk, for its progress, and whether the figure is exact: the
/// estimate, or an exact count (of at most ten times [`EXACT_COUNT_BELOW`] rows, so a stale
/// estimate of a huge table costs little) when the estimate is small or unknown (a table never
/// analysed).
async fn progress_total<B: Backend>(
    backend: &mut B,
    table: &crate::vocab::TableName,
) -> Result<(Option<u64>, bool), StepError> {
    let estimate = backend
        .estimate_rows(table)
        .await
        .map_err(|e| StepError::from_engine(&e))?;
    if !count_exactly(estimate) {
        return Ok((estimate, false));
    }
    let query = GuardQuery {
        description: format!("rows of {table}"),
        query: format!(
            "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) AS counted",
            B::KIND.dialect().table(table),
            EXACT_COUNT_BELOW * 10
        ),
        expect: Expect::Integer(0),
    };
    let limits = Limits {
        lock_timeout: Some(crate::vocab::defaults::LOCK_TIMEOUT),
        statement_timeout: Some(crate::vocab::defaults::STATEMENT_TIMEOUT),
    };
    Ok(match backend.guard(&query, limits).await {
        Ok(GuardValue::Integer(rows))
            if rows >= 0 && rows.unsigned_abs() < EXACT_COUNT_BELOW * 10 =>
        {
            (Some(rows.unsigned_abs()), true)
        }
        // At least the cap: the walk refines it.
        Ok(GuardValue::Integer(rows)) if rows >= 0 => {
            (Some(estimate.unwrap_or(0).max(rows.unsigned_abs())), false)
        }
        _ => (estimate, false),
    })
}

/// The smallest and largest value of a one-column key, when both are numbers.
async fn key_range<B: Backend>(
    backend: &mut B,
    table: &crate::vocab::TableName,
    column: &str,
) -> Option<(f64, f64)> {
    let dialect = B::KIND.dialect();
    let column = dialect.ident(column);
    let capture = crate::dialect::planned::Capture {
        name: "key_range",
        description: format!("the key range of {table}"),
        query: format!(
            "SELECT CAST(min({column}) AS TEXT) || ' ' || CAST(max({column}) AS TEXT) FROM {}",
            dialect.table(table)
        ),
        missing: None,
    };
    let limits = Limits {
        lock_timeout: Some(crate::vocab::defaults::LOCK_TIMEOUT),
        statement_timeout: Some(crate::vocab::defaults::STATEMENT_TIMEOUT),
    };
    let text = backend.capture(&capture, limits).await.ok()??;
    let (low, high) = text.split_once(' ')?;
    let (low, high) = (low.parse::<f64>().ok()?, high.parse::<f64>().ok()?);
    (high > low).then_some((low, high))
}

/// The total the walk suggests: the rows walked over the share of the key range walked, once
/// that share is large enough to say something (a key range sparse in places makes it rough,
/// but it converges on the truth as the walk proceeds).
pub fn refined_total(range: (f64, f64), last_key: f64, rows_done: u64) -> Option<u64> {
    let (low, high) = range;
    let share = ((last_key - low) / (high - low)).clamp(0.0, 1.0);
    (share >= 0.02 && rows_done > 0).then(|| (rows_done as f64 / share).round() as u64)
}

/// The key to walk by: the plan's `key`, else the table's primary key (or a unique not-null
/// index); an error saying how to give one when the table has neither.
async fn walk_key<B: Backend>(
    backend: &mut B,
    plan: &BackfillPlan,
) -> Result<Vec<String>, StepError> {
    if let Some(key) = &plan.key {
        return Ok(key.clone());
    }
    backend
        .primary_key(&plan.table)
        .await
        .map_err(|e| StepError::from_engine(&e))?
        .ok_or_else(|| {
            StepError::new(
                ErrorKind::Failed,
                format!(
                    "table {} has no primary key to walk the backfill by; add `key = [\"column\", …]` \
                     to the backfill step naming unique, not-null columns, then run `bellows apply \
                     --allow-changed` (the plan changed); or add a primary key (or a unique index \
                     over not-null columns) to {}, then run `bellows apply`",
                    plan.table, plan.table
                ),
            )
            .needs_fix()
        })
}

/// The loop over batches, with its settings and progress state.
pub struct BatchLoop {
    sizer: BatchSizer,
    throttle: Throttle,
    total: Option<u64>,
    /// The key's range when the total is an estimate and the key is one numeric column.
    range: Option<(f64, f64)>,
    started: Instant,
    rows_at_start: u64,
    last_report: Option<Instant>,
    /// The hold in force (kind, reason, since when), reported when it starts and ends.
    held: Option<(&'static str, String, Instant)>,
    pause_reported: bool,
    /// The slowest standby's replay position between checks (`max_lag`).
    replay: ReplayWatch,
    /// Whether the warning that this role cannot read the standbys' lag was given.
    lag_unreadable_warned: bool,
}

/// The longest a server-side loop of batches runs before the engine reports progress and looks
/// at the pause file and Ctrl-C again.
const LOOP_BUDGET: Duration = Duration::from_millis(250);

/// The loop's budget under `statement_timeout` (zero: none).
///
/// NOTE: the loop is one statement, so the timeout covers all of its batches, not each: the
/// loop takes at most a tenth of it, and its last batch keeps nine tenths of it (a batch sent
/// alone has all of it). A timeout under ten budgets makes loops of about one batch.
fn loop_budget_within(statement_timeout: Duration) -> Duration {
    match statement_timeout.is_zero() {
        true => LOOP_BUDGET,
        false => LOOP_BUDGET.min(statement_timeout / 10),
    }
}

/// How often a stopped run is noticed while sleeping.
const STOP_POLL: Duration = Duration::from_millis(50);

impl BatchLoop {
    /// The loop for `op`, with its settings resolved (step > plan > configuration).
    fn new<B: Backend>(
        ctx: &StepContext<'_>,
        op: &Backfill,
        total: Option<u64>,
        record: &StepRecord,
    ) -> BatchLoop {
        let mut max_lag = ctx.config.max_lag_for(op.max_lag);
        if max_lag.is_some() && B::KIND == DialectKind::Sqlite {
            ctx.reporter.report(Event::Notice {
                message: "max_lag is ignored on SQLite: it has no replicas".into(),
            });
            max_lag = None;
        }
        if let (Some(MaxLag::Bytes(_)), DialectKind::Mysql) = (max_lag, B::KIND) {
            ctx.reporter.report(Event::Notice {
                message: "warning: max_lag is a size of WAL not yet replayed, which only \
                          PostgreSQL reports; MySQL/MariaDB replicas report seconds: give \
                          max_lag as a duration (\"2s\"). Ignored on this database"
                    .into(),
            });
            max_lag = None;
        }
        let throttle = Throttle {
            pause: ctx.config.pause_for(op.pause),
            pause_file: ctx.config.pause_file.clone(),
            max_lag,
            throttle_query: op.throttle_query.clone(),
            ..Throttle::default()
        };
        let sizer = BatchSizer::new(
            ctx.config.batch_size_for(op.batch_size),
            ctx.config.target_batch_time_for(op.target_batch_time),
        );
        BatchLoop {
            sizer,
            throttle,
            total,
            range: None,
            started: Instant::now(),
            rows_at_start: record.rows_done,
            last_report: None,
            held: None,
            pause_reported: false,
            replay: ReplayWatch::default(),
            lag_unreadable_warned: false,
        }
    }

    async fn run<B: Backend>(
        &mut self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        op: &Backfill,
        key: &[String],
        record: &mut StepRecord,
    ) -> Result<(), StepError> {
        let mut attempt = 1;
        let mut last_batch: Option<Instant> = None;
        loop {
            if ctx.stop.is_stopped() {
                return Err(interrupted(op, record));
            }
            // Throttling: wait while something holds the backfill back.
            let checks = self.checks(backend, ctx, last_batch).await?;
            match self.throttle.decide(&checks) {
                ThrottleDecision::Proceed => self.release(ctx),
                ThrottleDecision::Wait { reason, duration } => {
                    self.waiting(ctx, record, &reason);
                    sleep_unless_stopped(duration, ctx).await;
                    continue;
                }
            }
            let limit = self.sizer.size();
            let batch_started = Instant::now();
            let budget = self.loop_budget(ctx);
            let walk = Walk::whole(record);
            let result = match one_batch(backend, ctx, op, key, walk, limit, budget).await {
                Ok(result) => result,
                Err(error) => {
                    self.retry_batch(backend, ctx, op, record, error, attempt)
                        .await?;
                    attempt += 1;
                    continue;
                }
            };
            attempt = 1;
            // NOTE: a short batch reached the end of the table. Stop there rather than chase
            // rows the application keeps appending: rows written from now on are the plan's
            // `sync_column` trigger's to fill (a walk that follows inserts may never end).
            let over = result.scanned == 0 || result.reached_end(limit);
            if result.scanned > 0 {
                self.sizer.record(result.scanned, batch_started.elapsed());
                last_batch = Some(Instant::now());
                record.batch_done(result.scanned, result.last_key);
            }
            if !over {
                self.report(ctx, record, false);
                continue;
            }
            match self.walked_durably(backend, ctx, record).await {
                Ok(true) => {
                    // The walk is over: what it walked is the total.
                    self.total = Some(record.rows_done);
                    self.report(ctx, record, true);
                    return Ok(());
                }
                Ok(false) => continue,
                Err(error) => {
                    self.retry_batch(backend, ctx, op, record, error, attempt)
                        .await?;
                    attempt += 1;
                }
            }
        }
    }

    /// How long the server may run batches one after another in one round trip
    /// (`Dialect::backfill_loop_sql`): only when nothing paces the batches (no pause, throttle
    /// query, max_lag or target_batch_time), so that pacing still happens between batches; and
    /// within the statement timeout ([`loop_budget_within`]).
    fn loop_budget(&self, ctx: &StepContext<'_>) -> Option<Duration> {
        let paced = !self.throttle.pause.is_zero()
            || self.throttle.throttle_query.is_some()
            || self.throttle.max_lag.is_some()
            || self.sizer.target().is_some();
        (!paced).then(|| loop_budget_within(ctx.config.statement_timeout))
    }

    /// After attempt `attempt` of a batch failed with `error`: waits as [`retry_policy::next`]
    /// decides and reloads the checkpoint (`Ok`: try again), or gives up (`Err`).
    async fn retry_batch<B: Backend>(
        &self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        op: &Backfill,
        record: &mut StepRecord,
        error: AttemptError,
        attempt: u32,
    ) -> Result<(), StepError> {
        let decision = retry_policy::next(attempt, &error, ctx.config);
        if decision == RetryDecision::GiveUp {
            // The checkpoint the ledger holds: batches a server-side loop committed are in it,
            // the failed one is not.
            let _ = self.refresh(backend, ctx, record).await;
            return Err(gave_up(
                error,
                ctx.config.lock_retries.max(1),
                Some(failed_batch(record.checkpoint.as_deref())),
            ));
        }
        let wait = decision.wait();
        ctx.reporter
            .report(retry_event(ctx, op, error, attempt, wait));
        tokio::time::sleep(wait).await;
        // NOTE: a batch whose connection broke may have committed before the error reached
        // us: continue from the checkpoint the ledger holds.
        self.refresh(backend, ctx, record).await
    }

    /// Looks at what the throttle is configured to watch.
    async fn checks<B: Backend>(
        &mut self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        last_batch: Option<Instant>,
    ) -> Result<ThrottleChecks, StepError> {
        let pause_file_exists = self.throttle.pause_file_present();
        // The pause file wins over everything: no need to ask the database while it exists.
        if pause_file_exists {
            return Ok(ThrottleChecks {
                pause_file_exists,
                ..ThrottleChecks::default()
            });
        }
        let mut checks = ThrottleChecks {
            since_last_batch: last_batch.map_or(Duration::MAX, |t| t.elapsed()),
            ..ThrottleChecks::default()
        };
        if let Some(query) = &self.throttle.throttle_query {
            let value = query_value(backend, ctx, "throttle_query", query).await?;
            checks.throttle_query = match value {
                GuardValue::Boolean(b) => Some(b),
                GuardValue::Integer(n) => Some(n != 0),
                GuardValue::Null | GuardValue::NoRow => None,
                GuardValue::Other(text) => {
                    return Err(StepError::new(
                        ErrorKind::Failed,
                        format!(
                            "the backfill's throttle_query returned {text:?}; it must return a boolean (true holds the backfill)"
                        ),
                    ))
                }
            };
        }
        if self.throttle.checks_replica_lag() {
            let limits = retry::limits_for(LockPolicy::Short, ctx.config);
            let replicas = &ctx.config.replica_urls;
            let state = retried(backend, ctx, "replica lag", async |backend: &mut B| {
                backend.replica_lag(replicas, limits).await
            })
            .await?;
            checks.replica_lag = Some(self.replica_lag(ctx, &state));
        }
        Ok(checks)
    }

    /// The standbys' lag from what the check read; warns once when this role cannot see it.
    fn replica_lag(&mut self, ctx: &StepContext<'_>, state: &ReplicaState) -> ReplicaLag {
        if !state.readable && !self.lag_unreadable_warned {
            self.lag_unreadable_warned = true;
            ctx.reporter.report(Event::Notice {
                message:
                    "warning: max_lag cannot be enforced: this role cannot read the standbys' \
                          lag in pg_stat_replication (every lag column reads NULL); grant it \
                          pg_monitor (or pg_read_all_stats), or run as a superuser"
                        .into(),
            });
        }
        ReplicaLag {
            replay_lag: state.replay_lag,
            unreplayed_bytes: state.unreplayed_bytes,
            stalled: self.replay.observe(state, Instant::now()),
            unknown: state.unknown.clone(),
        }
    }

    /// Reports a wait when it starts (or its reason changes); the plain pause once.
    fn waiting(&mut self, ctx: &StepContext<'_>, record: &StepRecord, reason: &ThrottleReason) {
        let kind = match reason {
            ThrottleReason::PauseFile { .. } => "pause_file",
            ThrottleReason::ThrottleQuery => "throttle_query",
            ThrottleReason::ReplicaLag { .. } | ThrottleReason::ReplicaLagUnknown { .. } => {
                "replica_lag"
            }
            ThrottleReason::Pause => "pause",
        };
        if !reason.holds() {
            self.release(ctx);
            if !self.pause_reported {
                self.pause_reported = true;
                ctx.reporter.report(Event::BackfillThrottled {
                    step: ctx.step.clone(),
                    kind: kind.into(),
                    reason: format!(
                        "pause {} between batches",
                        humantime::format_duration(self.throttle.pause)
                    ),
                });
            }
            return;
        }
        if self.held.as_ref().is_some_and(|(k, _, _)| *k == kind) {
            return;
        }
        self.release(ctx);
        let text = reason.to_string();
        ctx.reporter.report(Event::BackfillThrottled {
            step: ctx.step.clone(),
            kind: kind.into(),
            reason: text.clone(),
        });
        self.held = Some((kind, text, Instant::now()));
        // The bar shows the hold at once.
        self.report(ctx, record, true);
    }

    /// Ends the hold in force, if any.
    fn release(&mut self, ctx: &StepContext<'_>) {
        if let Some((kind, _, since)) = self.held.take() {
            ctx.reporter.report(Event::BackfillReleased {
                step: ctx.step.clone(),
                kind: kind.into(),
                held: since.elapsed(),
            });
        }
    }

    /// What paces the backfill now, for progress.
    fn throttle_state(&self) -> Option<String> {
        if let Some((_, reason, _)) = &self.held {
            return Some(format!("held: {reason}"));
        }
        let mut parts = Vec::new();
        if let Some(target) = self.sizer.target() {
            parts.push(format!(
                "target_batch_time {}",
                humantime::format_duration(target)
            ));
        }
        if !self.throttle.pause.is_zero() {
            parts.push(format!(
                "pause {}",
                humantime::format_duration(self.throttle.pause)
            ));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Whether the walk's batches are durable: flushed, and still in the ledger. A server that
    /// restarted after a batch committed without its flush has lost it with its checkpoint;
    /// then the walk goes on from the checkpoint the ledger holds (`false`) instead of being
    /// recorded complete over rows never written.
    async fn walked_durably<B: Backend>(
        &self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        record: &mut StepRecord,
    ) -> Result<bool, AttemptError> {
        backend.flush_batches().await?;
        let ledger = backend
            .read_ledger(Some(&ctx.step.plan))
            .await
            .map_err(AttemptError::Engine)?;
        let saved = ledger
            .first()
            .and_then(|l| l.step(ctx.step.phase, ctx.step.index));
        match saved {
            Some(saved) if saved.checkpoint != record.checkpoint => {
                record.resume_from(saved);
                Ok(false)
            }
            _ => Ok(true),
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
            record.resume_from(saved);
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
        let last_key = record
            .checkpoint
            .as_ref()
            .and_then(|k| k.first())
            .and_then(|k| k.parse::<f64>().ok());
        if let (Some(range), Some(last_key)) = (self.range, last_key) {
            if let Some(refined) = refined_total(range, last_key, record.rows_done) {
                self.total = Some(refined);
            }
        }

        ctx.reporter.report(Event::BackfillProgress {
            step: ctx.step.clone(),
            rows_done: record.rows_done,
            total: self.total.map(|t| t.max(record.rows_done)),
            batch_size: self.sizer.size(),
            rows_per_second: record.rows_done.saturating_sub(self.rows_at_start) as f64 / elapsed,
            throttle: self.throttle_state(),
        });
    }
}

/// Renders and runs one batch of at most `limit` rows after the record's checkpoint; or, with
/// a `loop_budget` and a checkpoint, batches one after another on the server for about that
/// long, when the dialect can.
async fn one_batch<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    op: &Backfill,
    key: &[String],
    walk: Walk<'_>,
    limit: u64,
    loop_budget: Option<Duration>,
) -> Result<BatchResult, AttemptError> {
    let dialect = B::KIND.dialect();
    let after = walk.after;
    let range_index = walk.range.as_ref().map(|r| r.index);
    let until = walk.range.as_ref().and_then(|r| r.until.clone());
    let checkpoint = BatchCheckpoint {
        ledger: match walk.range {
            Some(_) => super::ledger::ranges_table(B::KIND).to_string(),
            None => super::ledger::steps_table(B::KIND).to_string(),
        },
        plan: quote_literal(&ctx.step.plan),
        phase: quote_literal(ctx.step.phase.as_str()),
        step_index: ctx.step.index.to_string(),
        rows_done: walk.rows_done.to_string(),
        range: walk.range,
    };
    let batch_sql = dialect.backfill_batch_sql(op, key, after, limit, &checkpoint);
    let bounds_sql = match batch_sql {
        Some(_) => String::new(),
        None => dialect.backfill_bounds_sql(op, key, after, until.as_deref(), limit),
    };
    let update_sql = |upto: &[String]| dialect.backfill_update_sql(op, key, after, upto);
    let loop_sql = match (loop_budget, after) {
        (Some(budget), Some(after)) => {
            dialect.backfill_loop_sql(op, key, after, limit, &checkpoint, budget)
        }
        _ => None,
    };
    let request = BatchRequest {
        step: ctx.key(),
        bounds_sql,
        update_sql: &update_sql,
        batch_sql,
        loop_sql,
        rows_done: walk.rows_done,
        range: range_index,
        limits: retry::limits_for(LockPolicy::Short, ctx.config),
    };
    backend.backfill_batch(&request).await
}

/// Where a batch walks: after which key, with how many rows walked before it, in which range
/// of a parallel backfill (`None`: the whole key, checkpointed in the step's row).
#[derive(Debug, Clone)]
struct Walk<'a> {
    after: Option<&'a [String]>,
    rows_done: u64,
    range: Option<crate::dialect::RangeCheckpoint>,
}

impl<'a> Walk<'a> {
    fn whole(record: &'a StepRecord) -> Walk<'a> {
        Walk {
            after: record.checkpoint.as_deref(),
            rows_done: record.rows_done,
            range: None,
        }
    }
}

/// The error of a batch whose attempts ran out (or that cannot be retried). `at`: where the
/// failed batch was ([`failed_batch`]; `None` when no batch is to blame).
fn gave_up(error: AttemptError, attempts: u32, at: Option<String>) -> StepError {
    match error {
        AttemptError::LockTimeout { .. } => StepError::new(
            ErrorKind::Locked,
            format!(
                "a backfill batch could not take its row locks in {attempts} attempts; \
                 the checkpoint is saved and `bellows apply` resumes it"
            ),
        ),
        AttemptError::Engine(e) => StepError::from_engine(&e),
        AttemptError::Failed(e) | AttemptError::Transient(e) => {
            let context = match at {
                Some(at) => format!("backfill batch failed ({at})"),
                None => "backfill batch failed (each range resumes from its checkpoint)".into(),
            };
            StepError::database(&e, None).context(&context)
        }
    }
}

/// The event of a batch about to be tried again after `wait`.
fn retry_event(
    ctx: &StepContext<'_>,
    op: &Backfill,
    error: AttemptError,
    attempt: u32,
    wait: Duration,
) -> Event {
    let attempts = ctx.config.lock_retries.max(1);
    match error {
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
    )
    .needs_fix())
}

/// The error of a backfill stopped by Ctrl-C or SIGTERM between batches: every committed
/// batch has its checkpoint, so the next `apply` continues after it.
fn interrupted(op: &Backfill, record: &StepRecord) -> StepError {
    let at = match &record.checkpoint {
        Some(key) => format!(" (checkpoint: key ({}))", key.join(", ")),
        None => String::new(),
    };
    StepError::new(
        ErrorKind::Interrupted,
        format!(
            "backfill of {} stopped after {} rows{at}; the checkpoint is saved: run the same `bellows apply` again to continue from row {}",
            op.table,
            record.rows_done,
            record.rows_done + 1
        ),
    )
}

/// Runs a throttle check query (a single value) through the backend's guard path.
async fn query_value<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    what: &str,
    query: &str,
) -> Result<GuardValue, StepError> {
    let guard = GuardQuery {
        description: what.to_string(),
        query: query.to_string(),
        expect: Expect::Boolean(false),
    };
    let limits = retry::limits_for(LockPolicy::Short, ctx.config);
    retried(backend, ctx, what, async |backend: &mut B| {
        backend.guard(&guard, limits).await
    })
    .await
}

/// Runs one throttle check; transient failures (lock timeout, lost connection, …) are retried
/// with backoff like a batch.
async fn retried<B: Backend, T>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    what: &str,
    mut check: impl AsyncFnMut(&mut B) -> Result<T, AttemptError>,
) -> Result<T, StepError> {
    let attempts = ctx.config.lock_retries.max(1);
    let mut attempt = 1;
    loop {
        let error = match check(backend).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let decision = retry_policy::next(attempt, &error, ctx.config);
        if decision == RetryDecision::GiveUp || ctx.stop.is_stopped() {
            return Err(StepError::new(
                ErrorKind::Failed,
                format!("the backfill's {what} check failed: {error}"),
            ));
        }
        let wait = decision.wait();
        ctx.reporter.report(Event::Retrying {
            step: ctx.step.clone(),
            reason: format!("the backfill's {what} check: {error}"),
            attempt,
            attempts,
            backoff: wait,
        });
        sleep_unless_stopped(wait, ctx).await;
        attempt += 1;
    }
}

/// Sleeps `duration`, waking early when the run is stopped.
async fn sleep_unless_stopped(duration: Duration, ctx: &StepContext<'_>) {
    let until = Instant::now() + duration;
    while !ctx.stop.is_stopped() {
        let now = Instant::now();
        if now >= until {
            return;
        }
        tokio::time::sleep((until - now).min(STOP_POLL)).await;
    }
}

/// Where in its walk a failed batch was, for the message: the rows before it are done.
fn failed_batch(checkpoint: Option<&[String]>) -> String {
    match checkpoint {
        None | Some([]) => "the first batch, from the start of the table".into(),
        Some([key]) => format!("the batch after key {key}; the rows up to it are done"),
        Some(keys) => format!(
            "the batch after key ({}); the rows up to it are done",
            keys.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_batch_is_placed_by_the_checkpoint() {
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (checkpoint, expected) in [
            (None, "the first batch, from the start of the table"),
            (
                Some(keys(&["2000"])),
                "the batch after key 2000; the rows up to it are done",
            ),
            (
                Some(keys(&["7", "b"])),
                "the batch after key (7, b); the rows up to it are done",
            ),
        ] {
            assert_eq!(failed_batch(checkpoint.as_deref()), expected);
        }
    }

    #[test]
    fn a_stale_total_is_refined_from_the_share_of_the_key_range_walked() {
        // A quarter of the keys walked in 50,000 rows: about 200,000 in all.
        assert_eq!(
            refined_total((1.0, 400_001.0), 100_001.0, 50_000),
            Some(200_000)
        );
        // Too early to say.
        assert_eq!(refined_total((0.0, 1_000_000.0), 1_000.0, 1_000), None);
        assert_eq!(refined_total((0.0, 10.0), 5.0, 0), None);
    }

    #[test]
    fn a_loop_of_batches_takes_at_most_a_tenth_of_the_statement_timeout() {
        let ms = Duration::from_millis;
        for (timeout, budget) in [
            (Duration::ZERO, LOOP_BUDGET),
            (Duration::from_secs(60), LOOP_BUDGET),
            (ms(2_500), LOOP_BUDGET),
            (ms(1_000), ms(100)),
            (ms(100), ms(10)),
        ] {
            assert_eq!(loop_budget_within(timeout), budget, "{timeout:?}");
        }
    }

    #[test]
    fn small_or_unknown_estimates_are_counted_exactly() {
        assert!(count_exactly(None));
        assert!(count_exactly(Some(140)));
        assert!(count_exactly(Some(99_999)));
        assert!(!count_exactly(Some(100_000)));
        assert!(!count_exactly(Some(2_000_000)));
    }
}
