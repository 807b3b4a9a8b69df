//! `backfill-without-sync` (warning): a backfill of a column this plan adds, with nothing that
//! fills it for rows the running application writes meanwhile.

use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::Phase;

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::Backfill(backfill) = &at.step.op else {
        return Vec::new();
    };
    // The rule rests on a `sync_column` being absent, which an unreadable step may be.
    if !at.complete || at.step.phase != Phase::Backfill {
        return Vec::new();
    }
    let steps = &at.plan.steps;
    let mut found = Vec::new();
    for (column, _) in &backfill.set {
        let added = steps.iter().find_map(|s| match &s.op {
            Op::AddColumn(a) if a.table == backfill.table && &a.column == column => Some(a),
            _ => None,
        });
        let Some(added) = added else { continue };
        let synced = steps.iter().any(|s| {
            matches!(&s.op, Op::SyncColumn(sc) if sc.table == backfill.table
                && (&sc.column == column || sc.reverse.as_ref().is_some_and(|r| &r.column == column)))
        });
        if !synced && added.default.is_none() {
            found.push(at.warning(
                Code::BackfillWithoutSync,
                format!(
                    "backfill fills {}.{column}, but nothing fills it for rows the running application writes meanwhile",
                    backfill.table
                ),
                format!("add a `sync_column` step for {column} in expand, and `drop_sync` in contract"),
            ));
        }
    }
    found
}
