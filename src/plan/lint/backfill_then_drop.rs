//! `contradiction`: a backfill fills a column that a later step of the plan drops.

use super::facts::{drops_column, label};
use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::Backfill(b) = &at.step.op else {
        return Vec::new();
    };
    b.set
        .iter()
        .filter_map(|(column, _)| {
            let dropper = at
                .later
                .iter()
                .find(|l| drops_column(l, &b.table, column))?;
            Some(at.error(
                Code::Contradiction,
                format!(
                    "backfill fills {}.{column}, which {} drops",
                    b.table,
                    label(dropper)
                ),
                "a plan cannot both fill and drop a column; remove one of the steps",
            ))
        })
        .collect()
}
