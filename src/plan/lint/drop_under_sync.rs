//! `contradiction`: `drop_column` or `rename_column` of a column a live sync trigger of the plan
//! still writes or reads (the trigger names it, so every write to the table would then fail).

use super::facts::{label, live_sync_using};
use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let (what, table, column) = match &at.step.op {
        Op::DropColumn(d) => ("drop_column drops", &d.table, &d.column),
        Op::RenameColumn(r) => ("rename_column renames", &r.table, &r.column),
        _ => return Vec::new(),
    };
    if !at.complete {
        return Vec::new();
    }
    let Some((sync, synced)) = live_sync_using(at.plan, at.earlier, table, column) else {
        return Vec::new();
    };
    vec![at.error(
        Code::Contradiction,
        format!(
            "{what} {table}.{column}, but the sync trigger of {} still uses it",
            label(sync)
        ),
        format!(
            "add a `drop_sync` step for {table}.{synced} before this step, so writes do not fail"
        ),
    )]
}
