//! PostgreSQL backend: three connections per run (run lock, control, work), the ledger in
//! schema `bellows`, statements under `SET LOCAL lock_timeout`, and blockers watched from the
//! control connection while the work connection waits.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{Connection, Row};

use super::backend::{
    AttemptError, AutovacuumBlock, Backend, BatchRequest, BatchResult, GuardValue, Limits, RunLock,
    ServerVersion, WaitNotice,
};
use super::error::{DbContext, EngineError};
use super::ledger::{
    from_epoch, group_steps, to_epoch, PlanLedger, PlanRecord, StepKey, StepRecord, StepState,
};
use super::reporter::{AutovacuumKind, Blocker};
use crate::dialect::planned::{Capture, GuardQuery, Statement, TableRebuild};
use crate::dialect::{quote_ident, Dialect, DialectKind, Unsupported};
use crate::vocab::{Phase, TableName};

/// The two-key advisory lock of a run: `'bell'`, `'ows!'` as int4. Advisory locks are per
/// database, so this is one lock per database.
const RUN_LOCK: (i32, i32) = (0x6265_6c6c, 0x6f77_7321);

pub struct PgBackend {
    options: PgConnectOptions,
    /// Holds the session advisory lock; does nothing else. Opened by `try_run_lock`.
    lock: Option<PgConnection>,
    lock_held: bool,
    /// Ledger reads and writes, catalog queries, watching blockers.
    control: PgConnection,
    /// Statements, guards, captures, backfill batches.
    work: PgConnection,
    work_pid: i32,
    /// The work connection broke (server restart, `pg_terminate_backend`); reopened before
    /// its next use.
    work_lost: bool,
    /// The lock connection was closed and another run took the run lock meanwhile: this run
    /// must not write the ledger again.
    lock_lost: bool,
    deadlock_timeout: Duration,
}

/// SQLSTATEs the engine cares about.
const LOCK_NOT_AVAILABLE: &str = "55P03";
const DEADLOCK_DETECTED: &str = "40P01";
const SERIALIZATION_FAILURE: &str = "40001";
const INSUFFICIENT_PRIVILEGE: &str = "42501";

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.to_string()),
        _ => None,
    }
}

/// Whether the connection itself is gone (the server closed it, restarted, the network
/// failed): the next use must reconnect.
pub fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(_) => sqlstate(error).is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Sorts a database error of one attempt into retry classes.
fn classify(error: sqlx::Error) -> AttemptError {
    if connection_lost(&error) {
        return AttemptError::Transient(error);
    }
    match sqlstate(&error).as_deref() {
        Some(LOCK_NOT_AVAILABLE) => AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: None,
            autovacuum_cancelled: false,
        },
        Some(DEADLOCK_DETECTED) | Some(SERIALIZATION_FAILURE) => AttemptError::Transient(error),
        _ => AttemptError::Failed(error),
    }
}

/// `'500ms'`, or `'0'` (no limit).
fn setting(limit: Option<Duration>) -> String {
    match limit {
        Some(d) => format!("'{}ms'", d.as_millis().max(1)),
        None => "'0'".to_string(),
    }
}

fn pg_table(table: &TableName) -> String {
    crate::dialect::postgres::Postgres.table(table)
}

/// How long a run keeps trying to reconnect a lost connection (server restart, failover).
const RECONNECT_FOR: Duration = Duration::from_secs(30);

/// Runs `$body` (an awaited expression using the control connection) and, when it fails
/// because the control connection is gone, reconnects it (re-checking the run lock) and runs it
/// again. Only for idempotent work: reads, upserts, deletes by key, `IF NOT EXISTS` DDL.
macro_rules! on_control {
    ($self:ident, $body:expr) => {{
        let mut tries = 0u32;
        loop {
            let result: Result<_, EngineError> = $body;
            match result {
                Err(error) if tries < 3 && control_broke(&error) => {
                    tries += 1;
                    $self.recover_control(&error).await?;
                }
                other => break other,
            }
        }
    }};
}

/// The refusal to write the ledger once another run took the run lock.
fn lock_lost() -> EngineError {
    EngineError::refused(
        super::error::ErrorKind::Locked,
        "this run lost the run lock to another run; it leaves the ledger to that run",
    )
}

/// Whether an engine error is the control connection breaking.
fn control_broke(error: &EngineError) -> bool {
    matches!(error, EngineError::Database { error, .. } if connection_lost(error))
}

/// How long a run waits for a session of an earlier, killed run to finish its last statement.
const ORPHAN_WAIT: Duration = Duration::from_secs(15);

/// Whether a PostgreSQL server is one whose `CONCURRENTLY` index builds can corrupt indexes.
pub fn concurrently_is_broken(version: &ServerVersion) -> bool {
    version.major == 14 && version.minor < 4
}

impl PgBackend {
    async fn open(options: &PgConnectOptions) -> Result<PgConnection, EngineError> {
        PgConnection::connect_with(options)
            .await
            .map_err(|error| EngineError::Connect {
                hint: connect_hint(&error),
                error,
            })
    }

