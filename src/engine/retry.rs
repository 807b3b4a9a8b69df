//! Running one statement under its lock policy: resolve its limits, retry lock timeouts with
//! exponential backoff and jitter, get past autovacuum, report who blocks it.

use std::time::{Duration, SystemTime};

use super::backend::{AttemptError, Backend, Limits, WaitNotice};
use super::reporter::{describe_blockers, AutovacuumKind, Blocker, Event};
use super::step::{StepContext, StepError};
use super::ErrorKind;
use crate::config::Config;
use crate::ops::planned::{LockPolicy, Special, Statement, TableRebuild};

/// The limits of one attempt of a statement with `policy`.
pub fn limits_for(policy: LockPolicy, config: &Config) -> Limits {
    match policy {
        // Blocks reads or writes while queued: bounded wait, bounded run.
        LockPolicy::Short => Limits {
            lock_timeout: Some(config.lock_timeout),
            statement_timeout: Some(config.statement_timeout),
        },
        // CONCURRENTLY / VALIDATE: block neither, may wait for old transactions and scan the
        // whole table; a short timeout would only make them fail late.
        LockPolicy::Long => Limits::NONE,
        LockPolicy::Plain => Limits {
            lock_timeout: None,
            statement_timeout: Some(config.statement_timeout),
        },
    }
}

/// Backoff before attempt `attempt + 1`: 50ms doubling, at most 2s, with jitter (half to all
/// of it) so that retries of several runs do not fall into step.
pub fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(50)
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(Duration::from_secs(2));
    let half = base / 2;
    half + half.mul_f64(jitter())
}

/// A number in [0, 1) from the clock and the process id; good enough to spread retries.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ ((std::process::id() as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % 1_000_000) as f64 / 1_000_000.0
}

