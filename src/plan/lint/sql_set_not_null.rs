//! `set-not-null-directly`: a `sql` step runs `ALTER COLUMN … SET NOT NULL`, which scans the
//! whole table under an exclusive lock.

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Statement};

use super::sql_statements::SqlStep;
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some(step) = SqlStep::at(at) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for statement in &step.statements {
        let Statement::AlterTable(alter) = statement else {
            continue;
        };
        for operation in &alter.operations {
            if let AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetNotNull,
            } = operation
            {
                found.push(step.warning(
                    statement,
                    Code::SetNotNullDirectly,
                    format!("this sql step sets {column_name} NOT NULL directly, scanning the table while it is locked"),
                    "use the `set_not_null` operation in contract: it validates a NOT VALID check first",
                ));
            }
        }
    }
    found
}
