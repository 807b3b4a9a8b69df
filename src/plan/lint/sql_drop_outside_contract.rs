//! `drop-outside-contract`: a `sql` step drops a table, column, index or constraint before
//! contract, while the previous version of the application may still use it.

use sqlparser::ast::{AlterTableOperation, Statement};

use super::sql_statements::SqlStep;
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::Phase;

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    if at.step.phase == Phase::Contract {
        return Vec::new();
    }
    let Some(step) = SqlStep::at(at) else {
        return Vec::new();
    };
    let drops = step.statements.iter().find(|statement| match statement {
        Statement::Drop { .. } => true,
        Statement::AlterTable(alter) => alter.operations.iter().any(|operation| {
            matches!(
                operation,
                AlterTableOperation::DropColumn { .. } | AlterTableOperation::DropConstraint { .. }
            )
        }),
        _ => false,
    });
    let Some(statement) = drops else {
        return Vec::new();
    };
    vec![step.warning(
        statement,
        Code::DropOutsideContract,
        format!("this sql step in {} drops something the running application may still use", at.step.phase),
        "move the step to [[contract]], which runs once only the new version of the application is left",
    )]
}
