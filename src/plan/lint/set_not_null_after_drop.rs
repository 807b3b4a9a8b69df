//! `contradiction`: `set_not_null` on a column that an earlier step drops.

use super::facts::{drops_column, label};
use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::SetNotNull(s) = &at.step.op else {
        return Vec::new();
    };
    let dropper = at
        .earlier
        .iter()
        .find(|e| drops_column(e, &s.table, &s.column));
    dropper
        .map(|dropper| {
            at.error(
                Code::Contradiction,
                format!(
                    "set_not_null changes {}.{}, which {} drops before it",
                    s.table,
                    s.column,
                    label(dropper)
                ),
                "reorder the steps, or remove the one that is no longer needed",
            )
        })
        .into_iter()
        .collect()
}
