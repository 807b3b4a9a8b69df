//! `guard`: a check that must hold before the rest of its phase runs.

use serde::Serialize;

use super::planned::PlannedOp;
use super::Operation;
use crate::dialect::{Dialect, Unsupported};
use crate::plan::model::{Phase, TableName};
use crate::plan::reader::{KeyKind, TableReader};
use super::planned::Expect;
use super::ANY_PHASE;
use crate::plan::diagnostic::Diagnostic;
use crate::plan::reader::IntOrBool;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GuardCheck {
    /// `null_count = "table.column"`: no NULL may remain.
    NullCount { table: TableName, column: String },
    /// `query` must return `expect`.
    Query { query: String, expect: Expect },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guard {
    pub check: GuardCheck,
}

impl Operation for Guard {
    const NAME: &'static str = "guard";
    const PHASES: &'static [Phase] = ANY_PHASE;
    const DOC: &'static str = "A check that must hold (null count 0, or a query's result) before anything else of the phase runs.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let null_count = r.opt_str("null_count", KeyKind::String, "`\"table.column\"` (or `\"schema.table.column\"`) that must have no NULL");
        let query = r.opt_str("query", KeyKind::Query, "SQL returning one value, compared with `expect`");
        let expect = r.opt_integer_or_bool("expect", "the value `query` must return (integer or boolean)");
        if r.is_probe() {
            return None;
        }
        let span = r.span();
        let help = "write either `null_count = \"table.column\"` or `query = \"SELECT …\"` with `expect = 0`";
        match (null_count, query, expect) {
            (Some(target), None, None) => match target.rsplit_once('.') {
                Some((table, column)) if !table.is_empty() && !column.is_empty() => Some(Guard {
                    check: GuardCheck::NullCount { table: TableName::parse(table), column: column.to_string() },
                }),
                _ => {
                    r.report(Diagnostic::error("invalid-value", Some(span), format!("guard `null_count = \"{target}\"` must name a column as \"table.column\"")).with_help(help));
                    None
                }
            },
            (None, Some(query), Some(expect)) => Some(Guard {
                check: GuardCheck::Query {
                    query,
                    expect: match expect {
                        IntOrBool::Int(n) => Expect::Integer(n),
                        IntOrBool::Bool(b) => Expect::Boolean(b),
                    },
                },
            }),
            (None, Some(_), None) => {
                r.report(Diagnostic::error("missing-key", Some(span), "guard with `query` is missing `expect`").with_help("add `expect = 0` (or the integer or boolean the query must return)"));
                None
            }
            (None, None, _) => {
                r.report(Diagnostic::error("missing-key", Some(span), "guard needs `null_count` or `query`").with_help(help));
                None
            }
            _ => {
                r.report(Diagnostic::error("contradiction", Some(span), "guard gives both `null_count` and `query`/`expect`").with_help(help));
                None
            }
        }
    }

    fn target(&self) -> String {
        match &self.check {
            GuardCheck::NullCount { table, column } => format!("no NULL in {table}.{column}"),
            GuardCheck::Query { expect, .. } => format!("query returns {expect}"),
        }
    }

    fn plan(&self, dialect: &dyn Dialect) -> Result<PlannedOp, Unsupported> {
        dialect.guard(self)
    }
}
