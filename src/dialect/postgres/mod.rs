//! PostgreSQL: SQL for every operation, with the lock each statement takes.
//!
//! Lock modes were checked against `pg_locks` on PostgreSQL 15 (see `tests/it/dialect_sql.rs`).
//! Everything that would block reads or writes is a short statement under `lock_timeout`;
//! everything that scans a table either holds a lock that blocks neither (`CONCURRENTLY`,
//! `VALIDATE CONSTRAINT`) or is a guard that reads.

mod backfill;
mod columns;
mod comments;
mod constraints;
mod indexes;
mod keys;
mod new_row;
mod renames;
mod replica;
mod sync;
mod sync_names;
mod sync_probe;
mod tables;
pub mod versions;

use crate::dialect::common;
use crate::dialect::planned::PlannedOp;
use crate::dialect::{quote_literal, BatchCheckpoint, Dialect, DialectKind, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

pub struct Postgres;

/// The session setting a backfill loop block (`Dialect::backfill_loop_sql`) leaves its outcome
/// in: a JSON array `[batches, rows_done, updated, [last key as text, …]]`.
pub const BACKFILL_LOOP_STATE: &str = "bellows.backfill_loop";

impl Postgres {
    fn alter(&self, table: &TableName, action: impl AsRef<str>) -> String {
        format!("ALTER TABLE {} {}", self.table(table), action.as_ref())
    }

    /// An object (function, index) named `name` in the schema of `table`, quoted.
    fn in_schema_of(&self, table: &TableName, name: &str) -> String {
        self.table(&TableName {
            schema: table.schema.clone(),
            name: name.to_string(),
        })
    }

    /// `'"billing"."invoices"'::regclass`: the table's oid, resolved as the statements resolve it.
    fn regclass(&self, table: &TableName) -> String {
        format!("{}::regclass", quote_literal(&self.table(table)))
    }
}

impl Dialect for Postgres {
    fn kind(&self) -> DialectKind {
        DialectKind::Postgres
    }

    fn create_table(&self, op: &CreateTable) -> Result<PlannedOp, Unsupported> {
        tables::create_table(self, op)
    }

    fn add_column(&self, op: &AddColumn) -> Result<PlannedOp, Unsupported> {
        columns::add_column(self, op)
    }

    fn add_index(&self, op: &AddIndex) -> Result<PlannedOp, Unsupported> {
        indexes::add_index(self, op)
    }

    fn add_foreign_key(&self, op: &AddForeignKey) -> Result<PlannedOp, Unsupported> {
        constraints::add_foreign_key(self, op)
    }

    fn add_check(&self, op: &AddCheck) -> Result<PlannedOp, Unsupported> {
        constraints::add_check(self, op)
    }

    fn sync_column(&self, op: &SyncColumn) -> Result<PlannedOp, Unsupported> {
        sync::sync_column(self, op)
    }

    fn backfill(&self, op: &Backfill) -> Result<PlannedOp, Unsupported> {
        backfill::backfill(self, op)
    }

    fn backfill_batch_sql(
        &self,
        op: &Backfill,
        key: &[String],
        after: Option<&[String]>,
        limit: u64,
        checkpoint: &BatchCheckpoint,
    ) -> Option<String> {
        backfill::backfill_batch_sql(self, op, key, after, limit, checkpoint)
    }

    fn backfill_loop_sql(
        &self,
        op: &Backfill,
        key: &[String],
        after: &[String],
        limit: u64,
        checkpoint: &BatchCheckpoint,
        budget: std::time::Duration,
    ) -> Option<String> {
        backfill::backfill_loop_sql(self, op, key, after, limit, checkpoint, budget)
    }

    fn set_default(&self, op: &SetDefault) -> Result<PlannedOp, Unsupported> {
        columns::set_default(self, op)
    }

    fn drop_default(&self, op: &DropDefault) -> Result<PlannedOp, Unsupported> {
        columns::drop_default(self, op)
    }

    fn guard(&self, op: &Guard) -> Result<PlannedOp, Unsupported> {
        Ok(common::guard(self, op))
    }

    fn sql(&self, op: &Sql) -> Result<PlannedOp, Unsupported> {
        Ok(common::sql(op))
    }

    fn set_not_null(&self, op: &SetNotNull) -> Result<PlannedOp, Unsupported> {
        columns::set_not_null(self, op)
    }

    fn drop_sync(&self, op: &DropSync) -> Result<PlannedOp, Unsupported> {
        sync::drop_sync(self, op)
    }

    fn drop_index(&self, op: &DropIndex) -> Result<PlannedOp, Unsupported> {
        indexes::drop_index(self, op)
    }

    fn drop_constraint(&self, op: &DropConstraint) -> Result<PlannedOp, Unsupported> {
        constraints::drop_constraint(self, op)
    }

    fn drop_column(&self, op: &DropColumn) -> Result<PlannedOp, Unsupported> {
        columns::drop_column(self, op)
    }

    fn drop_table(&self, op: &DropTable) -> Result<PlannedOp, Unsupported> {
        tables::drop_table(self, op)
    }

    fn add_unique(&self, op: &AddUnique) -> Result<PlannedOp, Unsupported> {
        keys::add_unique(self, op)
    }

    fn add_primary_key(&self, op: &AddPrimaryKey) -> Result<PlannedOp, Unsupported> {
        keys::add_primary_key(self, op)
    }

    fn drop_not_null(&self, op: &DropNotNull) -> Result<PlannedOp, Unsupported> {
        columns::drop_not_null(self, op)
    }

    fn set_comment(&self, op: &SetComment) -> Result<PlannedOp, Unsupported> {
        comments::set_comment(self, op)
    }

    fn rename_index(&self, op: &RenameIndex) -> Result<PlannedOp, Unsupported> {
        renames::rename_index(self, op)
    }

    fn rename_constraint(&self, op: &RenameConstraint) -> Result<PlannedOp, Unsupported> {
        renames::rename_constraint(self, op)
    }

    fn set_replica_identity(&self, op: &SetReplicaIdentity) -> Result<PlannedOp, Unsupported> {
        replica::set_replica_identity(self, op)
    }

    fn rename_column(&self, op: &RenameColumn) -> Result<PlannedOp, Unsupported> {
        versions::rename_column(self, op)
    }

    fn rename_table(&self, op: &RenameTable) -> Result<PlannedOp, Unsupported> {
        versions::rename_table(self, op)
    }

    fn change_type(&self, op: &ChangeType) -> Result<PlannedOp, Unsupported> {
        versions::change_type(self, op)
    }

    fn version(&self, op: &Version) -> Result<PlannedOp, Unsupported> {
        versions::version(self, op)
    }
}
