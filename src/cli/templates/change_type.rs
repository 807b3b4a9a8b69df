//! The change-type template: a new column of the new type filled by a conversion, guarded,
//! then the old column dropped.

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
        &format!("{new} IS DISTINCT FROM ({convert})"),
    );
    Ok(())
}
