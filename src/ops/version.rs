//! The version schema of a plan that renames (derived, never written in a plan): one view per
//! table whose shape the new application sees differently, showing the table as the plan leaves
//! it. The loader adds it as the last step of expand ([`derive`]); `rename_column`,
//! `rename_table` and (in such a plan) `drop_column` say what the views show.

use serde::Serialize;

use super::{DropColumn, Op, Operation, RenameColumn, RenameTable, SetDefault};
use crate::plan::Step;
use crate::vocab::reader::TableReader;
use crate::vocab::{Phase, TableName};

/// A plan's version schema and what its views show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    /// The schema the new application puts first in its `search_path`.
    pub schema: String,
    /// The plan the schema belongs to (recorded in the schema's comment).
    pub plan: String,
    pub tables: Vec<VersionedTable>,
    /// Defaults set at expand for NOT NULL columns hidden from the new version (`drop_column`'s
    /// `default`), so that the new version's inserts leave them out.
    pub defaults: Vec<SetDefault>,
}

/// One view: a table as the new version sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionedTable {
    /// The table as it is named when the view is made (end of expand).
    pub table: TableName,
    /// The view's name: the table's name once the plan is done.
    pub view: String,
    /// `(column, shown as)`: columns the new version sees under another name.
    pub renames: Vec<(String, String)>,
    /// Columns the new version does not see.
    pub hidden: Vec<String>,
    /// Columns a `change_type` replaces by a new one (also in `hidden`): the old column's
    /// primary key, identity or sequence, which would go with it, are refused at expand.
    pub retyped: Vec<String>,
    /// Where the table is renamed or a column hidden or renamed, for messages.
    #[serde(skip)]
    current: TableName,
}

impl Operation for Version {
    const NAME: &'static str = "version";
    const PHASES: &'static [Phase] = &[Phase::Expand];
    const DOC: &'static str =
        "The plan's version schema (added by bellows to a plan that renames).";

    fn read(_: &mut TableReader<'_, '_>) -> Option<Self> {
        None
    }