    /// One batch on the work connection: bounds, update and checkpoint in one transaction.
    async fn backfill_batch_once(
        &mut self,
        request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError> {
        let work = &mut self.work;
        // NOTE: `synchronous_commit = off` for the batch only: its COMMIT returns before the WAL
        // is flushed to disk. Safe here because the checkpoint is written in the same
        // transaction: a batch lost in a server crash is lost together with its checkpoint, and
        // the resumed backfill simply does it again. It saves one disk flush per batch, which
        // is most of a small batch's time.
        let begin = format!(
            "BEGIN; SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}; SET LOCAL synchronous_commit = off",
            setting(request.limits.lock_timeout),
            setting(request.limits.statement_timeout)
        );
        if let Some(batch_sql) = &request.batch_sql {
            // One simple-query message: one round trip per batch, the batch statement (with its
            // checkpoint) between BEGIN and COMMIT. A failing statement skips the rest of the
            // message and leaves the transaction aborted, so it is rolled back below.
            let message = format!("{begin};\n{batch_sql};\nCOMMIT");
            let rows = sqlx::raw_sql(&message).fetch_all(&mut *work).await;
            let rows = match rows {
                Ok(rows) => rows,
                Err(error) => {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
                    return Err(classify(error));
                }
            };
            let row = rows
                .first()
                .ok_or(AttemptError::Failed(sqlx::Error::RowNotFound))?;
            let decode = |row: &sqlx::postgres::PgRow| -> Result<BatchResult, sqlx::Error> {
                let scanned: i64 = row.try_get("scanned")?;
                let updated: i64 = row.try_get("updated")?;
                if scanned <= 0 {
                    return Ok(BatchResult {
                        scanned: 0,
                        updated: 0,
                        last_key: None,
                    });
                }
                let mut last = Vec::new();
                for i in 2..row.len() {
                    let value: Option<String> = row.try_get(i)?;
                    last.push(value.unwrap_or_default());
                }
                Ok(BatchResult {
                    scanned: scanned as u64,
                    updated: updated.max(0) as u64,
                    last_key: Some(last),
                })
            };
            return decode(row).map_err(AttemptError::Failed);
        }
        sqlx::raw_sql(&begin)
            .execute(&mut *work)
            .await
            .map_err(classify)?;
        let result: Result<BatchResult, sqlx::Error> = async {
            let row = sqlx::query(&request.bounds_sql)
                .persistent(false)
                .fetch_one(&mut *work)
                .await?;
            let scanned: i64 = row.try_get(0)?;
            if scanned <= 0 {
                sqlx::raw_sql("COMMIT").execute(&mut *work).await?;
                return Ok(BatchResult {
                    scanned: 0,
                    updated: 0,
                    last_key: None,
                });
            }
            let mut last = Vec::new();
            for i in 1..row.len() {
                let value: Option<String> = row.try_get(i)?;
                last.push(value.unwrap_or_default());
            }
            let update = (request.update_sql)(&last);
            let updated = sqlx::raw_sql(&update)
                .execute(&mut *work)
                .await?
                .rows_affected();
            let rows_done = request.rows_done + scanned as u64;
            sqlx::query(
                "UPDATE bellows.steps SET checkpoint = $4::jsonb, rows_done = $5
                  WHERE plan = $1 AND phase = $2 AND step_index = $3",
            )
            .bind(request.step.plan)
            .bind(request.step.phase.as_str())
            .bind(request.step.index as i32)
            .bind(serde_json::to_string(&last).unwrap_or_else(|_| "[]".into()))
            .bind(rows_done as i64)
            .execute(&mut *work)
            .await?;
            sqlx::raw_sql("COMMIT").execute(&mut *work).await?;
            Ok(BatchResult {
                scanned: scanned as u64,
                updated,
                last_key: Some(last),
            })
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

    /// With the run lock taken: waits (up to [`ORPHAN_WAIT`]) until no session of an earlier
    /// bellows run is still executing. A run killed with `kill -9` (or a second Ctrl-C) leaves
    /// its last message to the server running: a backfill batch sent as one message commits
    /// with its checkpoint after the client is gone, so a run starting from the checkpoint it
    /// read before that commit would write the same rows a second time. Returns the session
    /// still running after the wait, named for the run-lock error.
    async fn wait_for_orphans(&mut self) -> Result<Option<String>, EngineError> {
        let lock_pid: i32 = match self.lock.as_mut() {
            Some(lock) => sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(lock)
                .await
                .context(|| "reading the backend pid".into())?,
            None => 0,
        };
        let deadline = Instant::now() + ORPHAN_WAIT;
        loop {
            let orphan: Option<(i32, String, String)> = sqlx::query_as(
                "SELECT pid, application_name, left(query, 100) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND pid <> $1 AND pid <> $2
                    AND application_name LIKE 'bellows %' AND state <> 'idle'
                  ORDER BY backend_start LIMIT 1",
            )
            .bind(self.work_pid)
            .bind(lock_pid)
            .fetch_optional(&mut self.control)
            .await
            .context(|| "looking for sessions of earlier runs (pg_stat_activity)".into())?;
            let Some((pid, name, query)) = orphan else {
                return Ok(None);
            };
            if Instant::now() >= deadline {
                return Ok(Some(format!(
                    "pid {pid} (`{name}`), a session of an earlier run still executing `{query}`; \
                     wait for it to finish or end it with SELECT pg_terminate_backend({pid})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a new connection, retrying transient failures (a restarting server refuses
    /// connections or answers 57P03 for a while) with backoff for up to [`RECONNECT_FOR`].
    async fn reconnect(&self, what: &str) -> Result<PgConnection, EngineError> {
        let deadline = Instant::now() + RECONNECT_FOR;
        let mut attempt = 1;
        loop {
            match PgConnection::connect_with(&self.options).await {
                Ok(conn) => return Ok(conn),
                Err(error)
                    if Instant::now() < deadline
                        && super::transient::classify_error(&error).is_transient() =>
                {
                    tokio::time::sleep(super::retry::backoff(attempt)).await;
                    attempt += 1;
                }
                Err(error) => {
                    return Err(EngineError::database(
                        format!("reconnecting {what} after it was closed"),
                        error,
                    ))
                }
            }
        }
    }

    /// After the control connection broke (`error`): reconnects it, then makes sure the run
    /// lock is still held (a server restart closes every session, the lock's too).
    async fn recover_control(&mut self, error: &EngineError) -> Result<(), EngineError> {
        tracing::debug!("the ledger connection broke ({error}); reconnecting");
        self.control = self.reconnect("the ledger connection").await?;
        self.ensure_lock().await
    }

    /// Makes sure this run still holds the run lock before it writes anything.
    ///
    /// NOTE: checked before every use of the work connection (each backfill batch, statement,
    /// guard, capture) with a ping of the lock connection, one round trip without a query.
    /// Waiting for the next ledger operation to fail is not enough: when only the lock
    /// connection is closed, the ledger and work connections keep working, and a backfill would
    /// go on writing batches while another run could take the lock and walk the same rows.
    /// The ping leaves a window of one batch (the lock closed after the ping); a run taking the
    /// lock in that window waits for that batch in `wait_for_orphans`.
    async fn ensure_lock(&mut self) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        if !self.lock_held {
            return Ok(());
        }
        if let Some(lock) = self.lock.as_mut() {
            if lock.ping().await.is_ok() {
                return Ok(());
            }
        }
        // The session is gone and the server released its advisory lock with it: take it
        // again, as the first attempt did (waiting for in-flight batches of other runs).
        tracing::debug!("the run-lock connection was closed; taking the run lock again");
        self.lock_held = false;
        self.lock = Some(self.reconnect("the run-lock connection").await?);
        if self.control.ping().await.is_err() {
            self.control = self.reconnect("the ledger connection").await?;
        }
        match self.try_run_lock().await? {
            RunLock::Acquired => Ok(()),
            RunLock::HeldBy(holder) => {
                self.lock_lost = true;
                Err(EngineError::RunLocked {
                    holder: format!(
                        "{holder}, which took it after this run's lock connection was closed"
                    ),
                })
            }
        }
    }

    /// Reopens the work connection if it was lost; first makes sure the run lock is held.
    async fn ensure_work(&mut self) -> Result<(), AttemptError> {
        self.ensure_lock().await.map_err(AttemptError::Engine)?;
        if !self.work_lost {
            return Ok(());
        }
        let mut work = PgConnection::connect_with(&self.options)
            .await
            .map_err(AttemptError::Transient)?;
        self.work_pid = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut work)
            .await
            .map_err(AttemptError::Transient)?;
        self.work = work;
        self.work_lost = false;
        Ok(())
    }

    /// Notes a lost work connection so the next use reopens it.
    fn note(&mut self, error: &AttemptError) {
        if let AttemptError::Transient(e) = error {
            if connection_lost(e) {
                self.work_lost = true;
            }
        }
    }

    /// After the connection broke during a statement: whether its transaction committed, read
    /// from the ledger mark it carried.
    async fn committed(&mut self, step: StepKey<'_>, done: usize) -> Result<bool, EngineError> {
        let recorded: Option<i32> = on_control!(
            self,
            sqlx::query_scalar(
                "SELECT actions_done FROM bellows.steps WHERE plan = $1 AND phase = $2 AND step_index = $3",
            )
            .bind(step.plan)
            .bind(step.phase.as_str())
            .bind(step.index as i32)
            .fetch_optional(&mut self.control)
            .await
            .context(|| "reading the ledger mark of the interrupted statement".into())
        )?;
        Ok(matches!(recorded, Some(n) if n as usize >= done))
    }

    /// Runs `statement` on the work connection, watching for blockers from the control
    /// connection while it runs; copes with the connection breaking under it.
    async fn run_watched(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<(StepKey<'_>, usize)>,
        notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        self.ensure_work().await?;
        let result = self.run_watched_once(statement, limits, mark, notice).await;
        let Err(error) = result else { return Ok(()) };
        self.note(&error);
        if !self.work_lost {
            return Err(error);
        }
        // NOTE: the connection broke: the transaction either committed (the ledger mark says so)
        // or rolled back, and can be retried. A statement outside a transaction may have run in
        // part; only a concurrent index build is safe to retry (its INVALID leftover is dropped).
        match (statement.transaction, mark) {
            (true, Some((step, done))) => match self.committed(step, done).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(error),
                Err(e) => Err(AttemptError::Engine(e)),
            },
            (true, None) => Err(error),
            (false, _)
                if matches!(
                    statement.special,
                    Some(crate::dialect::planned::Special::CreateIndexConcurrently { .. })
                ) =>
            {
                Err(error)
            }
            (false, _) => match error {
                AttemptError::Transient(e) => Err(AttemptError::Failed(e)),
                other => Err(other),
            },
        }
    }

    async fn run_watched_once(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<(StepKey<'_>, usize)>,
        notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        let PgBackend {
            work,
            control,
            work_pid,
            deadlock_timeout,
            ..
        } = self;
        let started = Instant::now();
        let first_look = match limits.lock_timeout {
            Some(t) => (t / 3).clamp(Duration::from_millis(20), Duration::from_millis(250)),
            None => Duration::from_secs(1),
        };
        let every = match limits.lock_timeout {
            Some(t) => (t / 2).clamp(Duration::from_millis(50), Duration::from_millis(500)),
            None => Duration::from_secs(2),
        };
        let run = run_statement(work, statement, limits, mark);
        tokio::pin!(run);
        let mut next_look = tokio::time::Instant::now() + first_look;
        let mut last_blockers = Vec::new();
        let mut autovacuum: Option<AutovacuumBlock> = None;
        let mut autovacuum_cancelled = false;
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                _ = tokio::time::sleep_until(next_look) => {
                    next_look = tokio::time::Instant::now() + every;
                    // NOTE: failing to look at blockers must not fail the statement.
                    let Ok(blockers) = blockers_of(control, *work_pid).await else { continue };
                    if blockers.is_empty() {
                        continue;
                    }
                    for blocker in &blockers {
                        let Some(kind) = blocker.autovacuum else { continue };
                        if kind == AutovacuumKind::Ordinary {
                            if let Ok(true) = cancel_backend(control, blocker.pid).await {
                                autovacuum_cancelled = true;
                                notice(WaitNotice::AutovacuumCancelled {
                                    pid: blocker.pid,
                                    query: blocker.query.clone(),
                                });
                                continue;
                            }
                        }
                        autovacuum = Some(AutovacuumBlock {
                            pid: blocker.pid,
                            query: blocker.query.clone(),
                            kind,
                            cancel_refused: kind == AutovacuumKind::Ordinary,
                            deadlock_timeout: *deadlock_timeout,
                        });
                    }
                    notice(WaitNotice::Waiting {
                        waited: started.elapsed(),
                        blockers: blockers.clone(),
                    });
                    last_blockers = blockers;
                }
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(error) => match classify(error) {
                AttemptError::LockTimeout { .. } => Err(AttemptError::LockTimeout {
                    blockers: last_blockers,
                    autovacuum,
                    autovacuum_cancelled,
                }),
                other => Err(other),
            },
        }
    }
}

fn connect_hint(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Some(
            "is the server running and reachable? check the host and port of --database / DATABASE_URL"
                .into(),
        ),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            Some("the database does not exist: create it first".into())
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("28P01") => {
            Some("check the user name and password in the URL".into())
        }
        _ => None,
    }
}

/// The statement, in its own transaction (with the ledger mark) or alone.
async fn run_statement(
    work: &mut PgConnection,
    statement: &Statement,
    limits: Limits,
    mark: Option<(StepKey<'_>, usize)>,
) -> Result<(), sqlx::Error> {
    let limits_sql = |scope: &str| {
        format!(
            "SET {scope}lock_timeout = {}; SET {scope}statement_timeout = {}",
            setting(limits.lock_timeout),
            setting(limits.statement_timeout)
        )
    };
    if statement.transaction {
        sqlx::raw_sql("BEGIN").execute(&mut *work).await?;
        let result = async {
            sqlx::raw_sql(&limits_sql("LOCAL "))
                .execute(&mut *work)
                .await?;
            sqlx::raw_sql(&statement.sql).execute(&mut *work).await?;
            if let Some((step, done)) = mark {
                write_actions_done(work, step, done).await?;
            }
            sqlx::raw_sql("COMMIT").execute(&mut *work).await?;
            Ok(())
        }
        .await;
        if result.is_err() {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
        }
        result
    } else {
        sqlx::raw_sql(&limits_sql("")).execute(&mut *work).await?;
        let result = sqlx::raw_sql(&statement.sql)
            .execute(&mut *work)
            .await
            .map(|_| ());
        // NOTE: session-level settings would otherwise apply to the next guard or capture.
        let _ = sqlx::raw_sql("RESET lock_timeout; RESET statement_timeout")
            .execute(&mut *work)
            .await;
        result
    }
}

async fn write_actions_done(
    conn: &mut PgConnection,
    step: StepKey<'_>,
    done: usize,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE bellows.steps SET actions_done = $4 WHERE plan = $1 AND phase = $2 AND step_index = $3",
    )
    .bind(step.plan)
    .bind(step.phase.as_str())
    .bind(step.index as i32)
    .bind(done as i32)
    .execute(conn)
    .await
    .map(|_| ())
}

async fn blockers_of(control: &mut PgConnection, pid: i32) -> Result<Vec<Blocker>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.pid::int8, coalesce(a.application_name, ''), coalesce(a.state, ''),
                coalesce(a.query, ''),
                extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
                coalesce(a.backend_type, '')
           FROM pg_stat_activity a
          WHERE a.pid = ANY (pg_blocking_pids($1))
          ORDER BY a.xact_start NULLS LAST",
    )
    .bind(pid)
    .fetch_all(control)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let query: String = row.get(3);
            let backend_type: String = row.get(5);
            Blocker {
                pid: row.get(0),
                application_name: row.get(1),
                state: row.get(2),
                autovacuum: autovacuum_kind(&backend_type, &query),
                query,
                xact_age: row
                    .get::<Option<f64>, _>(4)
                    .map(|s| Duration::from_secs_f64(s.max(0.0))),
            }
        })
        .collect())
}

/// Whether a session is an autovacuum worker, and whether it is an anti-wraparound one.
pub fn autovacuum_kind(backend_type: &str, query: &str) -> Option<AutovacuumKind> {
    if backend_type != "autovacuum worker" && !query.starts_with("autovacuum:") {
        return None;
    }
    if query.contains("to prevent wraparound") {
        Some(AutovacuumKind::Wraparound)
    } else {
        Some(AutovacuumKind::Ordinary)
    }
}

/// `pg_cancel_backend`; `Ok(false)` when it did not happen, `Err` when not permitted.
async fn cancel_backend(control: &mut PgConnection, pid: i64) -> Result<bool, sqlx::Error> {
    match sqlx::query_scalar::<_, bool>("SELECT pg_cancel_backend($1::int4)")
        .bind(pid)
        .fetch_one(control)
        .await
    {
        Ok(done) => Ok(done),
        Err(error) if sqlstate(&error).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => Ok(false),
        Err(error) => Err(error),
    }
}

fn ledger_step(row: &PgRow) -> Result<StepRecord, EngineError> {
    let phase: String = row.get("phase");
    let state: String = row.get("state");
    let captures: String = row.get("captures");
    let checkpoint: Option<String> = row.get("checkpoint");
    let bad = |what: &str, value: &str| {
        EngineError::refused(
        super::error::ErrorKind::Failed,
        format!("the ledger (bellows.steps) holds an unknown {what} `{value}`; was it written by a newer bellows?"),
    )
    };
    Ok(StepRecord {
        phase: Phase::parse(&phase).ok_or_else(|| bad("phase", &phase))?,
        index: row.get::<i32, _>("step_index") as usize,
        op: row.get("op"),
        target: row.get("target"),
        state: StepState::parse(&state).ok_or_else(|| bad("state", &state))?,
        started_at: row.get::<Option<f64>, _>("started").map(from_epoch),
        finished_at: row.get::<Option<f64>, _>("finished").map(from_epoch),
        error: row.get("error"),
        captures: serde_json::from_str::<BTreeMap<String, String>>(&captures)
            .map_err(|_| bad("captures value", &captures))?,
        checkpoint: match checkpoint {
            Some(text) => Some(
                serde_json::from_str::<Vec<String>>(&text).map_err(|_| bad("checkpoint", &text))?,
            ),
            None => None,
        },
        rows_done: row.get::<i64, _>("rows_done").max(0) as u64,
        actions_done: row.get::<i32, _>("actions_done").max(0) as usize,
    })
}

const LEDGER_DDL: &str = "
CREATE SCHEMA IF NOT EXISTS bellows;
COMMENT ON SCHEMA bellows IS 'bellows ledger: plans and steps applied to this database';
CREATE TABLE IF NOT EXISTS bellows.plans (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    path        text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS bellows.steps (
    plan         text NOT NULL REFERENCES bellows.plans (name) ON DELETE CASCADE,
    phase        text NOT NULL CHECK (phase IN ('expand', 'backfill', 'switch', 'contract')),
    step_index   integer NOT NULL,
    op           text NOT NULL,
    target       text NOT NULL,
    state        text NOT NULL
                 CHECK (state IN ('pending', 'running', 'applied', 'failed', 'rolled_back')),
    started_at   timestamptz,
    finished_at  timestamptz,
    error        text,
    captures     jsonb NOT NULL DEFAULT '{}',
    checkpoint   jsonb,
    rows_done    bigint NOT NULL DEFAULT 0,
    actions_done integer NOT NULL DEFAULT 0,
    PRIMARY KEY (plan, phase, step_index)
);
";

impl Backend for PgBackend {
    const KIND: DialectKind = DialectKind::Postgres;

    async fn connect(url: &str, application_name: &str) -> Result<Self, EngineError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| EngineError::Connect {
                error,
                hint: Some(
                    "a PostgreSQL URL looks like postgres://user:password@host:5432/database"
                        .into(),
                ),
            })?
            .application_name(application_name);
        let mut control = Self::open(&options).await?;
        let mut work = Self::open(&options).await?;
        let work_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut work)
            .await
            .context(|| "reading the backend pid".into())?;
        let deadlock_ms: i64 = sqlx::query_scalar(
            "SELECT setting::int8 FROM pg_settings WHERE name = 'deadlock_timeout'",
        )
        .fetch_one(&mut control)
        .await
        .context(|| "reading deadlock_timeout".into())?;
        Ok(PgBackend {
            options,
            lock: None,
            lock_held: false,
            control,
            work,
            work_pid,
            work_lost: false,
            lock_lost: false,
            deadlock_timeout: Duration::from_millis(deadlock_ms.max(0) as u64),
        })
    }

    async fn server_version(&mut self) -> Result<ServerVersion, EngineError> {
        let (num, text): (String, String) = sqlx::query_as(
            "SELECT current_setting('server_version_num'), current_setting('server_version')",
        )
        .fetch_one(&mut self.control)
        .await
        .context(|| "reading the server version".into())?;
        let num: u32 = num.parse().unwrap_or(0);
        Ok(ServerVersion {
            major: num / 10000,
            minor: num % 10000,
            text,
        })
    }

    async fn try_run_lock(&mut self) -> Result<RunLock, EngineError> {
        if self.lock.is_none() {
            self.lock = Some(Self::open(&self.options).await?);
        }
        let Some(lock) = self.lock.as_mut() else {
            unreachable!("opened above")
        };
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(RUN_LOCK.0)
            .bind(RUN_LOCK.1)
            .fetch_one(&mut *lock)
            .await
            .context(|| "taking the run lock (pg_try_advisory_lock)".into())?;
        if acquired {
            self.lock_held = true;
            if let Some(orphan) = self.wait_for_orphans().await? {
                self.release_run_lock().await?;
                return Ok(RunLock::HeldBy(orphan));
            }
            return Ok(RunLock::Acquired);
        }
        let holder: Option<(i32, String, Option<f64>)> = sqlx::query_as(
            "SELECT l.pid, coalesce(a.application_name, ''),
                    extract(epoch FROM clock_timestamp() - a.backend_start)::float8
               FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                AND l.classid::int8 = $1 AND l.objid::int8 = $2
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              LIMIT 1",
        )
        .bind(RUN_LOCK.0 as i64)
        .bind(RUN_LOCK.1 as i64)
        .fetch_optional(&mut *lock)
        .await
        .context(|| "finding who holds the run lock".into())?;
        Ok(RunLock::HeldBy(match holder {
            Some((pid, name, age)) => {
                let name = if name.is_empty() {
                    "no application_name".to_string()
                } else {
                    format!("`{name}`")
                };
                match age {
                    Some(age) => format!(
                        "pid {pid} ({name}, connected {} ago)",
                        humantime::format_duration(Duration::from_secs(age.max(0.0) as u64))
                    ),
                    None => format!("pid {pid} ({name})"),
                }
            }
            None => "a session that has just released it; try again".to_string(),
        }))
    }

    async fn release_run_lock(&mut self) -> Result<(), EngineError> {
        if let (true, Some(lock)) = (self.lock_held, self.lock.as_mut()) {
            sqlx::query("SELECT pg_advisory_unlock($1, $2)")
                .bind(RUN_LOCK.0)
                .bind(RUN_LOCK.1)
                .execute(lock)
                .await
                .context(|| "releasing the run lock".into())?;
            self.lock_held = false;
        }
        Ok(())
    }

    async fn ledger_exists(&mut self) -> Result<bool, EngineError> {
        on_control!(self, async {
            sqlx::query_scalar("SELECT to_regclass('bellows.steps') IS NOT NULL AND to_regclass('bellows.plans') IS NOT NULL")
                .fetch_one(&mut self.control)
                .await
                .context(|| "looking for the ledger (schema bellows)".into())
        }.await)
    }

    async fn create_ledger(&mut self) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                sqlx::raw_sql(LEDGER_DDL)
                    .execute(&mut self.control)
                    .await
                    .context(|| "creating the ledger (schema bellows)".into())
                    .map(|_| ())
            }
            .await
        )
    }

    async fn read_ledger(&mut self, plan: Option<&str>) -> Result<Vec<PlanLedger>, EngineError> {
        on_control!(
            self,
            async {
                let plans = sqlx::query(
                "SELECT name, checksum, path, extract(epoch FROM started_at)::float8 AS started,
                        extract(epoch FROM updated_at)::float8 AS updated
                   FROM bellows.plans WHERE $1::text IS NULL OR name = $1 ORDER BY name",
            )
            .bind(plan)
            .fetch_all(&mut self.control)
            .await
            .context(|| "reading the ledger (bellows.plans)".into())?;
                let steps = sqlx::query(
                    "SELECT plan, phase, step_index, op, target, state,
                        extract(epoch FROM started_at)::float8 AS started,
                        extract(epoch FROM finished_at)::float8 AS finished,
                        error, captures::text AS captures, checkpoint::text AS checkpoint,
                        rows_done, actions_done
                   FROM bellows.steps WHERE $1::text IS NULL OR plan = $1",
                )
                .bind(plan)
                .fetch_all(&mut self.control)
                .await
                .context(|| "reading the ledger (bellows.steps)".into())?;
                let plans = plans
                    .iter()
                    .map(|row| PlanRecord {
                        name: row.get("name"),
                        checksum: row.get("checksum"),
                        path: row.get("path"),
                        started_at: row.get::<Option<f64>, _>("started").map(from_epoch),
                        updated_at: row.get::<Option<f64>, _>("updated").map(from_epoch),
                    })
                    .collect();
                let steps = steps
                    .iter()
                    .map(|row| Ok((row.get("plan"), ledger_step(row)?)))
                    .collect::<Result<Vec<_>, EngineError>>()?;
                Ok(group_steps(plans, steps))
            }
            .await
        )
    }

    async fn save_plan(&mut self, plan: &PlanRecord) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                sqlx::query(
                    "INSERT INTO bellows.plans (name, checksum, path) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE
                    SET checksum = excluded.checksum, path = excluded.path,
                        updated_at = clock_timestamp()",
                )
                .bind(&plan.name)
                .bind(&plan.checksum)
                .bind(&plan.path)
                .execute(&mut self.control)
                .await
                .context(|| format!("recording plan `{}` in the ledger", plan.name))
                .map(|_| ())
            }
            .await
        )
    }

    async fn save_step(&mut self, plan: &str, step: &StepRecord) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                let captures =
                    serde_json::to_string(&step.captures).unwrap_or_else(|_| "{}".into());
                let checkpoint = step
                    .checkpoint
                    .as_ref()
                    .map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()));
                sqlx::query(
                "INSERT INTO bellows.steps (plan, phase, step_index, op, target, state, started_at,
                                            finished_at, error, captures, checkpoint, rows_done,
                                            actions_done)
                 VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), to_timestamp($8), $9,
                         $10::jsonb, $11::jsonb, $12, $13)
                 ON CONFLICT (plan, phase, step_index) DO UPDATE SET
                    op = excluded.op, target = excluded.target, state = excluded.state,
                    started_at = excluded.started_at, finished_at = excluded.finished_at,
                    error = excluded.error, captures = excluded.captures,
                    checkpoint = excluded.checkpoint, rows_done = excluded.rows_done,
                    actions_done = excluded.actions_done",
            )
            .bind(plan)
            .bind(step.phase.as_str())
            .bind(step.index as i32)
            .bind(&step.op)
            .bind(&step.target)
            .bind(step.state.as_str())
            .bind(step.started_at.map(to_epoch))
            .bind(step.finished_at.map(to_epoch))
            .bind(&step.error)
            .bind(captures)
            .bind(checkpoint)
            .bind(step.rows_done as i64)
            .bind(step.actions_done as i32)
            .execute(&mut self.control)
            .await
            .context(|| {
                format!(
                    "recording step {} of {} of plan `{plan}` in the ledger",
                    step.index + 1,
                    step.phase
                )
            })
            .map(|_| ())
            }
            .await
        )
    }

    async fn delete_steps_except(
        &mut self,
        plan: &str,
        keep: &[(Phase, usize)],
    ) -> Result<(), EngineError> {
        if self.lock_lost {
            return Err(lock_lost());
        }
        on_control!(
            self,
            async {
                let keys: Vec<String> = keep
                    .iter()
                    .map(|(phase, index)| format!("{phase}/{index}"))
                    .collect();
                sqlx::query(
                    "DELETE FROM bellows.steps
                  WHERE plan = $1 AND NOT (phase || '/' || step_index::text = ANY ($2))",
                )
                .bind(plan)
                .bind(keys)
                .execute(&mut self.control)
                .await
                .context(|| format!("removing steps no longer in plan `{plan}` from the ledger"))
                .map(|_| ())
            }
            .await
        )
    }

    async fn execute(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<(StepKey<'_>, usize)>,
        notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        self.run_watched(statement, limits, mark, notice).await
    }

    async fn guard(
        &mut self,
        guard: &GuardQuery,
        limits: Limits,
    ) -> Result<GuardValue, AttemptError> {
        self.ensure_work().await?;
        // The query's first column, as text and with its type, whatever type it has.
        let query = guard.query.trim().trim_end_matches(';');
        let sql = format!(
            "SELECT guard_value::text, pg_typeof(guard_value)::text FROM ({query}) AS guard (guard_value) LIMIT 1"
        );
        let row: Option<(Option<String>, String)> = with_limits(&mut self.work, limits, |conn| {
            Box::pin(async move {
                sqlx::query_as(&sql)
                    .persistent(false)
                    .fetch_optional(conn)
                    .await
            })
        })
        .await
        .map_err(classify)
        .inspect_err(|e| self.note(e))?;
        Ok(match row {
            None => GuardValue::NoRow,
            Some((None, _)) => GuardValue::Null,
            Some((Some(text), type_name)) => match type_name.as_str() {
                "boolean" => GuardValue::Boolean(text == "true"),
                _ => match text.parse::<i64>() {
                    Ok(n) => GuardValue::Integer(n),
                    Err(_) => GuardValue::Other(text),
                },
            },
        })
    }

    async fn capture(
        &mut self,
        capture: &Capture,
        limits: Limits,
    ) -> Result<Option<String>, AttemptError> {
        self.ensure_work().await?;
        let query = capture.query.clone();
        let value: Option<Option<String>> = with_limits(&mut self.work, limits, |conn| {
            Box::pin(async move {
                sqlx::query_scalar(&query)
                    .persistent(false)
                    .fetch_optional(conn)
                    .await
            })
        })
        .await
        .map_err(classify)
        .inspect_err(|e| self.note(e))?;
        Ok(value.flatten())
    }

    async fn primary_key(&mut self, table: &TableName) -> Result<Option<Vec<String>>, EngineError> {
        on_control!(self, async {
            let name = pg_table(table);
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(&name)
                .fetch_one(&mut self.control)
                .await
                .context(|| format!("looking up table {table}"))?;
            if !exists {
                return Err(EngineError::refused(
                    super::error::ErrorKind::Failed,
                    format!("table {table} does not exist"),
                ));
            }
            let columns: Vec<String> = sqlx::query_scalar(
                "SELECT a.attname::text
                   FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                  WHERE i.indrelid = to_regclass($1) AND i.indisprimary
                  ORDER BY array_position(i.indkey::int2[], a.attnum)",
            )
            .bind(&name)
            .fetch_all(&mut self.control)
            .await
            .context(|| format!("reading the primary key of {table}"))?;
            if !columns.is_empty() {
                return Ok(Some(columns));
            }
            // No primary key: the narrowest valid, non-partial unique index over plain not-null
            // columns is a key just as good to walk.
            let unique: Option<Vec<String>> = sqlx::query_scalar(
                "SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
                   FROM pg_index i
                   JOIN pg_class c ON c.oid = i.indexrelid
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                  WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid
                    AND i.indpred IS NULL AND NOT (0 = ANY (i.indkey::int2[]))
                  GROUP BY i.indexrelid, c.relname
                 HAVING bool_and(a.attnotnull)
                  ORDER BY count(*), c.relname
                  LIMIT 1",
            )
            .bind(&name)
            .fetch_optional(&mut self.control)
            .await
            .context(|| format!("reading the unique keys of {table}"))?;
            Ok(unique)
        }.await)
    }

    async fn estimate_rows(&mut self, table: &TableName) -> Result<Option<u64>, EngineError> {
        on_control!(
            self,
            async {
                let estimate: Option<f32> = sqlx::query_scalar(
                    "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
                )
                .bind(pg_table(table))
                .fetch_optional(&mut self.control)
                .await
                .context(|| format!("estimating the rows of {table}"))?;
                if let Some(rows) = estimate.filter(|n| *n >= 0.0) {
                    return Ok(Some(rows as u64));
                }
                // NOTE: a table never vacuumed or analyzed has reltuples = -1 (PostgreSQL 14+).
                // The planner still estimates its rows from its size on disk: ask it, which
                // reads no row. The backfill refines the figure as it goes.
                let plan: Option<serde_json::Value> = sqlx::query_scalar(&format!(
                    "EXPLAIN (FORMAT JSON) SELECT 1 FROM {}",
                    DialectKind::Postgres.dialect().table(table)
                ))
                .fetch_optional(&mut self.control)
                .await
                .ok()
                .flatten();
                Ok(plan.as_ref().and_then(planned_rows))
            }
            .await
        )
    }

    async fn backfill_batch(
        &mut self,
        request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError> {
        self.ensure_work().await?;
        let result = self.backfill_batch_once(request).await;
        if let Err(error) = &result {
            self.note(error);
        }
        result
    }

    async fn drop_invalid_index(
        &mut self,
        table: Option<&TableName>,
        index: &str,
    ) -> Result<bool, EngineError> {
        // `index` is the index name as SQL (quoted, schema-qualified when the table is); a bare
        // name is looked up in the table's schema.
        let name = match (index.contains('.') || index.starts_with('"'), table) {
            (
                false,
                Some(TableName {
                    schema: Some(schema),
                    ..
                }),
            ) => {
                format!("{}.{}", quote_ident(schema), quote_ident(index))
            }
            (false, _) => quote_ident(index),
            (true, _) => index.to_string(),
        };
        let found: Option<String> = sqlx::query_scalar(
            "SELECT i.indexrelid::regclass::text FROM pg_index i
              WHERE i.indexrelid = to_regclass($1) AND NOT i.indisvalid",
        )
        .bind(&name)
        .fetch_optional(&mut self.control)
        .await
        .context(|| format!("looking for an invalid index {name}"))?;
        let Some(name) = found else { return Ok(false) };
        // NOTE: sent on their own: several statements in one query string run in an implicit
        // transaction, where DROP INDEX CONCURRENTLY is refused.
        sqlx::raw_sql("SET lock_timeout = 0; SET statement_timeout = 0")
            .execute(&mut self.work)
            .await
            .context(|| "preparing to drop an invalid index".into())?;
        let dropped = sqlx::raw_sql(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))
            .execute(&mut self.work)
            .await
            .context(|| format!("dropping the invalid index {name} left by a failed attempt"));
        let _ = sqlx::raw_sql("RESET lock_timeout; RESET statement_timeout")
            .execute(&mut self.work)
            .await;
        dropped?;
        Ok(true)
    }

    async fn rebuild(
        &mut self,
        _rebuild: &TableRebuild,
        _saved_definition: Option<&str>,
        _limits: Limits,
        _mark: Option<(StepKey<'_>, usize)>,
    ) -> Result<(), AttemptError> {
        Err(AttemptError::Engine(EngineError::Unsupported(
            Unsupported {
                dialect: DialectKind::Postgres,
                op: "table rebuild",
                why: "PostgreSQL alters tables in place; a rebuild is only planned for SQLite"
                    .into(),
            },
        )))
    }

    async fn close(mut self) -> Result<(), EngineError> {
        let released = self.release_run_lock().await;
        if let Some(lock) = self.lock.take() {
            let _ = lock.close().await;
        }
        let _ = self.control.close().await;
        let _ = self.work.close().await;
        released
    }
}

/// Runs `f` in a transaction with `limits` set locally (read-only work: guards, captures).
async fn with_limits<T>(
    conn: &mut PgConnection,
    limits: Limits,
    f: impl for<'c> FnOnce(
        &'c mut PgConnection,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'c>,
    >,
) -> Result<T, sqlx::Error> {
    sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
    let result = async {
        sqlx::raw_sql(&format!(
            "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
            setting(limits.lock_timeout),
            setting(limits.statement_timeout)
        ))
        .execute(&mut *conn)
        .await?;
        let value = f(&mut *conn).await?;
        sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
        Ok(value)
    }
    .await;
    if result.is_err() {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    }
    result
}

/// "Plan Rows" of the top node of `EXPLAIN (FORMAT JSON)` output.
fn planned_rows(value: &serde_json::Value) -> Option<u64> {
    value
        .get(0)?
        .get("Plan")?
        .get("Plan Rows")?
        .as_f64()
        .map(|rows| rows.max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autovacuum_workers_are_recognised_and_wraparound_named() {
        assert_eq!(autovacuum_kind("client backend", "SELECT 1"), None);
        assert_eq!(
            autovacuum_kind(
                "autovacuum worker",
                "autovacuum: VACUUM ANALYZE public.users"
            ),
            Some(AutovacuumKind::Ordinary)
        );
        assert_eq!(
            autovacuum_kind(
                "autovacuum worker",
                "autovacuum: VACUUM public.users (to prevent wraparound)"
            ),
            Some(AutovacuumKind::Wraparound)
        );
    }

    #[test]
    fn concurrently_is_refused_on_14_0_to_14_3_only() {
        let v = |major, minor| ServerVersion {
            major,
            minor,
            text: String::new(),
        };
        assert!(concurrently_is_broken(&v(14, 0)));
        assert!(concurrently_is_broken(&v(14, 3)));
        assert!(!concurrently_is_broken(&v(14, 4)));
        assert!(!concurrently_is_broken(&v(13, 2)));
        assert!(!concurrently_is_broken(&v(15, 0)));
    }

    #[test]
    fn limits_render_as_postgres_settings() {
        assert_eq!(setting(Some(Duration::from_millis(500))), "'500ms'");
        assert_eq!(setting(Some(Duration::from_secs(60))), "'60000ms'");
        assert_eq!(setting(None), "'0'");
    }
}
