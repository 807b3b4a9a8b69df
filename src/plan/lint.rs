//! Checks across the steps of one plan: contradictions, duplicates and risky patterns.
//!
//! Only what the plan itself says is compared (a plan cannot know the database): a step that
//! undoes, repeats or breaks what another step of the same plan does is an error; a pattern that
//! works but hurts the running application is a warning. `sql` and `guard` steps are opaque.

use super::model::{Plan, Step};
use crate::ops::add_foreign_key::AddForeignKey;
use crate::ops::Op;
use crate::vocab::diagnostic::Diagnostic;
use crate::vocab::{Phase, TableName};

/// Every cross-step finding of a plan that parsed.
pub fn lint(plan: &Plan) -> Vec<Diagnostic> {
    lint_steps(plan, true)
}

/// The findings among the steps of `plan`. When some steps of the file could not be read
/// (`complete` is false), the findings that rest on a step being absent (no `drop_sync`, no
/// `sync_column`) are left out: the missing step may be one that failed to read.
pub fn lint_steps(plan: &Plan, complete: bool) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (position, step) in plan.steps.iter().enumerate() {
        let earlier = &plan.steps[..position];
        let later = &plan.steps[position + 1..];
        let mut error = |code, message: String, help: &str| {
            found.push(Diagnostic::error(code, Some(step.span.clone()), message).with_help(help));
        };
        if let Some((table, dropper)) = step_table(&step.op)
            .and_then(|t| earlier.iter().find(|e| drops_table(e, t)).map(|e| (t, e)))
        {
            error(
                "contradiction",
                format!(
                    "{} uses {table}, which {} drops before it",
                    step.op.name(),
                    label(dropper)
                ),
                "reorder the steps, or remove the one that is no longer needed",
            );
            continue;
        }
        match &step.op {
            Op::CreateTable(c) => {
                if let Some(first) = earlier.iter().find(|e| creates_table(e, &c.table)) {
                    error(
                        "duplicate",
                        format!("create_table creates {}, which {} already creates", c.table, label(first)),
                        "remove one of the two steps",
                    );
                }
            }
            Op::AddColumn(a) => {
                if let Some(first) = earlier.iter().find(|e| creates_column(e, &a.table, &a.column)) {
                    error(
                        "duplicate",
                        format!("add_column adds {}.{}, which {} already adds", a.table, a.column, label(first)),
                        "remove one of the two steps",
                    );
                }
            }
            Op::SyncColumn(s) => {
                if let Some(first) = earlier
                    .iter()
                    .find(|e| matches!(&e.op, Op::SyncColumn(o) if o.table == s.table && o.column == s.column))
                {
                    error(
                        "duplicate",
                        format!("sync_column keeps {}.{} in step, which {} already does", s.table, s.column, label(first)),
                        "one sync trigger per column: merge the two steps",
                    );
                }
            }
            Op::AddIndex(i) => {
                let name = i.index_name();
                if let Some(first) = earlier
                    .iter()
                    .find(|e| matches!(&e.op, Op::AddIndex(o) if o.index_name() == name && o.table.schema == i.table.schema))
                {
                    error(
                        "duplicate",
                        format!("add_index builds index {name}, which {} already builds", label(first)),
                        "give one of the indexes another `name`",
                    );
                }
            }
            Op::AddCheck(_) | Op::AddForeignKey(_) => {
                let Some((table, name)) = added_constraint(&step.op) else { continue };
                if let Some(first) = earlier
                    .iter()
                    .find(|e| added_constraint(&e.op).is_some_and(|(t, n)| t == table && n == name))
                {
                    error(
                        "duplicate",
                        format!("{} adds constraint {name} on {table}, which {} already adds", step.op.name(), label(first)),
                        "give one of the constraints another `name`",
                    );
                }
            }
            Op::SetDefault(_) | Op::DropDefault(_) => {
                let Some((table, column)) = default_column(&step.op) else { continue };
                if let Some(first) = earlier
                    .iter()
                    .find(|e| default_column(&e.op) == Some((table, column)))
                {
                    error(
                        "contradiction",
                        format!(
                            "{} changes the default of {table}.{column}, which {} ({}) already changes",
                            step.op.name(),
                            label(first),
                            first.op.name()
                        ),
                        "keep one default change per column in a plan",
                    );
                }
            }
            Op::Backfill(b) => {
                for (column, _) in &b.set {
                    if b.key.as_ref().is_some_and(|key| key.contains(column)) {
                        error(
                            "contradiction",
                            format!("backfill walks {} by `key` column {column}, which its own `set` rewrites", b.table),
                            "keyset batches need a key that does not change: walk another key (the primary key by default)",
                        );
                    }
                    if let Some(dropper) = later.iter().find(|l| drops_column(l, &b.table, column)) {
                        error(
                            "contradiction",
                            format!("backfill fills {}.{column}, which {} drops", b.table, label(dropper)),
                            "a plan cannot both fill and drop a column; remove one of the steps",
                        );
                    }
                }
                if complete {
                    found.extend(backfill_without_sync(plan, step, b));
                }
            }
            Op::SetNotNull(s) => {
                if let Some(dropper) = earlier.iter().find(|e| drops_column(e, &s.table, &s.column)) {
                    error(
                        "contradiction",
                        format!("set_not_null changes {}.{}, which {} drops before it", s.table, s.column, label(dropper)),
                        "reorder the steps, or remove the one that is no longer needed",
                    );
                }
                if let Some(first) = earlier
                    .iter()
                    .find(|e| matches!(&e.op, Op::SetNotNull(o) if o.table == s.table && o.column == s.column))
                {
                    error(
                        "duplicate",
                        format!("set_not_null makes {}.{} NOT NULL, which {} already does", s.table, s.column, label(first)),
                        "remove one of the two steps",
                    );
                }
            }
            Op::DropSync(d) => {
                if let Some(first) = earlier
                    .iter()
                    .find(|e| matches!(&e.op, Op::DropSync(o) if o.table == d.table && o.column == d.column))
                {
                    error(
                        "duplicate",
                        format!("drop_sync drops the sync trigger of {}.{}, which {} already drops", d.table, d.column, label(first)),
                        "remove one of the two steps",
                    );
                }
            }
            Op::DropColumn(d) => {
                if let Some(creator) = earlier.iter().find(|e| creates_column(e, &d.table, &d.column)) {
                    error(
                        "contradiction",
                        format!("drop_column drops {}.{}, which {} of this plan adds", d.table, d.column, label(creator)),
                        "a plan cannot both add and drop a column; drop it in a later plan, or remove both steps",
                    );
                } else if let Some(first) = earlier.iter().find(|e| drops_column(e, &d.table, &d.column)) {
                    error(
                        "duplicate",
                        format!("drop_column drops {}.{}, which {} already drops", d.table, d.column, label(first)),
                        "remove one of the two steps",
                    );
                } else if let Some((sync, synced)) = live_sync_using(plan, earlier, &d.table, &d.column)
                    .filter(|_| complete)
                {
                    found.push(
                        Diagnostic::error(
                            "contradiction",
                            Some(step.span.clone()),
                            format!(
                                "drop_column drops {}.{}, but the sync trigger of {} still uses it",
                                d.table,
                                d.column,
                                label(sync)
                            ),
                        )
                        .with_help(format!(
                            "add a `drop_sync` step for {}.{synced} before this step, so writes do not fail",
                            d.table
                        )),
                    );
                }
            }
            Op::DropTable(d) => {
                if let Some(creator) = earlier.iter().find(|e| creates_table(e, &d.table)) {
                    error(
                        "contradiction",
                        format!("drop_table drops {}, which {} of this plan creates", d.table, label(creator)),
                        "a plan cannot both create and drop a table",
                    );
                } else if let Some(first) = earlier.iter().find(|e| drops_table(e, &d.table)) {
                    error(
                        "duplicate",
                        format!("drop_table drops {}, which {} already drops", d.table, label(first)),
                        "remove one of the two steps",
                    );
                }
            }
            Op::DropIndex(d) => {
                let adds = |e: &&Step| {
                    matches!(&e.op, Op::AddIndex(a) if a.index_name() == d.name.name
                        && (d.name.schema.is_none() || d.name.schema == a.table.schema))
                };
                if let Some(creator) = earlier.iter().find(adds) {
                    error(
                        "contradiction",
                        format!("drop_index drops index {}, which {} of this plan builds", d.name, label(creator)),
                        "a plan cannot both build and drop an index; remove both steps",
                    );
                } else if let Some(first) = earlier
                    .iter()
                    .find(|e| matches!(&e.op, Op::DropIndex(o) if o.name == d.name))
                {
                    error(
                        "duplicate",
                        format!("drop_index drops index {}, which {} already drops", d.name, label(first)),
                        "remove one of the two steps",
                    );
                }
            }
            Op::DropConstraint(d) => {
                let adds = |e: &&Step| added_constraint(&e.op).is_some_and(|(t, n)| t == &d.table && n == d.name);
                if let Some(creator) = earlier.iter().find(adds) {
                    error(
                        "contradiction",
                        format!("drop_constraint drops {} on {}, which {} of this plan adds", d.name, d.table, label(creator)),
                        "a plan cannot both add and drop a constraint; remove both steps",
                    );
                } else if let Some(first) = earlier
                    .iter()
                    .find(|e| matches!(&e.op, Op::DropConstraint(o) if o.table == d.table && o.name == d.name))
                {
                    error(
                        "duplicate",
                        format!("drop_constraint drops {} on {}, which {} already drops", d.name, d.table, label(first)),
                        "remove one of the two steps",
                    );
                }
            }
            Op::Guard(_) | Op::Sql(_) => {}
        }
    }
    found
}

