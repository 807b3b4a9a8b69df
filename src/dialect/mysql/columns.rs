//! MySQL columns: `add_column` (INSTANT), `set_default`/`drop_default` (INSTANT, the previous
//! default saved), `set_not_null` (an online rebuild after the null-count guard, the column's
//! full definition read from `information_schema`), `drop_not_null` (the same `MODIFY`, NULL).

use crate::dialect::common;
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

use super::{Mysql, Online};

pub(super) fn add_column(my: &Mysql, op: &AddColumn) -> Result<PlannedOp, Unsupported> {
    let mut definition = format!("{} {}", my.ident(&op.column), op.type_);
    if !op.nullable {
        definition.push_str(" NOT NULL");
    }
    if let Some(default) = &op.default {
        definition.push_str(&format!(" DEFAULT {default}"));
    }
    let add = my.online(
        &op.table,
        format!("ADD COLUMN {definition}"),
        Online::Instant,
    );
    let drop = my.online(
        &op.table,
        format!("DROP COLUMN IF EXISTS {}", my.ident(&op.column)),
        Online::Instant,
    );
    Ok(PlannedOp {
        actions: vec![Action::Execute(add)],
        undo: Undo::Actions(vec![Action::Execute(drop)]),
        notes: vec![
            "ALGORITHM=INSTANT (MariaDB 10.3+, MySQL 8.0.12+): metadata only, whatever the table size; a column the server cannot add instantly (AUTO_INCREMENT, some generated columns) is refused, never copied".into(),
        ],
    })
}

/// `information_schema.COLUMNS` row of `table.column`.
fn column_row(my: &Mysql, table: &TableName, column: &str) -> String {
    format!(
        "FROM information_schema.COLUMNS\nWHERE {} AND COLUMN_NAME = {}",
        my.where_table(table),
        quote_literal(column)
    )
}

