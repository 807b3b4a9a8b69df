//! `add_foreign_key`: a foreign key, added NOT VALID then validated.

use serde::Serialize;

use super::Operation;
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::naming;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct References {
    pub table: TableName,
    pub columns: Vec<String>,
}

/// What a foreign key does when the referenced row changes, how it matches and when it is
/// checked: the keys `add_foreign_key` and `create_table` (a constraint, a column's
/// `references`) share.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ForeignKeyActions {
    /// `cascade`, `restrict`, `set null`, `set default`, `no action`.
    pub on_delete: Option<String>,
    /// The same actions, when the referenced key changes.
    pub on_update: Option<String>,
    /// `full` or `simple` (the default).
    #[serde(rename = "match")]
    pub match_: Option<String>,
    /// Checked at the end of the transaction when asked to (`SET CONSTRAINTS`).
    pub deferrable: bool,
    /// `deferred` or `immediate` (the default); needs `deferrable`.
    pub initially: Option<String>,
}

/// The referential actions `on_delete` and `on_update` accept.
pub const REFERENTIAL_ACTIONS: &[&str] = &[
    "cascade",
    "restrict",
    "set null",
    "set default",
    "no action",
];

/// Reads `on_delete`, `on_update`, `match`, `deferrable` and `initially`.
pub fn read_actions(r: &mut TableReader<'_, '_>) -> ForeignKeyActions {
    let on_delete = r.opt_one_of(
        "on_delete",
        REFERENTIAL_ACTIONS,
        "action on delete of the referenced row",
    );
    let on_update = r.opt_one_of(
        "on_update",
        REFERENTIAL_ACTIONS,
        "action on update of the referenced key",
    );
    let match_ = r.opt_one_of(
        "match",
        &["full", "simple"],
        "`full`: a key with a NULL must be all NULL; `simple` (default): any NULL skips the check",
    );
    let deferrable = r.opt_bool(
        "deferrable",
        "whether the check may be deferred to the end of the transaction (default false)",
    );
    let initially = r.opt_one_of(
        "initially",
        &["immediate", "deferred"],
        "when a deferrable constraint is checked by default (default `immediate`)",
    );
    if initially.is_some() && deferrable != Some(true) {
        let span = r.span();
        let context = r.context().to_string();
        r.report(
            Diagnostic::error(
                Code::Contradiction,
                Some(span),
                format!("{context} sets `initially` on a foreign key that is not deferrable"),
            )
            .with_help("add `deferrable = true`, or leave `initially` out"),
        );
    }
    ForeignKeyActions {
        on_delete: on_delete.map(str::to_string),
        on_update: on_update.map(str::to_string),
        match_: match_.map(str::to_string),
        deferrable: deferrable.unwrap_or(false),
        initially: initially.map(str::to_string),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddForeignKey {
    pub table: TableName,
    pub columns: Vec<String>,
    pub references: References,
    pub name: Option<String>,
    #[serde(flatten)]
    pub actions: ForeignKeyActions,
}

impl AddForeignKey {
    /// `name`, or `{table}_{columns}_fkey` as PostgreSQL would name it.
    pub fn constraint_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| naming::foreign_key_name(&self.table, &self.columns))
    }
}

pub fn read_references(r: &mut TableReader<'_, '_>) -> Option<References> {
    let table = r.req_table_name("table", "the referenced table");
    let columns = r.req_ident_list("columns", "the referenced columns");
    Some(References {
        table: table?,
        columns: columns?,
    })
}

impl Operation for AddForeignKey {
    const NAME: &'static str = "add_foreign_key";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str =
        "Add a foreign key NOT VALID, then VALIDATE it without blocking writes.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the referencing table");
        let columns = r.req_ident_list("columns", "the referencing columns");
        let references = r.table(
            "references",
            true,
            "the referenced table and columns: `{ table, columns }`",
            read_references,
        );
        let name = r.opt_str(
            "name",
            KeyKind::Identifier,
            "constraint name (default `{table}_{columns}_fkey`)",
        );
        let actions = read_actions(r);
        let op = AddForeignKey {
            table: table?,
            columns: columns?,
            references: references?,
            name,
            actions,
        };
        if op.columns.len() != op.references.columns.len() {
            let span = r.span();
            r.report(
                Diagnostic::error(
                    Code::InvalidValue,
                    Some(span),
                    format!(
                        "add_foreign_key on {} has {} column(s) but references {}",
                        op.table,
                        op.columns.len(),
                        op.references.columns.len()
                    ),
                )
                .with_help("`columns` and `references.columns` must pair up one to one"),
            );
            return None;
        }
        Some(op)
    }

    fn target(&self) -> String {
        format!("constraint {} on {}", self.constraint_name(), self.table)
    }
}
