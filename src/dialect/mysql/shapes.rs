//! What MySQL and MariaDB make of the richer shapes of `create_table`, `add_index` and
//! `add_foreign_key` (named constraints, index elements, foreign key options), and the
//! operations bellows does not run there yet — each refused with the reason and the way to get
//! the same change.

use crate::dialect::common::foreign_key_actions;
use crate::dialect::table_body::{table_body, BodyStyle};
use crate::dialect::{Dialect, Unsupported};
use crate::ops::add_foreign_key::ForeignKeyActions;
use crate::ops::add_index::{IndexElement, IndexTarget};
use crate::ops::create_table::ConstraintKind;
use crate::ops::*;

use super::Mysql;

/// ` ON UPDATE … ON DELETE …` for a foreign key, or why InnoDB cannot honour the options.
pub(super) fn foreign_key_clauses(
    my: &Mysql,
    op: &'static str,
    actions: &ForeignKeyActions,
) -> Result<String, Unsupported> {
    if actions.deferrable || actions.initially.is_some() {
        return Err(my.unsupported(
            op,
            "InnoDB checks every foreign key at once, row by row: there are no deferrable constraints; leave `deferrable` and `initially` out",
        ));
    }
    if actions.match_.as_deref() == Some("full") {
        return Err(my.unsupported(
            op,
            "InnoDB parses MATCH FULL but ignores it (a key with a NULL is not checked); leave `match` out, or add a guard that the key columns are all NULL or all set",
        ));
    }
    Ok(foreign_key_actions(actions))
}

/// The parenthesised element list of an index, or why InnoDB cannot build it.
pub(super) fn index_elements(my: &Mysql, op: &AddIndex) -> Result<String, Unsupported> {
    let refuse = |why: String| Err(my.unsupported("add_index", why));
    if !op.include.is_empty() {
        return refuse("InnoDB has no INCLUDE columns (every secondary index already carries the primary key); add the columns to `columns`, or leave `include` out".into());
    }
    if !op.with.is_empty() || op.tablespace.is_some() {
        return refuse("`with` and `tablespace` are PostgreSQL storage settings; leave them out on MySQL/MariaDB".into());
    }
    let mut parts = Vec::with_capacity(op.columns.len());
    for element in &op.columns {
        parts.push(element_sql(my, element)?);
    }
    Ok(parts.join(", "))
}

fn element_sql(my: &Mysql, element: &IndexElement) -> Result<String, Unsupported> {
    let refuse = |why: String| Err(my.unsupported("add_index", why));
    let mut out = match &element.target {
        IndexTarget::Column(column) => my.ident(column),
        IndexTarget::Expression(expression) => {
            return refuse(format!(
                "MariaDB has no expression indexes (`{expression}`); add a generated column with the expression (`add_column` with a `sql` step) and index that column"
            ))
        }
    };
    if element.opclass.is_some() || element.nulls.is_some() {
        return refuse(
            "operator classes and NULLS FIRST/LAST are PostgreSQL index options; leave `opclass` and `nulls` out".into(),
        );
    }
    if element.collate.is_some() {
        return refuse(
            "an index element cannot have its own collation on MySQL/MariaDB (the column's collation is used); leave `collate` out".into(),
        );
    }
    if element.order.as_deref() == Some("desc") {
        out.push_str(" DESC");
    }
    Ok(out)
}

/// The lines of a `CREATE TABLE`, or why this table cannot be created as asked.
pub(super) fn create_table_body(my: &Mysql, op: &CreateTable) -> Result<Vec<String>, Unsupported> {
    let refuse = |why: String| Err(my.unsupported("create_table", why));
    if let Some(column) = op.columns.iter().find(|c| c.identity.is_some()) {
        return refuse(format!(
            "MySQL and MariaDB have no identity columns (`identity` on `{}`); write the type as `bigint AUTO_INCREMENT` and make it the primary key",
            column.name
        ));
    }
    if op.has_comments() {
        return refuse(
            "comments in `create_table` are not written on MySQL/MariaDB yet; leave `comment` out, or add `COMMENT '…'` in a `sql` step".into(),
        );
    }
    // NOTE: MariaDB (10.5+) honours a column's inline REFERENCES only with the referenced
    // column named; MySQL 8 parses an inline REFERENCES and ignores it.
    for (column, reference) in op
        .columns
        .iter()
        .filter_map(|c| c.references.as_ref().map(|r| (c, r)))
    {
        if reference.column.is_none() {
            return refuse(format!(
                "a foreign key must name the referenced column on MySQL/MariaDB (no default to the primary key): write `references = {{ table = \"{}\", column = \"id\" }}` on `{}`",
                reference.table, column.name
            ));
        }
        foreign_key_clauses(my, "create_table", &reference.actions)?;
    }
    for constraint in &op.constraints {
        match &constraint.kind {
            ConstraintKind::Exclude { .. } => {
                return refuse(
                    "MySQL and MariaDB have no exclusion constraints (EXCLUDE USING …); enforce it in the application, or with a unique index where equality is enough".into(),
                )
            }
            ConstraintKind::ForeignKey { actions, .. } => {
                foreign_key_clauses(my, "create_table", actions)?;
            }
            _ => {}
        }
    }
    let style = BodyStyle {
        dialect: my,
        referenced: &|table| my.table(table),
        default: &|default| format!("DEFAULT {default}"),
    };
    Ok(table_body(&style, op))
}

/// The operations that have no MySQL/MariaDB form in bellows yet, with the reason and the way.
pub(super) fn not_yet(my: &Mysql, op: &'static str) -> Unsupported {
    let why = match op {
        "add_primary_key" => "adding a primary key to an existing InnoDB table rebuilds the table (the clustered index); bellows refuses it on MySQL/MariaDB — create the table with its key, or copy into a new table with `create_table`, `sync_column` and a backfill",
        "rename_index" => "MySQL/MariaDB index names belong to a table, and `rename_index` names none; use a `sql` step with ALTER TABLE t RENAME INDEX a TO b, ALGORITHM=INPLACE, LOCK=NONE",
        "rename_constraint" => "MySQL/MariaDB cannot rename a foreign key or check constraint in place; drop it and add it again under the new name",
        "set_replica_identity" => "replica identity is PostgreSQL logical replication's setting; MySQL/MariaDB replication logs rows by their primary key (binlog_row_image)",
        _ => "not supported on MySQL/MariaDB",
    };
    my.unsupported(op, why)
}
