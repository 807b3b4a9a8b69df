//! The traits each database implements for the engine, one per concern: the run lock
//! ([`RunLocker`]), the ledger ([`LedgerStore`]), running statements ([`StatementRunner`]),
//! reading the catalog ([`Catalog`]) and backfill batches ([`BatchRunner`]); [`Backend`] is the
//! umbrella that adds connecting and closing. Everything above them (ordering, retries, guards,
//! compensation, rollback) is written once, in terms of these traits; code that needs one
//! concern asks only for its trait, so a test double implements a few methods, not all.

use std::time::Duration;

use crate::dialect::planned::{Capture, GuardQuery, Statement, TableRebuild};
use crate::dialect::recovery::{Found, PlannedObject};
use crate::dialect::DialectKind;
use crate::vocab::{Phase, TableName};

use super::error::EngineError;
use super::ledger::{Mark, PlanLedger, PlanRecord, StepKey, StepRecord};
use super::reporter::{AutovacuumKind, Blocker};
use super::throttle::ReplicaState;

/// Timeouts for one attempt of one statement, already resolved from the lock policy and the
/// configuration. `None` means "no limit" (PostgreSQL `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub lock_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
}

impl Limits {
    pub const NONE: Limits = Limits {
        lock_timeout: None,
        statement_timeout: None,
    };
}

/// The database server's version, for refusing known-bad releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    /// `15.4` → (15, 4); SQLite `3.45.1` → (3, 45).
    pub major: u32,
    pub minor: u32,
    /// As the server reports it.
    pub text: String,
}

/// Who holds the run lock, when it is not us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunLock {
    Acquired,
    /// Held by another run; the text names it ("pid 4242 (bellows apply users)").
    HeldBy(String),
}

/// What a backend tells the engine while a statement waits for its lock.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitNotice {
    /// Still waiting after `waited`, queued behind `blockers`.
    Waiting {
        waited: Duration,
        blockers: Vec<Blocker>,
    },
    /// An ordinary autovacuum worker blocked us and was cancelled.
    AutovacuumCancelled { pid: i64, query: String },
}

/// The autovacuum situation seen during a failed attempt, so the retry loop can decide.
#[derive(Debug, Clone, PartialEq)]
pub struct AutovacuumBlock {
    pub pid: i64,
    pub query: String,
    pub kind: AutovacuumKind,
    /// We tried to cancel it and were not permitted.
    pub cancel_refused: bool,
    /// `deadlock_timeout` of the server: after this, PostgreSQL cancels an ordinary autovacuum
    /// that blocks a waiting lock request.
    pub deadlock_timeout: Duration,
}

/// Why one attempt of a statement did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// The lock was not granted within `lock_timeout` (PostgreSQL 55P03, SQLite busy).
    /// Transient: the engine retries with backoff.
    #[error("lock not granted within lock_timeout")]
    LockTimeout {
        /// The sessions that blocked us at the last look.
        blockers: Vec<Blocker>,
        autovacuum: Option<AutovacuumBlock>,
        /// An autovacuum that blocked us was cancelled during the attempt: retry at once.
        autovacuum_cancelled: bool,
    },
    /// Another transient failure worth retrying with backoff (deadlock, serialization).
    #[error("{}", super::error::db_message(.0))]
    Transient(sqlx::Error),
    /// Anything else: the statement failed.
    #[error("{}", super::error::db_message(.0))]
    Failed(sqlx::Error),
    /// Not a database error (bad saved value, missing ledger row, …).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The value one guard query returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardValue {
    Integer(i64),
    Boolean(bool),
    Null,
    /// Something else, as text (the guard fails and shows it).
    Other(String),
    /// The query returned no row.
    NoRow,
}

impl std::fmt::Display for GuardValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardValue::Integer(n) => write!(f, "{n}"),
            GuardValue::Boolean(b) => write!(f, "{b}"),
            GuardValue::Null => f.write_str("NULL"),
            GuardValue::Other(text) => write!(f, "{text:?}"),
            GuardValue::NoRow => f.write_str("no row"),
        }
    }
}

