//! `drop_not_null`: allow NULL in a column again (it loosens, so it may run before the switch).

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropNotNull {
    pub table: TableName,
    pub column: String,
}

impl Operation for DropNotNull {
    const NAME: &'static str = "drop_not_null";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str = "Allow NULL in a column again; rollback makes it NOT NULL through a validated check, as set_not_null does.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column that may be NULL");
        Some(DropNotNull {
            table: table?,
            column: column?,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}
