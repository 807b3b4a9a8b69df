//! The add-column template: a nullable column, and when `--from` is given, the sync, backfill,
//! guard and NOT NULL that fill it and make it required.

use super::reserved_words::ident;
use super::toml_writer::{s, Doc};
use super::values::{Field, Values};

pub fn write(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let type_ = values.required(Field::Type)?;
    let from = values.from.as_deref();
    doc.header(&match from {
        Some(from) => {
            format!("Add {table}.{column} ({type_}), filled from `{from}`, then make it NOT NULL")
        }
        None => format!("Add the nullable column {table}.{column} ({type_})"),
    });

    doc.phase(
        "expand",
        "additive only: the running application does not notice.",
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_column"), None),
            ("table", s(table), None),
            ("column", s(column), None),
            (
                "type",
                s(type_),
                Some("nullable: adding it is instant and old code keeps working"),
            ),
        ],
    );
    let Some(from) = from else {
        doc.comment(
            "\nNothing else to do: the column stays nullable. To fill it and make it NOT NULL,\n\
             add a `sync_column` step here, a [[backfill]], and `drop_sync` + `set_not_null` in\n\
             contract (run `bellows new NAME --template add-column --from EXPRESSION` to see one).",
        );
        return Ok(());
    };
    fill_and_require(doc, table, column, from);
    Ok(())
}

/// With `--from`: keep the column filled on writes, backfill it, guard, then make it NOT NULL.
fn fill_and_require(doc: &mut Doc, table: &str, column: &str, from: &str) {
    let col = ident(column);
    doc.step(
        "expand",
        &[
            (
                "op",
                s("sync_column"),
                Some("writes from the old application fill the new column too"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
            ("from", s(from), Some("SQL over the row being written")),
        ],
    );

    doc.phase(
        "backfill",
        "existing rows, in small keyset batches, each its own short transaction.",
    );
    doc.backfill(table, &[(column, from)], &format!("{col} IS NULL"));

    doc.phase(
        "switch",
        &format!(
            "deploy the version that reads {column}, then apply this phase.\n\
             The guard stops here if any row was missed."
        ),
    );
    doc.step(
        "switch",
        &[
            ("op", s("guard"), None),
            ("null_count", s(&format!("{table}.{column}")), None),
        ],
    );
    doc.comment(&format!(
        "To give rows the new version inserts a value without writing it, add:\n\
         [[switch]]\n\
         op = \"set_default\"\n\
         table = {}\n\
         column = {}\n\
         default = \"…\"                 # a SQL expression",
        s(table),
        s(column)
    ));

    doc.phase(
        "contract",
        "only the new version runs: it writes the column itself from now on.",
    );
    doc.step(
        "contract",
        &[
            ("op", s("drop_sync"), None),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("set_not_null"),
                Some("refuses while any NULL remains; remove it to keep the column nullable"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
}