/// One backfill batch to run: bounds query, then the update for the keys it found, then the
/// checkpoint — all in one transaction.
pub struct BatchRequest<'a> {
    pub step: StepKey<'a>,
    /// Finds the batch's last key (see `Dialect::backfill_bounds_sql`); one row:
    /// `scanned`, then `last_0`, `last_1`, … as text.
    pub bounds_sql: String,
    /// Renders the update for keys up to (and including) the given last key.
    pub update_sql: &'a dyn Fn(&[String]) -> String,
    /// The whole batch as one statement that also writes the checkpoint
    /// (`Dialect::backfill_batch_sql`), when the dialect has one; then `bounds_sql` and
    /// `update_sql` are not used.
    pub batch_sql: Option<String>,
    /// Batches one after another on the server, each its own transaction with its checkpoint,
    /// for a while (`Dialect::backfill_loop_sql`); when given, it is run instead of one batch.
    pub loop_sql: Option<String>,
    /// Rows walked before this batch; the checkpoint records `rows_done + scanned`.
    pub rows_done: u64,
    /// The parallel backfill's range the batch walks (its `bounds_sql` stops at the range's
    /// end): the checkpoint goes to that range's row. `None`: the step's own row.
    pub range: Option<usize>,
    pub limits: Limits,
}

/// What one batch did. `scanned == 0` means the walk is complete (nothing was written, the
/// checkpoint is unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchResult {
    pub scanned: u64,
    pub updated: u64,
    /// The checkpoint now in the ledger (the batch's last key).
    pub last_key: Option<Vec<String>>,
    /// Batches run (several from a `loop_sql`), the last of them counted even when empty.
    pub batches: u64,
}

impl BatchResult {
    /// No row left: the walk is complete.
    pub fn empty() -> BatchResult {
        BatchResult {
            scanned: 0,
            updated: 0,
            last_key: None,
            batches: 1,
        }
    }

    /// One batch that walked `scanned` keys up to `last_key`.
    pub fn one(scanned: u64, updated: u64, last_key: Vec<String>) -> BatchResult {
        BatchResult {
            scanned,
            updated,
            last_key: Some(last_key),
            batches: 1,
        }
    }

    /// Whether a batch came back short of `limit` rows: the end of the table.
    pub fn reached_end(&self, limit: u64) -> bool {
        self.scanned < limit.saturating_mul(self.batches)
    }
}

/// The run lock: one run at a time per database.
#[allow(async_fn_in_trait)]
pub trait RunLocker {
    /// Tries to take the run lock without waiting. Held until [`RunLocker::release_run_lock`]
    /// or until the backend is dropped/closed (and by the server if the process dies).
    async fn try_run_lock(&mut self) -> Result<RunLock, EngineError>;

    async fn release_run_lock(&mut self) -> Result<(), EngineError>;

    /// Whether some run holds the run lock now, looked at without taking it (`status`: a
    /// step left running is being run only while its run holds the lock).
    async fn run_lock_held(&mut self) -> Result<bool, EngineError>;
}

/// The ledger: what bellows records in the target database about each plan and step.
#[allow(async_fn_in_trait)]
pub trait LedgerStore {
    /// Whether the ledger tables exist (status and plan read without creating them).
    async fn ledger_exists(&mut self) -> Result<bool, EngineError>;

    /// Creates the ledger if missing (idempotent). Only `apply` calls it.
    async fn create_ledger(&mut self) -> Result<(), EngineError>;

    /// Every plan in the ledger (or just `plan`), with its steps ordered by phase and index.
    /// Must not be called when the ledger does not exist.
    async fn read_ledger(&mut self, plan: Option<&str>) -> Result<Vec<PlanLedger>, EngineError>;

    /// Inserts or updates the plan row (checksum, path; `started_at` kept if present).
    async fn save_plan(&mut self, plan: &PlanRecord) -> Result<(), EngineError>;

    /// Inserts or replaces one step row with every field of `step`.
    async fn save_step(&mut self, plan: &str, step: &StepRecord) -> Result<(), EngineError>;

    /// Deletes step rows of `plan` whose (phase, index) is not in `keep` (a plan edited with
    /// `--allow-changed` that lost steps).
    async fn delete_steps_except(
        &mut self,
        plan: &str,
        keep: &[(Phase, usize)],
    ) -> Result<(), EngineError>;
}

