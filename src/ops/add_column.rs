//! `add_column`: a new column; nullable unless a default is given.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddColumn {
    pub table: TableName,
    pub column: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub nullable: bool,
    pub default: Option<String>,
}

impl Operation for AddColumn {
    const NAME: &'static str = "add_column";
    const PHASES: &'static [Phase] = &[Phase::Expand];
    const DOC: &'static str = "Add a column (nullable, or NOT NULL with a default).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to change");
        let column = r.req_str("column", KeyKind::Identifier, "the new column");
        let type_ = r.req_str(
            "type",
            KeyKind::Type,
            "column type, as SQL (`boolean`, `numeric(12,2)`)",
        );
        let nullable = r
            .opt_bool("nullable", "whether NULL is allowed (default true)")
            .unwrap_or(true);
        let default = r.opt_str(
            "default",
            KeyKind::Expression,
            "default value, a SQL expression",
        );
        if !nullable && !r.has("default") && !r.is_probe() {
            let span = r.span();
            r.report(
                Diagnostic::error(
                    Code::NotNullWithoutDefault,
                    Some(span),
                    "add_column with `nullable = false` and no `default` is refused: it fails on a table with rows, and otherwise locks it",
                )
                .with_help("add it nullable, backfill it, then use `set_not_null` in contract; or give a `default`"),
            );
            return None;
        }
        Some(AddColumn {
            table: table?,
            column: column?,
            type_: type_?,
            nullable,
            default,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let mut found = vec![Expression::new("type", &self.type_)];
        found.extend(
            self.default
                .as_deref()
                .map(|d| Expression::new("default", d)),
        );
        found
    }
}
