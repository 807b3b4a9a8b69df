//! PostgreSQL indexes: `add_index` and `drop_index`, both CONCURRENTLY.

use crate::dialect::common::{column_list, index_elements, storage_parameter_value};
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Special, Statement, TableEffect,
    Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

use super::Postgres;

pub(super) fn add_index(pg: &Postgres, op: &AddIndex) -> Result<PlannedOp, Unsupported> {
    let name = op.index_name();
    let index = pg.in_schema_of(&op.table, &name);
    let mut sql = format!(
        "CREATE {}INDEX CONCURRENTLY {} ON {}",
        if op.unique { "UNIQUE " } else { "" },
        pg.ident(&name),
        pg.table(&op.table)
    );
    if let Some(method) = &op.method {
        sql.push_str(&format!(" USING {method}"));
    }
    sql.push_str(&format!(" ({})", index_elements(pg, &op.columns)));
    if !op.include.is_empty() {
        sql.push_str(&format!(" INCLUDE ({})", column_list(pg, &op.include)));
    }
    if !op.with.is_empty() {
        let parameters = op
            .with
            .iter()
            .map(|(name, value)| format!("{name} = {}", storage_parameter_value(value)))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(" WITH ({parameters})"));
    }
    if let Some(tablespace) = &op.tablespace {
        sql.push_str(&format!(" TABLESPACE {}", pg.ident(tablespace)));
    }
    if let Some(predicate) = &op.predicate {
        sql.push_str(&format!(" WHERE {predicate}"));
    }
    let create = Statement::ddl(sql, Lock::ShareUpdateExclusive, &op.table)
        .effect(TableEffect::Scan)
        .outside_transaction()
        .policy(LockPolicy::Long)
        .special(Special::CreateIndexConcurrently {
            index: index.clone(),
        });
    let drop = Statement::ddl(
        format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"),
        Lock::ShareUpdateExclusive,
        &op.table,
    )
    .outside_transaction()
    .policy(LockPolicy::Long)
    .special(Special::Concurrently);
    Ok(PlannedOp {
        actions: vec![Action::Execute(create)],
        undo: Undo::Actions(vec![Action::Execute(drop)]),
        notes: vec![
            "CONCURRENTLY: reads and writes continue during the build; it waits for transactions older than itself to finish".into(),
            "an INVALID index left by a failed attempt is dropped before retrying".into(),
        ],
    })
}

pub(super) fn drop_index(pg: &Postgres, op: &DropIndex) -> Result<PlannedOp, Unsupported> {
    // NOTE: an index lives in its table's schema; an unqualified name takes the table's.
    let index_name = TableName {
        schema: op
            .name
            .schema
            .clone()
            .or_else(|| op.table.as_ref().and_then(|t| t.schema.clone())),
        name: op.name.name.clone(),
    };
    let index = pg.table(&index_name);
    let capture = Capture {
        name: "index_definition",
        description: format!("the definition of index {index_name}, as CREATE INDEX CONCURRENTLY"),
        query: format!(
            "SELECT regexp_replace(pg_get_indexdef(i.indexrelid),\n         '^CREATE (UNIQUE )?INDEX ', 'CREATE \\1INDEX CONCURRENTLY ')\nFROM pg_index i\nWHERE i.indexrelid = {}::regclass",
            quote_literal(&index)
        ),
        missing: None,
    };
    let drop = Statement {
        sql: format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"),
        lock: Lock::ShareUpdateExclusive,
        table: op.table.clone(),
        effect: TableEffect::None,
        transaction: false,
        policy: LockPolicy::Long,
        special: Some(Special::Concurrently),
    };
    let restore = ExecuteSaved {
        name: "index_definition",
        description: format!("rebuild index {index_name} concurrently from its saved definition"),
        lock: Lock::ShareUpdateExclusive,
        table: op.table.clone(),
        effect: TableEffect::Scan,
        transaction: false,
        policy: LockPolicy::Long,
        special: Some(Special::CreateIndexConcurrently { index }),
    };
    Ok(PlannedOp {
        actions: vec![Action::Capture(capture), Action::Execute(drop)],
        undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
        notes: vec![
            "CONCURRENTLY: reads and writes continue; it waits for transactions that use the index to finish".into(),
            "an index that backs a constraint (primary key, unique constraint) cannot be dropped this way: use drop_constraint".into(),
        ],
    })
}
