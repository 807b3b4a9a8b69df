//! SQLite backend: one connection per run, the ledger in tables `bellows_plans` and
//! `bellows_steps`, a run lock on the file `<database>.bellows-lock`, writes under
//! `BEGIN IMMEDIATE` with `busy_timeout` as the lock timeout, and table rebuilds.
//!
//! SQLite has one write lock per database and no lock queue: a bellows statement waiting for the
//! write lock (busy_timeout) holds nothing and so blocks nobody; what blocks the application is
//! holding the write lock, which bellows does only for short transactions (a statement, a batch)
//! or a table rebuild. In WAL mode, which a run switches the database to, readers are never
//! blocked.

pub mod demo;
mod ledger;
mod rebuild;
mod rehearse;
pub mod run_lock;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{Connection, Row, TypeInfo, ValueRef};

use super::backend::{
    AttemptError, Backend, BatchRequest, BatchResult, BatchRunner, Catalog, GuardValue,
    LedgerStore, Leftover, Limits, RunLock, RunLocker, ServerVersion, StatementRunner, WaitNotice,
};
use super::batch_steps::{batch_in_steps, BatchSteps};
use super::error::{DbContext, EngineError, ErrorKind};
use super::ledger::{Mark, PlanLedger, PlanRecord, StepKey, StepRecord};
use super::throttle::ReplicaState;
use crate::dialect::planned::{Capture, Expect, GuardQuery, Statement, TableRebuild};
use crate::dialect::recovery::{Found, PlannedObject};
use crate::dialect::{quote_ident, DialectKind};
use crate::vocab::{Phase, TableName};

/// The oldest SQLite bellows runs on: 3.35 brought `ALTER TABLE DROP COLUMN`.
pub const MINIMUM_VERSION: (u32, u32) = (3, 35);

/// How long statements without a lock timeout wait for the write lock (SQLite has no "wait
/// forever").
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a ledger write waits for the write lock before the run gives up (exit 4).
// NOTE: on SQLite the ledger shares the database's single write lock with the application.
// Waiting for it blocks nobody (SQLite has no lock queue), so this can be generous.
pub(crate) const LEDGER_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often (in SQLite virtual machine instructions) the statement deadline is checked.
const DEADLINE_CHECK_EVERY: i32 = 10_000;

/// SQLite primary result codes (the low byte of an extended code).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_INTERRUPT: i64 = 9;

pub struct SqliteBackend {
    conn: SqliteConnection,
    database: PathBuf,
    application_name: String,
    lock: Option<run_lock::HeldLock>,
}

/// The primary result code of a SQLite error, if it is one.
fn result_code(error: &sqlx::Error) -> Option<i64> {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .map(|code| code & 0xff),
        _ => None,
    }
}

/// Whether the error is SQLITE_BUSY or SQLITE_LOCKED: the lock was not obtained in time.
pub(crate) fn is_busy(error: &sqlx::Error) -> bool {
    matches!(result_code(error), Some(SQLITE_BUSY) | Some(SQLITE_LOCKED))
}

/// Whether the error is SQLITE_INTERRUPT: the statement deadline cancelled it.
pub(crate) fn is_interrupt(error: &sqlx::Error) -> bool {
    result_code(error) == Some(SQLITE_INTERRUPT)
}

/// Sorts a database error of one attempt into retry classes: the write lock not obtained
/// within `busy_timeout` (SQLITE_BUSY) or a table locked by another connection of this process
/// (SQLITE_LOCKED) is a lock timeout the engine retries.
pub(crate) fn classify(error: sqlx::Error) -> AttemptError {
    if is_busy(&error) {
        AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: None,
            autovacuum_cancelled: false,
        }
    } else {
        AttemptError::Failed(error)
    }
}

