//! `drop_sync`: remove the trigger made by `sync_column`.

use serde::{Deserialize, Serialize};

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropSync {
    pub table: TableName,
    pub column: String,
}

impl Operation for DropSync {
    const NAME: &'static str = "drop_sync";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Drop the trigger that `sync_column` installed for this column.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column");
        Some(DropSync {
            table: table?,
            column: column?,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}
