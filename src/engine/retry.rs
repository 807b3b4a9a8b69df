//! Running one statement under its lock policy: resolve its limits, retry lock timeouts as
//! [`retry_policy`] decides (backoff with jitter, at once past an autovacuum), report who
//! blocks it.

use std::time::Duration;

use super::backend::{AttemptError, Catalog, Limits, StatementRunner, WaitNotice};
use super::context::{StepContext, StepError};
use super::error::EngineError;
use super::ledger::{Mark, Progress};
use super::reporter::{describe_blockers, Blocker, Event};
use super::retry_policy::{self, RetryDecision};
use super::ErrorKind;
use crate::config::Config;
use crate::dialect::planned::{LockPolicy, Special, Statement, TableRebuild};
use crate::dialect::recovery::{self, Decision, ObjectKind};

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

/// Where an attempt stands in its step: applying it (action `done`, 1-based) or undoing it
/// (undo action `done`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub progress: Progress,
    pub done: usize,
}

impl Position {
    pub fn action(done: usize) -> Position {
        Position {
            progress: Progress::Actions,
            done,
        }
    }

    pub fn undo(done: usize) -> Position {
        Position {
            progress: Progress::Undo,
            done,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `lock_retries` attempts ran out; when
/// to try again is [`retry_policy::next`]'s decision.
///
/// `at`: the step counter the attempt advances. A statement in a transaction records it in that
/// same transaction; one that cannot (outside a transaction), and every undo statement, is first
/// looked up in the catalog ([`recognise`]) so one an interrupted run already did is not run
/// twice.
pub async fn run<B: StatementRunner + Catalog>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    attempt_of: Attempt<'_>,
    at: Position,
) -> Result<(), StepError> {
    let config = ctx.config;
    let attempts = config.lock_retries.max(1);
    let table = attempt_of.table();
    let mut lock_timeout: Option<Duration> = None;
    let mut last_blockers: Vec<Blocker> = Vec::new();
    let mut attempt = 1;
    let error = loop {
        let mut limits = limits_for(attempt_of.policy(), config);
        if let Some(wait) = lock_timeout.take() {
            limits.lock_timeout = Some(wait);
        }
        let error = match once(backend, ctx, &attempt_of, attempt, limits, at).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        report_autovacuum(ctx, &error);
        if let AttemptError::LockTimeout { blockers, .. } = &error {
            if !blockers.is_empty() {
                last_blockers = blockers.clone();
            }
        }
        let decision = retry_policy::next(attempt, &error, config);
        if decision == RetryDecision::GiveUp {
            break error;
        }
        if let RetryDecision::RetryNow { lock_timeout: wait } = decision {
            lock_timeout = wait;
        }
        let wait = decision.wait();
        ctx.reporter.report(match &error {
            AttemptError::Transient(error) => Event::Retrying {
                step: ctx.step.clone(),
                reason: super::error::db_message(error),
                attempt,
                attempts,
                backoff: wait,
            },
            _ => Event::LockRetry {
                step: ctx.step.clone(),
                table: table.clone(),
                attempt,
                attempts,
                backoff: wait,
                blockers: match &error {
                    AttemptError::LockTimeout { blockers, .. } => blockers.clone(),
                    _ => Vec::new(),
                },
            },
        });
        if ctx.stop.is_stopped() {
            return Err(StepError::new(
                ErrorKind::Interrupted,
                "interrupted while waiting to retry a lock",
            ));
        }
        tokio::time::sleep(wait).await;
        attempt += 1;
    };
    // A concurrent build that failed for good (a duplicate key, say) leaves an INVALID index
    // that slows every write until dropped: drop it now, best effort (the next run would too).
    if let Attempt::Statement(statement) = &attempt_of {
        if matches!(
            statement.special,
            Some(Special::CreateIndexConcurrently { .. })
        ) {
            let _ = drop_invalid_index(backend, ctx, statement).await;
        }
    }
    Err(given_up(&attempt_of, error, table, &last_blockers, config))
}

/// One attempt: skips a statement the catalog shows done (dropping an INVALID leftover of a
/// failed concurrent build first), reports the statement on its first attempt, and runs it.
async fn once<B: StatementRunner + Catalog>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    attempt_of: &Attempt<'_>,
    attempt: u32,
    limits: Limits,
    at: Position,
) -> Result<(), AttemptError> {
    let attempts = ctx.config.lock_retries.max(1);
    let table = attempt_of.table();
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
    let mark = Mark {
        step: ctx.key(),
        progress: at.progress,
        done: at.done,
    };
    match attempt_of {
        Attempt::Statement(statement) => {
            if recognise(backend, ctx, statement, at.progress).await? == Recognised::Done {
                return Ok(());
            }
            let mark = statement.transaction.then_some(mark);
            if attempt == 1 {
                ctx.reporter.report(Event::StatementStarted {
                    step: ctx.step.clone(),
                    sql: statement.sql.clone(),
                });
            }
            backend.execute(statement, limits, mark, &notice).await
        }
        Attempt::Rebuild(rebuild, saved) => {
            backend.rebuild(rebuild, *saved, limits, Some(mark)).await
        }
    }
}

/// Whether a statement still has to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recognised {
    Run,
    Done,
}

