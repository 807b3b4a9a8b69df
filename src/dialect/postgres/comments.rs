//! PostgreSQL comments: `set_comment` (the previous comment saved for rollback) and the
//! `COMMENT ON COLUMN` of `add_column`'s `comment`.

use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

use super::Postgres;

pub(super) fn set_comment(pg: &Postgres, op: &SetComment) -> Result<PlannedOp, Unsupported> {
    let target = pg.comment_target(&op.table, op.column.as_deref());
    let previous = match &op.column {
        Some(column) => format!(
            "SELECT {} || COALESCE(quote_literal(col_description(a.attrelid, a.attnum)), 'NULL')\nFROM pg_attribute a\nWHERE a.attrelid = {} AND a.attname = {} AND NOT a.attisdropped",
            quote_literal(&format!("COMMENT ON {target} IS ")),
            pg.regclass(&op.table),
            quote_literal(column)
        ),
        None => format!(
            "SELECT {} || COALESCE(quote_literal(obj_description({}, 'pg_class')), 'NULL')",
            quote_literal(&format!("COMMENT ON {target} IS ")),
            pg.regclass(&op.table)
        ),
    };
    let capture = Capture {
        name: "previous_comment",
        description: format!("the current comment on {}", op.target()),
        query: previous,
        missing: None,
    };
    let restore = ExecuteSaved {
        name: "previous_comment",
        description: format!("restore the previous {}", op.target()),
        lock: Lock::ShareUpdateExclusive,
        table: Some(op.table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    Ok(PlannedOp {
        actions: vec![
            Action::Capture(capture),
            Action::Execute(pg.comment(&op.table, op.column.as_deref(), &op.comment)),
        ],
        undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
        notes: vec![
            "catalog-only: SHARE UPDATE EXCLUSIVE blocks neither reads nor writes".into(),
            "the previous comment is saved in the ledger; rollback restores it".into(),
        ],
    })
}

impl Postgres {
    /// `TABLE "t"` or `COLUMN "t"."c"`.
    fn comment_target(&self, table: &TableName, column: Option<&str>) -> String {
        match column {
            Some(column) => format!("COLUMN {}.{}", self.table(table), self.ident(column)),
            None => format!("TABLE {}", self.table(table)),
        }
    }

    /// `COMMENT ON … IS '…'`, or `IS NULL` for an empty comment (which removes it).
    pub(super) fn comment(
        &self,
        table: &TableName,
        column: Option<&str>,
        comment: &str,
    ) -> Statement {
        let value = if comment.is_empty() {
            "NULL".to_string()
        } else {
            quote_literal(comment)
        };
        Statement::ddl(
            format!(
                "COMMENT ON {} IS {value}",
                self.comment_target(table, column)
            ),
            Lock::ShareUpdateExclusive,
            table,
        )
    }
}
