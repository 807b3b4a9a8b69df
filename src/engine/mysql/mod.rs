//! MySQL/MariaDB backend: two connections per run (one holds the `GET_LOCK` run lock and
//! nothing else; one for the ledger, the catalog, statements and backfill batches, and one more
//! per further worker of a parallel backfill), the ledger in tables `bellows_plans` and
//! `bellows_steps` (and `bellows_backfill_ranges`), and every statement under a short
//! `lock_wait_timeout` mapped from the plan's `lock_timeout`.
//!
//! MySQL's metadata locks queue: an `ALTER` waiting for the exclusive metadata lock behind a
//! long transaction blocks every later reader of the table. `lock_wait_timeout` bounds that wait
//! (whole seconds: the plan's `lock_timeout` is rounded up), the engine retries with backoff and
//! jitter, and the sessions with open transactions are named as the blockers.

mod catalog;
mod ledger;
mod ranges;
mod rehearse;
mod replica;
mod statement;

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};
use sqlx::{Connection, Row};

use super::backend::{
    AttemptError, Backend, BatchRequest, BatchResult, BatchRunner, LedgerStore, Limits, RunLock,
    RunLocker,
};
use super::batch_steps::{batch_in_steps, BatchSteps};
use super::error::{DbContext, EngineError, ErrorKind};
use super::ledger::StepKey;
use super::ledger::{PlanLedger, PlanRecord, StepRecord};
use super::throttle::{LagReading, ReplicaState};
use crate::dialect::DialectKind;
use crate::vocab::Phase;

/// How long ledger writes and catalog reads wait for a lock before the run gives up.
const LEDGER_LOCK_WAIT_SECS: u64 = 10;

/// How long a run waits for a batch of an earlier, killed run that is still committing.
const ORPHAN_WAIT: Duration = Duration::from_secs(15);

/// MySQL error numbers.
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
const ER_LOCK_DEADLOCK: u16 = 1213;
const ER_LOCK_NOWAIT: u16 = 3572;
/// The server went away or ended the session or its statement: `ER_SERVER_SHUTDOWN`,
/// `ER_QUERY_INTERRUPTED`, MariaDB's `ER_CONNECTION_KILLED`, and the client's "server has gone
/// away" and "lost connection".
const CONNECTION_ENDED: [u16; 5] = [1053, 1317, 1927, 2006, 2013];

pub struct MysqlBackend {
    options: MySqlConnectOptions,
    /// Holds `GET_LOCK`; does nothing else. Opened by `try_run_lock`.
    lock: Option<MySqlConnection>,
    conn: MySqlConnection,
    /// MariaDB (`max_statement_time`) rather than MySQL (`max_execution_time`).
    mariadb: bool,
    /// `VERSION()` as the server reports it.
    version: String,
    /// The replicas `max_lag` watches, found at its first reading.
    replicas: Option<Vec<replica::Replica>>,
    /// The online check's temporary shadows, dropped when it ends.
    shadows: Vec<String>,
    /// `conn` broke during a batch (killed, or the server went away): it is opened again
    /// before the next use.
    lost: bool,
    /// Whether a parallel backfill's batches may run under READ COMMITTED (not with a
    /// statement-based binary log); `None`: not looked at yet.
    read_committed: Option<bool>,
}

/// The MySQL error number of a database error.
fn error_number(error: &sqlx::Error) -> Option<u16> {
    match error {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(|e| e.number()),
        _ => None,
    }
}

/// Sorts a database error of one attempt into retry classes: the metadata or row lock not
/// granted within `lock_wait_timeout` is a lock timeout the engine retries; a deadlock is
/// transient.
pub(crate) fn classify(error: sqlx::Error) -> AttemptError {
    match error_number(&error) {
        Some(ER_LOCK_WAIT_TIMEOUT) | Some(ER_LOCK_NOWAIT) => AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: None,
            autovacuum_cancelled: false,
        },
        Some(ER_LOCK_DEADLOCK) => AttemptError::Transient(error),
        _ => AttemptError::Failed(error),
    }
}

/// Whether `error` says the connection (or its statement) was ended under it: a batch so
/// ended is tried again on a new connection.
fn connection_ended(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        _ => error_number(error).is_some_and(|n| CONNECTION_ENDED.contains(&n)),
    }
}

/// Whole seconds for `lock_wait_timeout` (at least 1): MySQL has no finer setting.
fn lock_wait_seconds(timeout: Duration) -> u64 {
    DialectKind::Mysql.dialect().lock_wait(timeout).as_secs()
}

