//! `contradiction`: a step drops a column, table, index or constraint that an earlier step of
//! the same plan creates.

use super::facts::{added_constraint, creates_column, creates_table, label};
use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let earlier = at.earlier;
    let found = match &at.step.op {
        Op::DropColumn(d) => earlier
            .iter()
            .find(|e| creates_column(e, &d.table, &d.column))
            .map(|creator| {
                (
                    format!("drop_column drops {}.{}, which {} of this plan adds", d.table, d.column, label(creator)),
                    "a plan cannot both add and drop a column; drop it in a later plan, or remove both steps",
                )
            }),
        Op::DropTable(d) => earlier.iter().find(|e| creates_table(e, &d.table)).map(|creator| {
            (
                format!("drop_table drops {}, which {} of this plan creates", d.table, label(creator)),
                "a plan cannot both create and drop a table",
            )
        }),
        Op::DropIndex(d) => earlier
            .iter()
            .find(|e| {
                matches!(&e.op, Op::AddIndex(a) if a.index_name() == d.name.name
                    && (d.name.schema.is_none() || d.name.schema == a.table.schema))
            })
            .map(|creator| {
                (
                    format!("drop_index drops index {}, which {} of this plan builds", d.name, label(creator)),
                    "a plan cannot both build and drop an index; remove both steps",
                )
            }),
        Op::DropConstraint(d) => earlier
            .iter()
            .find(|e| added_constraint(&e.op).is_some_and(|(t, n)| t == &d.table && n == d.name))
            .map(|creator| {
                (
                    format!("drop_constraint drops {} on {}, which {} of this plan adds", d.name, d.table, label(creator)),
                    "a plan cannot both add and drop a constraint; remove both steps",
                )
            }),
        _ => None,
    };
    found
        .map(|(message, help)| at.error(Code::Contradiction, message, help))
        .into_iter()
        .collect()
}
