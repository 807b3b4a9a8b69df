//! A parallel backfill: the key split into contiguous ranges (from the key's index), walked at
//! once by several workers, each range with its own checkpoint in the ledger.
//!
//! Every round, each range not yet at its end runs one batch on its own connection; the
//! throttles are looked at once per round, so they hold every worker, and progress is the sum.

use futures_util::future::join_all;

use super::{failed_batch, gave_up, one_batch, retry_event, sleep_unless_stopped, BatchLoop, Walk};
use crate::dialect::{DialectKind, RangeCheckpoint};
use crate::engine::backend::{AttemptError, Backend, BatchResult};
use crate::engine::context::{StepContext, StepError};
use crate::engine::ledger::StepRecord;
use crate::engine::reporter::Event;
use crate::engine::retry_policy::{self, RetryDecision};
use crate::engine::throttle::ThrottleDecision;
use crate::ops::Backfill;

/// One range as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRange {
    pub index: usize,
    /// The last key walked (exclusive start of what is left); `None`: the table's start.
    pub checkpoint: Option<Vec<String>>,
    /// The range's last key (inclusive); `None`: to the end of the table.
    pub until: Option<Vec<String>>,
    /// Rows this range walked.
    pub rows_done: u64,
}

impl SavedRange {
    /// A range as a ledger row holds it: its number, the checkpoint and the end as JSON arrays
    /// of the key's values as text (NULL: the table's start / end), and its rows.
    pub fn from_row(
        index: i32,
        checkpoint: Option<String>,
        until: Option<String>,
        rows_done: i64,
    ) -> SavedRange {
        let keys = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        SavedRange {
            index: index.max(0) as usize,
            checkpoint: keys(checkpoint),
            until: keys(until),
            rows_done: rows_done.max(0) as u64,
        }
    }
}

/// A range being walked.
#[derive(Debug, Clone)]
pub struct Range {
    saved: SavedRange,
    finished: bool,
}

/// Fewer rows than this per worker by the estimate: one worker walks (ranges would be tiny).
const MIN_ROWS_PER_WORKER: u64 = 1_000;

/// The workers a backfill step walks with: flag/environment > step > plan settings > 1; one on
/// SQLite (a single writer), with a notice.
pub fn workers<B: Backend>(ctx: &StepContext<'_>, step: Option<u64>) -> u64 {
    let workers = ctx.config.backfill_workers_for(step);
    if workers <= 1 {
        return 1;
    }
    let why = match B::KIND {
        DialectKind::Postgres | DialectKind::Mysql => return workers,
        DialectKind::Sqlite => "SQLite has one writer at a time",
    };
    ctx.reporter.report(Event::Notice {
        message: format!(
            "parallel = {workers} is ignored: {why}; the backfill walks with one worker"
        ),
    });
    1
}

/// What a parallel walk needs besides the backend and the step.
pub struct Parallel<'a> {
    pub op: &'a Backfill,
    pub key: &'a [String],
    pub workers: u64,
    /// The rows the table holds by the planner's estimate (never `count(*)`).
    pub estimate: Option<u64>,
}

impl Parallel<'_> {
    /// The ranges to walk: those the ledger holds (a resumed walk), else new ones split from
    /// the key's index and saved; `None`: walk with one worker (a small table, or a key that
    /// did not split).
    pub async fn ranges<B: Backend>(
        &self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        record: &StepRecord,
    ) -> Result<Option<Vec<Range>>, StepError> {
        let engine = |e| StepError::from_engine(&e);
        let saved = backend.read_ranges(ctx.key()).await.map_err(engine)?;
        if !saved.is_empty() {
            return Ok(Some(walking(saved)));
        }
        if self.workers <= 1 {
            return Ok(None);
        }
        let left = self.estimate.unwrap_or(0).saturating_sub(record.rows_done);
        let workers = self.workers.min(left / MIN_ROWS_PER_WORKER);
        if workers <= 1 {
            ctx.reporter.report(Event::Notice {
                message: format!(
                    "parallel = {}: the table is too small to split (about {left} rows left); the backfill walks with one worker",
                    self.workers
                ),
            });
            return Ok(None);
        }
        let offsets: Vec<u64> = (1..workers).map(|k| k * left / workers).collect();
        let points = backend
            .key_split_points(
                &self.op.table,
                self.key,
                record.checkpoint.as_deref(),
                &offsets,
            )
            .await
            .map_err(engine)?;
        if points.is_empty() {
            return Ok(None);
        }
        let saved = split(record.checkpoint.clone(), record.rows_done, points);
        backend
            .save_ranges(ctx.key(), &saved)
            .await
            .map_err(engine)?;
        Ok(Some(walking(saved)))
    }
}

