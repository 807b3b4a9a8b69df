//! `add_column`: a new column; nullable unless a default is given.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddColumn {
    pub table: TableName,
    pub column: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub nullable: bool,
    pub default: Option<String>,
    /// `COMMENT ON COLUMN`, set with the column (PostgreSQL).
    pub comment: Option<String>,
}

/// Functions PostgreSQL marks VOLATILE that people put in defaults. A volatile default makes
/// `ADD COLUMN` rewrite the table; a non-volatile one is stored in the catalog (PG 11+).
pub const VOLATILE_FUNCTIONS: &[&str] = &[
    "random(",
    "gen_random_uuid(",
    "uuid_generate_v1(",
    "uuid_generate_v1mc(",
    "uuid_generate_v4(",
    "uuidv4(",
    "uuidv7(",
    "clock_timestamp(",
    "timeofday(",
    "nextval(",
    "setseed(",
];

/// Column types that bring a volatile default or a computed value with them.
const REWRITING_TYPES: &[&str] = &[
    "serial",
    "bigserial",
    "smallserial",
    "serial4",
    "serial8",
    "serial2",
];

/// Why `expression` is volatile (it calls one of [`VOLATILE_FUNCTIONS`]), if it is.
pub fn volatile_call(expression: &str) -> Option<String> {
    let compact = expression.to_ascii_lowercase().replace(' ', "");
    VOLATILE_FUNCTIONS
        .iter()
        .find(|f| compact.contains(*f))
        .map(|f| format!("`{f})`"))
}

impl AddColumn {
    /// Why adding this column rewrites every row on PostgreSQL (a volatile default, a serial or
    /// generated column), if it does. `plan` marks the step REWRITES and `check` warns, from
    /// this one answer.
    pub fn volatile_default(&self) -> Option<String> {
        let type_ = self.type_.trim().to_ascii_lowercase();
        if REWRITING_TYPES.contains(&type_.as_str()) {
            return Some(format!(
                "the type `{}` brings a `nextval()` default, which is volatile",
                self.type_
            ));
        }
        if type_.contains("generated") {
            return Some(format!(
                "`{}` is a generated or identity column, computed for every existing row",
                self.type_
            ));
        }
        let call = volatile_call(self.default.as_deref()?)?;
        Some(format!("the default calls {call}, which is volatile"))
    }
}

impl Operation for AddColumn {
    const NAME: &'static str = "add_column";
    const PHASES: &'static [Phase] = &[Phase::Expand];
    const DOC: &'static str = "Add a column (nullable, or NOT NULL with a default).";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to change");
        let column = r.req_str("column", KeyKind::Identifier, "the new column");
        let type_ = r.req_str(
            "type",
            KeyKind::Type,
            "column type, as SQL (`boolean`, `numeric(12,2)`)",
        );
        let nullable = r
            .opt_bool("nullable", "whether NULL is allowed (default true)")
            .unwrap_or(true);
        let default = r.opt_str(
            "default",
            KeyKind::Expression,
            "default value, a SQL expression",
        );
        let comment = r
            .text("comment", false, "a comment on the new column (PostgreSQL)")
            .filter(|c| !c.is_empty());
        if !nullable && !r.has("default") && !r.is_probe() {
            let span = r.span();
            r.report(
                Diagnostic::error(
                    Code::NotNullWithoutDefault,
                    Some(span),
                    "add_column with `nullable = false` and no `default` is refused: it fails on a table with rows, and otherwise locks it",
                )
                .with_help("add it nullable, backfill it, then use `set_not_null` in contract; or give a `default`"),
            );
            return None;
        }
        Some(AddColumn {
            table: table?,
            column: column?,
            type_: type_?,
            nullable,
            default,
            comment,
        })
    }

    fn target(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let mut found = vec![Expression::new("type", &self.type_)];
        found.extend(
            self.default
                .as_deref()
                .map(|d| Expression::new("default", d)),
        );
        found
    }
}
