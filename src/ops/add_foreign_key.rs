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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddForeignKey {
    pub table: TableName,
    pub columns: Vec<String>,
    pub references: References,
    pub name: Option<String>,
    /// `cascade`, `restrict`, `set null`, `set default`, `no action`.
    pub on_delete: Option<String>,
}

impl AddForeignKey {
    /// `name`, or `{table}_{columns}_fkey` as PostgreSQL would name it.
    pub fn constraint_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| naming::foreign_key_name(&self.table, &self.columns))
    }
}

fn read_references(r: &mut TableReader<'_, '_>) -> Option<References> {
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
        let on_delete = r.opt_one_of(
            "on_delete",
            &[
                "cascade",
                "restrict",
                "set null",
                "set default",
                "no action",
            ],
            "action on delete of the referenced row",
        );
        let op = AddForeignKey {
            table: table?,
            columns: columns?,
            references: references?,
            name,
            on_delete: on_delete.map(str::to_string),
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
