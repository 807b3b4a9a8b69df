//! `add_check`: a CHECK constraint, added NOT VALID then validated.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddCheck {
    pub table: TableName,
    pub name: String,
    /// The condition, a SQL expression.
    pub check: String,
}

impl Operation for AddCheck {
    const NAME: &'static str = "add_check";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str =
        "Add a CHECK constraint NOT VALID, then VALIDATE it without blocking writes.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to constrain");
        let name = r.req_str("name", KeyKind::Identifier, "constraint name");
        let check = r.req_str(
            "check",
            KeyKind::Expression,
            "the condition, a SQL expression",
        );
        Some(AddCheck {
            table: table?,
            name: name?,
            check: check?,
        })
    }

    fn target(&self) -> String {
        format!("constraint {} on {}", self.name, self.table)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        vec![Expression::new("check", &self.check)]
    }
}
