//! `add_primary_key`: a primary key on an existing table: its columns made NOT NULL through
//! validated checks, its unique index built concurrently, then attached.

use serde::Serialize;

use super::Operation;
use crate::vocab::naming;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddPrimaryKey {
    pub table: TableName,
    pub columns: Vec<String>,
    pub name: Option<String>,
}

impl AddPrimaryKey {
    /// The constraint's (and its index's) name: `name`, or `{table}_pkey` as PostgreSQL names it.
    pub fn constraint_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => naming::shorten_identifier(&format!("{}_pkey", self.table.name)),
        }
    }
}

impl Operation for AddPrimaryKey {
    const NAME: &'static str = "add_primary_key";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str = "Add a primary key: columns made NOT NULL through validated checks, the unique index built concurrently, then attached.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let columns = r.req_ident_list("columns", "the key columns");
        let name = r.opt_str(
            "name",
            KeyKind::Identifier,
            "constraint (and index) name (default `{table}_pkey`)",
        );
        Some(AddPrimaryKey {
            table: table?,
            columns: columns?,
            name,
        })
    }

    fn target(&self) -> String {
        format!("primary key {} on {}", self.constraint_name(), self.table)
    }
}
