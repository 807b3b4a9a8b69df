//! `contradiction`: a backfill whose `set` rewrites a column of the key it walks.

use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::Backfill(b) = &at.step.op else {
        return Vec::new();
    };
    let Some(key) = &b.key else {
        return Vec::new();
    };
    b.set
        .iter()
        .filter(|(column, _)| key.contains(column))
        .map(|(column, _)| {
            at.error(
                Code::Contradiction,
                format!("backfill walks {} by `key` column {column}, which its own `set` rewrites", b.table),
                "keyset batches need a key that does not change: walk another key (the primary key by default)",
            )
        })
        .collect()
}
