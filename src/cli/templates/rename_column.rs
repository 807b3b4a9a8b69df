//! The rename-column template: on PostgreSQL a rename with no copy through the plan's version
//! schema; elsewhere a new column kept in step with the old one both ways, filled, guarded, then
//! the old one dropped.

use super::guard_then_contract;
use super::reserved_words::ident;
use super::toml_writer::{inline, s, Doc};
use super::values::{Field, Values};

pub fn write(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let to = values.required(Field::To)?;
    let type_ = values.required(Field::Type)?;
    let (old, new) = (ident(column), ident(to));
    doc.header(&format!("Rename {table}.{column} to {to} without downtime"));

    doc.phase(
        "expand",
        &format!("add {to} beside {column} and keep the two in step, whichever one a write sets."),
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_column"), None),
            ("table", s(table), None),
            ("column", s(to), None),
            (
                "type",
                s(type_),
                Some(&format!("the type of {column}; nullable for now")),
            ),
        ],
    );
    doc.step(
        "expand",
        &[
            (
                "op",
                s("sync_column"),
                Some(&format!("old code writes {column} → {to} follows")),
            ),
            ("table", s(table), None),
            ("column", s(to), None),
            ("from", s(&old), None),
            (
                "reverse",
                inline(&[("column", s(column)), ("from", s(&new))]),
                Some(&format!("new code writes {to} → {column} follows")),
            ),
        ],
    );

    doc.phase(
        "backfill",
        &format!("copy {column} into {to} for existing rows."),
    );
    doc.backfill(table, &[(to, &old)], &format!("{new} IS NULL"));

    doc.phase(
        "switch",
        &format!("deploy the version that reads and writes {to}; the guard proves no row differs."),
    );
    guard_then_contract::write(doc, table, column, to, &values.differs(&new, &old));
    doc.comment(&format!(
        "Indexes and constraints on {column} are dropped with it; recreate them on {to} in\n\
         expand (`add_index`, `add_check`, `add_foreign_key`) if the new version needs them."
    ));
    Ok(())
}

/// PostgreSQL: `rename_column` in contract; the version schema shows the new name meanwhile.
pub fn write_versioned(
    doc: &mut Doc,
    table: &str,
    column: &str,
    values: &Values,
) -> Result<(), Field> {
    let to = values.required(Field::To)?;
    doc.header(&format!(
        "Rename {table}.{column} to {to} with no copy (PostgreSQL: a version schema of views)"
    ));
    doc.comment(
        "\nExpand makes the plan's version schema: `bellows apply` prints the search_path the new\n\
         application sets to see the new name while the old one goes on with the old name.\n\
         Deploy it after `bellows apply --to switch`, stop the old one, then apply contract.",
    );
    doc.phase(
        "contract",
        "rename the column in the catalog (instant, no row written); the new version's\n\
         view follows it by itself.",
    );
    doc.step(
        "contract",
        &[
            ("op", s("rename_column"), None),
            ("table", s(table), None),
            ("column", s(column), None),
            ("to", s(to), None),
        ],
    );
    Ok(())
}
