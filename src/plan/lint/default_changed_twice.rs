//! `contradiction`: two steps of the plan change the default of the same column.

use super::facts::{default_column, label};
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some((table, column)) = default_column(&at.step.op) else {
        return Vec::new();
    };
    let Some(first) = at
        .earlier
        .iter()
        .find(|e| default_column(&e.op) == Some((table, column)))
    else {
        return Vec::new();
    };
    vec![at.error(
        Code::Contradiction,
        format!(
            "{} changes the default of {table}.{column}, which {} ({}) already changes",
            at.step.op.name(),
            label(first),
            first.op.name()
        ),
        "keep one default change per column in a plan",
    )]
}