/// Runs `body` between `BEGIN IMMEDIATE` (the write lock is taken up front, waiting at most
/// `busy_timeout`, so it is never upgraded half-way — that could fail with SQLITE_BUSY at once)
/// and `COMMIT`; `ROLLBACK` when anything fails.
/// `lift` turns the transaction's own errors into the body's error type.
pub(crate) async fn in_write_transaction<T, E>(
    conn: &mut SqliteConnection,
    lift: fn(sqlx::Error) -> E,
    body: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, E>,
) -> Result<T, E> {
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(lift)?;
    let result = match body(&mut *conn).await {
        Ok(value) => sqlx::raw_sql("COMMIT")
            .execute(&mut *conn)
            .await
            .map(|_| value)
            .map_err(lift),
        Err(error) => Err(error),
    };
    if result.is_err() {
        // NOTE: some errors (SQLITE_FULL, SQLITE_INTERRUPT, …) roll back by themselves; the
        // ROLLBACK then fails with "no transaction is active", which is fine.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    }
    result
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// `"main".` for a table in an attached database, empty for the main one.
fn schema_prefix(table: &TableName) -> String {
    match &table.schema {
        Some(schema) => format!("{}.", quote_ident(schema)),
        None => String::new(),
    }
}

fn table_sql(table: &TableName) -> String {
    format!("{}{}", schema_prefix(table), quote_ident(&table.name))
}

/// The value of column 0 as text (`None` for NULL), whatever its storage class.
fn text_value(row: &SqliteRow) -> Result<Option<String>, sqlx::Error> {
    let raw = row.try_get_raw(0)?;
    if raw.is_null() {
        return Ok(None);
    }
    let type_name = raw.type_info().name().to_string();
    Ok(Some(match type_name.as_str() {
        "INTEGER" => row.try_get_unchecked::<i64, _>(0)?.to_string(),
        "REAL" => row.try_get_unchecked::<f64, _>(0)?.to_string(),
        "BLOB" => String::from_utf8_lossy(&row.try_get_unchecked::<Vec<u8>, _>(0)?).into_owned(),
        _ => row.try_get_unchecked::<String, _>(0)?,
    }))
}

/// A guard's value. SQLite has no boolean type: when the guard expects a boolean, 0 and 1 are
/// false and true.
fn guard_value(row: Option<&SqliteRow>, expect: Expect) -> Result<GuardValue, sqlx::Error> {
    let Some(row) = row else {
        return Ok(GuardValue::NoRow);
    };
    let raw = row.try_get_raw(0)?;
    if raw.is_null() {
        return Ok(GuardValue::Null);
    }
    let type_name = raw.type_info().name().to_string();
    let integer = match type_name.as_str() {
        "INTEGER" => Some(row.try_get_unchecked::<i64, _>(0)?),
        "REAL" => {
            let real = row.try_get_unchecked::<f64, _>(0)?;
            (real.fract() == 0.0 && real.abs() < 9.0e15).then_some(real as i64)
        }
        _ => None,
    };
    let text = text_value(row)?.unwrap_or_default();
    Ok(match (expect, integer) {
        (Expect::Boolean(_), Some(0)) => GuardValue::Boolean(false),
        (Expect::Boolean(_), Some(1)) => GuardValue::Boolean(true),
        (Expect::Boolean(_), None) if text.eq_ignore_ascii_case("true") => {
            GuardValue::Boolean(true)
        }
        (Expect::Boolean(_), None) if text.eq_ignore_ascii_case("false") => {
            GuardValue::Boolean(false)
        }
        (Expect::Integer(_), Some(n)) => GuardValue::Integer(n),
        _ => GuardValue::Other(text),
    })
}

impl SqliteBackend {
    /// Sets the write-lock wait and the statement deadline of one attempt.
    async fn begin_attempt(&mut self, limits: Limits) -> Result<(), sqlx::Error> {
        let busy = limits.lock_timeout.unwrap_or(DEFAULT_BUSY_TIMEOUT);
        sqlx::raw_sql(&format!(
            "PRAGMA busy_timeout = {}",
            busy.as_millis().max(1)
        ))
        .execute(&mut self.conn)
        .await?;
        if let Some(timeout) = limits.statement_timeout {
            let deadline = Instant::now() + timeout;
            self.conn
                .lock_handle()
                .await?
                .set_progress_handler(DEADLINE_CHECK_EVERY, move || Instant::now() < deadline);
        }
        Ok(())
    }

    /// Puts the connection back to the ledger's settings after an attempt.
    async fn end_attempt(&mut self) {
        if let Ok(mut handle) = self.conn.lock_handle().await {
            handle.remove_progress_handler();
        }
        let _ = sqlx::raw_sql(&format!(
            "PRAGMA busy_timeout = {}",
            LEDGER_BUSY_TIMEOUT.as_millis()
        ))
        .execute(&mut self.conn)
        .await;
    }

    /// Runs `body` under `limits`, mapping its errors for the retry loop; an interrupt by the
    /// deadline becomes a statement-timeout failure.
    async fn attempt<T>(
        &mut self,
        limits: Limits,
        what: &str,
        body: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, AttemptError>,
    ) -> Result<T, AttemptError> {
        let result = match self.begin_attempt(limits).await {
            Ok(()) => body(&mut self.conn).await,
            Err(error) => Err(classify(error)),
        };
        self.end_attempt().await;
        result.map_err(|error| match error {
            AttemptError::Failed(error) if is_interrupt(&error) => {
                AttemptError::Engine(EngineError::refused(
                    ErrorKind::Failed,
                    format!(
                        "{what} ran longer than statement_timeout ({}) and was cancelled (rolled back); \
                         raise --statement-timeout or the plan's statement_timeout",
                        limits
                            .statement_timeout
                            .map(|t| humantime::format_duration(t).to_string())
                            .unwrap_or_default()
                    ),
                ))
            }
            other => other,
        })
    }

    /// Whether `table` (a table or view) exists.
    async fn table_exists(&mut self, table: &TableName) -> Result<bool, EngineError> {
        let found: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {}sqlite_master
              WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE",
            schema_prefix(table)
        ))
        .bind(&table.name)
        .fetch_one(&mut self.conn)
        .await
        .context(|| format!("looking up table {table}"))?;
        Ok(found > 0)
    }

    /// Switches the database to WAL, so that readers are not blocked while bellows writes.
    async fn use_wal(&mut self) {
        // NOTE: the journal mode is a property of the database file: it stays WAL after the
        // run, which is what an application sharing the file wants too. Changing it needs a
        // moment without other connections in a transaction; if that fails, the run continues
        // in the current mode (readers then wait while bellows writes).
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut self.conn)
            .await
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => {}
            Ok(mode) => tracing::warn!(
                "the database stays in journal mode `{mode}`: readers wait while bellows writes"
            ),
            Err(error) => tracing::warn!(
                "could not switch the database to WAL ({error}): readers wait while bellows writes"
            ),
        }
    }
}

