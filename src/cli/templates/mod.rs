//! Plan templates for `bellows new`: pure functions from a few values to the TOML text of a
//! complete, commented expand/backfill/switch/contract plan.
//!
//! Every value a template writes into TOML is escaped for TOML; every identifier it writes into
//! a SQL expression (where bellows cannot quote it, because expressions are inserted as written)
//! is quoted for SQL when it needs to be. The output of each template loads without errors or
//! warnings (tested in `tests.rs`).

mod add_column;
mod add_index;
mod add_not_null;
mod change_type;
mod guard_then_contract;
mod rename_column;
mod reserved_words;
mod toml_writer;
mod values;

use super::args::Template;
use toml_writer::Doc;

pub use reserved_words::{ident, table_ident};
pub use values::{Field, Need, Values};

/// The name a template is given on the command line.
pub fn template_name(template: Template) -> &'static str {
    match template {
        Template::AddColumn => "add-column",
        Template::RenameColumn => "rename-column",
        Template::ChangeType => "change-type",
        Template::AddNotNull => "add-not-null",
        Template::AddIndex => "add-index",
    }
}

/// What a template's plan does, in a few words (the `bellows new` menu).
pub fn template_about(template: Template) -> &'static str {
    match template {
        Template::AddColumn => "add a column and fill it",
        Template::RenameColumn => "rename a column without downtime (no copy on PostgreSQL)",
        Template::ChangeType => "change a column's type keeping its name",
        Template::AddNotNull => "make a column NOT NULL",
        Template::AddIndex => "build an index concurrently",
    }
}

/// The values a template uses, in the order they are asked for; `copy_and_sync`: the form for
/// databases without version schemas.
pub fn fields(template: Template, copy_and_sync: bool) -> &'static [(Field, Need)] {
    use Field::*;
    use Need::*;
    match (template, copy_and_sync) {
        (Template::RenameColumn, false) => &[(Table, Required), (Column, Required), (To, Required)],
        (Template::ChangeType, false) => &[
            (Table, Required),
            (Column, Required),
            (Type, Required),
            (From, Optional),
        ],
        _ => copy_and_sync_fields(template),
    }
}

fn copy_and_sync_fields(template: Template) -> &'static [(Field, Need)] {
    use Field::*;
    use Need::*;
    match template {
        Template::AddColumn => &[
            (Table, Required),
            (Column, Required),
            (Type, Required),
            (From, Optional),
        ],
        Template::RenameColumn => &[
            (Table, Required),
            (Column, Required),
            (To, Required),
            (Type, Required),
        ],
        Template::ChangeType => &[
            (Table, Required),
            (Column, Required),
            (To, Required),
            (Type, Required),
            (From, Optional),
        ],
        Template::AddNotNull => &[(Table, Required), (Column, Required), (From, Optional)],
        Template::AddIndex => &[(Table, Required), (Column, Required)],
    }
}

/// The question asked on a terminal for a missing value.
pub fn prompt(template: Template, field: Field) -> &'static str {
    match (template, field) {
        (_, Field::Table) => "Table (optionally schema.table)",
        (Template::AddColumn, Field::Column) => "New column",
        (Template::RenameColumn, Field::Column) => "Column to rename",
        (Template::ChangeType, Field::Column) => "Column whose type changes",
        (Template::AddNotNull, Field::Column) => "Column to make NOT NULL",
        (Template::AddIndex, Field::Column) => "Column(s) to index, comma-separated",
        (Template::ChangeType, Field::To) => "New column, holding the new type",
        (_, Field::To) => "New name",
        (Template::AddColumn, Field::Type) => "Type of the new column (SQL, e.g. boolean)",
        (Template::RenameColumn, Field::Type) => "Type of the column (SQL, e.g. text)",
        (_, Field::Type) => "New type (SQL, e.g. numeric(12,2))",
        (Template::AddColumn, Field::From) => {
            "SQL expression that fills existing rows (empty: leave them NULL)"
        }
        (Template::ChangeType, Field::From) => {
            "SQL expression converting the old value (empty: CAST(old AS type))"
        }
        (Template::AddNotNull, Field::From) => {
            "Value for rows that are NULL now (SQL expression; empty: none may be, a guard checks)"
        }
        (_, Field::From) => "Value for rows that are NULL now (SQL expression, e.g. false)",
    }
}

/// Checks one value before it goes into a plan; `Err` says what is wrong with it.
pub fn check_value(field: Field, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{} must not be empty", field.flag()));
    }
    if value.contains(['\0', '\n', '\r']) {
        return Err(format!("{} must be on one line", field.flag()));
    }
    match field {
        Field::Table if value.split('.').count() > 2 || value.split('.').any(str::is_empty) => {
            Err(format!(
                "{} `{value}` must be `table` or `schema.table`",
                field.flag()
            ))
        }
        Field::To if value.contains('.') => Err(format!(
            "{} `{value}` must be a column name without a dot",
            field.flag()
        )),
        Field::Type | Field::From => parses(field, value),
        Field::Column if value.split(',').any(|c| c.trim().is_empty() || c.contains('.')) => {
            Err(format!(
                "{} `{value}` must be a column name without a dot (add-index: names separated by commas)",
                field.flag()
            ))
        }
        _ => Ok(()),
    }
}

/// A type (`--type`) or an expression (`--from`) must parse; the error shows the value with a
/// caret under the place the parser stopped.
fn parses(field: Field, value: &str) -> Result<(), String> {
    use crate::plan::sql::{read, FragmentKind, Reading};
    let kind = match field {
        Field::Type => FragmentKind::Type,
        _ => FragmentKind::Expression,
    };
    match read(kind, value) {
        Reading::Parsed | Reading::Unchecked { .. } => Ok(()),
        Reading::Error { message, at } => {
            let column = match at {
                Some((1, column)) => column.saturating_sub(1),
                _ => value.chars().count(),
            };
            Err(format!(
                "{} `{value}` does not parse: {message}\n  {value}\n  {}^",
                field.flag(),
                " ".repeat(column.min(value.chars().count()))
            ))
        }
    }
}

/// The TOML text of a plan named `name` from `template`; `Err` names the first missing value.
/// `path` is where the plan will be written, for the commands shown in its header.
pub fn render(
    template: Template,
    name: &str,
    path: &str,
    values: &Values,
) -> Result<String, Field> {
    let table = values.required(Field::Table)?;
    let column = values.required(Field::Column)?;
    let mut doc = Doc::new(template_name(template), name, path);
    match template {
        Template::AddColumn => add_column::write(&mut doc, table, column, values)?,
        Template::RenameColumn if !values.copy_and_sync => {
            rename_column::write_versioned(&mut doc, table, column, values)?
        }
        Template::ChangeType if !values.copy_and_sync => {
            change_type::write_versioned(&mut doc, table, column, values)?
        }
        Template::RenameColumn => rename_column::write(&mut doc, table, column, values)?,
        Template::ChangeType => change_type::write(&mut doc, table, column, values)?,
        Template::AddNotNull => add_not_null::write(&mut doc, table, column, values)?,
        Template::AddIndex => add_index::write(&mut doc, table, column),
    }
    Ok(doc.finish())
}

#[cfg(test)]
mod tests;
