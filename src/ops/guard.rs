//! `guard`: a check that must hold before the rest of its phase runs.

use serde::Serialize;

use super::ANY_PHASE;
use super::{Expression, Operation};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::reader::IntOrBool;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, Span, TableName};

/// The value a guard query must return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Expect {
    Integer(i64),
    Boolean(bool),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Integer(n) => write!(f, "{n}"),
            Expect::Boolean(b) => write!(f, "{b}"),
        }
    }
}

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
        let null_count = r.opt_column_ref(
            "null_count",
            "`\"table.column\"` (or `\"schema.table.column\"`) that must have no NULL",
        );
        let query = r.opt_str(
            "query",
            KeyKind::Query,
            "SQL returning one value, compared with `expect`",
        );
        let expect = r.opt_integer_or_bool(
            "expect",
            "the value `query` must return (integer or boolean)",
        );
        if r.is_probe() {
            return None;
        }
        // Decide on the keys present; a present but invalid value has been reported already.
        match (r.has("null_count"), r.has("query"), r.has("expect")) {
            (true, false, false) => {
                let (table, column) = null_count?;
                Some(Guard {
                    check: GuardCheck::NullCount { table, column },
                })
            }
            (false, true, true) => {
                let expect = match expect? {
                    IntOrBool::Int(n) => Expect::Integer(n),
                    IntOrBool::Bool(b) => Expect::Boolean(b),
                };
                Some(Guard {
                    check: GuardCheck::Query {
                        query: query?,
                        expect,
                    },
                })
            }
            (null_count, query, expect) => {
                let span = r.span();
                r.report(wrong_keys(null_count, query, expect, span));
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

    fn expressions(&self) -> Vec<Expression<'_>> {
        match &self.check {
            GuardCheck::Query { query, .. } => vec![Expression::new("query", query)],
            GuardCheck::NullCount { .. } => Vec::new(),
        }
    }
}

/// Why a guard's keys do not make one check: which key is missing, or that both kinds are given.
fn wrong_keys(null_count: bool, query: bool, expect: bool, span: Span) -> Diagnostic {
    let help =
        "write either `null_count = \"table.column\"` or `query = \"SELECT …\"` with `expect = 0`";
    let (code, message, help) = match (null_count, query, expect) {
        (false, true, false) => (
            Code::MissingKey,
            "guard with `query` is missing `expect`",
            "add `expect = 0` (or the integer or boolean the query must return)",
        ),
        (false, false, true) => (
            Code::MissingKey,
            "guard with `expect` is missing `query`",
            "add `query = \"SELECT …\"` returning the value to compare with `expect`",
        ),
        (false, false, false) => (
            Code::MissingKey,
            "guard needs `null_count` or `query`",
            help,
        ),
        _ => (
            Code::Contradiction,
            "guard gives both `null_count` and `query`/`expect`",
            help,
        ),
    };
    Diagnostic::error(code, Some(span), message).with_help(help)
}
