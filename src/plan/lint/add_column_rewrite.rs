//! `table-rewrite` (warning): an `add_column` whose default (or type) makes PostgreSQL rewrite
//! every row under ACCESS EXCLUSIVE. The same answer `plan` marks the step "REWRITES" with.

use super::At;
use crate::ops::Op;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::AddColumn(add) = &at.step.op else {
        return Vec::new();
    };
    let Some(why) = add.volatile_default() else {
        return Vec::new();
    };
    vec![at.warning(
        Code::TableRewrite,
        format!(
            "add_column {}.{}: {why}, so PostgreSQL rewrites every row while holding ACCESS EXCLUSIVE, blocking reads and writes",
            add.table, add.column
        ),
        "add the column without it (nullable, or with a constant default) and fill it in the backfill phase",
    )]
}
