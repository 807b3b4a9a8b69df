//! `rename_table`: rename a table with no copy. The plan's version schema shows it under the new
//! name from the end of expand on; the step itself renames it physically (catalog-only).

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenameTable {
    /// The table, optionally schema-qualified.
    pub table: TableName,
    /// The new name (same schema).
    pub to: String,
}

impl RenameTable {
    /// The table under its new name.
    pub fn renamed(&self) -> TableName {
        TableName {
            schema: self.table.schema.clone(),
            name: self.to.clone(),
        }
    }
}

impl Operation for RenameTable {
    const NAME: &'static str = "rename_table";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Rename a table with no copy: the plan's version schema shows the new name from expand on; contract renames it (catalog-only).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let to = r.req_str("to", KeyKind::Identifier, "the new name (same schema)");
        Some(RenameTable {
            table: table?,
            to: to?,
        })
    }

    fn target(&self) -> String {
        format!("{} to {}", self.table, self.to)
    }
}
