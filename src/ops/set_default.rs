//! `set_default`: a column default, in switch.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetDefault {
    pub table: TableName,
    pub column: String,
    /// SQL expression.
    pub default: String,
}

impl Operation for SetDefault {
    const NAME: &'static str = "set_default";
    const PHASES: &'static [Phase] = &[Phase::Switch];
    const DOC: &'static str = "Set a column default; rollback restores the previous one.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column");
        let default = r.req_str(
            "default",
            KeyKind::Expression,
            "the default, a SQL expression",
        );
        Some(SetDefault {
            table: table?,
            column: column?,
            default: default?,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        vec![Expression::new("default", &self.default)]
    }
}
