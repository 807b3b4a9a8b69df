//! `sql`: SQL written by the plan's author, with an optional inverse.

use serde::Serialize;

use super::ANY_PHASE;
use super::{Expression, Operation};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::Phase;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sql {
    pub up: String,
    pub down: Option<String>,
    /// `false` runs `up` (and `down`) alone, outside a transaction.
    pub transaction: bool,
}

impl Operation for Sql {
    const NAME: &'static str = "sql";
    const PHASES: &'static [Phase] = ANY_PHASE;
    const DOC: &'static str =
        "Run SQL as written; `down` undoes it (without `down` the step is irreversible).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let up = r.req_str("up", KeyKind::Query, "SQL to run");
        let down = r.opt_str("down", KeyKind::Query, "SQL that undoes `up`");
        let transaction = r
            .opt_bool("transaction", "run inside a transaction (default true)")
            .unwrap_or(true);
        if !r.has("down") && !r.is_probe() {
            let span = r.span();
            r.report(
                Diagnostic::warning(Code::Irreversible, Some(span), "sql step has no `down`: it cannot be rolled back")
                    .with_help("add `down = \"…\"` with SQL that undoes `up`, or accept that rollback will refuse to pass this step"),
            );
        }
        Some(Sql {
            up: up?,
            down,
            transaction,
        })
    }

    fn target(&self) -> String {
        let first = self
            .up
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let mut short: String = first.chars().take(48).collect();
        if first.chars().count() > 48 || self.up.trim().lines().count() > 1 {
            short.push('…');
        }
        short
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let mut found = vec![Expression::new("up", &self.up)];
        found.extend(self.down.as_deref().map(|d| Expression::new("down", d)));
        found
    }
}
