//! Running one statement under its lock policy: resolve its limits, retry lock timeouts with
//! exponential backoff and jitter, get past autovacuum, report who blocks it.

use std::time::{Duration, SystemTime};

use super::backend::{AttemptError, Backend, Limits, WaitNotice};
use super::reporter::{describe_blockers, AutovacuumKind, Blocker, Event};
use super::step::{StepContext, StepError};
use super::ErrorKind;
use crate::config::Config;
use crate::dialect::planned::{LockPolicy, Special, Statement, TableRebuild};

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
    /// A table rebuild, with the saved definition a `RestoreDefinition` rebuilds to.
    Rebuild(&'a TableRebuild, Option<&'a str>),
}

impl Attempt<'_> {
    fn table(&self) -> Option<String> {
        match self {
            Attempt::Statement(s) => s.table.as_ref().map(|t| t.to_string()),
            Attempt::Rebuild(r, _) => Some(r.table.to_string()),
        }
    }

    fn policy(&self) -> LockPolicy {
        match self {
            Attempt::Statement(s) => s.policy,
            Attempt::Rebuild(..) => LockPolicy::Short,
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
            Attempt::Rebuild(rebuild, saved) => {
                let mark = mark.map(|done| (ctx.key(), done));
                backend.rebuild(rebuild, *saved, limits, mark).await
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

#[cfg(test)]
mod autovacuum_tests {
    //! The retry decisions around autovacuum, with a scripted backend (a real autovacuum cannot
    //! be made to block on demand).

    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;
    use crate::dialect::planned::{Capture, GuardQuery, Lock, TableRebuild};
    use crate::dialect::DialectKind;
    use crate::engine::backend::{
        AutovacuumBlock, BatchRequest, BatchResult, GuardValue, RunLock, ServerVersion,
    };
    use crate::engine::error::EngineError;
    use crate::engine::ledger::{PlanLedger, PlanRecord, StepKey, StepRecord};
    use crate::engine::reporter::{Reporter, StepRef};
    use crate::engine::StopSignal;
    use crate::vocab::{Phase, TableName};

    /// Answers `execute` from a script and records the limits of each attempt.
    struct Scripted {
        answers: VecDeque<Result<(), AttemptError>>,
        limits: Vec<Limits>,
    }

    fn nope() -> EngineError {
        EngineError::refused(crate::engine::ErrorKind::Failed, "not scripted")
    }

    impl Backend for Scripted {
        const KIND: DialectKind = DialectKind::Postgres;
        async fn connect(_: &str, _: &str) -> Result<Self, EngineError> {
            Err(nope())
        }
        async fn server_version(&mut self) -> Result<ServerVersion, EngineError> {
            Err(nope())
        }
        async fn try_run_lock(&mut self) -> Result<RunLock, EngineError> {
            Err(nope())
        }
        async fn release_run_lock(&mut self) -> Result<(), EngineError> {
            Ok(())
        }
        async fn ledger_exists(&mut self) -> Result<bool, EngineError> {
            Err(nope())
        }
        async fn create_ledger(&mut self) -> Result<(), EngineError> {
            Err(nope())
        }
        async fn read_ledger(&mut self, _: Option<&str>) -> Result<Vec<PlanLedger>, EngineError> {
            Err(nope())
        }
        async fn save_plan(&mut self, _: &PlanRecord) -> Result<(), EngineError> {
            Err(nope())
        }
        async fn save_step(&mut self, _: &str, _: &StepRecord) -> Result<(), EngineError> {
            Err(nope())
        }
        async fn delete_steps_except(
            &mut self,
            _: &str,
            _: &[(Phase, usize)],
        ) -> Result<(), EngineError> {
            Err(nope())
        }
        async fn execute(
            &mut self,
            _: &Statement,
            limits: Limits,
            _: Option<(StepKey<'_>, usize)>,
            _: &dyn Fn(WaitNotice),
        ) -> Result<(), AttemptError> {
            self.limits.push(limits);
            self.answers.pop_front().unwrap_or(Ok(()))
        }
        async fn guard(&mut self, _: &GuardQuery, _: Limits) -> Result<GuardValue, AttemptError> {
            Err(nope().into())
        }
        async fn capture(
            &mut self,
            _: &Capture,
            _: Limits,
        ) -> Result<Option<String>, AttemptError> {
            Err(nope().into())
        }
        async fn primary_key(&mut self, _: &TableName) -> Result<Option<Vec<String>>, EngineError> {
            Err(nope())
        }
        async fn estimate_rows(&mut self, _: &TableName) -> Result<Option<u64>, EngineError> {
            Err(nope())
        }
        async fn backfill_batch(
            &mut self,
            _: &BatchRequest<'_>,
        ) -> Result<BatchResult, AttemptError> {
            Err(nope().into())
        }
        async fn drop_invalid_index(
            &mut self,
            _: Option<&TableName>,
            _: &str,
        ) -> Result<bool, EngineError> {
            Ok(false)
        }
        async fn rebuild(
            &mut self,
            _: &TableRebuild,
            _: Option<&str>,
            _: Limits,
            _: Option<(StepKey<'_>, usize)>,
        ) -> Result<(), AttemptError> {
            Err(nope().into())
        }
        async fn close(self) -> Result<(), EngineError> {
            Ok(())
        }
    }

    struct Events(RefCell<Vec<Event>>);

    impl Reporter for Events {
        fn report(&self, event: Event) {
            self.0.borrow_mut().push(event);
        }
    }

    fn blocked_by_autovacuum(kind: AutovacuumKind, cancel_refused: bool) -> AttemptError {
        AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: Some(AutovacuumBlock {
                pid: 77,
                query: "autovacuum: VACUUM public.users".into(),
                kind,
                cancel_refused,
                deadlock_timeout: Duration::from_secs(1),
            }),
            autovacuum_cancelled: false,
        }
    }

    fn run_script(
        answers: Vec<Result<(), AttemptError>>,
    ) -> (Result<(), StepError>, Scripted, Vec<Event>) {
        let mut backend = Scripted {
            answers: answers.into(),
            limits: Vec::new(),
        };
        let text = "[[expand]]\nop = \"sql\"\nup = \"SELECT 1\"\ndown = \"SELECT 1\"\n";
        let plan = crate::plan::load::load_str(std::path::Path::new("p.toml"), text)
            .plan
            .unwrap();
        let config = Config {
            lock_retries: 4,
            ..Config::defaults()
        };
        let events = Events(RefCell::new(Vec::new()));
        let stop = StopSignal::new();
        let ctx = StepContext {
            plan: &plan,
            step: StepRef {
                plan: "p".into(),
                phase: Phase::Expand,
                index: 0,
                op: "add_column".into(),
                target: "users.x".into(),
            },
            config: &config,
            reporter: &events,
            stop: &stop,
        };
        let statement = Statement::ddl(
            "ALTER TABLE users ADD x int",
            Lock::AccessExclusive,
            &TableName::parse("users"),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = rt.block_on(run(
            &mut backend,
            &ctx,
            Attempt::Statement(&statement),
            None,
        ));
        (result, backend, events.0.into_inner())
    }

    #[test]
    fn an_autovacuum_we_may_not_cancel_gets_one_attempt_past_deadlock_timeout() {
        let (result, backend, events) = run_script(vec![
            Err(blocked_by_autovacuum(AutovacuumKind::Ordinary, true)),
            Ok(()),
        ]);
        assert_eq!(result, Ok(()));
        assert_eq!(
            backend.limits[0].lock_timeout,
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            backend.limits[1].lock_timeout,
            Some(Duration::from_millis(1250))
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Event::AutovacuumBlocking { pid: 77, kind: AutovacuumKind::Ordinary, next_wait: Some(w), .. }
                if *w == Duration::from_millis(1250)
        )));
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::LockRetry { backoff, .. } if backoff.is_zero())));
    }

    #[test]
    fn an_anti_wraparound_autovacuum_is_named_and_waited_out_not_cancelled() {
        let (result, backend, events) = run_script(vec![
            Err(blocked_by_autovacuum(AutovacuumKind::Wraparound, false)),
            Err(blocked_by_autovacuum(AutovacuumKind::Wraparound, false)),
            Err(blocked_by_autovacuum(AutovacuumKind::Wraparound, false)),
            Err(blocked_by_autovacuum(AutovacuumKind::Wraparound, false)),
        ]);
        let error = result.unwrap_err();
        assert_eq!(error.kind, crate::engine::ErrorKind::Locked);
        assert_eq!(backend.limits.len(), 4);
        assert!(backend
            .limits
            .iter()
            .all(|l| l.lock_timeout == Some(Duration::from_millis(500))));
        assert!(events.iter().any(|e| matches!(
            e,
            Event::AutovacuumBlocking {
                kind: AutovacuumKind::Wraparound,
                next_wait: None,
                ..
            }
        )));
    }

    #[test]
    fn a_cancelled_autovacuum_is_retried_at_once() {
        let (result, _, events) = run_script(vec![
            Err(AttemptError::LockTimeout {
                blockers: Vec::new(),
                autovacuum: None,
                autovacuum_cancelled: true,
            }),
            Ok(()),
        ]);
        assert_eq!(result, Ok(()));
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::LockRetry { backoff, .. } if backoff.is_zero())));
    }
}