/// Contiguous ranges from the walk's start (`after`, with `rows_done` walked before it, counted
/// in the first range) cut at each of `points` (inclusive ends).
pub fn split(
    after: Option<Vec<String>>,
    rows_done: u64,
    points: Vec<Vec<String>>,
) -> Vec<SavedRange> {
    let mut ranges = Vec::new();
    let mut start = after;
    for point in points.into_iter().map(Some).chain([None]) {
        ranges.push(SavedRange {
            index: ranges.len(),
            checkpoint: start,
            until: point.clone(),
            rows_done: if ranges.is_empty() { rows_done } else { 0 },
        });
        start = point;
    }
    ranges
}

fn walking(saved: Vec<SavedRange>) -> Vec<Range> {
    saved
        .into_iter()
        .map(|saved| Range {
            saved,
            finished: false,
        })
        .collect()
}

impl BatchLoop {
    /// Walks `ranges` at once, one worker each (the first on `backend`, which keeps the run
    /// lock), until every range reached its end.
    pub(super) async fn run_ranges<B: Backend>(
        &mut self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        walk: &Parallel<'_>,
        mut ranges: Vec<Range>,
        record: &mut StepRecord,
    ) -> Result<(), StepError> {
        // NOTE: the total is not refined from the key's share walked: the ranges walk
        // different parts of the key at once.
        self.range = None;
        // Saved ranges outnumber the workers when a resumed walk asks for fewer: the unfinished
        // ranges then take turns, each still walked from its own checkpoint.
        let at_once = walk.workers.clamp(1, ranges.len() as u64) as usize;
        let at_once = super::connection_room::workers_with_room(backend, ctx, at_once).await;
        let mut workers = open_workers(backend, at_once - 1).await?;
        let mut attempt = 1;
        let mut last_batch = None;
        loop {
            let progress = progress_of(record, &ranges);
            if ctx.stop.is_stopped() {
                return Err(interrupted_ranges(walk.op, &progress, ranges.len()));
            }
            let checks = self.checks(backend, ctx, last_batch).await?;
            match self.throttle.decide(&checks) {
                ThrottleDecision::Proceed => self.release(ctx),
                ThrottleDecision::Wait { reason, duration } => {
                    self.waiting(ctx, &progress, &reason);
                    sleep_unless_stopped(duration, ctx).await;
                    continue;
                }
            }
            let limit = self.sizer.size();
            let started = std::time::Instant::now();
            let budget = self.loop_budget(ctx);
            let results = round(backend, &mut workers, ctx, walk, &ranges, limit, budget).await;
            last_batch = Some(std::time::Instant::now());
            let (scanned, error) = apply_round(&mut ranges, results, limit);
            self.sizer.record(scanned, started.elapsed());
            if let Some((failed, error)) = error {
                let decision = retry_policy::next(attempt, &error, ctx.config);
                if decision == RetryDecision::GiveUp {
                    // Where the failed batch was: its range's checkpoint as the ledger holds it
                    // (a server-side loop commits the batches before the failed one).
                    let _ = reload(backend, ctx, &mut ranges).await;
                    let at = failed_range(&ranges, failed);
                    return Err(gave_up(error, ctx.config.lock_retries.max(1), Some(at)));
                }
                let event = retry_event(ctx, walk.op, error, attempt, decision.wait());
                ctx.reporter.report(event);
                sleep_unless_stopped(decision.wait(), ctx).await;
                reload(backend, ctx, &mut ranges).await?;
                attempt += 1;
                continue;
            }
            attempt = 1;
            let done = ranges.iter().all(|r| r.finished);
            if done && !ranges_durable(backend, ctx, &mut ranges).await? {
                // A range lost its last batches to a server restart: it walks them again.
                continue;
            }
            if done {
                for worker in workers {
                    let _ = worker.close().await;
                }
                return self.finish(backend, ctx, &ranges, record).await;
            }
            self.report(ctx, &progress_of(record, &ranges), false);
        }
    }

