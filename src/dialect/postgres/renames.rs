//! PostgreSQL renames of what no application names: `rename_index` and `rename_constraint`.
//! Catalog-only and instant; each undo renames back.

use crate::dialect::planned::{Action, Lock, PlannedOp, Statement, Undo};
use crate::dialect::{Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

use super::Postgres;

pub(super) fn rename_index(pg: &Postgres, op: &RenameIndex) -> Result<PlannedOp, Unsupported> {
    let renamed = TableName {
        schema: op.name.schema.clone(),
        name: op.to.clone(),
    };
    // NOTE: renaming an index locks the index (SHARE UPDATE EXCLUSIVE), not its table.
    let rename = |from: &TableName, to: &str, if_exists: bool| Statement {
        table: None,
        ..Statement::ddl(
            format!(
                "ALTER INDEX {}{} RENAME TO {}",
                if if_exists { "IF EXISTS " } else { "" },
                pg.table(from),
                pg.ident(to)
            ),
            Lock::ShareUpdateExclusive,
            from,
        )
    };
    Ok(PlannedOp {
        actions: vec![Action::Execute(rename(&op.name, &op.to, false))],
        undo: Undo::Actions(vec![Action::Execute(rename(
            &renamed,
            &op.name.name,
            true,
        ))]),
        notes: vec![
            "catalog-only: SHARE UPDATE EXCLUSIVE on the index blocks neither reads nor writes of its table".into(),
        ],
    })
}

pub(super) fn rename_constraint(
    pg: &Postgres,
    op: &RenameConstraint,
) -> Result<PlannedOp, Unsupported> {
    let rename = |from: &str, to: &str| {
        Statement::ddl(
            pg.alter(
                &op.table,
                format!("RENAME CONSTRAINT {} TO {}", pg.ident(from), pg.ident(to)),
            ),
            Lock::AccessExclusive,
            &op.table,
        )
    };
    Ok(PlannedOp {
        actions: vec![Action::Execute(rename(&op.name, &op.to))],
        undo: Undo::Actions(vec![Action::Execute(rename(&op.to, &op.name))]),
        notes: vec![
            "catalog-only: the lock is held only for an instant (a unique or primary key constraint's index is renamed with it)".into(),
        ],
    })
}
