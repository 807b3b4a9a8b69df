//! `set_comment`: the comment on a table or one of its columns; `""` removes it.

use serde::Serialize;

use super::{Operation, ANY_PHASE};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetComment {
    pub table: TableName,
    /// The column commented on; `None`: the table itself.
    pub column: Option<String>,
    /// The new comment; empty removes the comment.
    pub comment: String,
}

impl Operation for SetComment {
    const NAME: &'static str = "set_comment";
    const PHASES: &'static [Phase] = ANY_PHASE;
    const DOC: &'static str = "Set or remove (\"\") the comment on a table or column; rollback restores the previous comment.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.opt_str(
            "column",
            KeyKind::Identifier,
            "the column to comment on (default: the table itself)",
        );
        let comment = r.text("comment", true, "the comment; \"\" removes it");
        Some(SetComment {
            table: table?,
            column,
            comment: comment?,
        })
    }

    fn target(&self) -> String {
        match &self.column {
            Some(column) => format!("comment on {}.{column}", self.table),
            None => format!("comment on {}", self.table),
        }
    }
}
