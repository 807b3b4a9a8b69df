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
    let (does, what, already, hint) = what_it_does(op)?;
    Some((
        format!(
            "{} {does} {what}, which {first} already {already}",
            op.name()
        ),
        hint,
    ))
}

/// What a step does, as "`does` `what`, which the first already `already`", and the hint.
fn what_it_does(op: &Op) -> Option<(&'static str, String, &'static str, &'static str)> {
    let on = |name: &str, table: &dyn std::fmt::Display| format!("constraint {name} on {table}");
    Some(match op {
        Op::CreateTable(c) => ("creates", c.table.to_string(), "creates", REMOVE_ONE),
        Op::AddColumn(a) => (
            "adds",
            format!("{}.{}", a.table, a.column),
            "adds",
            REMOVE_ONE,
        ),
        Op::SyncColumn(s) => (
            "keeps",
            format!("{}.{} in step", s.table, s.column),
            "does",
            "one sync trigger per column: merge the two steps",
        ),
        Op::AddIndex(i) => (
            "builds",
            format!("index {}", i.index_name()),
            "builds",
            "give one of the indexes another `name`",
        ),
        Op::SetNotNull(s) => (
            "makes",
            format!("{}.{} NOT NULL", s.table, s.column),
            "does",
            REMOVE_ONE,
        ),
        Op::DropSync(d) => (
            "drops",
            format!("the sync trigger of {}.{}", d.table, d.column),
            "drops",
            REMOVE_ONE,
        ),
        Op::DropColumn(d) => (
            "drops",
            format!("{}.{}", d.table, d.column),
            "drops",
            REMOVE_ONE,
        ),
        Op::DropTable(d) => ("drops", d.table.to_string(), "drops", REMOVE_ONE),
        Op::DropIndex(d) => ("drops", format!("index {}", d.name), "drops", REMOVE_ONE),
        Op::DropConstraint(d) => (
            "drops",
            format!("{} on {}", d.name, d.table),
            "drops",
            REMOVE_ONE,
        ),
        Op::AddCheck(c) => ("adds", on(&c.name, &c.table), "adds", ANOTHER_NAME),
        Op::AddForeignKey(f) => (
            "adds",
            on(&f.constraint_name(), &f.table),
            "adds",
            ANOTHER_NAME,
        ),
        Op::AddUnique(u) => (
            "adds",
            on(&u.constraint_name(), &u.table),
            "adds",
            ANOTHER_NAME,
        ),
        Op::AddPrimaryKey(p) => (
            "adds",
            on(&p.constraint_name(), &p.table),
            "adds",
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
        | Op::SetReplicaIdentity(_)
        | Op::RenameColumn(_)
        | Op::RenameTable(_)
        | Op::ChangeType(_)
        | Op::Version(_) => return None,
    })
}
