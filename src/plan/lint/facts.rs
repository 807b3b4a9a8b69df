//! What a step creates, drops or changes, as the rules compare them.

use super::super::model::{Plan, Step};
use crate::ops::Op;
use crate::vocab::TableName;

/// "step 2 of [[expand]]".
pub fn label(step: &Step) -> String {
    format!("step {} of [[{}]]", step.index + 1, step.phase)
}

/// The table a step acts on, for steps that need it to exist.
pub fn step_table(op: &Op) -> Option<&TableName> {
    match op {
        Op::SetNotNull(s) => Some(&s.table),
        Op::DropSync(s) => Some(&s.table),
        Op::DropColumn(s) => Some(&s.table),
        Op::DropConstraint(s) => Some(&s.table),
        Op::DropIndex(s) => s.table.as_ref(),
        Op::DropNotNull(s) => Some(&s.table),
        Op::AddUnique(s) => Some(&s.table),
        Op::AddPrimaryKey(s) => Some(&s.table),
        Op::SetComment(s) => Some(&s.table),
        Op::RenameConstraint(s) => Some(&s.table),
        Op::SetReplicaIdentity(s) => Some(&s.table),
        _ => None,
    }
}

pub fn creates_table(step: &Step, table: &TableName) -> bool {
    matches!(&step.op, Op::CreateTable(c) if &c.table == table)
}

pub fn drops_table(step: &Step, table: &TableName) -> bool {
    matches!(&step.op, Op::DropTable(d) if &d.table == table)
}

/// Whether the step adds the column, by `add_column` or as part of `create_table`.
pub fn creates_column(step: &Step, table: &TableName, column: &str) -> bool {
    match &step.op {
        Op::AddColumn(a) => &a.table == table && a.column == column,
        Op::CreateTable(c) => &c.table == table && c.columns.iter().any(|d| d.name == column),
        _ => false,
    }
}

pub fn drops_column(step: &Step, table: &TableName, column: &str) -> bool {
    matches!(&step.op, Op::DropColumn(d) if &d.table == table && d.column == column)
}

/// The table and name of a constraint the step adds.
pub fn added_constraint(op: &Op) -> Option<(&TableName, String)> {
    match op {
        Op::AddCheck(c) => Some((&c.table, c.name.clone())),
        Op::AddForeignKey(f) => Some((&f.table, f.constraint_name())),
        Op::AddUnique(u) => Some((&u.table, u.constraint_name())),
        Op::AddPrimaryKey(p) => Some((&p.table, p.constraint_name())),
        _ => None,
    }
}

/// The column whose default the step changes.
pub fn default_column(op: &Op) -> Option<(&TableName, &str)> {
    match op {
        Op::SetDefault(s) => Some((&s.table, s.column.as_str())),
        Op::DropDefault(d) => Some((&d.table, d.column.as_str())),
        _ => None,
    }
}

/// A `sync_column` of the plan whose trigger writes or reads `table.column` and that no step
/// before `earlier`'s end has dropped; returns the step and the column it syncs.
pub fn live_sync_using<'p>(
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
pub fn mentions(expression: &str, column: &str) -> bool {
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
