//! `duplicate`: a step that does what an earlier step of the same plan already does.

use super::super::model::Step;
use super::facts::{
    added_constraint, creates_column, creates_table, drops_column, drops_table, label,
};
use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

const REMOVE_ONE: &str = "remove one of the two steps";
const ANOTHER_NAME: &str = "give one of the constraints another `name`";

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let op = &at.step.op;
    let Some(first) = at.earlier.iter().find(|e| does_again(op, e)) else {
        return Vec::new();
    };
    let found = message(op, &label(first));
    found
        .map(|(message, help)| at.error(Code::Duplicate, message, help))
        .into_iter()
        .collect()
}

/// Whether `op` does what the earlier step `first` does.
fn does_again(op: &Op, first: &Step) -> bool {
    match (op, &first.op) {
        (Op::CreateTable(c), _) => creates_table(first, &c.table),
        (Op::AddColumn(a), _) => creates_column(first, &a.table, &a.column),
        (Op::SyncColumn(s), Op::SyncColumn(o)) => o.table == s.table && o.column == s.column,
        (Op::AddIndex(i), Op::AddIndex(o)) => {
            o.index_name() == i.index_name() && o.table.schema == i.table.schema
        }
        (
            Op::AddCheck(_) | Op::AddForeignKey(_) | Op::AddUnique(_) | Op::AddPrimaryKey(_),
            earlier,
        ) => added_constraint(op).is_some() && added_constraint(op) == added_constraint(earlier),
        (Op::SetNotNull(s), Op::SetNotNull(o)) => o.table == s.table && o.column == s.column,
        (Op::DropSync(d), Op::DropSync(o)) => o.table == d.table && o.column == d.column,
        (Op::DropColumn(d), _) => drops_column(first, &d.table, &d.column),
        (Op::DropTable(d), _) => drops_table(first, &d.table),
        (Op::DropIndex(d), Op::DropIndex(o)) => o.name == d.name,
        (Op::DropConstraint(d), Op::DropConstraint(o)) => o.table == d.table && o.name == d.name,
        _ => false,
    }
}

/// The message and help for `op` repeating the step labelled `first`; `None` for the ops that
/// are never duplicates of one another.
fn message(op: &Op, first: &str) -> Option<(String, &'static str)> {
    let found = match op {
        Op::CreateTable(c) => (
            format!(
                "create_table creates {}, which {first} already creates",
                c.table
            ),
            REMOVE_ONE,
        ),
        Op::AddColumn(a) => (
            format!(
                "add_column adds {}.{}, which {first} already adds",
                a.table, a.column
            ),
            REMOVE_ONE,
        ),
        Op::SyncColumn(s) => (
            format!(
                "sync_column keeps {}.{} in step, which {first} already does",
                s.table, s.column
            ),
            "one sync trigger per column: merge the two steps",
        ),
        Op::AddIndex(i) => (
            format!(
                "add_index builds index {}, which {first} already builds",
                i.index_name()
            ),
            "give one of the indexes another `name`",
        ),
        Op::SetNotNull(s) => (
            format!(
                "set_not_null makes {}.{} NOT NULL, which {first} already does",
                s.table, s.column
            ),
            REMOVE_ONE,
        ),
        Op::DropSync(d) => (
            format!(
                "drop_sync drops the sync trigger of {}.{}, which {first} already drops",
                d.table, d.column
            ),
            REMOVE_ONE,
        ),
        Op::DropColumn(d) => (
            format!(
                "drop_column drops {}.{}, which {first} already drops",
                d.table, d.column
            ),
            REMOVE_ONE,
        ),
        Op::DropTable(d) => (
            format!("drop_table drops {}, which {first} already drops", d.table),
            REMOVE_ONE,
        ),
        Op::DropIndex(d) => (
            format!(
                "drop_index drops index {}, which {first} already drops",
                d.name
            ),
            REMOVE_ONE,
        ),
        Op::DropConstraint(d) => (
            format!(
                "drop_constraint drops {} on {}, which {first} already drops",
                d.name, d.table
            ),
            REMOVE_ONE,
        ),
        Op::AddCheck(c) => (
            format!(
                "add_check adds constraint {} on {}, which {first} already adds",
                c.name, c.table
            ),
            ANOTHER_NAME,
        ),
        Op::AddForeignKey(f) => (
            format!(
                "add_foreign_key adds constraint {} on {}, which {first} already adds",
                f.constraint_name(),
                f.table
            ),
            ANOTHER_NAME,
        ),
        Op::AddUnique(u) => (
            format!(
                "add_unique adds constraint {} on {}, which {first} already adds",
                u.constraint_name(),
                u.table
            ),
            ANOTHER_NAME,
        ),
        Op::AddPrimaryKey(p) => (
            format!(
                "add_primary_key adds constraint {} on {}, which {first} already adds",
                p.constraint_name(),
                p.table
            ),
            ANOTHER_NAME,
        ),
        Op::Backfill(_)
        | Op::SetDefault(_)
        | Op::DropDefault(_)
        | Op::Guard(_)
        | Op::Sql(_)
        | Op::DropNotNull(_)
        | Op::SetComment(_)
        | Op::RenameIndex(_)
        | Op::RenameConstraint(_)
        | Op::SetReplicaIdentity(_) => return None,
    };
    Some(found)
}
