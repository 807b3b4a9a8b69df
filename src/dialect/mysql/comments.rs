//! MySQL `set_comment`: a table's by `ALTER TABLE … COMMENT =` (INSTANT), a column's by a
//! `MODIFY` restating the column (INSTANT); the previous comment saved for rollback.

use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::SetComment;

use super::columns::{modify_column, Restated, MODIFY_NOTE};
use super::{Mysql, Online};

const INSTANT_NOTE: &str =
    "ALGORITHM=INSTANT: metadata only; the exclusive metadata lock is held for an instant";

pub(super) fn set_comment(my: &Mysql, op: &SetComment) -> Result<PlannedOp, Unsupported> {
    // NOTE: in MySQL's default sql_mode a backslash in a string literal is an escape, and the
    // comment passes through two literals here (the saved query and the statement it builds).
    if op.comment.contains('\\') {
        return Err(my.unsupported(
            "set_comment",
            "a backslash in a comment is read as an escape by MySQL/MariaDB (unless sql_mode has NO_BACKSLASH_ESCAPES); write the comment without one, or use a `sql` step",
        ));
    }
    match &op.column {
        Some(column) => Ok(column_comment(my, op, column)),
        None => Ok(table_comment(my, op)),
    }
}

fn column_comment(my: &Mysql, op: &SetComment, column: &str) -> PlannedOp {
    let comment = if op.comment.is_empty() {
        "''".to_string()
    } else {
        format!("CONCAT(' COMMENT ', QUOTE({}))", quote_literal(&op.comment))
    };
    let commented = Restated {
        comment,
        ..Restated::own(Online::Instant)
    };
    let (actions, undo) = modify_column(
        my,
        &op.table,
        column,
        ("commented_definition", commented),
        format!("MODIFY {column} with its own type, nullability and default, the new comment, ALGORITHM=INSTANT"),
        TableEffect::None,
    );
    PlannedOp {
        actions,
        undo,
        notes: vec![INSTANT_NOTE.into(), MODIFY_NOTE.into()],
    }
}

fn table_comment(my: &Mysql, op: &SetComment) -> PlannedOp {
    let capture = Capture {
        missing: None,
        name: "previous_comment",
        description: format!(
            "the comment of {} as it is, as the SQL that restores it",
            op.table
        ),
        query: format!(
            "SELECT CONCAT({}, QUOTE(TABLE_COMMENT), {})\nFROM information_schema.TABLES\nWHERE {}",
            quote_literal(&format!("ALTER TABLE {} COMMENT = ", my.table(&op.table))),
            quote_literal(&format!(", {}", Online::Instant.clause())),
            my.where_table(&op.table)
        ),
    };
    let set = my.online(
        &op.table,
        format!("COMMENT = {}", quote_literal(&op.comment)),
        Online::Instant,
    );
    let restore = ExecuteSaved {
        name: "previous_comment",
        description: format!("restore the previous comment of {}", op.table),
        lock: Lock::Metadata,
        table: Some(op.table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    PlannedOp {
        actions: vec![Action::Capture(capture), Action::Execute(set)],
        undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
        notes: vec![INSTANT_NOTE.into()],
    }
}
