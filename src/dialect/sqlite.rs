//! SQLite: SQL for every operation.

use super::{Dialect, DialectKind, Unsupported};
use crate::ops::planned::PlannedOp;
use crate::ops::*;

pub struct Sqlite;

fn todo_op(op: &'static str) -> Result<PlannedOp, Unsupported> {
    Err(Unsupported {
        dialect: DialectKind::Sqlite,
        op,
        why: "not written yet".into(),
    })
}

impl Dialect for Sqlite {
    fn kind(&self) -> DialectKind {
        DialectKind::Sqlite
    }

    fn create_table(&self, _op: &CreateTable) -> Result<PlannedOp, Unsupported> {
        todo_op("create_table")
    }

    fn add_column(&self, _op: &AddColumn) -> Result<PlannedOp, Unsupported> {
        todo_op("add_column")
    }

    fn add_index(&self, _op: &AddIndex) -> Result<PlannedOp, Unsupported> {
        todo_op("add_index")
    }

    fn add_foreign_key(&self, _op: &AddForeignKey) -> Result<PlannedOp, Unsupported> {
        todo_op("add_foreign_key")
    }

    fn add_check(&self, _op: &AddCheck) -> Result<PlannedOp, Unsupported> {
        todo_op("add_check")
    }

    fn sync_column(&self, _op: &SyncColumn) -> Result<PlannedOp, Unsupported> {
        todo_op("sync_column")
    }

    fn backfill(&self, _op: &Backfill) -> Result<PlannedOp, Unsupported> {
        todo_op("backfill")
    }

    fn set_default(&self, _op: &SetDefault) -> Result<PlannedOp, Unsupported> {
        todo_op("set_default")
    }

    fn drop_default(&self, _op: &DropDefault) -> Result<PlannedOp, Unsupported> {
        todo_op("drop_default")
    }

    fn guard(&self, _op: &Guard) -> Result<PlannedOp, Unsupported> {
        todo_op("guard")
    }

    fn sql(&self, _op: &Sql) -> Result<PlannedOp, Unsupported> {
        todo_op("sql")
    }

    fn set_not_null(&self, _op: &SetNotNull) -> Result<PlannedOp, Unsupported> {
        todo_op("set_not_null")
    }

    fn drop_sync(&self, _op: &DropSync) -> Result<PlannedOp, Unsupported> {
        todo_op("drop_sync")
    }

    fn drop_index(&self, _op: &DropIndex) -> Result<PlannedOp, Unsupported> {
        todo_op("drop_index")
    }

    fn drop_constraint(&self, _op: &DropConstraint) -> Result<PlannedOp, Unsupported> {
        todo_op("drop_constraint")
    }

    fn drop_column(&self, _op: &DropColumn) -> Result<PlannedOp, Unsupported> {
        todo_op("drop_column")
    }

    fn drop_table(&self, _op: &DropTable) -> Result<PlannedOp, Unsupported> {
        todo_op("drop_table")
    }
}
