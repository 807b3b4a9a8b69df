//! `contradiction`: `change_type` on a column or table that an earlier step of the plan renames.
//! The type change's hidden column, sync and backfill run in expand and backfill, where the
//! column still has the name it has before the plan.

use super::facts::label;
use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::ChangeType(change) = &at.step.op else {
        return Vec::new();
    };
    let renamer = at.earlier.iter().find_map(|e| match &e.op {
        Op::RenameColumn(r) if r.table == change.table && r.to == change.column => {
            Some((e, format!("{}.{}", r.table, r.column)))
        }
        Op::RenameTable(r) if r.renamed() == change.table => Some((e, r.table.to_string())),
        _ => None,
    });
    renamer
        .map(|(step, old)| {
            at.error(
                Code::Contradiction,
                format!(
                    "change_type names {}.{}, a name that {} gives {old} before it; a type change works from expand on, under the names the plan starts from",
                    change.table,
                    change.column,
                    label(step),
                ),
                format!("put change_type before that step and name {old} as it is now; the version schema still shows the new name and the new type"),
            )
        })
        .into_iter()
        .collect()
}
