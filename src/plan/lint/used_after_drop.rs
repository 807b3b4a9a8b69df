//! `contradiction`: a step on a table that an earlier step of the plan drops.

use super::facts::{drops_table, label, step_table};
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some(table) = step_table(&at.step.op) else {
        return Vec::new();
    };
    let Some(dropper) = at.earlier.iter().find(|e| drops_table(e, table)) else {
        return Vec::new();
    };
    vec![at.error(
        Code::Contradiction,
        format!(
            "{} uses {table}, which {} drops before it",
            at.step.op.name(),
            label(dropper)
        ),
        "reorder the steps, or remove the one that is no longer needed",
    )]
}
