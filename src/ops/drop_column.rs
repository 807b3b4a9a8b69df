//! `drop_column`: drop a column (irreversible).

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropColumn {
    pub table: TableName,
    pub column: String,
}

impl Operation for DropColumn {
    const NAME: &'static str = "drop_column";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Drop a column. Irreversible.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column");
        Some(DropColumn {
            table: table?,
            column: column?,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}
