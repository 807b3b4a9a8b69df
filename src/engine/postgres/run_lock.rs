//! The run lock: a session advisory lock held on a connection of its own, checked before the
//! run writes anything, and taken only once sessions of an earlier, killed run have finished.

use std::time::{Duration, Instant};

use sqlx::Connection;

use super::PgBackend;
use crate::engine::backend::{RunLock, RunLocker};
use crate::engine::error::{DbContext, EngineError, ErrorKind};

/// The two-key advisory lock of a run: `'bell'`, `'ows!'` as int4. Advisory locks are per
/// database, so this is one lock per database.
const RUN_LOCK: (i32, i32) = (0x6265_6c6c, 0x6f77_7321);

/// The refusal to write the ledger once another run took the run lock.
pub(super) fn lock_lost() -> EngineError {
    EngineError::refused(
        ErrorKind::Locked,
        "this run lost the run lock to another run; it leaves the ledger to that run",
    )
}

/// How long a run waits for a session of an earlier, killed run to finish its last statement.
const ORPHAN_WAIT: Duration = Duration::from_secs(15);

impl PgBackend {
    /// With the run lock taken: waits (up to [`ORPHAN_WAIT`]) until no session of an earlier
    /// bellows run is still executing. A run killed with `kill -9` (or a second Ctrl-C) leaves
    /// its last message to the server running: a backfill batch sent as one message commits
    /// with its checkpoint after the client is gone, so a run starting from the checkpoint it
    /// read before that commit would write the same rows a second time. Returns the session
    /// still running after the wait, named for the run-lock error.
    pub(super) async fn wait_for_orphans(&mut self) -> Result<Option<String>, EngineError> {
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
            .fetch_optional(self.control().await?)
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

    /// Makes sure this run still holds the run lock before it writes anything.
    ///
    /// NOTE: checked before every use of the work connection (each backfill batch, statement,
    /// guard, capture) with a ping of the lock connection, one round trip without a query.
    /// Waiting for the next ledger operation to fail is not enough: when only the lock
    /// connection is closed, the ledger and work connections keep working, and a backfill would
    /// go on writing batches while another run could take the lock and walk the same rows.
    /// The ping leaves a window of one batch (the lock closed after the ping); a run taking the
    /// lock in that window waits for that batch in `wait_for_orphans`.
    pub(super) async fn ensure_lock(&mut self) -> Result<(), EngineError> {
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
        if let Some(control) = self.control.as_mut() {
            if control.ping().await.is_err() {
                self.control = Some(self.reconnect("the ledger connection").await?);
            }
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
}

impl RunLocker for PgBackend {
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

    async fn run_lock_held(&mut self) -> Result<bool, EngineError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks
              WHERE locktype = 'advisory' AND granted AND objsubid = 2
                AND classid::int8 = $1 AND objid::int8 = $2
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
        )
        .bind(RUN_LOCK.0 as i64)
        .bind(RUN_LOCK.1 as i64)
        .fetch_one(self.control().await?)
        .await
        .context(|| "looking whether a run holds the run lock".into())
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
}