/// One backfill batch inside its transaction: bounds, update, checkpoint.
impl BatchSteps for SqliteConnection {
    async fn bounds(&mut self, sql: &str) -> Result<(i64, Vec<String>), sqlx::Error> {
        let row = sqlx::query(sql).persistent(false).fetch_one(self).await?;
        let mut last = Vec::new();
        for i in 1..row.len() {
            let value: Option<String> = row.try_get(i)?;
            last.push(value.unwrap_or_default());
        }
        Ok((row.try_get(0)?, last))
    }

    async fn update(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(sqlx::raw_sql(sql).execute(self).await?.rows_affected())
    }

    async fn checkpoint(
        &mut self,
        step: StepKey<'_>,
        range: Option<usize>,
        last: &[String],
        rows_done: u64,
    ) -> Result<(), sqlx::Error> {
        if range.is_some() {
            // NOTE: SQLite walks with one worker: no batch of it has a range.
            return Err(sqlx::Error::Protocol(
                "SQLite keeps no parallel backfill ranges".into(),
            ));
        }
        ledger::write_checkpoint(self, step, last, rows_done).await
    }
}

impl Backend for SqliteBackend {
    const KIND: DialectKind = DialectKind::Sqlite;

    async fn connect(url: &str, application_name: &str) -> Result<Self, EngineError> {
        let options =
            SqliteConnectOptions::from_str(url).map_err(|error| EngineError::Connect {
                error,
                hint: Some(
                    "a SQLite URL looks like sqlite:path/to/app.db or sqlite:///absolute/path.db"
                        .into(),
                ),
            })?;
        let database = options.get_filename().to_path_buf();
        if database.as_os_str() == ":memory:" || url.contains("mode=memory") {
            return Err(EngineError::refused(
                ErrorKind::Invalid,
                "an in-memory SQLite database lives only as long as one connection; give bellows a database file (sqlite:path/to/app.db)",
            ));
        }
        if !database.exists() {
            return Err(EngineError::refused(
                ErrorKind::Failed,
                format!(
                    "the SQLite database {} does not exist; bellows does not create databases. \
                     Check the path, or create it first (an empty file is an empty database)",
                    database.display()
                ),
            ));
        }
        // NOTE: foreign_keys stays ON (sqlx's default), so statements of a plan see the
        // constraints enforced; a rebuild turns it off around its own transaction.
        let options = options
            .create_if_missing(false)
            .busy_timeout(LEDGER_BUSY_TIMEOUT);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(|error| EngineError::Connect {
                hint: Some(format!(
                    "is {} a SQLite database, readable and writable by you?",
                    database.display()
                )),
                error,
            })?;
        let text: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&mut conn)
            .await
            .context(|| "reading the SQLite version".into())?;
        let version = parse_version(&text).unwrap_or((0, 0));
        if version < MINIMUM_VERSION {
            let _ = conn.close().await;
            return Err(EngineError::refused(
                ErrorKind::Failed,
                format!(
                    "SQLite {text} is too old: bellows needs {}.{} or newer (for ALTER TABLE DROP COLUMN)",
                    MINIMUM_VERSION.0, MINIMUM_VERSION.1
                ),
            ));
        }
        Ok(SqliteBackend {
            conn,
            database,
            application_name: application_name.to_string(),
            lock: None,
        })
    }

    async fn close(mut self) -> Result<(), EngineError> {
        let released = self.release_run_lock().await;
        let _ = self.conn.close().await;
        released
    }
}

