//! The values a template is filled with: which ones exist, the flag of each, and whether a
//! template can do without it.

/// A value a template needs, and the flag that gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Table,
    Column,
    To,
    Type,
    From,
}

impl Field {
    /// The command-line flag that gives this value.
    pub fn flag(self) -> &'static str {
        match self {
            Field::Table => "--table",
            Field::Column => "--column",
            Field::To => "--new-column",
            Field::Type => "--type",
            Field::From => "--from",
        }
    }
}

/// Whether a template cannot do without a value, or has a sensible fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    /// Without it the template writes a shorter plan, or uses a default (see `prompt`).
    Optional,
}

/// The values of a template, as given by flags or prompts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub table: Option<String>,
    pub column: Option<String>,
    pub to: Option<String>,
    pub type_: Option<String>,
    pub from: Option<String>,
    /// Write the copy-and-sync form of rename-column and change-type (a second column), for
    /// databases without version schemas (`bellows new --dialect sqlite|mysql`).
    pub copy_and_sync: bool,
    /// Write MySQL's spelling where SQL differs (`NOT (a <=> b)`: MySQL and MariaDB have no
    /// `IS DISTINCT FROM`).
    pub mysql: bool,
}

impl Values {
    /// SQL true when `a` and `b` differ, NULL counting as a value.
    pub fn differs(&self, a: &str, b: &str) -> String {
        if self.mysql {
            format!("NOT ({a} <=> {b})")
        } else {
            format!("{a} IS DISTINCT FROM {b}")
        }
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        match field {
            Field::Table => self.table.as_deref(),
            Field::Column => self.column.as_deref(),
            Field::To => self.to.as_deref(),
            Field::Type => self.type_.as_deref(),
            Field::From => self.from.as_deref(),
        }
    }

    pub fn set(&mut self, field: Field, value: Option<String>) {
        let slot = match field {
            Field::Table => &mut self.table,
            Field::Column => &mut self.column,
            Field::To => &mut self.to,
            Field::Type => &mut self.type_,
            Field::From => &mut self.from,
        };
        *slot = value;
    }

    /// The value of `field`, or `Err(field)` when it was not given.
    pub fn required(&self, field: Field) -> Result<&str, Field> {
        self.get(field).ok_or(field)
    }
}