/// "step 2 of [[expand]]".
fn label(step: &Step) -> String {
    format!("step {} of [[{}]]", step.index + 1, step.phase)
}

/// The table a step acts on, for steps that need it to exist.
fn step_table(op: &Op) -> Option<&TableName> {
    match op {
        Op::SetNotNull(s) => Some(&s.table),
        Op::DropSync(s) => Some(&s.table),
        Op::DropColumn(s) => Some(&s.table),
        Op::DropConstraint(s) => Some(&s.table),
        Op::DropIndex(s) => s.table.as_ref(),
        _ => None,
    }
}

fn creates_table(step: &Step, table: &TableName) -> bool {
    matches!(&step.op, Op::CreateTable(c) if &c.table == table)
}

fn drops_table(step: &Step, table: &TableName) -> bool {
    matches!(&step.op, Op::DropTable(d) if &d.table == table)
}

/// Whether the step adds the column, by `add_column` or as part of `create_table`.
fn creates_column(step: &Step, table: &TableName, column: &str) -> bool {
    match &step.op {
        Op::AddColumn(a) => &a.table == table && a.column == column,
        Op::CreateTable(c) => &c.table == table && c.columns.iter().any(|d| d.name == column),
        _ => false,
    }
}

fn drops_column(step: &Step, table: &TableName, column: &str) -> bool {
    matches!(&step.op, Op::DropColumn(d) if &d.table == table && d.column == column)
}

