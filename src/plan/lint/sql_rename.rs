//! `rename`: a `sql` step renames a table or a column, which breaks every running copy of the
//! application that still uses the old name.

use sqlparser::ast::{AlterTableOperation, Statement};

use super::sql_statements::SqlStep;
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some(step) = SqlStep::at(at) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for statement in &step.statements {
        let renamed = match statement {
            Statement::AlterTable(alter) => alter
                .operations
                .iter()
                .filter_map(|operation| match operation {
                    AlterTableOperation::RenameColumn {
                        old_column_name, ..
                    } => Some(format!("column {old_column_name}")),
                    AlterTableOperation::RenameTable { .. } => {
                        Some(format!("table {}", alter.name))
                    }
                    _ => None,
                })
                .collect(),
            Statement::RenameTable(tables) => tables
                .iter()
                .map(|t| format!("table {}", t.old_name))
                .collect(),
            _ => Vec::new(),
        };
        found.extend(renamed.into_iter().map(|what| {
            step.warning(
                statement,
                Code::Rename,
                format!("this sql step renames the {what}, breaking the application code that still uses the old name"),
                "add the new name beside the old one, keep them in step with `sync_column`, and drop the old one in contract (`bellows new --template rename-column`)",
            )
        }));
    }
    found
}