impl RunLocker for SqliteBackend {
    async fn try_run_lock(&mut self) -> Result<RunLock, EngineError> {
        if self.lock.is_some() {
            return Ok(RunLock::Acquired);
        }
        let path = run_lock::lock_path(&self.database);
        let holder = run_lock::describe_holder(&self.application_name);
        let attempt = run_lock::try_lock(&path, &holder).map_err(|error| {
            EngineError::refused(
                ErrorKind::Failed,
                format!(
                    "cannot use the run lock file {}: {error} (bellows needs to create it next to the database)",
                    path.display()
                ),
            )
        })?;
        match attempt {
            run_lock::TryLock::HeldBy(holder) => Ok(RunLock::HeldBy(format!(
                "{holder} (lock file {})",
                path.display()
            ))),
            run_lock::TryLock::Acquired(lock) => {
                self.lock = Some(lock);
                self.use_wal().await;
                Ok(RunLock::Acquired)
            }
        }
    }

    async fn run_lock_held(&mut self) -> Result<bool, EngineError> {
        if self.lock.is_some() {
            return Ok(true);
        }
        let path = run_lock::lock_path(&self.database);
        run_lock::is_held(&path).map_err(|error| {
            EngineError::refused(
                ErrorKind::Failed,
                format!("cannot read the run lock file {}: {error}", path.display()),
            )
        })
    }

    async fn release_run_lock(&mut self) -> Result<(), EngineError> {
        let Some(lock) = self.lock.take() else {
            return Ok(());
        };
        lock.release().map_err(|error| {
            EngineError::refused(
                ErrorKind::Failed,
                format!(
                    "could not release the run lock {}: {error}",
                    run_lock::lock_path(&self.database).display()
                ),
            )
        })
    }
}

