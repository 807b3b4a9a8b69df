//! `change_type`: change a column's type keeping its name. Written in contract, where the old
//! column is dropped and the new one takes its name; bellows adds the steps before it: a hidden
//! column of the new type and its two-way sync in expand, a batched backfill of it, and the
//! version schema's view showing it under the column's name.

use serde::Serialize;

use super::{Backfill, Expression, Operation, ReverseSync, SyncColumn};
use crate::ops::AddColumn;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeType {
    pub table: TableName,
    pub column: String,
    /// The new type, as SQL.
    #[serde(rename = "type")]
    pub type_: String,
    /// The new value from the old row: an expression over the row, `column` being the old value.
    pub using: String,
    /// The old value from the new one: an expression in which `column` is the new value.
    pub reverse: Option<String>,
}

impl Operation for ChangeType {
    const NAME: &'static str = "change_type";
    const PHASES: &'static [Phase] = &[Phase::Contract];
    const DOC: &'static str = "Change a column's type keeping its name: a hidden column of the new type, synced both ways and backfilled, shown by the version schema; contract drops the old column and renames the new one.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let column = r.req_str("column", KeyKind::Identifier, "the column");
        let type_ = r.req_str("type", KeyKind::Type, "the new type, as SQL");
        let using = r.req_str(
            "using",
            KeyKind::Expression,
            "the new value from the row: an expression in which the column is the old value",
        );
        let reverse = r.opt_str(
            "reverse",
            KeyKind::Expression,
            "the old value from the new one (writes of the new version): the column is the new value",
        );
        Some(ChangeType {
            table: table?,
            column: column?,
            type_: type_?,
            using: using?,
            reverse,
        })
    }

    fn target(&self) -> String {
        format!("{}.{} to {}", self.table, self.column, self.type_)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let mut found = vec![
            Expression::new("type", &self.type_),
            Expression::new("using", &self.using),
        ];
        found.extend(self.reverse.iter().map(|r| Expression::new("reverse", r)));
        found
    }
}

impl ChangeType {
    /// The hidden column of the new type.
    pub fn hidden(&self) -> String {
        crate::vocab::naming::change_type_column(&self.column)
    }

    /// Expand: the hidden column.
    pub fn add_column(&self) -> AddColumn {
        AddColumn {
            table: self.table.clone(),
            column: self.hidden(),
            type_: self.type_.clone(),
            nullable: true,
            default: None,
            comment: None,
        }
    }

    /// Expand: the hidden column kept from the old one, and (with `reverse`) the other way.
    pub fn sync(&self) -> SyncColumn {
        let quote = crate::dialect::quote_ident;
        SyncColumn {
            table: self.table.clone(),
            column: self.hidden(),
            from: self.using.clone(),
            // NOTE: in `reverse` the column's name means the new value: evaluated where the name
            // is bound to the hidden column (other columns still resolve to the row's).
            reverse: self.reverse.as_ref().map(|reverse| ReverseSync {
                column: self.column.clone(),
                from: format!(
                    "(SELECT ({reverse}) FROM (SELECT {} AS {}) AS bellows_new)",
                    quote(&self.hidden()),
                    quote(&self.column)
                ),
            }),
        }
    }

    /// Backfill: every row's hidden column from the old one, where it is not set yet.
    pub fn backfill(&self) -> Backfill {
        Backfill {
            table: self.table.clone(),
            set: vec![(self.hidden(), self.using.clone())],
            filter: Some(format!(
                "{} IS NULL",
                crate::dialect::quote_ident(&self.hidden())
            )),
            key: None,
            batch_size: None,
            pause: None,
            target_batch_time: None,
            max_lag: None,
            throttle_query: None,
            parallel: None,
        }
    }
}
