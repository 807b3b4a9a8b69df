//! `several-ddl-in-one-transaction`: a transactional `sql` step runs several statements that
//! lock existing tables; the transaction holds every lock until it commits, so each statement
//! waits behind, and blocks, what the others locked.

use sqlparser::ast::Statement;

use super::sql_statements::SqlStep;
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some(step) = SqlStep::at(at) else {
        return Vec::new();
    };
    let locking: Vec<_> = step
        .statements
        .iter()
        .filter(|statement| {
            matches!(
                statement,
                Statement::AlterTable(_)
                    | Statement::CreateIndex(_)
                    | Statement::Drop { .. }
                    | Statement::Truncate(_)
                    | Statement::RenameTable(_)
            )
        })
        .collect();
    if !step.transaction || locking.len() < 2 {
        return Vec::new();
    }
    // At the second: the statement that makes the step hold two locks at once.
    vec![step.warning(
        locking[1],
        Code::SeveralDdlInOneTransaction,
        format!("this sql step runs {} DDL statements in one transaction, holding all their locks until it commits", locking.len()),
        "split the statements into one `sql` step each, so each lock is held only as long as its statement",
    )]
}
