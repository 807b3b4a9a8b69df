//! `rename_index`: rename an index (applications do not name indexes, so any phase will do).

use serde::Serialize;

use super::{Operation, ANY_PHASE};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenameIndex {
    /// The index, optionally schema-qualified.
    pub name: TableName,
    /// The new name (same schema).
    pub to: String,
}

impl Operation for RenameIndex {
    const NAME: &'static str = "rename_index";
    const PHASES: &'static [Phase] = ANY_PHASE;
    const DOC: &'static str = "Rename an index (catalog-only, instant); rollback renames it back.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let name = r.req_qualified_name("name", "the index (optionally schema-qualified)");
        let to = r.req_str("to", KeyKind::Identifier, "the new name");
        Some(RenameIndex {
            name: name?,
            to: to?,
        })
    }

    fn target(&self) -> String {
        format!("index {} to {}", self.name, self.to)
    }
}
