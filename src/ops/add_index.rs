//! `add_index`: an index, built without blocking writes.

use serde::Serialize;

use super::planned::PlannedOp;
use super::Operation;
use crate::dialect::{Dialect, Unsupported};
use crate::plan::model::{Phase, TableName};
use crate::plan::reader::{KeyKind, TableReader};

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
        if let Some(name) = &self.name {
            return name.clone();
        }
        let suffix = if self.unique { "key" } else { "idx" };
        let base = format!("{}_{}_{}", self.table.name, self.columns.join("_"), suffix);
        shorten_identifier(&base)
    }
}

/// Keeps generated identifiers within PostgreSQL's 63-byte limit, stably.
pub fn shorten_identifier(name: &str) -> String {
    const LIMIT: usize = 63;
    if name.len() <= LIMIT {
        return name.to_string();
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut cut = LIMIT - hash.len() - 1;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash}", &name[..cut])
}

impl Operation for AddIndex {
    const NAME: &'static str = "add_index";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str = "Build an index concurrently (PostgreSQL), without blocking writes.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to index");
        let columns = r.req_ident_list("columns", "the indexed columns");
        let name = r.opt_str("name", KeyKind::Identifier, "index name (default `{table}_{columns}_idx`)");
        let unique = r.opt_bool("unique", "a unique index (default false)").unwrap_or(false);
        let predicate = r.opt_str("where", KeyKind::Expression, "partial index predicate, a SQL expression");
        let method = r.opt_one_of("method", &["btree", "hash", "gist", "spgist", "gin", "brin"], "index method (PostgreSQL)");
        Some(AddIndex { table: table?, columns: columns?, name, unique, predicate, method: method.map(str::to_string) })
    }

    fn target(&self) -> String {
        format!("index {} on {}", self.index_name(), self.table)
    }

    fn plan(&self, dialect: &dyn Dialect) -> Result<PlannedOp, Unsupported> {
        dialect.add_index(self)
    }
}