impl LedgerStore for SqliteBackend {
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

impl StatementRunner for SqliteBackend {
    async fn execute(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<Mark<'_>>,
        _notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        // NOTE: SQLite cannot say who holds the write lock, so there is nothing to report
        // while waiting; `notice` is never called.
        let sql = statement.sql.as_str();
        if statement.transaction {
            self.attempt(limits, "the statement", async |conn| {
                in_write_transaction(conn, classify, async |conn| {
                    sqlx::raw_sql(sql)
                        .execute(&mut *conn)
                        .await
                        .map_err(classify)?;
                    if let Some(mark) = mark {
                        ledger::write_progress(conn, mark).await.map_err(classify)?;
                    }
                    Ok(())
                })
                .await
            })
            .await
        } else {
            self.attempt(limits, "the statement", async |conn| {
                sqlx::raw_sql(sql).execute(conn).await.map_err(classify)?;
                Ok(())
            })
            .await
        }
    }

    async fn guard(
        &mut self,
        guard: &GuardQuery,
        limits: Limits,
    ) -> Result<GuardValue, AttemptError> {
        let query = guard.query.trim().trim_end_matches(';');
        let expect = guard.expect;
        self.attempt(limits, "the guard query", async |conn| {
            let row = sqlx::query(query)
                .persistent(false)
                .fetch_optional(conn)
                .await
                .map_err(classify)?;
            guard_value(row.as_ref(), expect).map_err(classify)
        })
        .await
    }

    async fn capture(
        &mut self,
        capture: &Capture,
        limits: Limits,
    ) -> Result<Option<String>, AttemptError> {
        let query = capture.query.as_str();
        self.attempt(limits, "the capture query", async |conn| {
            let row = sqlx::query(query)
                .persistent(false)
                .fetch_optional(conn)
                .await
                .map_err(classify)?;
            match row {
                Some(row) => text_value(&row).map_err(classify),
                None => Ok(None),
            }
        })
        .await
    }

    async fn drop_invalid_index(
        &mut self,
        _table: Option<&TableName>,
        _index: &str,
    ) -> Result<bool, EngineError> {
        // SQLite builds indexes in one transaction: a failed build leaves nothing behind.
        Ok(false)
    }

    async fn rebuild(
        &mut self,
        rebuild: &TableRebuild,
        saved_definition: Option<&str>,
        limits: Limits,
        mark: Option<Mark<'_>>,
    ) -> Result<(), AttemptError> {
        let what = format!("the rebuild of {}", rebuild.table);
        self.attempt(limits, &what, async |conn| {
            rebuild::run(conn, rebuild, saved_definition, mark).await
        })
        .await
    }
}

impl Catalog for SqliteBackend {
    async fn find_object(
        &mut self,
        object: &PlannedObject,
        table: Option<&TableName>,
    ) -> Result<Found, EngineError> {
        // NOTE: SQLite keeps each index's and trigger's `CREATE` statement as written; a
        // constraint lives inside its table's definition and is never added by a statement.
        let prefix = table.map(schema_prefix).unwrap_or_default();
        let sql: Option<Option<String>> = sqlx::query_scalar(&format!(
            "SELECT sql FROM {prefix}sqlite_master WHERE type = ?1 AND name = ?2"
        ))
        .bind(object.kind.as_str())
        .bind(&object.name)
        .fetch_optional(&mut self.conn)
        .await
        .context(|| format!("looking up {} {}", object.kind.as_str(), object.name))?;
        Ok(match sql {
            None => Found::Absent,
            Some(definition) => Found::Present {
                definition: definition.unwrap_or_default(),
                valid: true,
            },
        })
    }

    async fn leftovers(&mut self) -> Result<Vec<Leftover>, EngineError> {
        // SQLite builds everything in a transaction: only bellows' own triggers can be left.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT tbl_name, name FROM sqlite_master
              WHERE type = 'trigger' AND name LIKE 'bellows\\_%' ESCAPE '\\' ORDER BY name",
        )
        .fetch_all(&mut self.conn)
        .await
        .context(|| "looking for leftovers of interrupted runs".into())?;
        Ok(rows
            .into_iter()
            .map(|(table, name)| Leftover {
                kind: "trigger".into(),
                name: format!("{table}.{name}"),
                detail: "bellows trigger".into(),
            })
            .collect())
    }

