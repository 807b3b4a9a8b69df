//! `contradiction`: a step that names a column by the name a later `rename_column` of the plan
//! gives it. Steps name columns as they are when they run, so until the rename (in contract) the
//! column has its old name.

use super::facts::{creates_column, label};
use super::At;
use crate::ops::add_index::IndexTarget;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::TableName;

/// The table and the plain column names a step names.
fn named_columns(op: &Op) -> Option<(&TableName, Vec<&str>)> {
    fn one<'o>(t: &'o TableName, c: &'o str) -> Option<(&'o TableName, Vec<&'o str>)> {
        Some((t, vec![c]))
    }
    match op {
        Op::AddIndex(i) => Some((
            &i.table,
            i.columns
                .iter()
                .filter_map(|e| match &e.target {
                    IndexTarget::Column(c) => Some(c.as_str()),
                    IndexTarget::Expression(_) => None,
                })
                .collect(),
        )),
        Op::AddUnique(u) => Some((&u.table, u.columns.iter().map(String::as_str).collect())),
        Op::AddForeignKey(f) => Some((&f.table, f.columns.iter().map(String::as_str).collect())),
        Op::SetDefault(s) => one(&s.table, &s.column),
        Op::DropDefault(d) => one(&d.table, &d.column),
        Op::SetNotNull(s) => one(&s.table, &s.column),
        Op::DropNotNull(d) => one(&d.table, &d.column),
        Op::SyncColumn(s) => one(&s.table, &s.column),
        _ => None,
    }
}

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some((table, columns)) = named_columns(&at.step.op) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for column in columns {
        let renamer = at.later.iter().find_map(|s| match &s.op {
            Op::RenameColumn(r) if &r.table == table && r.to == column => Some((s, r)),
            _ => None,
        });
        let Some((step, rename)) = renamer else {
            continue;
        };
        if at.earlier.iter().any(|e| creates_column(e, table, column)) {
            continue;
        }
        found.push(at.error(
            Code::Contradiction,
            format!(
                "{} names {table}.{column}, the name that {} (rename_column) gives {} later; until then the column is {}",
                at.step.op.name(),
                label(step),
                rename.column,
                rename.column
            ),
            format!(
                "name it `{}` here: each step names columns as they are when it runs",
                rename.column
            ),
        ));
    }
    found
}
