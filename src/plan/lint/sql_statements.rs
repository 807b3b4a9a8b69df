//! The statements of a `sql` step's `up`, parsed once for the rules that read them (the
//! squawk-class lints), and where to point their warnings.

use sqlparser::ast::{ObjectName, Statement};

use super::At;
use crate::ops::Op;
use crate::plan::sql::{parse_statements, word_span};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::Span;

/// A `sql` step whose `up` parses.
pub struct SqlStep {
    pub statements: Vec<Statement>,
    pub transaction: bool,
    /// The `up` value in the file (the step when it cannot be found).
    span: Span,
    /// Where each statement's first word is in the file, when `up` is written without escapes.
    starts: Vec<Option<Span>>,
}

impl SqlStep {
    /// The `sql` step at `at`, when `up` parses.
    pub fn at(at: &At<'_>) -> Option<SqlStep> {
        let Op::Sql(sql) = &at.step.op else {
            return None;
        };
        let value = at.step.value_span("up", &sql.up);
        let span = value.map_or(at.step.span.clone(), |v| v.span.clone());
        let starts = statement_starts(&sql.up)
            .into_iter()
            .map(|(line, column)| value.and_then(|v| word_span(v, line, column)))
            .collect();
        Some(SqlStep {
            statements: parse_statements(&sql.up)?,
            transaction: sql.transaction,
            span,
            starts,
        })
    }

    /// A warning at `statement` (one of [`SqlStep::statements`]) inside the step's `up`: at its
    /// first word, or at the whole `up` when that cannot be placed.
    pub fn warning(
        &self,
        statement: &Statement,
        code: Code,
        message: String,
        help: &str,
    ) -> Diagnostic {
        let index = self
            .statements
            .iter()
            .position(|s| std::ptr::eq(s, statement));
        let span = index
            .and_then(|i| self.starts.get(i).cloned().flatten())
            .unwrap_or_else(|| self.span.clone());
        Diagnostic::warning(code, Some(span), message).with_help(help)
    }
}

/// The 1-based line and column of the first token of each statement of `sql` (statements
/// separated by `;`, empty ones skipped, as the parser counts them).
fn statement_starts(sql: &str) -> Vec<(usize, usize)> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return Vec::new();
    };
    let mut starts = Vec::new();
    let mut in_statement = false;
    for token in tokens {
        match token.token {
            Token::SemiColon => in_statement = false,
            Token::Whitespace(_) | Token::EOF => {}
            _ if !in_statement => {
                in_statement = true;
                starts.push((
                    token.span.start.line as usize,
                    token.span.start.column as usize,
                ));
            }
            _ => {}
        }
    }
    starts
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
