//! `set_not_null`: make a column NOT NULL without a long lock, behind a null-count guard.

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetNotNull {
    pub table: TableName,
    pub column: String,
}

impl Operation for SetNotNull {
    const NAME: &'static str = "set_not_null";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Make a column NOT NULL: null-count guard, CHECK NOT VALID, VALIDATE, SET NOT NULL, drop the check.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column");
        Some(SetNotNull {
            table: table?,
            column: column?,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}