/// Running what planning produced: statements, guards, captures, rebuilds.
#[allow(async_fn_in_trait)]
pub trait StatementRunner {
    /// One attempt of one statement under `limits`.
    ///
    /// `statement.transaction == true`: in its own transaction, with the limits set locally
    /// on the same connection (`SET LOCAL`), and — when `mark` is given — the step's counter
    /// (`actions_done` or `undo_done`) written in that same transaction. `false`: sent alone, outside any
    /// transaction, with session-level limits.
    ///
    /// While it waits for a lock, the backend reports who blocks it through `notice` (PostgreSQL:
    /// `pg_blocking_pids`), and cancels an ordinary autovacuum worker that blocks it.
    async fn execute(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<Mark<'_>>,
        notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError>;

    /// Runs a guard query (no transaction needed) and returns its single value.
    async fn guard(
        &mut self,
        guard: &GuardQuery,
        limits: Limits,
    ) -> Result<GuardValue, AttemptError>;

    /// Runs a capture query; its single text value (`None` when it returned no row or NULL).
    async fn capture(
        &mut self,
        capture: &Capture,
        limits: Limits,
    ) -> Result<Option<String>, AttemptError>;

    /// Drops an INVALID index named `index` (in `table`'s schema) left by a failed
    /// `CREATE INDEX CONCURRENTLY`; returns whether there was one. Backends without
    /// concurrent index builds return `Ok(false)`.
    async fn drop_invalid_index(
        &mut self,
        table: Option<&TableName>,
        index: &str,
    ) -> Result<bool, EngineError>;

    /// SQLite: rebuilds a table in one transaction. PostgreSQL never plans one.
    ///
    /// `saved_definition`: for [`crate::dialect::planned::RebuildChange::RestoreDefinition`], the
    /// `CREATE TABLE` statement its capture saved in the ledger (the engine looks it up);
    /// `None` for every other change.
    async fn rebuild(
        &mut self,
        rebuild: &TableRebuild,
        saved_definition: Option<&str>,
        limits: Limits,
        mark: Option<Mark<'_>>,
    ) -> Result<(), AttemptError>;
}

/// What the engine reads about the database and its tables.
#[allow(async_fn_in_trait)]
pub trait Catalog {
    async fn server_version(&mut self) -> Result<ServerVersion, EngineError>;

    /// The key to walk `table` by, in key order: its primary key, else (PostgreSQL) its narrowest
    /// unique, not-null, non-partial index; `None` when it has neither.
    async fn primary_key(&mut self, table: &TableName) -> Result<Option<Vec<String>>, EngineError>;

    /// Rows in `table` estimated from statistics (cheap), for progress; `None` when unknown.
    async fn estimate_rows(&mut self, table: &TableName) -> Result<Option<u64>, EngineError>;

    /// What the catalog holds under the name of `object` (an object on `table`): nothing, or
    /// the server's own definition of it and whether it is valid.
    async fn find_object(
        &mut self,
        object: &PlannedObject,
        table: Option<&TableName>,
    ) -> Result<Found, EngineError>;

    /// What interrupted runs can leave behind anywhere in the database: INVALID indexes,
    /// constraints not validated, bellows' own triggers, functions and helper checks.
    async fn leftovers(&mut self) -> Result<Vec<Leftover>, EngineError>;
}

/// One object in the catalog that an interrupted run may have left.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Leftover {
    /// `index`, `constraint`, `trigger` or `function`.
    pub kind: String,
    /// As the database names it (`orders_note_idx`, `orders.bellows_sync_note`).
    pub name: String,
    /// Why it is listed (`INVALID`, `NOT VALID`, `bellows trigger`, …).
    pub detail: String,
}

