//! The statements of a `sql` step's `up`, parsed once for the rules that read them (the
//! squawk-class lints), and where to point their warnings.

use sqlparser::ast::{ObjectName, Statement};

use super::At;
use crate::ops::Op;
use crate::plan::sql::parse_statements;
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::Span;

/// A `sql` step whose `up` parses.
pub struct SqlStep {
    pub statements: Vec<Statement>,
    pub transaction: bool,
    /// The `up` value in the file (the step when it cannot be found).
    span: Span,
}

impl SqlStep {
    /// The `sql` step at `at`, when `up` parses.
    pub fn at(at: &At<'_>) -> Option<SqlStep> {
        let Op::Sql(sql) = &at.step.op else {
            return None;
        };
        let span = at
            .step
            .value_span("up", &sql.up)
            .map_or(at.step.span.clone(), |v| v.span.clone());
        Some(SqlStep {
            statements: parse_statements(&sql.up)?,
            transaction: sql.transaction,
            span,
        })
    }

    /// A warning at the step's `up`.
    pub fn warning(&self, code: Code, message: String, help: &str) -> Diagnostic {
        Diagnostic::warning(code, Some(self.span.clone()), message).with_help(help)
    }
}

/// The table's own name, lowercased, without its schema: `billing.Invoices` → `invoices`.
pub fn base_name(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|part| part.to_string().trim_matches('"').to_lowercase())
        .unwrap_or_default()
}

/// Whether the plan creates `table` before the statement `index` of the step at `at`: a
/// `create_table` step or a `CREATE TABLE` in an earlier `sql` step or earlier in this one.
pub fn created_by_plan(at: &At<'_>, step: &SqlStep, index: usize, table: &str) -> bool {
    let creates = |statement: &Statement| matches!(statement, Statement::CreateTable(create) if base_name(&create.name) == table);
    let earlier_steps = at.earlier.iter().any(|earlier| match &earlier.op {
        Op::CreateTable(create) => create.table.name.to_lowercase() == table,
        Op::Sql(sql) => parse_statements(&sql.up).is_some_and(|s| s.iter().any(creates)),
        _ => false,
    });
    earlier_steps || step.statements[..index].iter().any(creates)
}
