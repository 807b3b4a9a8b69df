//! SQLite `create_table`: the same table body as PostgreSQL, less what SQLite has not
//! (identity columns, comments, exclusion constraints, `MATCH FULL`, a foreign key into
//! another database), which is refused with the reason.

use crate::dialect::planned::{Action, PlannedOp, Undo};
use crate::dialect::table_body::{table_body, BodyStyle};
use crate::dialect::{Dialect, DialectKind, Unsupported};
use crate::ops::add_foreign_key::ForeignKeyActions;
use crate::ops::create_table::ConstraintKind;
use crate::ops::*;
use crate::vocab::TableName;

use super::{is_constant, sqlite_match, Sqlite};

fn unsupported(why: String) -> Unsupported {
    Unsupported {
        dialect: DialectKind::Sqlite,
        op: "create_table",
        why,
    }
}

/// Why SQLite cannot create this table as asked, if it cannot.
fn refusal(op: &CreateTable) -> Result<(), Unsupported> {
    if let Some(column) = op.columns.iter().find(|c| c.identity.is_some()) {
        return Err(unsupported(format!(
            "SQLite has no identity columns (`identity` on `{}`); a column `integer` that is the whole primary key is SQLite's auto-numbered rowid: write `{{ name = \"{}\", type = \"integer\", primary_key = true }}`",
            column.name, column.name
        )));
    }
    if op.has_comments() {
        return Err(unsupported(
            "SQLite has no comments on tables or columns; leave `comment` out".into(),
        ));
    }
    let mut references: Vec<(&TableName, &ForeignKeyActions)> = op
        .columns
        .iter()
        .filter_map(|c| c.references.as_ref().map(|r| (&r.table, &r.actions)))
        .collect();
    for constraint in &op.constraints {
        match &constraint.kind {
            ConstraintKind::Exclude { .. } => {
                return Err(unsupported(
                    "SQLite has no exclusion constraints (EXCLUDE USING …); leave the constraint out, or enforce it in the application".into(),
                ))
            }
            ConstraintKind::ForeignKey {
                references: target,
                actions,
                ..
            } => references.push((&target.table, actions)),
            _ => {}
        }
    }
    for (table, actions) in references {
        sqlite_match(actions, "create_table")?;
        if table.schema.is_some() && table.schema != op.table.schema {
            return Err(unsupported(format!(
                "a SQLite foreign key can only reference a table in the same database file, and {table} is not in the database of {}",
                op.table
            )));
        }
    }
    Ok(())
}

pub(super) fn create_table(sqlite: &Sqlite, op: &CreateTable) -> Result<PlannedOp, Unsupported> {
    refusal(op)?;
    let style = BodyStyle {
        dialect: sqlite,
        // NOTE: a SQLite foreign key names a table of its own database, unqualified.
        referenced: &|table| sqlite.ident(&table.name),
        // NOTE: SQLite needs parentheses around a default that is not a literal.
        default: &|default| {
            if is_constant(default) {
                format!("DEFAULT {default}")
            } else {
                format!("DEFAULT ({default})")
            }
        },
    };
    let sql = format!(
        "CREATE TABLE {} (\n  {}\n)",
        sqlite.table(&op.table),
        table_body(&style, op).join(",\n  ")
    );
    Ok(PlannedOp {
        actions: vec![Action::Execute(sqlite.write(sql, &op.table))],
        undo: Undo::Actions(vec![Action::Execute(sqlite.write(
            format!("DROP TABLE IF EXISTS {}", sqlite.table(&op.table)),
            &op.table,
        ))]),
        notes: vec![
            "column types are written as given; SQLite maps them to its type affinities".into(),
        ],
    })
}
