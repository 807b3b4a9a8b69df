//! `set_not_null`: make a column NOT NULL without a long lock, behind a null-count guard.

use serde::Serialize;

use super::planned::PlannedOp;
use super::Operation;
use crate::dialect::{Dialect, Unsupported};
use crate::plan::model::{Phase, TableName};
use crate::plan::reader::{KeyKind, TableReader};

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
        Some(SetNotNull { table: table?, column: column? })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn plan(&self, dialect: &dyn Dialect) -> Result<PlannedOp, Unsupported> {
        dialect.set_not_null(self)
    }
}
