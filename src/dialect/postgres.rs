//! PostgreSQL: SQL for every operation.

use super::{Dialect, DialectKind, Unsupported};
use crate::ops::guard::GuardCheck;
use crate::ops::planned::{
    Action, GuardQuery, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::ops::*;

pub struct Postgres;

fn todo_op(op: &'static str) -> Result<PlannedOp, Unsupported> {
    Err(Unsupported {
        dialect: DialectKind::Postgres,
        op,
        why: "not written yet".into(),
    })
}

impl Dialect for Postgres {
    fn kind(&self) -> DialectKind {
        DialectKind::Postgres
    }

    fn create_table(&self, _op: &CreateTable) -> Result<PlannedOp, Unsupported> {
        todo_op("create_table")
    }

    // STOPGAP (engine branch): minimal add_column, guard and sql so the engine can be tested
    // before the dialect branch lands; the dialect helper's versions replace these at merge.
    fn add_column(&self, op: &AddColumn) -> Result<PlannedOp, Unsupported> {
        let table = self.table(&op.table);
        let column = self.ident(&op.column);
        let mut definition = format!("{column} {}", op.type_);
        if !op.nullable {
            definition.push_str(" NOT NULL");
        }
        if let Some(default) = &op.default {
            definition.push_str(&format!(" DEFAULT {default}"));
        }
        Ok(PlannedOp {
            actions: vec![Action::Execute(Statement::ddl(
                format!("ALTER TABLE {table} ADD COLUMN {definition}"),
                Lock::AccessExclusive,
                &op.table,
            ))],
            undo: Undo::Actions(vec![Action::Execute(Statement::ddl(
                format!("ALTER TABLE {table} DROP COLUMN IF EXISTS {column}"),
                Lock::AccessExclusive,
                &op.table,
            ))]),
            notes: Vec::new(),
        })
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

    fn guard(&self, op: &Guard) -> Result<PlannedOp, Unsupported> {
        let query = match &op.check {
            GuardCheck::NullCount { table, column } => GuardQuery {
                description: format!("no NULL left in {table}.{column}"),
                query: format!(
                    "SELECT count(*) FROM {} WHERE {} IS NULL",
                    self.table(table),
                    self.ident(column)
                ),
                expect: crate::ops::planned::Expect::Integer(0),
            },
            GuardCheck::Query { query, expect } => GuardQuery {
                description: "the plan's query".into(),
                query: query.clone(),
                expect: *expect,
            },
        };
        Ok(PlannedOp {
            actions: vec![Action::Guard(query)],
            undo: Undo::Nothing("a guard changes nothing".into()),
            notes: Vec::new(),
        })
    }

    fn sql(&self, op: &Sql) -> Result<PlannedOp, Unsupported> {
        let statement = |text: &str| Statement {
            sql: text.to_string(),
            lock: Lock::None,
            table: None,
            effect: TableEffect::None,
            transaction: op.transaction,
            policy: if op.transaction {
                LockPolicy::Short
            } else {
                LockPolicy::Long
            },
            special: None,
        };
        Ok(PlannedOp {
            actions: vec![Action::Execute(statement(&op.up))],
            undo: match &op.down {
                Some(down) => Undo::Actions(vec![Action::Execute(statement(down))]),
                None => Undo::Irreversible("the sql step has no `down`".into()),
            },
            notes: Vec::new(),
        })
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
