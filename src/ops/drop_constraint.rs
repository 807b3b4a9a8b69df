//! `drop_constraint`: drop a constraint, its definition saved for rollback.

use serde::Serialize;

use super::Operation;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropConstraint {
    pub table: TableName,
    pub name: String,
}

impl Operation for DropConstraint {
    const NAME: &'static str = "drop_constraint";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Drop a constraint; its definition is saved so rollback can restore it (NOT VALID, then VALIDATE).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let name = r.req_str("name", KeyKind::Identifier, "the constraint");
        Some(DropConstraint {
            table: table?,
            name: name?,
        })
    }

    fn target(&self) -> String {
        format!("constraint {} on {}", self.name, self.table)
    }
}
