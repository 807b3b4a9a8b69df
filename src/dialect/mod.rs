//! Planning: SQL per database. One [`Dialect`] implementation per database, one method per
//! operation, and the one dispatch from an operation to its method ([`plan_op`]). Pure: nothing
//! here talks to a database. What planning produces is in [`planned`].

pub mod common;
pub mod mysql;
pub mod planned;
pub mod postgres;
pub mod qualify;
pub mod recovery;
pub mod rehearsal;
pub mod sqlite;
pub mod table_body;

use std::fmt;

use serde::Serialize;

use crate::ops::*;
use crate::plan::Plan;
use crate::vocab::TableName;
use planned::{PlannedOp, PlannedStep};

/// The databases bellows knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DialectKind {
    Postgres,
    Sqlite,
    /// MySQL and MariaDB (one dialect: MariaDB 10.6+ is what it is tested on; `mariadb` is
    /// accepted as a name for it).
    #[value(alias = "mariadb")]
    Mysql,
}

impl DialectKind {
    pub fn name(self) -> &'static str {
        match self {
            DialectKind::Postgres => "postgres",
            DialectKind::Sqlite => "sqlite",
            DialectKind::Mysql => "mysql",
        }
    }

    /// The dialect a database URL speaks, if bellows knows it.
    pub fn from_url(url: &str) -> Option<DialectKind> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(DialectKind::Postgres),
            "sqlite" => Some(DialectKind::Sqlite),
            "mysql" | "mariadb" => Some(DialectKind::Mysql),
            _ => None,
        }
    }

    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            DialectKind::Postgres => &postgres::Postgres,
            DialectKind::Sqlite => &sqlite::Sqlite,
            DialectKind::Mysql => &mysql::Mysql,
        }
    }
}

impl fmt::Display for DialectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operation (or a form of it) that a database cannot do, with the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{op} is not supported on {dialect}: {why}")]
pub struct Unsupported {
    pub dialect: DialectKind,
    pub op: &'static str,
    pub why: String,
}

/// Why a database without schemas to version refuses the operations that need a version
/// schema, with the way that works everywhere.
pub fn no_version_schemas(dialect: DialectKind, op: &'static str) -> Unsupported {
    Unsupported {
        dialect,
        op,
        why: format!(
            "{dialect} has no schemas of views for the new application to use while the old one runs on the old names; \
             rename or retype the copy-and-sync way instead (`bellows new --template rename-column --dialect {dialect}`: \
             add_column, sync_column both ways, backfill, drop_column in contract)"
        ),
    }
}

/// Standard SQL identifier quoting: `"name"`, with embedded `"` doubled.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A SQL string literal: `'text'`, with embedded `'` doubled.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// How one database spells each operation.
pub trait Dialect: Send + Sync {
    fn kind(&self) -> DialectKind;

    /// How long the server really waits for a lock when the plan's `lock_timeout` is
    /// `lock_timeout` (MySQL counts whole seconds).
    fn lock_wait(&self, lock_timeout: std::time::Duration) -> std::time::Duration {
        lock_timeout
    }

    /// A quoted identifier.
    fn ident(&self, ident: &str) -> String {
        quote_ident(ident)
    }

    /// A quoted, possibly schema-qualified table name.
    fn table(&self, table: &TableName) -> String {
        match &table.schema {
            Some(schema) => format!("{}.{}", self.ident(schema), self.ident(&table.name)),
            None => self.ident(&table.name),
        }
    }