/// What to run in one attempt.
pub enum Attempt<'a> {
    Statement(&'a Statement),
    Rebuild(&'a TableRebuild),
}

impl Attempt<'_> {
    fn table(&self) -> Option<String> {
        match self {
            Attempt::Statement(s) => s.table.as_ref().map(|t| t.to_string()),
            Attempt::Rebuild(r) => Some(r.table.to_string()),
        }
    }

    fn policy(&self) -> LockPolicy {
        match self {
            Attempt::Statement(s) => s.policy,
            Attempt::Rebuild(_) => LockPolicy::Short,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `lock_retries` attempts ran out.
/// `mark`: the step's `actions_done` to record in the statement's own transaction.
pub async fn run<B: Backend>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    attempt_of: Attempt<'_>,
    mark: Option<usize>,
) -> Result<(), StepError> {
    let config = ctx.config;
    let attempts = config.lock_retries.max(1);
    let table = attempt_of.table();
    let mut extended_wait: Option<Duration> = None;
    let mut last_blockers: Vec<Blocker> = Vec::new();
    for attempt in 1..=attempts {
        if let Attempt::Statement(statement) = &attempt_of {
            if let Some(Special::CreateIndexConcurrently { index }) = &statement.special {
                let dropped = backend
                    .drop_invalid_index(statement.table.as_ref(), index)
                    .await
                    .map_err(|e| StepError::from_engine(&e))?;
                if dropped {
                    ctx.reporter.report(Event::InvalidIndexDropped {
                        step: ctx.step.clone(),
                        index: index.clone(),
                    });
                }
            }
        }
        let mut limits = limits_for(attempt_of.policy(), config);
        if let Some(wait) = extended_wait.take() {
            limits.lock_timeout = Some(wait);
        }
        let notice = |notice: WaitNotice| match notice {
            WaitNotice::Waiting { waited, blockers } => ctx.reporter.report(Event::LockWaiting {
                step: ctx.step.clone(),
                table: table.clone(),
                attempt,
                attempts,
                waited,
                blockers,
            }),
            WaitNotice::AutovacuumCancelled { pid, query } => {
                ctx.reporter.report(Event::AutovacuumCancelled {
                    step: ctx.step.clone(),
                    pid,
                    query,
                })
            }
        };
        let result = match &attempt_of {
            Attempt::Statement(statement) => {
                if attempt == 1 {
                    ctx.reporter.report(Event::StatementStarted {
                        step: ctx.step.clone(),
                        sql: statement.sql.clone(),
                    });
                }
                let mark = mark.map(|done| (ctx.key(), done));
                backend.execute(statement, limits, mark, &notice).await
            }
            Attempt::Rebuild(rebuild) => {
                let mark = mark.map(|done| (ctx.key(), done));
                backend.rebuild(rebuild, limits, mark).await
            }
        };
        let mut transient: Option<String> = None;
        let (blockers, retry_now) = match result {
            Ok(()) => return Ok(()),
            Err(AttemptError::LockTimeout {
                blockers,
                autovacuum,
                autovacuum_cancelled,
            }) => {
                let mut retry_now = autovacuum_cancelled;
                if let Some(av) = autovacuum.filter(|_| !autovacuum_cancelled) {
                    let next_wait = match av.kind {
                        AutovacuumKind::Ordinary if av.cancel_refused => {
                            // NOTE: PostgreSQL cancels an autovacuum that blocks a waiting lock
                            // request only after deadlock_timeout; wait just past it once.
                            let wait = (av.deadlock_timeout + Duration::from_millis(250))
                                .max(config.lock_timeout);
                            extended_wait = Some(wait);
                            retry_now = true;
                            Some(wait)
                        }
                        _ => None,
                    };
                    ctx.reporter.report(Event::AutovacuumBlocking {
                        step: ctx.step.clone(),
                        pid: av.pid,
                        query: av.query,
                        kind: av.kind,
                        next_wait,
                    });
                }
                (blockers, retry_now)
            }
            Err(AttemptError::Transient(error)) => {
                transient = Some(super::error::db_message(&error));
                (Vec::new(), false)
            }
            Err(AttemptError::Failed(error)) => {
                return Err(
                    StepError::new(ErrorKind::Failed, super::error::db_message(&error))
                        .left_something(
                            matches!(&attempt_of, Attempt::Statement(s) if !s.transaction),
                        ),
                )
            }
            Err(AttemptError::Engine(error)) => return Err(StepError::from_engine(&error)),
        };
        if !blockers.is_empty() {
            last_blockers = blockers.clone();
        }
        if attempt == attempts {
            break;
        }
        let wait = if retry_now {
            Duration::ZERO
        } else {
            backoff(attempt)
        };
        match transient {
            Some(reason) => ctx.reporter.report(Event::Retrying {
                step: ctx.step.clone(),
                reason,
                attempt,
                attempts,
                backoff: wait,
            }),
            None => ctx.reporter.report(Event::LockRetry {
                step: ctx.step.clone(),
                table: table.clone(),
                attempt,
                attempts,
                backoff: wait,
                blockers,
            }),
        }
        if ctx.stop.is_stopped() {
            return Err(StepError::new(
                ErrorKind::Interrupted,
                "interrupted while waiting to retry a lock",
            ));
        }
        tokio::time::sleep(wait).await;
    }
    let on = table.map(|t| format!(" on {t}")).unwrap_or_default();
    Err(StepError::new(
        ErrorKind::Locked,
        format!(
            "could not take the lock{on} in {attempts} attempts of {} each{}; \
             raise --lock-retries or --lock-timeout, or run when the table is quieter",
            humantime::format_duration(config.lock_timeout),
            describe_blockers(&last_blockers)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_jitter_and_is_capped() {
        for attempt in 1..=25 {
            let b = backoff(attempt);
            let base = Duration::from_millis(50)
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(Duration::from_secs(2));
            assert!(
                b >= base / 2 && b <= base,
                "attempt {attempt}: {b:?} vs {base:?}"
            );
        }
    }

    #[test]
    fn limits_follow_the_policy() {
        let config = Config::defaults();
        let short = limits_for(LockPolicy::Short, &config);
        assert_eq!(short.lock_timeout, Some(Duration::from_millis(500)));
        assert_eq!(short.statement_timeout, Some(Duration::from_secs(60)));
        assert_eq!(limits_for(LockPolicy::Long, &config), Limits::NONE);
        assert_eq!(limits_for(LockPolicy::Plain, &config).lock_timeout, None);
    }
}