    /// Ends a walk whose ranges all reached their end, durably: the step's own checkpoint
    /// becomes the furthest key walked and the ranges are deleted, in one transaction.
    async fn finish<B: Backend>(
        &mut self,
        backend: &mut B,
        ctx: &StepContext<'_>,
        ranges: &[Range],
        record: &mut StepRecord,
    ) -> Result<(), StepError> {
        let finished = progress_of(record, ranges);
        let last = finished.checkpoint.clone().unwrap_or_default();
        backend
            .finish_ranges(ctx.key(), &last, finished.rows_done)
            .await
            .map_err(|e| StepError::from_engine(&e))?;
        record.rows_done = finished.rows_done;
        record.checkpoint = finished.checkpoint;
        self.total = Some(record.rows_done);
        self.report(ctx, record, true);
        Ok(())
    }
}

/// A backend for each of `count` more workers; an error when one cannot be opened (the ranges
/// are saved: the next `apply` walks them, with fewer workers if asked).
async fn open_workers<B: Backend>(backend: &mut B, count: usize) -> Result<Vec<B>, StepError> {
    let mut workers = Vec::with_capacity(count);
    while workers.len() < count {
        match backend.backfill_worker().await {
            Ok(Some(worker)) => workers.push(worker),
            Ok(None) => {
                return Err(StepError::new(
                    crate::engine::ErrorKind::Failed,
                    "this database cannot open the parallel backfill's workers; the saved \
                     ranges need them: run the backfill on PostgreSQL or MySQL/MariaDB",
                ))
            }
            Err(e) => {
                let opened = workers.len() + 1;
                return Err(StepError::from_engine(&e).context(&format!(
                    "opening the parallel backfill's worker {} of {} (the ranges are saved; \
                     `bellows apply --backfill-workers {opened}` walks them {opened} at a time)",
                    opened + 1,
                    count + 1
                )));
            }
        }
    }
    Ok(workers)
}

/// One batch in each range not yet at its end, all at once: as many ranges as there are
/// backends, the first ones not yet at their end.
async fn round<B: Backend>(
    backend: &mut B,
    workers: &mut [B],
    ctx: &StepContext<'_>,
    walk: &Parallel<'_>,
    ranges: &[Range],
    limit: u64,
    budget: Option<std::time::Duration>,
) -> Vec<(usize, Result<BatchResult, AttemptError>)> {
    let backends = std::iter::once(backend).chain(workers.iter_mut());
    let batches = ranges
        .iter()
        .enumerate()
        .filter(|(_, range)| !range.finished)
        .zip(backends)
        .map(|((i, range), b)| async move {
            let step = Walk {
                after: range.saved.checkpoint.as_deref(),
                rows_done: range.saved.rows_done,
                range: Some(RangeCheckpoint {
                    index: range.saved.index,
                    until: range.saved.until.clone(),
                }),
            };
            (
                i,
                one_batch(b, ctx, walk.op, walk.key, step, limit, budget).await,
            )
        });
    join_all(batches).await
}

/// Takes a round's results into the ranges: the rows scanned by the fullest batch, and the
/// first error with its range (the ranges are then reloaded from the ledger).
fn apply_round(
    ranges: &mut [Range],
    results: Vec<(usize, Result<BatchResult, AttemptError>)>,
    limit: u64,
) -> (u64, Option<(usize, AttemptError)>) {
    let mut most = 0;
    let mut error = None;
    for (i, result) in results {
        match result {
            Ok(result) => {
                let range = &mut ranges[i];
                most = most.max(result.scanned);
                if result.scanned == 0 {
                    range.finished = true;
                    continue;
                }
                range.finished = result.reached_end(limit);
                range.saved.rows_done += result.scanned;
                range.saved.checkpoint = result.last_key;
            }
            Err(e) => error = error.or(Some((i, e))),
        }
    }
    (most, error)
}

