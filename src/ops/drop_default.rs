//! `drop_default`: remove a column default, in switch.

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropDefault {
    pub table: TableName,
    pub column: String,
}

impl Operation for DropDefault {
    const NAME: &'static str = "drop_default";
    const PHASES: &'static [Phase] = &[Phase::Switch];
    const DOC: &'static str = "Drop a column default; rollback restores the previous one.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column");
        Some(DropDefault {
            table: table?,
            column: column?,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}
