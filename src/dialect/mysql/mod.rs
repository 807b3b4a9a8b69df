//! MySQL and MariaDB: SQL for every operation, with the lock each statement takes.
//!
//! Every `ALTER TABLE` states its algorithm and lock (`ALGORITHM=INSTANT`, or
//! `ALGORITHM=INPLACE, LOCK=NONE`): a server that cannot do the change that way refuses it with an
//! error instead of silently copying the table under a lock. What neither server can do online
//! (adding a CHECK constraint, partial indexes, index methods other than BTREE/HASH) is refused
//! while planning with the online alternative named. Checked on MariaDB 10.11
//! (`tests/it/engine_mysql.rs`); MySQL 8 is described from its documentation only.
//!
//! DDL is not transactional here: each statement commits on its own, so a phase that fails half
//! way is compensated by the explicit reverse DDL of the steps done, as on PostgreSQL.

mod columns;
mod comments;
mod constraints;
pub mod ranges;
mod shapes;
mod sync;

use crate::dialect::common::{self, plain};
use crate::dialect::planned::{Action, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo};
use crate::dialect::{quote_literal, Dialect, DialectKind, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

pub struct Mysql;

/// `` `name` ``, with embedded backticks doubled.
pub fn quote_backtick(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

/// How an online `ALTER` is allowed to run.
#[derive(Clone, Copy)]
pub(crate) enum Online {
    /// Metadata only: `ALGORITHM=INSTANT`.
    Instant,
    /// Built or rebuilt while reads and writes go on: `ALGORITHM=INPLACE, LOCK=NONE`.
    Inplace,
}

impl Online {
    pub(crate) fn clause(self) -> &'static str {
        match self {
            Online::Instant => "ALGORITHM=INSTANT",
            Online::Inplace => "ALGORITHM=INPLACE, LOCK=NONE",
        }
    }
}

impl Mysql {
    pub(super) fn unsupported(&self, op: &'static str, why: impl Into<String>) -> Unsupported {
        Unsupported {
            dialect: DialectKind::Mysql,
            op,
            why: why.into(),
        }
    }

    /// `ALTER TABLE t <action>, ALGORITHM=…`.
    pub(crate) fn alter(
        &self,
        table: &TableName,
        action: impl AsRef<str>,
        online: Online,
    ) -> String {
        format!(
            "ALTER TABLE {} {}, {}",
            self.table(table),
            action.as_ref(),
            online.clause()
        )
    }

    /// An online `ALTER` as a statement: a short wait for the metadata lock, retried.
    pub(crate) fn online(
        &self,
        table: &TableName,
        action: impl AsRef<str>,
        online: Online,
    ) -> Statement {
        let effect = match online {
            Online::Instant => TableEffect::None,
            Online::Inplace => TableEffect::Scan,
        };
        Statement::ddl(self.alter(table, action, online), Lock::Metadata, table).effect(effect)
    }

    /// `TABLE_SCHEMA = … AND TABLE_NAME = …` for `table` in `information_schema`.
    pub(crate) fn where_table(&self, table: &TableName) -> String {
        self.where_table_in("", table)
    }

    /// As [`Mysql::where_table`], the columns qualified by `alias` (`tc.`).
    pub(crate) fn where_table_in(&self, alias: &str, table: &TableName) -> String {
        let schema = match &table.schema {
            Some(schema) => quote_literal(schema),
            None => "DATABASE()".to_string(),
        };
        format!(
            "{alias}TABLE_SCHEMA = {schema} AND {alias}TABLE_NAME = {}",
            quote_literal(&table.name)
        )
    }
}

impl Dialect for Mysql {
    fn kind(&self) -> DialectKind {
        DialectKind::Mysql
    }

    /// NOTE: `lock_wait_timeout` takes whole seconds: the plan's `lock_timeout` is rounded up,
    /// to at least one second.
    fn lock_wait(&self, lock_timeout: std::time::Duration) -> std::time::Duration {
        let millis = u64::try_from(lock_timeout.as_millis()).unwrap_or(u64::MAX);
        std::time::Duration::from_secs(millis.div_ceil(1000).max(1))
    }

    fn ident(&self, ident: &str) -> String {
        quote_backtick(ident)
    }

    fn create_table(&self, op: &CreateTable) -> Result<PlannedOp, Unsupported> {
        let lines = shapes::create_table_body(self, op)?;
        let sql = format!(
            "CREATE TABLE {} (\n  {}\n)",
            self.table(&op.table),
            lines.join(",\n  ")
        );
        let create = Statement {
            table: Some(op.table.clone()),
            ..plain(sql)
        };
        Ok(PlannedOp {
            actions: vec![Action::Execute(create)],
            undo: Undo::Actions(vec![Action::Execute(Statement::ddl(
                format!("DROP TABLE IF EXISTS {}", self.table(&op.table)),
                Lock::Metadata,
                &op.table,
            ))]),
            notes: vec!["a new table: no other session uses it yet, so nothing waits".into()],
        })
    }

    fn add_unique(&self, op: &AddUnique) -> Result<PlannedOp, Unsupported> {
        constraints::add_unique(self, op)
    }

    fn add_primary_key(&self, _op: &AddPrimaryKey) -> Result<PlannedOp, Unsupported> {
        Err(shapes::not_yet(self, "add_primary_key"))
    }

    fn drop_not_null(&self, op: &DropNotNull) -> Result<PlannedOp, Unsupported> {
        columns::drop_not_null(self, op)
    }

    fn set_comment(&self, op: &SetComment) -> Result<PlannedOp, Unsupported> {
        comments::set_comment(self, op)
    }

    fn rename_index(&self, _op: &RenameIndex) -> Result<PlannedOp, Unsupported> {
        Err(shapes::not_yet(self, "rename_index"))
    }

    fn rename_constraint(&self, _op: &RenameConstraint) -> Result<PlannedOp, Unsupported> {
        Err(shapes::not_yet(self, "rename_constraint"))
    }

    fn set_replica_identity(&self, _op: &SetReplicaIdentity) -> Result<PlannedOp, Unsupported> {
        Err(shapes::not_yet(self, "set_replica_identity"))
    }

    fn add_column(&self, op: &AddColumn) -> Result<PlannedOp, Unsupported> {
        columns::add_column(self, op)
    }

    fn add_index(&self, op: &AddIndex) -> Result<PlannedOp, Unsupported> {
        constraints::add_index(self, op)
    }

    fn add_foreign_key(&self, op: &AddForeignKey) -> Result<PlannedOp, Unsupported> {
        constraints::add_foreign_key(self, op)
    }

    fn add_check(&self, op: &AddCheck) -> Result<PlannedOp, Unsupported> {
        Err(self.unsupported(
            "add_check",
            format!(
                "MySQL and MariaDB check every existing row while adding a CHECK constraint and can only do it by copying {} under a lock (ALGORITHM=COPY). Online alternative: a `guard` query that counts the rows violating `{}` plus a BEFORE INSERT/UPDATE trigger (a `sql` step) for new writes; or, knowing it blocks writes for the whole copy, a `sql` step with the ALTER",
                op.table, op.check
            ),
        ))
    }

    fn sync_column(&self, op: &SyncColumn) -> Result<PlannedOp, Unsupported> {
        sync::sync_column(self, op)
    }

    fn backfill(&self, op: &Backfill) -> Result<PlannedOp, Unsupported> {
        let mut planned = common::backfill(self, op);
        planned.notes.push(
            "each batch's bounds query, update and checkpoint run in one InnoDB transaction; key values are compared as string literals, which MySQL converts to the key column's type".into(),
        );
        Ok(planned)
    }

    // NOTE: MySQL has no `TEXT` cast target; `CHAR` is its text.
    fn text_type(&self) -> &'static str {
        "CHAR"
    }

    fn set_default(&self, op: &SetDefault) -> Result<PlannedOp, Unsupported> {
        Ok(columns::change_default(
            self,
            &op.table,
            &op.column,
            format!("SET DEFAULT {}", op.default),
        ))
    }

    fn drop_default(&self, op: &DropDefault) -> Result<PlannedOp, Unsupported> {
        Ok(columns::change_default(
            self,
            &op.table,
            &op.column,
            "DROP DEFAULT".into(),
        ))
    }

    fn guard(&self, op: &Guard) -> Result<PlannedOp, Unsupported> {
        Ok(common::guard(self, op))
    }

    fn sql(&self, op: &Sql) -> Result<PlannedOp, Unsupported> {
        let mut planned = common::sql(op);
        planned.notes.push(
            "MySQL commits DDL on its own: a DDL statement in a `sql` step is not rolled back with the step's transaction".into(),
        );
        Ok(planned)
    }

    fn set_not_null(&self, op: &SetNotNull) -> Result<PlannedOp, Unsupported> {
        columns::set_not_null(self, op)
    }

    fn drop_sync(&self, op: &DropSync) -> Result<PlannedOp, Unsupported> {
        sync::drop_sync(self, op)
    }

    fn drop_index(&self, op: &DropIndex) -> Result<PlannedOp, Unsupported> {
        constraints::drop_index(self, op)
    }

    fn drop_constraint(&self, op: &DropConstraint) -> Result<PlannedOp, Unsupported> {
        constraints::drop_constraint(self, op)
    }

    fn drop_column(&self, op: &DropColumn) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![Action::Execute(self.online(
                &op.table,
                format!("DROP COLUMN {}", self.ident(&op.column)),
                Online::Instant,
            ))],
            undo: Undo::Irreversible(format!(
                "dropping {}.{} destroys its data",
                op.table, op.column
            )),
            notes: vec![
                "ALGORITHM=INSTANT (MariaDB 10.4+, MySQL 8.0.29+): metadata only; the metadata lock is held for an instant".into(),
                "indexes, foreign keys and triggers that use the column must be gone first".into(),
            ],
        })
    }

    fn drop_table(&self, op: &DropTable) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![Action::Execute(Statement::ddl(
                format!("DROP TABLE {}", self.table(&op.table)),
                Lock::Metadata,
                &op.table,
            ))],
            undo: Undo::Irreversible(format!("dropping {} destroys its data", op.table)),
            notes: vec!["foreign keys that reference the table must be gone first".into()],
        })
    }
}

/// A statement that runs alone under the short metadata-lock wait (triggers, drops).
pub(crate) fn short(sql: String, table: &TableName) -> Statement {
    Statement::ddl(sql, Lock::Metadata, table).policy(LockPolicy::Short)
}
