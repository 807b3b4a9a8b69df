//! Checks across the steps of one plan: contradictions and risky patterns.

use super::diagnostic::Diagnostic;
use super::model::{Phase, Plan};
use crate::ops::Op;

/// Every cross-step finding of a plan that parsed.
pub fn lint(plan: &Plan) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let added = |table: &crate::plan::TableName, column: &str| {
        plan.steps
            .iter()
            .find(|s| matches!(&s.op, Op::AddColumn(a) if &a.table == table && a.column == column))
    };
    let mut seen_columns: Vec<(String, String)> = Vec::new();
    for step in &plan.steps {
        match &step.op {
            Op::AddColumn(a) => {
                let key = (a.table.to_string(), a.column.clone());
                if seen_columns.contains(&key) {
                    found.push(
                        Diagnostic::error(
                            "contradiction",
                            Some(step.span.clone()),
                            format!("add_column adds {}.{} a second time", a.table, a.column),
                        )
                        .with_help("remove one of the two steps"),
                    );
                }
                seen_columns.push(key);
            }
            Op::DropColumn(d) => {
                if let Some(add) = added(&d.table, &d.column) {
                    found.push(Diagnostic::error(
                        "contradiction",
                        Some(step.span.clone()),
                        format!(
                            "drop_column drops {}.{}, which step {} of [[{}]] of this plan adds",
                            d.table, d.column, add.index + 1, add.phase
                        ),
                    ).with_help("a plan cannot both add and drop a column; drop it in a later plan, or remove both steps"));
                }
            }
            Op::DropTable(d) => {
                if let Some(create) = plan
                    .steps
                    .iter()
                    .find(|s| matches!(&s.op, Op::CreateTable(c) if c.table == d.table))
                {
                    found.push(
                        Diagnostic::error(
                            "contradiction",
                            Some(step.span.clone()),
                            format!(
                                "drop_table drops {}, which step {} of [[{}]] of this plan creates",
                                d.table,
                                create.index + 1,
                                create.phase
                            ),
                        )
                        .with_help("a plan cannot both create and drop a table"),
                    );
                }
            }
            Op::Backfill(b) if step.phase == Phase::Backfill => {
                for (column, _) in &b.set {
                    let new_column = added(&b.table, column).is_some();
                    let synced = plan.steps.iter().any(|s| matches!(&s.op, Op::SyncColumn(sc) if sc.table == b.table && (&sc.column == column || sc.reverse.as_ref().is_some_and(|r| &r.column == column))));
                    let defaulted = matches!(added(&b.table, column).map(|s| &s.op), Some(Op::AddColumn(a)) if a.default.is_some());
                    if new_column && !synced && !defaulted {
                        found.push(Diagnostic::warning(
                            "backfill-without-sync",
                            Some(step.span.clone()),
                            format!(
                                "backfill fills {}.{}, but nothing fills it for rows the running application writes meanwhile",
                                b.table, column
                            ),
                        ).with_help(format!("add a `sync_column` step for {column} in expand, and `drop_sync` in contract")));
                    }
                }
            }
            _ => {}
        }
    }
    found
}
