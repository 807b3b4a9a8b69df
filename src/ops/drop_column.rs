//! `drop_column`: drop a column (irreversible). In a plan with a version schema the new version
//! stops seeing the column at expand, and `default` fills it for the new version's inserts.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropColumn {
    pub table: TableName,
    pub column: String,
    /// In a plan with a version schema: a default set at expand, for a NOT NULL column without
    /// one, so that the new version's inserts (which cannot name the column) succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl Operation for DropColumn {
    const NAME: &'static str = "drop_column";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Drop a column. Irreversible.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column");
        let default = r.opt_str(
            "default",
            KeyKind::Expression,
            "in a plan with a version schema: the default for the new version's inserts while the column is hidden",
        );
        Some(DropColumn {
            table: table?,
            column: column?,
            default,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        self.default
            .iter()
            .map(|d| Expression::new("default", d))
            .collect()
    }
}
