//! The change-type template: on PostgreSQL `change_type` (the column keeps its name, through
//! the plan's version schema); elsewhere a new column of the new type filled by a conversion,
//! guarded, then the old column dropped.

use super::guard_then_contract;
use super::reserved_words::ident;
use super::toml_writer::{s, Doc};
use super::values::{Field, Values};

pub fn write(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let to = values.required(Field::To)?;
    let type_ = values.required(Field::Type)?;
    let (old, new) = (ident(column), ident(to));
    let convert = match values.from.as_deref() {
        Some(from) => from.to_string(),
        None => format!("CAST({old} AS {type_})"),
    };
    doc.header(&format!(
        "Change the type of {table}.{column}: a new column {to} ({type_}) replaces it"
    ));

    doc.phase(
        "expand",
        &format!("add {to} with the new type and fill it on every write of the old application."),
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_column"), None),
            ("table", s(table), None),
            ("column", s(to), None),
            ("type", s(type_), Some("nullable for now")),
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
            ("from", s(&convert), None),
        ],
    );
    doc.comment(&format!(
        "If old and new versions run side by side and the new one writes only {to}, keep\n\
         {column} in step too: add `reverse = {{ column = \"{column}\", from = \"…\" }}` above,\n\
         with the conversion back to the old type."
    ));

    doc.phase("backfill", &format!("convert the existing rows into {to}."));
    doc.backfill(table, &[(to, &convert)], &format!("{new} IS NULL"));

    doc.phase(
        "switch",
        &format!("deploy the version that uses {to}; the guard proves every row converted."),
    );
    guard_then_contract::write(
        doc,
        table,
        column,
        to,
        &values.differs(&new, &format!("({convert})")),
    );
    Ok(())
}

/// PostgreSQL: `change_type` in contract; bellows adds the hidden column, its sync and backfill.
pub fn write_versioned(
    doc: &mut Doc,
    table: &str,
    column: &str,
    values: &Values,
) -> Result<(), Field> {
    let type_ = values.required(Field::Type)?;
    let old = ident(column);
    let using = match values.from.as_deref() {
        Some(from) => from.to_string(),
        None => format!("CAST({old} AS {type_})"),
    };
    doc.header(&format!(
        "Change the type of {table}.{column} to {type_}, keeping its name (PostgreSQL)"
    ));
    doc.comment(
        "\nbellows adds to expand a hidden column of the new type kept in step both ways, to\n\
         backfill a batched copy into it, and makes the plan's version schema: `bellows apply`\n\
         prints the search_path the new application sets to read and write the new type.\n\
         Deploy it after `bellows apply --to switch`, stop the old one, then apply contract.",
    );
    doc.phase(
        "contract",
        "drop the old column and give the new one its name (instant). Its NOT NULL, default,\n\
         indexes and constraints go with the old column: give them back with add_index and\n\
         set_default on the hidden column (bellows_new_<column>) in [[switch]], and\n\
         set_not_null on the column after this step.",
    );
    doc.step(
        "contract",
        &[
            ("op", s("change_type"), None),
            ("table", s(table), None),
            ("column", s(column), None),
            ("type", s(type_), None),
            (
                "using",
                s(&using),
                Some(&format!("the new value; {column} is the old one here")),
            ),
            (
                "reverse",
                s(&old),
                Some(&format!(
                    "the old value; {column} is the new one here (assigned: via text if no cast)"
                )),
            ),
        ],
    );
    Ok(())
}
