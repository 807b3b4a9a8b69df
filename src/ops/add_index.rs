//! `add_index`: an index, built without blocking writes.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::naming;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddIndex {
    pub table: TableName,
    pub columns: Vec<String>,
    pub name: Option<String>,
    pub unique: bool,
    /// Partial index predicate, a SQL expression.
    #[serde(rename = "where")]
    pub predicate: Option<String>,
    /// Index method (`btree`, `gin`, `gist`, `brin`, `hash`, …); PostgreSQL only.
    pub method: Option<String>,
}

impl AddIndex {
    /// The index name: `name`, or `{table}_{columns}_idx` (`_key` when unique), shortened to
    /// PostgreSQL's 63 bytes with a stable hash suffix.
    pub fn index_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => naming::index_name(&self.table, &self.columns, self.unique),
        }
    }
}

impl Operation for AddIndex {
    const NAME: &'static str = "add_index";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str = "Build an index concurrently (PostgreSQL), without blocking writes.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to index");
        let columns = r.req_ident_list("columns", "the indexed columns");
        let name = r.opt_str(
            "name",
            KeyKind::Identifier,
            "index name (default `{table}_{columns}_idx`)",
        );
        let unique = r
            .opt_bool("unique", "a unique index (default false)")
            .unwrap_or(false);
        let predicate = r.opt_str(
            "where",
            KeyKind::Expression,
            "partial index predicate, a SQL expression",
        );
        let method = r.opt_one_of(
            "method",
            &["btree", "hash", "gist", "spgist", "gin", "brin"],
            "index method (PostgreSQL)",
        );
        Some(AddIndex {
            table: table?,
            columns: columns?,
            name,
            unique,
            predicate,
            method: method.map(str::to_string),
        })
    }

    fn target(&self) -> String {
        format!("index {} on {}", self.index_name(), self.table)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        self.predicate
            .as_deref()
            .map(|p| Expression::new("where", p))
            .into_iter()
            .collect()
    }
}
