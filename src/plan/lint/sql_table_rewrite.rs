//! `table-rewrite`: a `sql` step changes a column's type or adds a column with a volatile
//! default, and PostgreSQL rewrites the whole table under an exclusive lock.

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ColumnOption, Statement};

use super::sql_statements::SqlStep;
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

/// Functions whose value differs per row: a default calling one is computed for every row.
const VOLATILE: &[&str] = &[
    "random(",
    "gen_random_uuid(",
    "uuid_generate_v1(",
    "uuid_generate_v4(",
    "clock_timestamp(",
    "timeofday(",
    "nextval(",
];

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
        .filter_map(|(statement, operation)| rewrite(operation).map(|why| (statement, why)))
        .map(|(statement, (message, help))| {
            step.warning(statement, Code::TableRewrite, message, help)
        })
        .collect()
}

/// Why `operation` rewrites the table, and what to do instead.
fn rewrite(operation: &AlterTableOperation) -> Option<(String, &'static str)> {
    match operation {
        AlterTableOperation::AlterColumn {
            column_name,
            op: AlterColumnOperation::SetDataType { .. },
        } => Some((
            format!("this sql step changes the type of {column_name}, which rewrites the table under an exclusive lock"),
            "add a new column of the new type, sync and backfill it, then switch (`bellows new --template change-type`)",
        )),
        AlterTableOperation::AddColumn { column_def, .. } => {
            let volatile = column_def.options.iter().any(|option| match &option.option {
                ColumnOption::Default(expr) => {
                    let text = expr.to_string().to_lowercase();
                    VOLATILE.iter().any(|f| text.contains(f))
                }
                _ => false,
            });
            volatile.then(|| (
                format!("this sql step adds {} with a volatile default, which rewrites the table under an exclusive lock", column_def.name),
                "add the column without a default (or a constant one), backfill it, then `set_default`",
            ))
        }
        _ => None,
    }
}
