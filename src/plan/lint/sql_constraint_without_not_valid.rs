//! `constraint-without-not-valid`: a `sql` step adds a foreign key or check constraint that is
//! verified against every row under the table's lock, or a unique or primary key constraint
//! that builds its index under that lock.

use sqlparser::ast::{AlterTableOperation, Statement, TableConstraint};

use super::sql_statements::SqlStep;
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some(step) = SqlStep::at(at) else {
        return Vec::new();
    };
    let operations = step
        .statements
        .iter()
        .flat_map(|statement| match statement {
            Statement::AlterTable(alter) => alter
                .operations
                .iter()
                .map(|operation| (statement, operation))
                .collect(),
            _ => Vec::new(),
        });
    operations
        .filter_map(|(statement, operation)| {
            let AlterTableOperation::AddConstraint { constraint, not_valid } = operation else {
                return None;
            };
            let help = match constraint {
                TableConstraint::ForeignKey(_) | TableConstraint::Check(_) if !not_valid => {
                    "add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later statement (or use `add_foreign_key`, `add_check`)"
                }
                TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) => {
                    "build a unique index with `CREATE UNIQUE INDEX CONCURRENTLY` first, then `ADD CONSTRAINT … USING INDEX`"
                }
                _ => return None,
            };
            Some(step.warning(
                statement,
                Code::ConstraintWithoutNotValid,
                "this sql step adds a constraint that is checked against every row while the table is locked".to_string(),
                help,
            ))
        })
        .collect()
}