    async fn server_version(&mut self) -> Result<ServerVersion, EngineError> {
        let text: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&mut self.conn)
            .await
            .context(|| "reading the SQLite version".into())?;
        let (major, minor) = parse_version(&text).unwrap_or((0, 0));
        Ok(ServerVersion { major, minor, text })
    }

    async fn primary_key(&mut self, table: &TableName) -> Result<Option<Vec<String>>, EngineError> {
        if !self.table_exists(table).await? {
            return Err(EngineError::refused(
                ErrorKind::Failed,
                format!("table {table} does not exist"),
            ));
        }
        let schema = table.schema.clone().unwrap_or_else(|| "main".into());
        let columns: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, pk FROM pragma_table_info(?1, ?2) ORDER BY cid")
                .bind(&table.name)
                .bind(&schema)
                .fetch_all(&mut self.conn)
                .await
                .context(|| format!("reading the columns of {table}"))?;
        let mut key: Vec<(i64, String)> = columns
            .iter()
            .filter(|(_, pk)| *pk > 0)
            .map(|(name, pk)| (*pk, name.clone()))
            .collect();
        if !key.is_empty() {
            key.sort();
            return Ok(Some(key.into_iter().map(|(_, name)| name).collect()));
        }
        // NOTE: a table without a declared primary key is a rowid table (WITHOUT ROWID needs
        // one), so its rowid is a unique, not-null key to walk — under whichever of its three
        // names no column has taken.
        Ok(["rowid", "_rowid_", "oid"]
            .into_iter()
            .find(|alias| {
                !columns
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case(alias))
            })
            .map(|alias| vec![alias.to_string()]))
    }

    async fn estimate_rows(&mut self, table: &TableName) -> Result<Option<u64>, EngineError> {
        let prefix = schema_prefix(table);
        // ANALYZE's statistics, when there are some: the first number is the row count.
        let has_stats: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {prefix}sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
        ))
        .fetch_one(&mut self.conn)
        .await
        .context(|| format!("estimating the rows of {table}"))?;
        if has_stats > 0 {
            let stat: Option<String> = sqlx::query_scalar(&format!(
                "SELECT stat FROM {prefix}sqlite_stat1 WHERE tbl = ?1 COLLATE NOCASE ORDER BY idx IS NOT NULL LIMIT 1"
            ))
            .bind(&table.name)
            .fetch_optional(&mut self.conn)
            .await
            .context(|| format!("estimating the rows of {table}"))?;
            if let Some(rows) = stat.and_then(|s| s.split_whitespace().next()?.parse().ok()) {
                return Ok(Some(rows));
            }
        }
        // Otherwise the span of rowids: two index lookups, exact for a table without gaps.
        // WITHOUT ROWID tables have no rowid: unknown.
        let span: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(&format!(
            "SELECT max(rowid) - min(rowid) + 1 FROM {}",
            table_sql(table)
        ))
        .fetch_one(&mut self.conn)
        .await;
        Ok(match span {
            Ok(Some(n)) => Some(n.max(0) as u64),
            Ok(None) => Some(0),
            Err(_) => None,
        })
    }
}

impl BatchRunner for SqliteBackend {
    async fn backfill_batch(
        &mut self,
        request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError> {
        self.attempt(request.limits, "the backfill batch", async |conn| {
            in_write_transaction(conn, classify, async |conn| {
                batch_in_steps(conn, request).await.map_err(classify)
            })
            .await
        })
        .await
    }

    /// SQLite has no replicas (`max_lag` is ignored with a note while planning).
    async fn replica_lag(
        &mut self,
        _replicas: &[String],
        _limits: Limits,
    ) -> Result<ReplicaState, AttemptError> {
        Ok(ReplicaState::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_to_major_and_minor() {
        assert_eq!(parse_version("3.46.0"), Some((3, 46)));
        assert_eq!(parse_version("3.35.5"), Some((3, 35)));
        assert_eq!(parse_version("nonsense"), None);
        assert!(parse_version("3.34.1").unwrap() < MINIMUM_VERSION);
    }
}
