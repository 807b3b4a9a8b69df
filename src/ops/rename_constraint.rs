//! `rename_constraint`: rename a table constraint (applications do not name constraints, so any
//! phase will do).

use serde::Serialize;

use super::{Operation, ANY_PHASE};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenameConstraint {
    pub table: TableName,
    pub name: String,
    pub to: String,
}

impl Operation for RenameConstraint {
    const NAME: &'static str = "rename_constraint";
    const PHASES: &'static [Phase] = ANY_PHASE;
    const DOC: &'static str =
        "Rename a table constraint (catalog-only, instant); rollback renames it back.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let name = r.req_str("name", KeyKind::Identifier, "the constraint");
        let to = r.req_str("to", KeyKind::Identifier, "the new name");
        Some(RenameConstraint {
            table: table?,
            name: name?,
            to: to?,
        })
    }

    fn target(&self) -> String {
        format!("constraint {} on {} to {}", self.name, self.table, self.to)
    }
}