fn parse_version(text: &str) -> (u32, u32) {
    let mut parts = text.trim().split(['.', '-']);
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// The name of the run lock of the connection's database (`GET_LOCK` names are server-wide,
/// at most 64 characters).
const RUN_LOCK_NAME: &str = "LEFT(CONCAT('bellows run lock: ', DATABASE()), 64)";

impl MysqlBackend {
    async fn open(options: &MySqlConnectOptions) -> Result<MySqlConnection, EngineError> {
        let mut conn = MySqlConnection::connect_with(options)
            .await
            .map_err(|error| EngineError::Connect {
                hint: connect_hint(&error),
                error,
            })?;
        sqlx::raw_sql(&format!(
            "SET SESSION lock_wait_timeout = {LEDGER_LOCK_WAIT_SECS}, innodb_lock_wait_timeout = {LEDGER_LOCK_WAIT_SECS}"
        ))
        .execute(&mut conn)
        .await
        .context(|| "setting the session's lock waits".into())?;
        Ok(conn)
    }

    /// Sets the metadata-lock and row-lock waits and the statement deadline of one attempt.
    async fn begin_attempt(&mut self, limits: Limits) -> Result<(), sqlx::Error> {
        let wait = match limits.lock_timeout {
            Some(timeout) => lock_wait_seconds(timeout).to_string(),
            None => "DEFAULT".into(),
        };
        let deadline = match (limits.statement_timeout, self.mariadb) {
            (Some(t), true) => format!(", max_statement_time = {:.3}", t.as_secs_f64()),
            (None, true) => ", max_statement_time = 0".into(),
            // NOTE: MySQL's max_execution_time bounds SELECT statements only.
            (Some(t), false) => format!(", max_execution_time = {}", t.as_millis()),
            (None, false) => ", max_execution_time = 0".into(),
        };
        sqlx::raw_sql(&format!(
            "SET SESSION lock_wait_timeout = {wait}, innodb_lock_wait_timeout = {wait}{deadline}"
        ))
        .execute(&mut self.conn)
        .await
        .map(|_| ())
    }

    /// Puts the connection back to the ledger's settings after an attempt.
    async fn end_attempt(&mut self) {
        let deadline = if self.mariadb {
            "max_statement_time = 0"
        } else {
            "max_execution_time = 0"
        };
        let _ = sqlx::raw_sql(&format!(
            "SET SESSION lock_wait_timeout = {LEDGER_LOCK_WAIT_SECS}, innodb_lock_wait_timeout = {LEDGER_LOCK_WAIT_SECS}, {deadline}"
        ))
        .execute(&mut self.conn)
        .await;
    }

    /// Runs `body` under `limits` on the connection, mapping its errors for the retry loop;
    /// after a lock timeout, names the sessions that held the table.
    async fn attempt<T>(
        &mut self,
        limits: Limits,
        table: Option<&crate::vocab::TableName>,
        body: impl AsyncFnOnce(&mut MySqlConnection) -> Result<T, AttemptError>,
    ) -> Result<T, AttemptError> {
        let result = match self.begin_attempt(limits).await {
            Ok(()) => body(&mut self.conn).await,
            Err(error) => Err(classify(error)),
        };
        self.end_attempt().await;
        match result {
            Err(AttemptError::LockTimeout {
                autovacuum,
                autovacuum_cancelled,
                ..
            }) => Err(AttemptError::LockTimeout {
                blockers: statement::blockers(&mut self.conn, table).await,
                autovacuum,
                autovacuum_cancelled,
            }),
            other => other,
        }
    }

    /// With the run lock taken: waits (up to [`ORPHAN_WAIT`]) until no batch of an earlier,
    /// killed run is still running. A run killed while its batch commits leaves the server to
    /// finish the commit; reading the checkpoint before it lands would walk the batch twice.
    async fn wait_for_orphans(&mut self) -> Result<Option<String>, EngineError> {
        let deadline = Instant::now() + ORPHAN_WAIT;
        loop {
            let orphan: Option<(i64, String)> = sqlx::query_as(
                "SELECT CAST(ID AS SIGNED), CAST(LEFT(COALESCE(INFO, ''), 100) AS CHAR) FROM information_schema.PROCESSLIST
                  WHERE ID <> CONNECTION_ID() AND DB = DATABASE() AND COMMAND = 'Query'
                    AND INFO LIKE '/* bellows batch */%'
                  LIMIT 1",
            )
            .fetch_optional(&mut self.conn)
            .await
            .context(|| "looking for batches of earlier runs (information_schema.PROCESSLIST)".into())?;
            let Some((id, query)) = orphan else {
                return Ok(None);
            };
            if Instant::now() >= deadline {
                return Ok(Some(format!(
                    "connection {id}, a session of an earlier run still executing `{query}`; wait for it to finish or end it with KILL {id}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Who holds the run lock: connection id, user and host.
    async fn describe_holder(&mut self) -> Result<String, EngineError> {
        let holder: Option<(i64, String, String, i64)> = sqlx::query_as(&format!(
            "SELECT CAST(p.ID AS SIGNED), CAST(p.USER AS CHAR), CAST(p.HOST AS CHAR), CAST(p.TIME AS SIGNED)
               FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK({RUN_LOCK_NAME})"
        ))
        .fetch_optional(&mut self.conn)
        .await
        .context(|| "looking up the holder of the run lock".into())?;
        Ok(match holder {
            Some((id, user, host, time)) => format!(
                "connection {id} ({user}@{host}, connected for {time}s); if that run is gone, end it with KILL {id}"
            ),
            None => "a connection that has just let it go; run again".into(),
        })
    }
}

impl MysqlBackend {
    /// A backend for one worker of a parallel backfill: its own connection, no run lock.
    async fn worker(&mut self) -> Result<MysqlBackend, EngineError> {
        Ok(MysqlBackend {
            options: self.options.clone(),
            lock: None,
            conn: Self::open(&self.options).await?,
            mariadb: self.mariadb,
            version: self.version.clone(),
            replicas: None,
            shadows: Vec::new(),
            lost: false,
            read_committed: self.read_committed,
        })
    }

    /// Opens the connection again when a batch found it ended.
    async fn revive(&mut self) -> Result<(), EngineError> {
        if self.lost {
            let old = std::mem::replace(&mut self.conn, Self::open(&self.options).await?);
            let _ = old.close_hard().await;
            self.lost = false;
        }
        Ok(())
    }

    /// Runs `body` (a parallel walk's ledger read or write, safe to run twice) on the
    /// connection; when the connection was ended under it (killed between two batches), opens
    /// it again and runs `body` once more.
    async fn on_live_conn<T>(
        &mut self,
        body: impl AsyncFn(&mut MySqlConnection) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        self.revive().await?;
        match body(&mut self.conn).await {
            Err(EngineError::Database { error, .. }) if connection_ended(&error) => {
                self.lost = true;
                self.revive().await?;
                body(&mut self.conn).await
            }
            other => other,
        }
    }

    /// Whether a parallel backfill's batches run under READ COMMITTED, read once.
    ///
    /// NOTE: under REPEATABLE READ (InnoDB's default) a batch's UPDATE takes next-key locks:
    /// the gap before each key it scans and the first key past its end, which is the next
    /// range's first row, and a key compared as a row (`(a, b) > (…)`) that MariaDB scans
    /// without its index locks every row it reads. Workers would then wait on each other at
    /// the ranges' edges (and deadlock). READ COMMITTED takes no gap locks and lets go of the
    /// rows that do not match; a batch reads its bounds once, so nothing else changes. A server
    /// logging statements (`binlog_format = STATEMENT`) refuses writes under it: there the
    /// batches keep REPEATABLE READ and lock waits at the edges are retried.
    async fn range_read_committed(&mut self) -> Result<bool, AttemptError> {
        if let Some(known) = self.read_committed {
            return Ok(known);
        }
        let (log_bin, format): (i64, String) =
            sqlx::query_as("SELECT CAST(@@log_bin AS SIGNED), CAST(@@binlog_format AS CHAR)")
                .fetch_one(&mut self.conn)
                .await
                .map_err(classify)?;
        let known = log_bin == 0 || !format.eq_ignore_ascii_case("STATEMENT");
        self.read_committed = Some(known);
        Ok(known)
    }
}

/// A connection that could not be opened again is a transient failure of the batch: the
/// server may be restarting.
fn reconnect_error(error: EngineError) -> AttemptError {
    match error {
        EngineError::Connect { error, .. } => AttemptError::Transient(error),
        other => AttemptError::Engine(other),
    }
}

/// The URL sqlx's MySQL driver takes.
///
/// NOTE: the driver speaks for MariaDB too; `mariadb://` is the same URL.
fn mysql_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => {
            format!("mysql://{rest}")
        }
        _ => url.to_string(),
    }
}

fn connect_hint(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Some(
            "is the server running and reachable? check the host and port of --database / DATABASE_URL (MariaDB: service mariadb start)"
                .into(),
        ),
        _ => match error_number(error) {
            Some(1049) => Some("the database does not exist: create it first".into()),
            Some(1045) => Some("check the user name and password in the URL".into()),
            _ => None,
        },
    }
}

impl Backend for MysqlBackend {
    const KIND: DialectKind = DialectKind::Mysql;

    async fn connect(url: &str, _application_name: &str) -> Result<Self, EngineError> {
        let url = mysql_url(url);
        let options =
            MySqlConnectOptions::from_str(&url).map_err(|error| EngineError::Connect {
                error,
                hint: Some(
                    "a MySQL/MariaDB URL looks like mysql://user:password@host:3306/database"
                        .into(),
                ),
            })?;
        let mut conn = Self::open(&options).await?;
        let (database, version): (Option<String>, String) =
            sqlx::query_as("SELECT DATABASE(), VERSION()")
                .fetch_one(&mut conn)
                .await
                .context(|| "reading the server version".into())?;
        if database.is_none() {
            let _ = conn.close().await;
            return Err(EngineError::refused(
                ErrorKind::Invalid,
                "the URL names no database: bellows works in one database (mysql://user@host:3306/app)",
            ));
        }
        Ok(MysqlBackend {
            options,
            lock: None,
            conn,
            mariadb: version.to_ascii_lowercase().contains("mariadb"),
            version,
            replicas: None,
            shadows: Vec::new(),
            lost: false,
            read_committed: None,
        })
    }

    async fn close(mut self) -> Result<(), EngineError> {
        let released = self.release_run_lock().await;
        for replica in self.replicas.take().into_iter().flatten() {
            replica.close().await;
        }
        let _ = self.conn.close().await;
        released
    }
}

impl RunLocker for MysqlBackend {
    async fn try_run_lock(&mut self) -> Result<RunLock, EngineError> {
        if self.lock.is_some() {
            return Ok(RunLock::Acquired);
        }
        let mut lock = Self::open(&self.options).await?;
        let got: Option<i64> = sqlx::query_scalar(&format!("SELECT GET_LOCK({RUN_LOCK_NAME}, 0)"))
            .fetch_one(&mut lock)
            .await
            .context(|| "taking the run lock (GET_LOCK)".into())?;
        if got != Some(1) {
            let _ = lock.close().await;
            return Ok(RunLock::HeldBy(self.describe_holder().await?));
        }
        self.lock = Some(lock);
        if let Some(orphan) = self.wait_for_orphans().await? {
            self.release_run_lock().await?;
            return Ok(RunLock::HeldBy(orphan));
        }
        Ok(RunLock::Acquired)
    }

    async fn release_run_lock(&mut self) -> Result<(), EngineError> {
        let Some(mut lock) = self.lock.take() else {
            return Ok(());
        };
        let released = sqlx::query(&format!("SELECT RELEASE_LOCK({RUN_LOCK_NAME})"))
            .execute(&mut lock)
            .await
            .context(|| "releasing the run lock (RELEASE_LOCK)".into())
            .map(|_| ());
        let _ = lock.close().await;
        released
    }

    async fn run_lock_held(&mut self) -> Result<bool, EngineError> {
        if self.lock.is_some() {
            return Ok(true);
        }
        let holder: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT CAST(IS_USED_LOCK({RUN_LOCK_NAME}) AS SIGNED)"
        ))
        .fetch_one(&mut self.conn)
        .await
        .context(|| "looking at the run lock (IS_USED_LOCK)".into())?;
        Ok(holder.is_some())
    }
}

impl LedgerStore for MysqlBackend {
    async fn ledger_exists(&mut self) -> Result<bool, EngineError> {
        ledger::exists(&mut self.conn).await
    }

    async fn create_ledger(&mut self) -> Result<(), EngineError> {
        ledger::create(&mut self.conn).await
    }

    async fn read_ledger(&mut self, plan: Option<&str>) -> Result<Vec<PlanLedger>, EngineError> {
        ledger::read(&mut self.conn, plan).await
    }

    async fn save_plan(&mut self, plan: &PlanRecord) -> Result<(), EngineError> {
        ledger::save_plan(&mut self.conn, plan).await
    }

    async fn save_step(&mut self, plan: &str, step: &StepRecord) -> Result<(), EngineError> {
        ledger::save_step(&mut self.conn, plan, step).await
    }

    async fn delete_steps_except(
        &mut self,
        plan: &str,
        keep: &[(Phase, usize)],
    ) -> Result<(), EngineError> {
        ledger::delete_steps_except(&mut self.conn, plan, keep).await
    }
}

impl BatchSteps for MySqlConnection {
    async fn bounds(&mut self, sql: &str) -> Result<(i64, Vec<String>), sqlx::Error> {
        let row = sqlx::query(sql)
            .persistent(false)
            .fetch_one(&mut *self)
            .await?;
        let mut last = Vec::new();
        for i in 1..row.len() {
            last.push(statement::text_cell(&row, i)?.unwrap_or_default());
        }
        Ok((row.try_get(0)?, last))
    }

    /// NOTE: the comment names the update in the process list (see `wait_for_orphans`).
    async fn update(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        let update = format!("/* bellows batch */ {sql}");
        Ok(sqlx::raw_sql(&update).execute(self).await?.rows_affected())
    }

    async fn checkpoint(
        &mut self,
        step: StepKey<'_>,
        range: Option<usize>,
        last: &[String],
        rows_done: u64,
    ) -> Result<(), sqlx::Error> {
        match range {
            None => ledger::write_checkpoint(self, step, last, rows_done).await,
            Some(range) => ranges::write_range_checkpoint(self, step, range, last, rows_done).await,
        }
    }
}

impl BatchRunner for MysqlBackend {
    async fn backfill_batch(
        &mut self,
        request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError> {
        self.revive().await.map_err(reconnect_error)?;
        let isolation = if request.range.is_some() && self.range_read_committed().await? {
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
        } else {
            ""
        };
        let result = self
            .attempt(request.limits, None, async |conn| {
                if !isolation.is_empty() {
                    sqlx::raw_sql(isolation)
                        .execute(&mut *conn)
                        .await
                        .map_err(classify)?;
                }
                statement::in_transaction(conn, async |conn| {
                    batch_in_steps(conn, request).await.map_err(classify)
                })
                .await
            })
            .await;
        // NOTE: only a range's batch is tried again on a new connection: the ranges are read
        // back with a locking read (see `ranges::read`), which waits for the ended batch to
        // commit or roll back; a serial walk's checkpoint is not, so it fails as before and
        // the next run waits for the batch (`wait_for_orphans`).
        match result {
            Err(AttemptError::Failed(error))
                if request.range.is_some() && connection_ended(&error) =>
            {
                self.lost = true;
                Err(AttemptError::Transient(error))
            }
            other => other,
        }
    }

    async fn backfill_worker(&mut self) -> Result<Option<Self>, EngineError> {
        self.worker().await.map(Some)
    }

    async fn key_split_points(
        &mut self,
        table: &crate::vocab::TableName,
        key: &[String],
        after: Option<&[String]>,
        offsets: &[u64],
    ) -> Result<Vec<Vec<String>>, EngineError> {
        ranges::split_points(&mut self.conn, table, key, after, offsets).await
    }

    async fn read_ranges(
        &mut self,
        step: StepKey<'_>,
    ) -> Result<Vec<super::backfill::parallel::SavedRange>, EngineError> {
        self.on_live_conn(async |conn| ranges::read(conn, step).await)
            .await
    }

    async fn finish_ranges(
        &mut self,
        step: StepKey<'_>,
        last: &[String],
        rows_done: u64,
    ) -> Result<(), EngineError> {
        self.on_live_conn(async |conn| ranges::end(conn, step, last, rows_done).await)
            .await
    }

    async fn save_ranges(
        &mut self,
        step: StepKey<'_>,
        saved: &[super::backfill::parallel::SavedRange],
    ) -> Result<(), EngineError> {
        ranges::write(&mut self.conn, step, saved).await
    }

    async fn replica_lag(
        &mut self,
        replicas: &[String],
        _limits: Limits,
    ) -> Result<ReplicaState, AttemptError> {
        if self.replicas.is_none() {
            let found =
                replica::watched(&mut self.conn, &self.options, &self.version, replicas).await?;
            self.replicas = Some(found);
        }
        let mut worst = LagReading::None;
        let mut count = 0;
        for replica in self.replicas.iter_mut().flatten() {
            worst = worst.worst(replica.lag().await);
            count += 1;
        }
        Ok(worst.into_state(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_waits_round_up_to_whole_seconds() {
        assert_eq!(lock_wait_seconds(Duration::from_millis(500)), 1);
        assert_eq!(lock_wait_seconds(Duration::from_millis(1000)), 1);
        assert_eq!(lock_wait_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(lock_wait_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn versions_parse_to_major_and_minor() {
        assert_eq!(parse_version("10.11.6-MariaDB-0+deb12u1"), (10, 11));
        assert_eq!(parse_version("8.0.36"), (8, 0));
    }
}