    fn target(&self) -> String {
        let views = self
            .tables
            .iter()
            .map(|t| t.view.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        format!("schema {} ({views})", self.schema)
    }
}

/// Whether `op` makes its plan need a version schema.
pub fn needs_version(op: &Op) -> bool {
    matches!(
        op,
        Op::RenameColumn(_) | Op::RenameTable(_) | Op::ChangeType(_)
    )
}

/// The tables whose columns `op` changes or drops: an older version's view of one of them is
/// released before the plan runs (see `engine::versions`).
pub fn tables_changed(op: &Op) -> Vec<TableName> {
    let one = |t: &TableName| vec![t.clone()];
    match op {
        Op::AddColumn(o) => one(&o.table),
        Op::SyncColumn(o) => one(&o.table),
        Op::SetDefault(o) => one(&o.table),
        Op::DropDefault(o) => one(&o.table),
        Op::SetNotNull(o) => one(&o.table),
        Op::DropNotNull(o) => one(&o.table),
        Op::DropColumn(o) => one(&o.table),
        Op::DropTable(o) => one(&o.table),
        Op::RenameColumn(o) => one(&o.table),
        Op::ChangeType(o) => one(&o.table),
        Op::RenameTable(o) => vec![o.table.clone(), o.renamed()],
        Op::Version(o) => o.tables.iter().map(|t| t.table.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The version of a plan with these steps: `Some` when a step needs one or the plan names its
/// `version_schema`.
pub fn derive(plan: &str, schema: Option<&str>, steps: &[Step]) -> Option<Version> {
    if schema.is_none() && !steps.iter().any(|s| needs_version(&s.op)) {
        return None;
    }
    let mut version = Version {
        schema: schema
            .map(str::to_string)
            .unwrap_or_else(|| crate::vocab::naming::version_schema_name(plan)),
        plan: plan.to_string(),
        tables: Vec::new(),
        defaults: Vec::new(),
    };
    let mut ordered: Vec<&Step> = steps.iter().collect();
    ordered.sort_by_key(|s| (s.phase, s.index));
    for step in ordered {
        match &step.op {
            Op::RenameTable(op) => rename_table(&mut version, op),
            Op::RenameColumn(op) => rename_column(&mut version, op),
            Op::DropColumn(op) => drop_column(&mut version, op),
            Op::ChangeType(op) => {
                let entry = version.entry(&op.table);
                entry.renames.push((op.hidden(), op.column.clone()));
                entry.hidden.push(op.column.clone());
                entry.retyped.push(op.column.clone());
            }
            _ => {}
        }
    }
    Some(version)
}

impl Version {
    /// The view of the table named `current` at this point of the plan, made on first use.
    fn entry(&mut self, current: &TableName) -> &mut VersionedTable {
        let found = self.tables.iter().position(|t| &t.current == current);
        let position = found.unwrap_or_else(|| {
            self.tables.push(VersionedTable {
                table: current.clone(),
                view: current.name.clone(),
                renames: Vec::new(),
                hidden: Vec::new(),
                retyped: Vec::new(),
                current: current.clone(),
            });
            self.tables.len() - 1
        });
        &mut self.tables[position]
    }
}

fn rename_table(version: &mut Version, op: &RenameTable) {
    let entry = version.entry(&op.table);
    entry.current = op.renamed();
    entry.view = op.to.clone();
}

fn rename_column(version: &mut Version, op: &RenameColumn) {
    let entry = version.entry(&op.table);
    match entry
        .renames
        .iter_mut()
        .find(|(_, shown)| *shown == op.column)
    {
        Some((_, shown)) => *shown = op.to.clone(),
        None => entry.renames.push((op.column.clone(), op.to.clone())),
    }
}

fn drop_column(version: &mut Version, op: &DropColumn) {
    let entry = version.entry(&op.table);
    let physical = match entry
        .renames
        .iter()
        .position(|(_, shown)| *shown == op.column)
    {
        Some(i) => entry.renames.remove(i).0,
        None => op.column.clone(),
    };
    entry.hidden.push(physical.clone());
    let table = entry.table.clone();
    if let Some(default) = &op.default {
        version.defaults.push(SetDefault {
            table,
            column: physical,
            default: default.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::load::load_str;

    fn version_of(text: &str) -> Option<Version> {
        let loaded = load_str(std::path::Path::new("0004_users.toml"), text);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        loaded
            .plan
            .unwrap()
            .steps
            .into_iter()
            .find_map(|s| match s.op {
                Op::Version(v) => Some(v),
                _ => None,
            })
    }

    #[test]
    fn renames_follow_each_other_and_drops_hide_the_physical_column() {
        let version = version_of(
            r#"
[[contract]]
op = "rename_column"
table = "users"
column = "name"
to = "full_name"

[[contract]]
op = "rename_table"
table = "users"
to = "people"

[[contract]]
op = "rename_column"
table = "people"
column = "full_name"
to = "display_name"

[[contract]]
op = "drop_column"
table = "people"
column = "legacy"
default = "0"
"#,
        )
        .unwrap();
        assert_eq!(version.schema, "bellows_0004_users");
        assert_eq!(version.tables.len(), 1);
        let users = &version.tables[0];
        assert_eq!(users.table, TableName::parse("users"));
        assert_eq!(users.view, "people");
        assert_eq!(users.renames, vec![("name".into(), "display_name".into())]);
        assert_eq!(users.hidden, vec!["legacy".to_string()]);
        assert_eq!(version.defaults[0].table, TableName::parse("users"));
    }

    #[test]
    fn plans_without_renames_have_no_version_unless_named() {
        let drop = "[[contract]]\nop = \"drop_column\"\ntable = \"users\"\ncolumn = \"legacy\"\n";
        assert_eq!(version_of(drop), None);
        let named = version_of(&format!("version_schema = \"v2\"\n{drop}")).unwrap();
        assert_eq!(named.schema, "v2");
        assert_eq!(named.tables[0].hidden, vec!["legacy".to_string()]);
    }
}