/// Before each attempt of a statement that cannot carry its ledger mark (outside a transaction)
/// or undoes a step: looks up the object it creates in the catalog. The planned definition
/// already there counts as done; an INVALID index of an interrupted build is dropped and the
/// statement runs; a different definition under the name stops the step, naming both.
async fn recognise<B: StatementRunner + Catalog>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    statement: &Statement,
    progress: Progress,
) -> Result<Recognised, AttemptError> {
    if statement.transaction && progress == Progress::Actions {
        return Ok(Recognised::Run);
    }
    let Some(object) = recovery::object_of(&statement.sql) else {
        return Ok(Recognised::Run);
    };
    let found = backend
        .find_object(&object, statement.table.as_ref())
        .await?;
    match recovery::decide(&object, &found) {
        Decision::Run => Ok(Recognised::Run),
        Decision::AlreadyDone => {
            ctx.reporter.report(Event::Notice {
                message: format!(
                    "{}: {} {} already exists as planned (an interrupted run made it); not run again",
                    ctx.describe(),
                    object.kind.as_str(),
                    object.name
                ),
            });
            Ok(Recognised::Done)
        }
        Decision::DropInvalidThenRun if object.kind == ObjectKind::Index => {
            drop_invalid_index(backend, ctx, statement).await?;
            Ok(Recognised::Run)
        }
        Decision::DropInvalidThenRun => Err(AttemptError::Engine(EngineError::refused(
            super::ErrorKind::Failed,
            format!(
                "{} {} exists but is not validated, while the step makes it validated; \
                 validate or drop it by hand, then run again",
                object.kind.as_str(),
                object.name
            ),
        ))),
        Decision::Conflict { planned, found } => Err(AttemptError::Engine(EngineError::refused(
            super::ErrorKind::Failed,
            format!(
                "{} {} already exists with a different definition; nothing was run\n  \
                 planned: {planned}\n  found:   {found}\n  \
                 drop or rename the existing one, or change the plan, then run again",
                object.kind.as_str(),
                object.name
            ),
        ))),
    }
}

/// Drops the INVALID index an earlier failed `CREATE INDEX CONCURRENTLY` left behind.
async fn drop_invalid_index<B: StatementRunner>(
    backend: &mut B,
    ctx: &StepContext<'_>,
    statement: &Statement,
) -> Result<(), AttemptError> {
    let Some(Special::CreateIndexConcurrently { index }) = &statement.special else {
        return Ok(());
    };
    if backend
        .drop_invalid_index(statement.table.as_ref(), index)
        .await?
    {
        ctx.reporter.report(Event::InvalidIndexDropped {
            step: ctx.step.clone(),
            index: index.clone(),
        });
    }
    Ok(())
}

/// Names an autovacuum that blocked the attempt (unless it was cancelled), with the longer
/// wait the next attempt gets.
fn report_autovacuum(ctx: &StepContext<'_>, error: &AttemptError) {
    let AttemptError::LockTimeout {
        autovacuum: Some(av),
        autovacuum_cancelled: false,
        ..
    } = error
    else {
        return;
    };
    ctx.reporter.report(Event::AutovacuumBlocking {
        step: ctx.step.clone(),
        pid: av.pid,
        query: av.query.clone(),
        kind: av.kind,
        next_wait: retry_policy::autovacuum_wait(av, ctx.config),
    });
}

/// The step error for an attempt the policy gave up on.
fn given_up(
    attempt_of: &Attempt<'_>,
    error: AttemptError,
    table: Option<String>,
    last_blockers: &[Blocker],
    config: &Config,
) -> StepError {
    match error {
        AttemptError::Failed(error) => {
            let statement = match attempt_of {
                Attempt::Statement(s) => Some(s.sql.as_str()),
                _ => None,
            };
            StepError::database(&error, statement)
                .left_something(matches!(attempt_of, Attempt::Statement(s) if !s.transaction))
        }
        AttemptError::Engine(error) => StepError::from_engine(&error),
        AttemptError::LockTimeout { .. } | AttemptError::Transient(_) => {
            let attempts = config.lock_retries.max(1);
            let on = table.map(|t| format!(" on {t}")).unwrap_or_default();
            StepError::new(
                ErrorKind::Locked,
                format!(
                    "could not take the lock{on} in {attempts} attempts of {} each{}; \
                     raise --lock-retries or --lock-timeout, or run when the table is quieter",
                    humantime::format_duration(config.lock_timeout),
                    describe_blockers(last_blockers)
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
