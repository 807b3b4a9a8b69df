//! SQLite `add_index`: one `CREATE INDEX` under the database write lock; the options only
//! PostgreSQL has are refused.

use crate::dialect::common::index_elements;
use crate::dialect::planned::{Action, PlannedOp, TableEffect, Undo};
use crate::dialect::{Dialect, DialectKind, Unsupported};
use crate::ops::*;

use super::Sqlite;

/// Why SQLite cannot build this index as asked, if it cannot.
fn refusal(op: &AddIndex) -> Option<String> {
    if let Some(method) = op.method.as_deref().filter(|m| *m != "btree") {
        return Some(format!(
            "SQLite indexes are all B-trees; the `{method}` method exists only on PostgreSQL (leave `method` out)"
        ));
    }
    if !op.include.is_empty() {
        return Some("SQLite has no INCLUDE columns (covering indexes list every column as a key); leave `include` out or add the columns to `columns`".into());
    }
    if !op.with.is_empty() {
        return Some("SQLite indexes have no storage parameters; leave `with` out".into());
    }
    if op.tablespace.is_some() {
        return Some("SQLite has no tablespaces; leave `tablespace` out".into());
    }
    op.columns.iter().find_map(|element| {
        element.postgres_only_option().map(|key| match key {
            "opclass" => "SQLite has no operator classes; leave `opclass` out (a `collate` may do what you need)".to_string(),
            _ => "SQLite indexes cannot say where NULLs sort (NULLs always sort first ascending); leave `nulls` out".to_string(),
        })
    })
}

pub(super) fn add_index(sqlite: &Sqlite, op: &AddIndex) -> Result<PlannedOp, Unsupported> {
    if let Some(why) = refusal(op) {
        return Err(Unsupported {
            dialect: DialectKind::Sqlite,
            op: "add_index",
            why,
        });
    }
    let name = op.index_name();
    let index = sqlite.in_schema_of(&op.table, &name);
    let mut sql = format!(
        "CREATE {}INDEX {index} ON {} ({})",
        if op.unique { "UNIQUE " } else { "" },
        sqlite.ident(&op.table.name),
        index_elements(sqlite, &op.columns)
    );
    if let Some(predicate) = &op.predicate {
        sql.push_str(&format!(" WHERE {predicate}"));
    }
    Ok(PlannedOp {
        actions: vec![Action::Execute(
            sqlite.write(sql, &op.table).effect(TableEffect::Scan),
        )],
        undo: Undo::Actions(vec![Action::Execute(
            sqlite.write(format!("DROP INDEX IF EXISTS {index}"), &op.table),
        )]),
        notes: vec![
            "SQLite has no CREATE INDEX CONCURRENTLY: the index is built in one transaction holding the database write lock; writers wait for the whole build, readers continue in WAL mode".into(),
        ],
    })
}
