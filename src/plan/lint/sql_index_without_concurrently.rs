//! `index-without-concurrently`: a `sql` step builds an index on a table that exists before the
//! plan without `CONCURRENTLY`, which blocks every write to the table for the whole build.

use sqlparser::ast::Statement;

use super::sql_statements::{base_name, created_by_plan, SqlStep};
use super::At;
use crate::vocab::diagnostic::{Code, Diagnostic};

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Some(step) = SqlStep::at(at) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (index, statement) in step.statements.iter().enumerate() {
        let Statement::CreateIndex(create) = statement else {
            continue;
        };
        let table = base_name(&create.table_name);
        if create.concurrently || created_by_plan(at, &step, index, &table) {
            continue;
        }
        found.push(step.warning(
            statement,
            Code::IndexWithoutConcurrently,
            format!("this sql step builds an index on {table} without CONCURRENTLY, blocking writes to the table while it builds"),
            "use the `add_index` operation, or `CREATE INDEX CONCURRENTLY` in a step with `transaction = false`",
        ));
    }
    found
}