/// Backfill batches.
#[allow(async_fn_in_trait)]
pub trait BatchRunner {
    /// One backfill batch and its checkpoint, in one transaction.
    async fn backfill_batch(
        &mut self,
        request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError>;

    /// Makes every batch committed so far durable before the walk is called complete. A backend
    /// whose batches commit without waiting for their flush (PostgreSQL's
    /// `synchronous_commit = off`) commits one transaction that waits: the log is flushed in
    /// order, so theirs is flushed with it. Backends whose batches commit durably keep this.
    async fn flush_batches(&mut self) -> Result<(), AttemptError> {
        Ok(())
    }

    /// The replicas `max_lag` watches: PostgreSQL reads `pg_stat_replication` on the primary;
    /// MySQL asks each replica for its status — `replicas` (URLs), else the ones the primary
    /// lists. A replica whose lag cannot be known is [`ReplicaState::unknown`], never no lag.
    /// SQLite has no replicas.
    async fn replica_lag(
        &mut self,
        replicas: &[String],
        limits: Limits,
    ) -> Result<ReplicaState, AttemptError>;

    /// Another backend on the same database for one worker of a parallel backfill (its own
    /// connections, no run lock); `None`: the backend walks with one worker only.
    async fn backfill_worker(&mut self) -> Result<Option<Self>, EngineError>
    where
        Self: Sized,
    {
        Ok(None)
    }

    /// The connection limits a parallel backfill's workers count against, each with the
    /// connections in use under it; empty when there are none or they cannot be read.
    async fn connection_limits(
        &mut self,
    ) -> Result<Vec<super::backfill::connection_room::ConnectionLimit>, EngineError> {
        Ok(Vec::new())
    }

    /// The key values splitting `table` by `key` at each of `offsets` rows (in key order),
    /// read from the key's index; fewer when the table is shorter.
    async fn key_split_points(
        &mut self,
        _table: &TableName,
        _key: &[String],
        _after: Option<&[String]>,
        _offsets: &[u64],
    ) -> Result<Vec<Vec<String>>, EngineError> {
        Ok(Vec::new())
    }

    /// A parallel backfill's ranges for `step`, in order (empty: none saved). While a step has
    /// ranges, its rows done are theirs together, whatever its own row says.
    async fn read_ranges(
        &mut self,
        _step: StepKey<'_>,
    ) -> Result<Vec<super::backfill::parallel::SavedRange>, EngineError> {
        Ok(Vec::new())
    }

    /// Ends a parallel walk: in one transaction, the step's own checkpoint becomes `last` (the
    /// furthest key walked) with `rows_done`, and its ranges are deleted, so that neither a
    /// crash now nor a later run of the step walks a range again.
    async fn finish_ranges(
        &mut self,
        _step: StepKey<'_>,
        _last: &[String],
        _rows_done: u64,
    ) -> Result<(), EngineError> {
        Ok(())
    }

    /// Saves a parallel backfill's ranges for `step` (before any is walked).
    async fn save_ranges(
        &mut self,
        _step: StepKey<'_>,
        _ranges: &[super::backfill::parallel::SavedRange],
    ) -> Result<(), EngineError> {
        Err(EngineError::refused(
            super::ErrorKind::Failed,
            "this database keeps no parallel backfill ranges".to_string(),
        ))
    }
}

/// The online check (`check -d`, `plan -d`): statements compiled inside one transaction that
/// is always rolled back, each under its own savepoint. Nothing here may lock a real table for
/// writing; the statements run on temporary shadows (see [`crate::dialect::rehearsal`]).
///
/// A backend without one keeps the defaults, which refuse the check.
#[allow(async_fn_in_trait)]
pub trait Rehearse {
    /// Whether the backend has the online check; without it the check is skipped with a
    /// warning instead of failing the command.
    const REHEARSES: bool = false;

    /// The columns (name, type as the catalog spells it) of the real `table`, read from the
    /// catalog without locking it; `None` when there is no such table.
    async fn table_columns(
        &mut self,
        _table: &TableName,
    ) -> Result<Option<Vec<(String, String)>>, EngineError> {
        Err(no_rehearsal())
    }

    /// Opens the transaction, with short lock and statement timeouts.
    async fn begin_rehearsal(&mut self, _limits: Limits) -> Result<(), EngineError> {
        Err(no_rehearsal())
    }

    /// Runs one statement under a savepoint; the database's refusal is the inner error.
    async fn rehearse(
        &mut self,
        _sql: &str,
    ) -> Result<Result<(), super::error::DbError>, EngineError> {
        Err(no_rehearsal())
    }

    /// Rolls the transaction back.
    async fn end_rehearsal(&mut self) -> Result<(), EngineError> {
        Err(no_rehearsal())
    }
}

fn no_rehearsal() -> EngineError {
    EngineError::refused(
        super::error::ErrorKind::Invalid,
        "the online check (-d) is not available for this database yet; run without -d",
    )
}

/// One database, as the engine drives it: every concern above, plus connecting and closing.
///
/// A backend owns its connections. On PostgreSQL a run uses three: one that holds the
/// session advisory lock and nothing else, a control connection (ledger, catalog, watching
/// blockers) and a work connection (statements, guards, backfill batches).
///
/// Methods take `&mut self` and are called one at a time from a single task; a backend may
/// use several connections at once inside one method (watching blockers while a statement
/// waits).
#[allow(async_fn_in_trait)]
pub trait Backend:
    RunLocker + LedgerStore + StatementRunner + Catalog + BatchRunner + Rehearse + Sized
{
    const KIND: DialectKind;

    /// Connects to `url`; `application_name` names the run to other sessions (PostgreSQL
    /// `application_name`). Does not create anything.
    async fn connect(url: &str, application_name: &str) -> Result<Self, EngineError>;

    /// Closes every connection (releasing the run lock if still held).
    async fn close(self) -> Result<(), EngineError>;
}
