//! What planning produces: the exact statements and checks a step runs, with the lock each takes.
//!
//! These types are data only. `bellows plan` prints them; the engine executes them.

use std::time::Duration;

use serde::Serialize;

pub use crate::ops::guard::Expect;
use crate::vocab::{Phase, TableName};

/// PostgreSQL table-level lock modes (and SQLite's database write lock), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Lock {
    /// Takes no table lock worth naming (catalog reads, function definitions).
    None,
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
    /// SQLite: the single database write lock; readers in WAL mode are not blocked.
    SqliteWrite,
    /// MySQL/MariaDB: the table's exclusive metadata lock, held for an instant at the start and
    /// the end of an online `ALTER` (`ALGORITHM=INSTANT`, or `INPLACE, LOCK=NONE` in between).
    /// Queued behind a long transaction, it blocks every later reader of the table.
    Metadata,
}

impl Lock {
    /// The name PostgreSQL uses (`ACCESS EXCLUSIVE`), or a description for SQLite.
    pub fn name(self) -> &'static str {
        match self {
            Lock::None => "none",
            Lock::AccessShare => "ACCESS SHARE",
            Lock::RowShare => "ROW SHARE",
            Lock::RowExclusive => "ROW EXCLUSIVE",
            Lock::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Lock::Share => "SHARE",
            Lock::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Lock::Exclusive => "EXCLUSIVE",
            Lock::AccessExclusive => "ACCESS EXCLUSIVE",
            Lock::SqliteWrite => "database write lock",
            Lock::Metadata => "exclusive metadata lock",
        }
    }

    /// Whether holding (or queueing for) this lock blocks ordinary `SELECT`s on the table.
    pub fn blocks_reads(self) -> bool {
        matches!(self, Lock::AccessExclusive | Lock::Metadata)
    }

    /// Whether holding (or queueing for) this lock blocks `INSERT`/`UPDATE`/`DELETE`.
    pub fn blocks_writes(self) -> bool {
        matches!(
            self,
            Lock::Share
                | Lock::ShareRowExclusive
                | Lock::Exclusive
                | Lock::AccessExclusive
                | Lock::SqliteWrite
                | Lock::Metadata
        )
    }
}

/// What a statement does to the table's rows while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableEffect {
    /// Catalog-only: instant whatever the table size.
    None,
    /// Reads every row (validation, index build, guard count).
    Scan,
    /// Writes every row (a rewrite or a rebuild).
    Rewrite,
    /// Writes a bounded batch of rows.
    Batch,
}

/// How long a statement may wait for its lock, and whether it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockPolicy {
    /// Blocks reads or writes while queued: `lock_timeout`, retried with backoff.
    Short,
    /// Blocks neither (`CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`): no short lock timeout;
    /// only `statement_timeout`-free waiting for old transactions.
    Long,
    /// Takes no lock worth bounding (reads, function definitions).
    Plain,
}

/// What the engine must do around a statement beyond sending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Special {
    /// `CREATE INDEX CONCURRENTLY`: an INVALID index of this name left by a failed attempt is
    /// dropped before retrying; refused on PostgreSQL 14.0–14.3. `index` is the name as SQL:
    /// quoted, and schema-qualified when the table is (`"billing"."invoices_due_idx"`), ready
    /// for `to_regclass('…')` or `DROP INDEX CONCURRENTLY IF EXISTS …`.
    CreateIndexConcurrently { index: String },
    /// `DROP INDEX CONCURRENTLY` or `REINDEX … CONCURRENTLY`: refused on PostgreSQL 14.0–14.3.
    Concurrently,
}

/// One SQL statement, as the engine will send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub sql: String,
    pub lock: Lock,
    /// The table the lock is taken on, to name blockers.
    pub table: Option<TableName>,
    pub effect: TableEffect,
    /// `false`: must be sent alone, outside any transaction (`CONCURRENTLY`, `transaction = false`).
    pub transaction: bool,
    pub policy: LockPolicy,
    pub special: Option<Special>,
}

impl Statement {
    /// A DDL statement that takes `lock` on `table` inside the step's transaction, retried under
    /// the short lock timeout.
    pub fn ddl(sql: impl Into<String>, lock: Lock, table: &TableName) -> Statement {
        Statement {
            sql: sql.into(),
            lock,
            table: Some(table.clone()),
            effect: TableEffect::None,
            transaction: true,
            policy: LockPolicy::Short,
            special: None,
        }
    }

    pub fn effect(mut self, effect: TableEffect) -> Statement {
        self.effect = effect;
        self
    }

    pub fn outside_transaction(mut self) -> Statement {
        self.transaction = false;
        self
    }

    pub fn policy(mut self, policy: LockPolicy) -> Statement {
        self.policy = policy;
        self
    }

    pub fn special(mut self, special: Special) -> Statement {
        self.special = Some(special);
        self
    }
}

/// A check that must hold before anything else of its phase runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardQuery {
    /// "null count of users.email_verified".
    pub description: String,
    /// Returns one row with one column: an integer or a boolean.
    pub query: String,
    pub expect: Expect,
}

