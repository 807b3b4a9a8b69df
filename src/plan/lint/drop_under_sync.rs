//! `contradiction`: `drop_column` of a column a live sync trigger of the plan still writes or
//! reads (every write to the table would then fail).

use super::facts::{label, live_sync_using};
use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::DropColumn(d) = &at.step.op else {
        return Vec::new();
    };
    if !at.complete {
        return Vec::new();
    }
    let Some((sync, synced)) = live_sync_using(at.plan, at.earlier, &d.table, &d.column) else {
        return Vec::new();
    };
    vec![at.error(
        Code::Contradiction,
        format!(
            "drop_column drops {}.{}, but the sync trigger of {} still uses it",
            d.table,
            d.column,
            label(sync)
        ),
        format!(
            "add a `drop_sync` step for {}.{synced} before this step, so writes do not fail",
            d.table
        ),
    )]
}
