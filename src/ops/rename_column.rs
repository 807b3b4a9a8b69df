//! `rename_column`: rename a column with no copy. The plan's version schema shows the new name
//! from the end of expand on; the step itself renames the column physically (catalog-only).

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenameColumn {
    pub table: TableName,
    pub column: String,
    /// The new name.
    pub to: String,
}

impl Operation for RenameColumn {
    const NAME: &'static str = "rename_column";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Rename a column with no copy: the plan's version schema shows the new name from expand on; contract renames it (catalog-only).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column's current name");
        let to = r.req_str("to", KeyKind::Identifier, "the new name");
        Some(RenameColumn {
            table: table?,
            column: column?,
            to: to?,
        })
    }

    fn target(&self) -> String {
        format!("{}.{} to {}", self.table, self.column, self.to)
    }
}