    fn create_table(&self, op: &CreateTable) -> Result<PlannedOp, Unsupported>;
    fn add_column(&self, op: &AddColumn) -> Result<PlannedOp, Unsupported>;
    fn add_index(&self, op: &AddIndex) -> Result<PlannedOp, Unsupported>;
    fn add_foreign_key(&self, op: &AddForeignKey) -> Result<PlannedOp, Unsupported>;
    fn add_check(&self, op: &AddCheck) -> Result<PlannedOp, Unsupported>;
    fn sync_column(&self, op: &SyncColumn) -> Result<PlannedOp, Unsupported>;
    fn backfill(&self, op: &Backfill) -> Result<PlannedOp, Unsupported>;
    fn set_default(&self, op: &SetDefault) -> Result<PlannedOp, Unsupported>;
    fn drop_default(&self, op: &DropDefault) -> Result<PlannedOp, Unsupported>;
    fn guard(&self, op: &Guard) -> Result<PlannedOp, Unsupported>;
    fn sql(&self, op: &Sql) -> Result<PlannedOp, Unsupported>;
    fn set_not_null(&self, op: &SetNotNull) -> Result<PlannedOp, Unsupported>;
    fn drop_sync(&self, op: &DropSync) -> Result<PlannedOp, Unsupported>;
    fn drop_index(&self, op: &DropIndex) -> Result<PlannedOp, Unsupported>;
    fn drop_constraint(&self, op: &DropConstraint) -> Result<PlannedOp, Unsupported>;
    fn drop_column(&self, op: &DropColumn) -> Result<PlannedOp, Unsupported>;
    fn drop_table(&self, op: &DropTable) -> Result<PlannedOp, Unsupported>;
    fn add_unique(&self, op: &AddUnique) -> Result<PlannedOp, Unsupported>;
    fn add_primary_key(&self, op: &AddPrimaryKey) -> Result<PlannedOp, Unsupported>;
    fn drop_not_null(&self, op: &DropNotNull) -> Result<PlannedOp, Unsupported>;
    fn set_comment(&self, op: &SetComment) -> Result<PlannedOp, Unsupported>;
    fn rename_index(&self, op: &RenameIndex) -> Result<PlannedOp, Unsupported>;
    fn rename_constraint(&self, op: &RenameConstraint) -> Result<PlannedOp, Unsupported>;
    fn set_replica_identity(&self, op: &SetReplicaIdentity) -> Result<PlannedOp, Unsupported>;
    /// The versioned-view operations: refused unless the dialect has version schemas
    /// (PostgreSQL), with the copy-and-sync way to use instead.
    fn rename_column(&self, _op: &RenameColumn) -> Result<PlannedOp, Unsupported> {
        Err(no_version_schemas(self.kind(), "rename_column"))
    }
    fn rename_table(&self, _op: &RenameTable) -> Result<PlannedOp, Unsupported> {
        Err(no_version_schemas(self.kind(), "rename_table"))
    }
    fn change_type(&self, _op: &ChangeType) -> Result<PlannedOp, Unsupported> {
        Err(no_version_schemas(self.kind(), "change_type"))
    }
    /// The version schema of a plan that renames ([`Version`]).
    fn version(&self, _op: &Version) -> Result<PlannedOp, Unsupported> {
        Err(no_version_schemas(
            self.kind(),
            "a version schema (rename_column, rename_table, change_type)",
        ))
    }

