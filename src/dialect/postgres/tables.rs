//! PostgreSQL tables: `create_table` and `drop_table`.

use crate::dialect::common::{column_list, plain};
use crate::dialect::planned::{Action, Lock, LockPolicy, PlannedOp, Statement, Undo};
use crate::dialect::{Dialect, Unsupported};
use crate::ops::*;

use super::Postgres;

pub(super) fn create_table(pg: &Postgres, op: &CreateTable) -> Result<PlannedOp, Unsupported> {
    let mut lines: Vec<String> = op
        .columns
        .iter()
        .map(|c| {
            let mut line = format!("{} {}", pg.ident(&c.name), c.type_);
            if let Some(default) = &c.default {
                line.push_str(&format!(" DEFAULT {default}"));
            }
            if !c.nullable {
                line.push_str(" NOT NULL");
            }
            line
        })
        .collect();
    let key = op.key_columns();
    if !key.is_empty() {
        lines.push(format!("PRIMARY KEY ({})", column_list(pg, &key)));
    }
    let sql = format!(
        "CREATE TABLE {} (\n  {}\n)",
        pg.table(&op.table),
        lines.join(",\n  ")
    );
    // NOTE: a new table is invisible to other sessions until commit: nothing waits on it.
    let create = Statement {
        table: Some(op.table.clone()),
        policy: LockPolicy::Plain,
        ..plain(sql)
    };
    Ok(PlannedOp {
        actions: vec![Action::Execute(create)],
        undo: Undo::Actions(vec![Action::Execute(Statement::ddl(
            format!("DROP TABLE IF EXISTS {}", pg.table(&op.table)),
            Lock::AccessExclusive,
            &op.table,
        ))]),
        notes: vec!["a new table: no other session uses it yet, so nothing waits".into()],
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
