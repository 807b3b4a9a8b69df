//! PostgreSQL tables: `create_table` and `drop_table`.

use crate::dialect::common::plain;
use crate::dialect::planned::{Action, Lock, LockPolicy, PlannedOp, Statement, Undo};
use crate::dialect::table_body::{table_body, BodyStyle};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;

use super::Postgres;

pub(super) fn create_table(pg: &Postgres, op: &CreateTable) -> Result<PlannedOp, Unsupported> {
    let style = BodyStyle {
        dialect: pg,
        referenced: &|table| pg.table(table),
        default: &|default| format!("DEFAULT {default}"),
    };
    let sql = format!(
        "CREATE TABLE {} (\n  {}\n)",
        pg.table(&op.table),
        table_body(&style, op).join(",\n  ")
    );
    // NOTE: a new table is invisible to other sessions until commit: nothing waits on it.
    let new_table = |sql: String| Statement {
        table: Some(op.table.clone()),
        policy: LockPolicy::Plain,
        ..plain(sql)
    };
    let mut actions = vec![Action::Execute(new_table(sql))];
    let table = pg.table(&op.table);
    if let Some(comment) = &op.comment {
        actions.push(Action::Execute(new_table(format!(
            "COMMENT ON TABLE {table} IS {}",
            quote_literal(comment)
        ))));
    }
    for column in &op.columns {
        if let Some(comment) = &column.comment {
            actions.push(Action::Execute(new_table(format!(
                "COMMENT ON COLUMN {table}.{} IS {}",
                pg.ident(&column.name),
                quote_literal(comment)
            ))));
        }
    }
    let mut notes = vec!["a new table: no other session uses it yet, so nothing waits".into()];
    if op.has_comments() {
        notes.push("the comments are set in the same transaction as CREATE TABLE".into());
    }
    Ok(PlannedOp {
        actions,
        undo: Undo::Actions(vec![Action::Execute(Statement::ddl(
            format!("DROP TABLE IF EXISTS {table}"),
            Lock::AccessExclusive,
            &op.table,
        ))]),
        notes,
    })
}

pub(super) fn drop_table(pg: &Postgres, op: &DropTable) -> Result<PlannedOp, Unsupported> {
    Ok(PlannedOp {
        actions: vec![Action::Execute(Statement::ddl(
            format!("DROP TABLE {}", pg.table(&op.table)),
            Lock::AccessExclusive,
            &op.table,
        ))],
        undo: Undo::Irreversible(format!("dropping {} destroys its data", op.table)),
        notes: vec![
            "views and foreign keys that use the table must be gone first (no CASCADE)".into(),
        ],
    })
}