    /// The type a value is cast to for text (`CAST(x AS TEXT)`).
    fn text_type(&self) -> &'static str {
        "TEXT"
    }

    /// First statement of a backfill batch: finds the next `limit` keys after `after` (all
    /// from the start when `None`) and up to `until` (inclusive: a parallel backfill's range
    /// end; to the end of the table when `None`) in key order. Returns one row: `scanned` (integer, 0 when the
    /// walk is done) and then, per key column, the batch's last key value as text (`last_0`, …).
    ///
    /// Key values travel as SQL string literals: both PostgreSQL (untyped literal takes the
    /// column's type) and SQLite (column affinity) compare them with the column correctly.
    fn backfill_bounds_sql(
        &self,
        op: &Backfill,
        key: &[String],
        after: Option<&[String]>,
        until: Option<&[String]>,
        limit: u64,
    ) -> String {
        let table = self.table(&op.table);
        let KeySelect {
            cols,
            aliases,
            select,
        } = key_select(self, key);
        let order = cols.join(", ");
        let mut bounds = Vec::new();
        if let Some(values) = after {
            bounds.push(format!("{} > {}", row(&cols), row_literals(values)));
        }
        if let Some(values) = until {
            bounds.push(format!("{} <= {}", row(&cols), row_literals(values)));
        }
        let after_clause = if bounds.is_empty() {
            String::new()
        } else {
            format!("\n  WHERE {}", bounds.join(" AND "))
        };
        let qualified = aliases
            .iter()
            .map(|a| format!("batch.{a}"))
            .collect::<Vec<_>>();
        let last = aliases
            .iter()
            .enumerate()
            .map(|(i, a)| {
                // NOTE: ORDER BY `batch.k0`, not `k0`: PostgreSQL names the output column of
                // `CAST(k0 AS TEXT)` "k0" and would sort the text ("99" > "250").
                format!(
                    "(SELECT CAST({a} AS {}) FROM batch ORDER BY {} LIMIT 1) AS last_{i}",
                    self.text_type(),
                    desc(&qualified)
                )
            })
            .collect::<Vec<_>>()
            .join(",\n       ");
        format!(
            "WITH batch AS (\n  SELECT {select} FROM {table}{after_clause}\n  ORDER BY {order}\n  LIMIT {limit}\n)\nSELECT (SELECT count(*) FROM batch) AS scanned,\n       {last}"
        )
    }

    /// Second statement of a backfill batch: applies `set` to the rows with key in
    /// (`after`, `upto`] that match the plan's `where`.
    fn backfill_update_sql(
        &self,
        op: &Backfill,
        key: &[String],
        after: Option<&[String]>,
        upto: &[String],
    ) -> String {
        let table = self.table(&op.table);
        let cols = key.iter().map(|k| self.ident(k)).collect::<Vec<_>>();
        let set = set_list(self, op, ",\n    ");
        let mut conditions = Vec::new();
        if let Some(values) = after {
            conditions.push(format!("{} > {}", row(&cols), row_literals(values)));
        }
        conditions.push(format!("{} <= {}", row(&cols), row_literals(upto)));
        if let Some(filter) = &op.filter {
            conditions.push(format!("({filter})"));
        }
        format!(
            "UPDATE {table}\nSET {set}\nWHERE {}",
            conditions.join("\n  AND ")
        )
    }

    /// A whole backfill batch as ONE statement, when the dialect has one: the next `limit` keys
    /// after `after`, the update of their range (with the plan's `where`) and the checkpoint
    /// (`checkpoint`: the ledger row to write, rows done before this batch) — one round trip,
    /// one transaction with the checkpoint. Returns one row: `scanned`, `updated`, then the
    /// batch's last key as text (`last_0`, …; NULL when `scanned` is 0, and then nothing was
    /// written). `None`: the engine runs [`Dialect::backfill_bounds_sql`], then
    /// [`Dialect::backfill_update_sql`], then its own checkpoint.
    fn backfill_batch_sql(
        &self,
        _op: &Backfill,
        _key: &[String],
        _after: Option<&[String]>,
        _limit: u64,
        _checkpoint: &BatchCheckpoint,
    ) -> Option<String> {
        None
    }

    /// Batches of `limit` rows after `after`, one after another on the server for about
    /// `budget`, each its own transaction with its checkpoint, when the dialect can; the outcome
    /// is left where the engine's backend reads it (PostgreSQL: the session setting
    /// `bellows.backfill_loop`).
    fn backfill_loop_sql(
        &self,
        _op: &Backfill,
        _key: &[String],
        _after: &[String],
        _limit: u64,
        _checkpoint: &BatchCheckpoint,
        _budget: std::time::Duration,
    ) -> Option<String> {
        None
    }

    /// Counts the rows the backfill will touch (for `plan` with a database and for progress).
    fn backfill_count_sql(&self, op: &Backfill) -> String {
        let table = self.table(&op.table);
        match &op.filter {
            Some(filter) => format!("SELECT count(*) FROM {table} WHERE ({filter})"),
            None => format!("SELECT count(*) FROM {table}"),
        }
    }
}

/// The SQL `op` runs on `dialect`, and its undo: the one place an operation meets a dialect.
pub fn plan_op(op: &Op, dialect: &dyn Dialect) -> Result<PlannedOp, Unsupported> {
    match op {
        Op::CreateTable(op) => dialect.create_table(op),
        Op::AddColumn(op) => dialect.add_column(op),
        Op::AddIndex(op) => dialect.add_index(op),
        Op::AddForeignKey(op) => dialect.add_foreign_key(op),
        Op::AddCheck(op) => dialect.add_check(op),
        Op::SyncColumn(op) => dialect.sync_column(op),
        Op::Backfill(op) => dialect.backfill(op),
        Op::SetDefault(op) => dialect.set_default(op),
        Op::DropDefault(op) => dialect.drop_default(op),
        Op::Guard(op) => dialect.guard(op),
        Op::Sql(op) => dialect.sql(op),
        Op::SetNotNull(op) => dialect.set_not_null(op),
        Op::DropSync(op) => dialect.drop_sync(op),
        Op::DropIndex(op) => dialect.drop_index(op),
        Op::DropConstraint(op) => dialect.drop_constraint(op),
        Op::DropColumn(op) => dialect.drop_column(op),
        Op::DropTable(op) => dialect.drop_table(op),
        Op::AddUnique(op) => dialect.add_unique(op),
        Op::AddPrimaryKey(op) => dialect.add_primary_key(op),
        Op::DropNotNull(op) => dialect.drop_not_null(op),
        Op::SetComment(op) => dialect.set_comment(op),
        Op::RenameIndex(op) => dialect.rename_index(op),
        Op::RenameConstraint(op) => dialect.rename_constraint(op),
        Op::SetReplicaIdentity(op) => dialect.set_replica_identity(op),
        Op::RenameColumn(op) => dialect.rename_column(op),
        Op::RenameTable(op) => dialect.rename_table(op),
        Op::ChangeType(op) => dialect.change_type(op),
        Op::Version(op) => dialect.version(op),
    }
}

