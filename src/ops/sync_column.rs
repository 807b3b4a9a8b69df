//! `sync_column`: a trigger that keeps a new column in step with writes from the old application.

use serde::{Deserialize, Serialize};

use super::{Expression, Operation};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReverseSync {
    pub column: String,
    /// SQL expression over the row being written.
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncColumn {
    pub table: TableName,
    pub column: String,
    /// SQL expression over the row being written.
    pub from: String,
    pub reverse: Option<ReverseSync>,
}

fn read_reverse(r: &mut TableReader<'_, '_>) -> Option<ReverseSync> {
    let column = r.req_str("column", KeyKind::Identifier, "the old column kept in step");
    let from = r.req_str(
        "from",
        KeyKind::Expression,
        "SQL expression for the old column",
    );
    Some(ReverseSync {
        column: column?,
        from: from?,
    })
}

impl Operation for SyncColumn {
    const NAME: &'static str = "sync_column";
    const PHASES: &'static [Phase] = &[Phase::Expand];
    const DOC: &'static str = "Install a trigger: writes that do not set `column` fill it from `from` (and the reverse, for renames).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column kept in step");
        let from = r.req_str(
            "from",
            KeyKind::Expression,
            "SQL expression over the row being written",
        );
        let reverse = r.table(
            "reverse",
            false,
            "the other direction, for renames: `{ column, from }`",
            read_reverse,
        );
        let op = SyncColumn {
            table: table?,
            column: column?,
            from: from?,
            reverse,
        };
        if let Some(rev) = &op.reverse {
            if rev.column == op.column {
                let span = r.span();
                r.report(
                    Diagnostic::error(
                        Code::Contradiction,
                        Some(span),
                        format!(
                            "sync_column {}.{} cannot sync the column with itself",
                            op.table, op.column
                        ),
                    )
                    .with_help("`reverse.column` names the other (old) column"),
                );
            }
        }
        Some(op)
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let mut found = vec![Expression::new("from", &self.from)];
        found.extend(
            self.reverse
                .as_ref()
                .map(|r| Expression::new("from", &r.from)),
        );
        found
    }
}
