//! `drop_index`: drop an index concurrently, its definition saved for rollback.

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::TableReader;
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropIndex {
    /// Index name, optionally schema-qualified.
    pub name: TableName,
    /// The table the index is on (for messages and lock reporting).
    pub table: Option<TableName>,
}

impl Operation for DropIndex {
    const NAME: &'static str = "drop_index";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str =
        "Drop an index concurrently; its definition is saved so rollback can rebuild it.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let name = r.req_qualified_name("name", "the index (optionally schema-qualified)");
        let table = r.opt_table_name("table", "the table the index is on");
        Some(DropIndex { name: name?, table })
    }

    fn target(&self) -> String {
        match &self.table {
            Some(table) => format!("index {} on {table}", self.name),
            None => format!("index {}", self.name),
        }
    }
}