/// Plans every step of `plan` for `dialect`, in execution order (phase by phase).
pub fn plan_steps(plan: &Plan, dialect: &dyn Dialect) -> Result<Vec<PlannedStep>, Unsupported> {
    let mut steps: Vec<_> = plan.steps.iter().collect();
    steps.sort_by_key(|s| (s.phase, s.index));
    steps
        .into_iter()
        .map(|step| {
            Ok(PlannedStep {
                phase: step.phase,
                index: step.index,
                op: step.op.name(),
                target: step.op.target(),
                planned: plan_op(&step.op, dialect)?,
            })
        })
        .collect()
}

/// The ledger row a one-statement backfill batch writes its checkpoint to. The ledger belongs
/// to the engine, which passes its table and the row's key in. Each field is SQL written as is
/// (the engine passes a table name and literals: `bellows.steps`, `'users_email_verified'`, `0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCheckpoint {
    /// The ledger's table of steps, with columns `plan`, `phase`, `step_index`, `checkpoint`
    /// (a JSON array of the last key's values as text) and `rows_done`.
    pub ledger: String,
    pub plan: String,
    pub phase: String,
    pub step_index: String,
    /// Rows walked before this batch, as an SQL expression (a number, or a placeholder).
    pub rows_done: String,
    /// A parallel backfill's range: the batch stops at the range's end and its checkpoint is
    /// the range's own row of `ledger` (which then has a `range_index` column). `None`: the
    /// whole key, the step's row.
    pub range: Option<RangeCheckpoint>,
}

/// One range of a parallel backfill, as a batch sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCheckpoint {
    /// The range's number within the step (its ledger row).
    pub index: usize,
    /// The range's last key (inclusive), as text; `None`: to the end of the table.
    pub until: Option<Vec<String>>,
}

/// A backfill key as a batch selects it: the quoted columns, their aliases `k0, k1, …` and the
/// select list `"id" AS k0, …`.
pub(crate) struct KeySelect {
    pub cols: Vec<String>,
    pub aliases: Vec<String>,
    pub select: String,
}

pub(crate) fn key_select(dialect: &(impl Dialect + ?Sized), key: &[String]) -> KeySelect {
    let cols = key.iter().map(|k| dialect.ident(k)).collect::<Vec<_>>();
    let aliases = (0..key.len()).map(|i| format!("k{i}")).collect::<Vec<_>>();
    let select = cols
        .iter()
        .zip(&aliases)
        .map(|(c, a)| format!("{c} AS {a}"))
        .collect::<Vec<_>>()
        .join(", ");
    KeySelect {
        cols,
        aliases,
        select,
    }
}

/// `(a, b)` — or `a` for a single column, so that plain indexes are used everywhere.
pub(crate) fn row(items: &[String]) -> String {
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("({})", items.join(", "))
    }
}

pub(crate) fn row_literals(values: &[String]) -> String {
    row(&values.iter().map(|v| quote_literal(v)).collect::<Vec<_>>())
}

/// A backfill's `SET` list, `"col" = (expr)`, items joined by `separator`.
pub(crate) fn set_list<D: Dialect + ?Sized>(dialect: &D, op: &Backfill, separator: &str) -> String {
    op.set
        .iter()
        .map(|(column, expr)| format!("{} = ({expr})", dialect.ident(column)))
        .collect::<Vec<_>>()
        .join(separator)
}

/// The ledger condition naming a parallel backfill's range row (empty for the step's row).
pub(crate) fn range_row(checkpoint: &BatchCheckpoint) -> String {
    checkpoint
        .range
        .as_ref()
        .map(|r| format!(" AND range_index = {}", r.index))
        .unwrap_or_default()
}

pub(crate) fn desc(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("{i} DESC"))
        .collect::<Vec<_>>()
        .join(", ")
}