/// The table and name of a constraint the step adds.
fn added_constraint(op: &Op) -> Option<(&TableName, String)> {
    match op {
        Op::AddCheck(c) => Some((&c.table, c.name.clone())),
        Op::AddForeignKey(f) => Some((&f.table, AddForeignKey::constraint_name(f))),
        _ => None,
    }
}

/// The column whose default the step changes.
fn default_column(op: &Op) -> Option<(&TableName, &str)> {
    match op {
        Op::SetDefault(s) => Some((&s.table, s.column.as_str())),
        Op::DropDefault(d) => Some((&d.table, d.column.as_str())),
        _ => None,
    }
}

/// A `sync_column` of the plan whose trigger writes or reads `table.column` and that no step
/// before `earlier`'s end has dropped; returns the step and the column it syncs.
fn live_sync_using<'p>(
    plan: &'p Plan,
    earlier: &[Step],
    table: &TableName,
    column: &str,
) -> Option<(&'p Step, &'p str)> {
    plan.steps.iter().find_map(|step| {
        let Op::SyncColumn(sync) = &step.op else {
            return None;
        };
        if &sync.table != table {
            return None;
        }
        let uses = sync.column == column
            || mentions(&sync.from, column)
            || sync
                .reverse
                .as_ref()
                .is_some_and(|r| r.column == column || mentions(&r.from, column));
        let dropped = earlier.iter().any(
            |e| matches!(&e.op, Op::DropSync(d) if &d.table == table && d.column == sync.column),
        );
        (uses && !dropped).then_some((step, sync.column.as_str()))
    })
}

/// Whether the SQL expression names `column` as a whole word (a plain identifier, or quoted).
fn mentions(expression: &str, column: &str) -> bool {
    if expression.contains(&format!("\"{column}\"")) {
        return true;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    expression.match_indices(column).any(|(at, _)| {
        let before = expression[..at].chars().next_back();
        let after = expression[at + column.len()..].chars().next();
        !before.is_some_and(|c| is_word(c) || c == '"')
            && !after.is_some_and(|c| is_word(c) || c == '"')
    })
}

/// A backfill of a column this plan adds, with nothing that fills it for rows written meanwhile.
fn backfill_without_sync(
    plan: &Plan,
    step: &Step,
    backfill: &crate::ops::Backfill,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    if step.phase != Phase::Backfill {
        return found;
    }
    for (column, _) in &backfill.set {
        let added = plan.steps.iter().find_map(|s| match &s.op {
            Op::AddColumn(a) if a.table == backfill.table && &a.column == column => Some(a),
            _ => None,
        });
        let Some(added) = added else { continue };
        let synced = plan.steps.iter().any(|s| {
            matches!(&s.op, Op::SyncColumn(sc) if sc.table == backfill.table
                && (&sc.column == column || sc.reverse.as_ref().is_some_and(|r| &r.column == column)))
        });
        if !synced && added.default.is_none() {
            found.push(
                Diagnostic::warning(
                    "backfill-without-sync",
                    Some(step.span.clone()),
                    format!(
                        "backfill fills {}.{column}, but nothing fills it for rows the running application writes meanwhile",
                        backfill.table
                    ),
                )
                .with_help(format!("add a `sync_column` step for {column} in expand, and `drop_sync` in contract")),
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_finds_whole_identifiers_only() {
        assert!(mentions("name", "name"));
        assert!(mentions("lower(name) || 'x'", "name"));
        assert!(mentions("\"name\" IS NOT NULL", "name"));
        assert!(!mentions("first_name", "name"));
        assert!(!mentions("names", "name"));
        assert!(mentions("new.name", "name"));
        assert!(!mentions("u.name_x", "name"));
        assert!(!mentions("verified_at IS NOT NULL", "verified"));
    }
}
