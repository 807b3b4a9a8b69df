//! `drop_table`: drop a table (irreversible).

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::TableReader;
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropTable {
    pub table: TableName,
}

impl Operation for DropTable {
    const NAME: &'static str = "drop_table";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Drop a table. Irreversible.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to drop");
        Some(DropTable { table: table? })
    }

    fn target(&self) -> String {
        self.table.to_string()
    }
}