/// `set_default` / `drop_default`: the previous default is saved first, as the SQL that
/// restores it.
pub(super) fn change_default(
    my: &Mysql,
    table: &TableName,
    column: &str,
    change: String,
) -> PlannedOp {
    let alter_column = format!(
        "ALTER TABLE {} ALTER COLUMN {} ",
        my.table(table),
        my.ident(column)
    );
    // NOTE: MariaDB 10.2.7+ keeps COLUMN_DEFAULT as SQL (strings quoted, `NULL` for DEFAULT
    // NULL, SQL NULL for no default); MySQL 8 keeps literals unquoted.
    let capture = Capture {
        missing: None,
        name: "previous_default",
        description: format!(
            "the current default of {table}.{column}, as the SQL that restores it"
        ),
        query: format!(
            "SELECT CONCAT({}, IF(COLUMN_DEFAULT IS NULL, 'DROP DEFAULT', CONCAT('SET DEFAULT ', COLUMN_DEFAULT)), ', ALGORITHM=INSTANT')\n{}",
            quote_literal(&alter_column),
            column_row(my, table, column)
        ),
    };
    let execute = my.online(
        table,
        format!("ALTER COLUMN {} {change}", my.ident(column)),
        Online::Instant,
    );
    let restore = ExecuteSaved {
        name: "previous_default",
        description: format!("restore the previous default of {table}.{column}"),
        lock: Lock::Metadata,
        table: Some(table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    PlannedOp {
        actions: vec![Action::Capture(capture), Action::Execute(execute)],
        undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
        notes: vec!["ALGORITHM=INSTANT: metadata only; affects rows inserted from now on".into()],
    }
}

/// How a `MODIFY` restates a column: its nullability and comment as SQL over its
/// `information_schema.COLUMNS` row (the column's own, or new), and the algorithm.
pub(super) struct Restated {
    pub(super) nullability: String,
    pub(super) comment: String,
    pub(super) online: Online,
}

const OWN_NULLABILITY: &str = "IF(IS_NULLABLE = 'YES', ' NULL', ' NOT NULL')";
const OWN_COMMENT: &str = "IF(COLUMN_COMMENT = '', '', CONCAT(' COMMENT ', QUOTE(COLUMN_COMMENT)))";

impl Restated {
    /// The column as it is.
    pub(super) fn own(online: Online) -> Restated {
        Restated {
            nullability: OWN_NULLABILITY.into(),
            comment: OWN_COMMENT.into(),
            online,
        }
    }
}

/// The column's definition as `MODIFY` needs it, from `information_schema.COLUMNS`, with the
/// nullability and comment of `restated`.
fn modify_sql(my: &Mysql, table: &TableName, column: &str, restated: &Restated) -> String {
    format!(
        "SELECT CONCAT({}, COLUMN_TYPE,\n       IF(COLLATION_NAME IS NULL, '', CONCAT(' CHARACTER SET ', CHARACTER_SET_NAME, ' COLLATE ', COLLATION_NAME)),\n       {},\n       IF(COLUMN_DEFAULT IS NULL OR COLUMN_DEFAULT = 'NULL', '', CONCAT(' DEFAULT ', COLUMN_DEFAULT)),\n       IF(EXTRA = '', '', CONCAT(' ', EXTRA)),\n       {},\n       {})\n{}",
        quote_literal(&format!(
            "ALTER TABLE {} MODIFY {} ",
            my.table(table),
            my.ident(column)
        )),
        restated.nullability,
        restated.comment,
        quote_literal(&format!(", {}", restated.online.clause())),
        column_row(my, table, column)
    )
}

/// A `MODIFY` of `column` built when the step runs: the column's definition as it is saved as
/// `previous_definition` (the undo), the changed one as `forward`, then run.
pub(super) fn modify_column(
    my: &Mysql,
    table: &TableName,
    column: &str,
    (forward, restated): (&'static str, Restated),
    description: String,
    effect: TableEffect,
) -> (Vec<Action>, Undo) {
    let capture_previous = Capture {
        missing: None,
        name: "previous_definition",
        description: format!(
            "the definition of {table}.{column} as it is, as the SQL that restores it"
        ),
        query: modify_sql(my, table, column, &Restated::own(restated.online)),
    };
    let capture_forward = Capture {
        missing: None,
        name: forward,
        description: format!(
            "the definition of {table}.{column} as the step makes it, as the SQL that does it"
        ),
        query: modify_sql(my, table, column, &restated),
    };
    let saved = |name: &'static str, description: String| ExecuteSaved {
        name,
        description,
        lock: Lock::Metadata,
        table: Some(table.clone()),
        effect,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    let actions = vec![
        Action::Capture(capture_previous),
        Action::Capture(capture_forward),
        Action::ExecuteSaved(saved(forward, description)),
    ];
    let undo = Undo::Actions(vec![Action::ExecuteSaved(saved(
        "previous_definition",
        format!("MODIFY {column} back to its saved definition"),
    ))]);
    (actions, undo)
}

pub(super) const MODIFY_NOTE: &str = "MODIFY restates the whole column: its type, character set, default, extra and comment are read from information_schema when the step runs";
const REBUILD_NOTE: &str = "ALGORITHM=INPLACE, LOCK=NONE: InnoDB rebuilds the table online; reads and writes continue, the metadata lock is exclusive only at the start and the end";

pub(super) fn set_not_null(my: &Mysql, op: &SetNotNull) -> Result<PlannedOp, Unsupported> {
    let not_null = Restated {
        nullability: "' NOT NULL'".into(),
        ..Restated::own(Online::Inplace)
    };
    let (modify, undo) = modify_column(
        my,
        &op.table,
        &op.column,
        ("not_null_definition", not_null),
        format!(
            "MODIFY {} with its own type, default and comment, NOT NULL, ALGORITHM=INPLACE, LOCK=NONE",
            op.column
        ),
        TableEffect::Rewrite,
    );
    let mut actions = vec![Action::Guard(common::null_count(my, &op.table, &op.column))];
    actions.extend(modify);
    Ok(PlannedOp {
        actions,
        undo,
        notes: vec![
            "the null-count guard runs first; a NULL written after it makes the ALTER fail (strict mode), and nothing is changed".into(),
            REBUILD_NOTE.into(),
            MODIFY_NOTE.into(),
        ],
    })
}

pub(super) fn drop_not_null(my: &Mysql, op: &DropNotNull) -> Result<PlannedOp, Unsupported> {
    let nullable = Restated {
        nullability: "' NULL'".into(),
        ..Restated::own(Online::Inplace)
    };
    let (actions, undo) = modify_column(
        my,
        &op.table,
        &op.column,
        ("nullable_definition", nullable),
        format!(
            "MODIFY {} with its own type, default and comment, NULL, ALGORITHM=INPLACE, LOCK=NONE",
            op.column
        ),
        TableEffect::Rewrite,
    );
    Ok(PlannedOp {
        actions,
        undo,
        notes: vec![
            REBUILD_NOTE.into(),
            MODIFY_NOTE.into(),
            "rollback restores the saved definition: NOT NULL again only if the column was; a NULL written meanwhile makes it fail (strict mode) and change nothing".into(),
        ],
    })
}
