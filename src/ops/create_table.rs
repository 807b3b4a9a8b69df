//! `create_table`: a new table, created in expand.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub primary_key: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateTable {
    pub table: TableName,
    pub columns: Vec<ColumnDef>,
    /// Table-level primary key; alternatively `primary_key = true` on columns.
    pub primary_key: Option<Vec<String>>,
}

impl CreateTable {
    /// The primary key columns, from the table key or the columns' flags.
    pub fn key_columns(&self) -> Vec<String> {
        match &self.primary_key {
            Some(cols) => cols.clone(),
            None => self
                .columns
                .iter()
                .filter(|c| c.primary_key)
                .map(|c| c.name.clone())
                .collect(),
        }
    }
}

fn read_column(r: &mut TableReader<'_, '_>) -> Option<ColumnDef> {
    let name = r.req_str("name", KeyKind::Identifier, "column name");
    let type_ = r.req_str(
        "type",
        KeyKind::Type,
        "column type, as SQL (`bigint`, `text`)",
    );
    let nullable = r.opt_bool("nullable", "whether NULL is allowed (default true)");
    let default = r.opt_str(
        "default",
        KeyKind::Expression,
        "default value, a SQL expression",
    );
    let primary_key = r.opt_bool("primary_key", "part of the primary key (default false)");
    if nullable == Some(true) && primary_key == Some(true) {
        let span = r.span();
        r.report(
            Diagnostic::error(
                Code::Contradiction,
                Some(span),
                format!(
                    "column `{}` is in the primary key, which cannot be nullable",
                    name.as_deref().unwrap_or("?")
                ),
            )
            .with_help("remove `nullable = true`: primary key columns are NOT NULL"),
        );
    }
    Some(ColumnDef {
        name: name?,
        type_: type_?,
        nullable: nullable.unwrap_or(!primary_key.unwrap_or(false)),
        default,
        primary_key: primary_key.unwrap_or(false),
    })
}

impl Operation for CreateTable {
    const NAME: &'static str = "create_table";
    const PHASES: &'static [Phase] = &[Phase::Expand];
    const DOC: &'static str = "Create a new table.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to create");
        let columns = r.table_array(
            "columns",
            "the columns: `{ name, type, [nullable], [default], [primary_key] }`",
            read_column,
        );
        let primary_key = r.opt_ident_list(
            "primary_key",
            "primary key columns (or `primary_key = true` on columns)",
        );
        let op = CreateTable {
            table: table?,
            columns: columns?,
            primary_key,
        };
        if op.primary_key.is_some() && op.columns.iter().any(|c| c.primary_key) {
            r.report(Diagnostic::error(
                Code::Contradiction,
                Some(r.span()),
                format!("create_table {} gives a primary key both as `primary_key = [...]` and on columns", op.table),
            ).with_help("keep one of the two"));
        }
        for (i, column) in op.columns.iter().enumerate() {
            if op.columns[..i].iter().any(|c| c.name == column.name) {
                r.report(
                    Diagnostic::error(
                        Code::Duplicate,
                        Some(r.span()),
                        format!(
                            "create_table {} lists column `{}` twice",
                            op.table, column.name
                        ),
                    )
                    .with_help("each column once"),
                );
            }
        }
        if let Some(keys) = &op.primary_key {
            for key in keys {
                if !op.columns.iter().any(|c| &c.name == key) {
                    r.report(
                        Diagnostic::error(
                            Code::UnknownColumn,
                            Some(r.span()),
                            format!(
                                "primary key column `{key}` is not among the columns of {}",
                                op.table
                            ),
                        )
                        .with_help("list the column in `columns`, or correct the name"),
                    );
                }
            }
        }
        Some(op)
    }

    fn target(&self) -> String {
        self.table.to_string()
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        self.columns
            .iter()
            .flat_map(|c| {
                std::iter::once(Expression::new("type", &c.type_))
                    .chain(c.default.as_deref().map(|d| Expression::new("default", d)))
            })
            .collect()
    }
}
