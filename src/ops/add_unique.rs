//! `add_unique`: a unique constraint on an existing table, its index built concurrently first.

use serde::Serialize;

use super::Operation;
use crate::vocab::naming;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddUnique {
    pub table: TableName,
    pub columns: Vec<String>,
    pub name: Option<String>,
    /// Non-key columns stored in the index (`INCLUDE`); PostgreSQL only.
    pub include: Vec<String>,
}

impl AddUnique {
    /// The constraint's (and its index's) name: `name`, or `{table}_{columns}_key`.
    pub fn constraint_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => naming::index_name(&self.table, &self.columns, true),
        }
    }
}

impl Operation for AddUnique {
    const NAME: &'static str = "add_unique";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str = "Add a unique constraint: its index is built concurrently, then attached (ADD CONSTRAINT … USING INDEX).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let columns = r.req_ident_list("columns", "the columns that must be unique together");
        let name = r.opt_str(
            "name",
            KeyKind::Identifier,
            "constraint (and index) name (default `{table}_{columns}_key`)",
        );
        let include = r
            .opt_ident_list(
                "include",
                "non-key columns stored in the index (PostgreSQL)",
            )
            .unwrap_or_default();
        Some(AddUnique {
            table: table?,
            columns: columns?,
            name,
            include,
        })
    }

    fn target(&self) -> String {
        format!("constraint {} on {}", self.constraint_name(), self.table)
    }
}
