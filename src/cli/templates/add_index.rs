//! The add-index template: one index built without blocking writes.

use super::toml_writer::{s, Doc};

pub fn write(doc: &mut Doc, table: &str, columns: &str) {
    let columns: Vec<&str> = columns.split(',').map(str::trim).collect();
    doc.header(&format!("Index {table} on ({})", columns.join(", ")));
    doc.phase(
        "expand",
        "PostgreSQL builds the index CONCURRENTLY: reads and writes go on meanwhile.\n\
         An invalid index left by a failed attempt is dropped and the build retried.",
    );
    let list = format!(
        "[{}]",
        columns.iter().map(|c| s(c)).collect::<Vec<_>>().join(", ")
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_index"), None),
            ("table", s(table), None),
            ("columns", list, Some("in index order")),
        ],
    );
    doc.comment(
        "Optional keys: name = \"…\" (default {table}_{columns}_idx), unique = true,\n\
         where = \"SQL predicate\" (a partial index), method = \"gin\" (PostgreSQL).\n\
         Nothing to backfill, switch or contract: the index is in use as soon as it is valid.",
    );
}