/// A query run when a step is applied, whose one text result is saved in the ledger under
/// `name` and later used by the step's undo: executed as SQL by an [`ExecuteSaved`] (e.g. the
/// definition of a dropped index), or, on SQLite, the table definition a
/// [`RebuildChange::RestoreDefinition`] rebuilds to. The query returns exactly one row with one
/// non-NULL text column; no row means the object is missing and the step fails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capture {
    pub name: &'static str,
    pub description: String,
    pub query: String,
    /// A query run when `query` returns nothing, whose one text row says why (e.g. "that is an
    /// index: use drop_index"); no row: the object is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// SQL that was saved by a [`Capture`] when the step was applied, executed as the undo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecuteSaved {
    pub name: &'static str,
    /// Shown by `plan` in place of the SQL, which is only known once the step has run.
    pub description: String,
    pub lock: Lock,
    pub table: Option<TableName>,
    pub effect: TableEffect,
    pub transaction: bool,
    pub policy: LockPolicy,
    pub special: Option<Special>,
}

/// A keyset-batched backfill: the batch statement and how to page through the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillPlan {
    pub table: TableName,
    /// Key columns from the plan; `None` means the table's primary key, resolved when applied.
    pub key: Option<Vec<String>>,
    /// `column = expression` pairs, in plan order.
    pub set: Vec<(String, String)>,
    pub filter: Option<String>,
    /// The batch statements for display, as the engine renders them with
    /// `Dialect::backfill_bounds_sql` and `backfill_update_sql` (key values as literals): here
    /// with `key`, or the placeholder column `<primary key>`, and the placeholders `<last key>`
    /// (end of the previous batch) and `<batch end>` (end of this one).
    pub batch_sql: String,
    /// Counts rows the backfill will touch (`bellows plan` with a database).
    pub count_sql: String,
    /// The step's own batching and throttling keys, so the engine needs nothing else from the
    /// plan. Not serialized: `bellows plan` shows them resolved, next to the step.
    #[serde(skip)]
    pub settings: BatchSettings,
}

/// A backfill step's batching and throttling keys as written; `None`: not set on the step (the
/// resolved configuration decides, see `Config::batch_size_for` and friends).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchSettings {
    pub batch_size: Option<u64>,
    pub pause: Option<Duration>,
    pub target_batch_time: Option<Duration>,
    pub max_lag: Option<crate::vocab::lag::MaxLag>,
    pub throttle_query: Option<String>,
    pub parallel: Option<u64>,
}

/// SQLite cannot alter a column or constraint in place: the table is rebuilt in one
/// transaction (create the new shape, copy rows, drop, rename, recreate indexes and triggers).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum RebuildChange {
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    SetDefault {
        column: String,
        default: String,
    },
    DropDefault {
        column: String,
    },
    /// Adds `CONSTRAINT name CHECK (expression)`.
    AddCheck {
        name: String,
        check: String,
    },
    /// Adds `CONSTRAINT name FOREIGN KEY (columns) REFERENCES table (columns) [ON DELETE …]`.
    AddForeignKey {
        name: String,
        definition: String,
    },
    /// Adds `CONSTRAINT name UNIQUE (columns)`.
    AddUnique {
        name: String,
        definition: String,
    },
    /// Removes the named table constraint.
    DropConstraint {
        name: String,
    },
    /// Rebuilds the table to the `CREATE TABLE` statement saved by the step's [`Capture`]
    /// `saved`: the table as it was before the step (rollback runs undos in reverse order, so
    /// the columns match). Used to undo changes whose previous state only the table's
    /// definition holds (a default, a dropped constraint).
    RestoreDefinition {
        saved: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRebuild {
    pub table: TableName,
    #[serde(flatten)]
    pub change: RebuildChange,
    /// The statements, described for display (the real ones depend on the table's definition).
    pub outline: Vec<String>,
}

/// One thing a step does, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Execute(Statement),
    Guard(GuardQuery),
    Capture(Capture),
    ExecuteSaved(ExecuteSaved),
    Backfill(BackfillPlan),
    Rebuild(TableRebuild),
}

/// How a step is undone by rollback.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Undo {
    /// Run these actions.
    Actions(Vec<Action>),
    /// Nothing to undo (guards; backfills, whose columns the expand rollback removes).
    Nothing(String),
    /// Cannot be undone; rollback refuses before changing anything.
    Irreversible(String),
}

/// The SQL a step runs on one dialect, and its undo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedOp {
    pub actions: Vec<Action>,
    pub undo: Undo,
    /// Things a reviewer should know: emulation on SQLite, locks, caveats.
    pub notes: Vec<String>,
}

/// A planned step with its place in the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    pub phase: Phase,
    pub index: usize,
    pub op: &'static str,
    /// "users.email_verified", "index users_email_idx", …
    pub target: String,
    #[serde(flatten)]
    pub planned: PlannedOp,
}
