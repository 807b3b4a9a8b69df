//! The tail shared by the rename-column and change-type templates: guard, then contract.

use super::reserved_words::table_ident;
use super::toml_writer::{s, Doc};

/// The end shared by rename-column and change-type: a switch guard that no row has `differs`,
/// then contract — stop syncing, make `to` NOT NULL, drop `column`.
pub fn write(doc: &mut Doc, table: &str, column: &str, to: &str, differs: &str) {
    doc.step(
        "switch",
        &[
            ("op", s("guard"), None),
            (
                "query",
                s(&format!(
                    "SELECT count(*) FROM {} WHERE {differs}",
                    table_ident(table)
                )),
                None,
            ),
            ("expect", "0".to_string(), None),
        ],
    );

    doc.phase(
        "contract",
        &format!("only the new version runs: stop syncing, then drop {column}."),
    );
    doc.step(
        "contract",
        &[
            ("op", s("drop_sync"), None),
            ("table", s(table), None),
            ("column", s(to), None),
        ],
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("set_not_null"),
                Some(&format!(
                    "remove this step if {column} was nullable; it refuses while any NULL remains"
                )),
            ),
            ("table", s(table), None),
            ("column", s(to), None),
        ],
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("drop_column"),
                Some("irreversible: rollback stops before this step"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
}