/// Whether every range's batches are durable: flushed, and each range's checkpoint still the
/// one in the ledger. A range whose last batches a server restart lost (they commit without
/// waiting for their flush) takes the ledger's checkpoint and is walked on.
async fn ranges_durable<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    ranges: &mut [Range],
) -> Result<bool, StepError> {
    let engine = |e| StepError::from_engine(&e);
    match backend.flush_batches().await {
        // A lost connection: the ledger read next says what the next round goes on from.
        Ok(()) | Err(AttemptError::Transient(_)) => {}
        Err(AttemptError::Engine(e)) => return Err(engine(e)),
        Err(AttemptError::Failed(e)) => return Err(StepError::database(&e, None)),
        Err(error @ AttemptError::LockTimeout { .. }) => return Err(gave_up(error, 1, None)),
    }
    let saved = backend.read_ranges(ctx.key()).await.map_err(engine)?;
    let mut durable = true;
    for saved in saved {
        if let Some(range) = ranges.iter_mut().find(|r| r.saved.index == saved.index) {
            if range.saved != saved {
                range.saved = saved;
                range.finished = false;
                durable = false;
            }
        }
    }
    Ok(durable)
}

/// The error of a parallel walk stopped by Ctrl-C or SIGTERM between rounds: no one key says
/// where it stopped (each range has its own checkpoint).
fn interrupted_ranges(op: &Backfill, progress: &StepRecord, ranges: usize) -> StepError {
    StepError::new(
        crate::engine::ErrorKind::Interrupted,
        format!(
            "backfill of {} stopped after {} rows in {ranges} ranges, each with its checkpoint \
             saved: run the same `bellows apply` again to continue every range from its own",
            op.table, progress.rows_done
        ),
    )
}

/// Where the failed batch of `ranges[failed]` was, for the message.
fn failed_range(ranges: &[Range], failed: usize) -> String {
    let range = &ranges[failed];
    format!(
        "range {} of {}: {}; each range resumes from its own checkpoint",
        range.saved.index + 1,
        ranges.len(),
        failed_batch(range.saved.checkpoint.as_deref())
    )
}

/// After a failed batch: every range's checkpoint as the ledger holds it (a batch whose
/// connection broke may have committed).
async fn reload<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    ranges: &mut [Range],
) -> Result<(), StepError> {
    let saved = backend
        .read_ranges(ctx.key())
        .await
        .map_err(|e| StepError::from_engine(&e))?;
    for saved in saved {
        if let Some(range) = ranges.iter_mut().find(|r| r.saved.index == saved.index) {
            range.saved = saved;
        }
    }
    Ok(())
}

/// The step's progress: every range's rows (the first range's count the rows walked before the
/// split too).
fn progress_of(record: &StepRecord, ranges: &[Range]) -> StepRecord {
    let mut shown = record.clone();
    shown.rows_done = ranges.iter().map(|r| r.saved.rows_done).sum::<u64>();
    // The last range's checkpoint is the furthest key walked.
    shown.checkpoint = ranges.last().and_then(|r| r.saved.checkpoint.clone());
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: &str) -> Vec<String> {
        vec![v.to_string()]
    }

    #[test]
    fn ranges_are_contiguous_from_the_walks_start_to_the_end() {
        let ranges = split(Some(key("5")), 40, vec![key("100"), key("200")]);
        let bounds: Vec<_> = ranges
            .iter()
            .map(|r| (r.index, r.checkpoint.clone(), r.until.clone()))
            .collect();
        assert_eq!(
            bounds,
            vec![
                (0, Some(key("5")), Some(key("100"))),
                (1, Some(key("100")), Some(key("200"))),
                (2, Some(key("200")), None),
            ]
        );
        let done: Vec<u64> = ranges.iter().map(|r| r.rows_done).collect();
        assert_eq!(
            done,
            vec![40, 0, 0],
            "the rows before the split count in the first"
        );
        assert_eq!(split(None, 0, vec![]).len(), 1);
    }
}
