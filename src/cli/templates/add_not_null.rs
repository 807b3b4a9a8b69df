//! The add-not-null template: fill the NULLs, guard, then SET NOT NULL without a long lock.

use super::reserved_words::ident;
use super::toml_writer::{s, Doc};
use super::values::{Field, Values};

pub fn write(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let col = ident(column);
    match values.from.as_deref() {
        Some(from) => doc.header(&format!(
            "Make {table}.{column} NOT NULL; rows that are NULL now get `{from}`"
        )),
        None => doc.header(&format!(
            "Make {table}.{column} NOT NULL; no row may be NULL (a guard checks)"
        )),
    }
    doc.comment(
        "\nNothing to expand: the column exists. Deploy an application version that never\n\
         writes NULL into it before the switch phase.",
    );

    if let Some(from) = values.from.as_deref() {
        doc.phase("backfill", "fill the NULLs in small keyset batches.");
        doc.backfill(table, &[(column, from)], &format!("{col} IS NULL"));
    }

    doc.phase(
        "switch",
        "the guard proves no NULL is left (and the application writes none any more).\n\
         If it fails, something still writes NULL: fix that, fill the rows, apply again.",
    );
    doc.step(
        "switch",
        &[
            ("op", s("guard"), None),
            ("null_count", s(&format!("{table}.{column}")), None),
        ],
    );

    doc.phase(
        "contract",
        "SET NOT NULL without a long lock (on PostgreSQL: CHECK NOT VALID, VALIDATE,\n\
         SET NOT NULL, drop the check; on SQLite: a table rebuild in one transaction).",
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("set_not_null"),
                Some("carries its own null-count guard"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
    Ok(())
}
