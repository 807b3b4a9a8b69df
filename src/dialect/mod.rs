//! SQL rendering per database: one [`Dialect`] implementation per database, one method per
//! operation. Pure: nothing here talks to a database.

pub mod postgres;
pub mod sqlite;

use std::fmt;

use serde::Serialize;

use crate::ops::planned::PlannedOp;
use crate::ops::*;
use crate::plan::model::TableName;

/// The databases bellows knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DialectKind {
    Postgres,
    Sqlite,
}

impl DialectKind {
    pub fn name(self) -> &'static str {
        match self {
            DialectKind::Postgres => "postgres",
            DialectKind::Sqlite => "sqlite",
        }
    }

    /// The dialect a database URL speaks, if bellows knows it.
    pub fn from_url(url: &str) -> Option<DialectKind> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(DialectKind::Postgres),
            "sqlite" => Some(DialectKind::Sqlite),
            _ => None,
        }
    }

    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            DialectKind::Postgres => &postgres::Postgres,
            DialectKind::Sqlite => &sqlite::Sqlite,
        }
    }
}

impl fmt::Display for DialectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operation (or a form of it) that a database cannot do, with the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{op} is not supported on {dialect}: {why}")]
pub struct Unsupported {
    pub dialect: DialectKind,
    pub op: &'static str,
    pub why: String,
}

/// Standard SQL identifier quoting: `"name"`, with embedded `"` doubled.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A SQL string literal: `'text'`, with embedded `'` doubled.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// How one database spells each operation.
pub trait Dialect: Send + Sync {
    fn kind(&self) -> DialectKind;

    /// A quoted identifier.
    fn ident(&self, ident: &str) -> String {
        quote_ident(ident)
    }

    /// A quoted, possibly schema-qualified table name.
    fn table(&self, table: &TableName) -> String {
        match &table.schema {
            Some(schema) => format!("{}.{}", self.ident(schema), self.ident(&table.name)),
            None => self.ident(&table.name),
        }
    }

    fn create_table(&self, op: &CreateTable) -> Result<PlannedOp, Unsupported>;
    fn add_column(&self, op: &AddColumn) -> Result<PlannedOp, Unsupported>;
    fn add_index(&self, op: &AddIndex) -> Result<PlannedOp, Unsupported>;
    fn add_foreign_key(&self, op: &AddForeignKey) -> Result<PlannedOp, Unsupported>;
    fn add_check(&self, op: &AddCheck) -> Result<PlannedOp, Unsupported>;
    fn sync_column(&self, op: &SyncColumn) -> Result<PlannedOp, Unsupported>;
    fn backfill(&self, op: &Backfill) -> Result<PlannedOp, Unsupported>;
    fn set_default(&self, op: &SetDefault) -> Result<PlannedOp, Unsupported>;
    fn drop_default(&self, op: &DropDefault) -> Result<PlannedOp, Unsupported>;
    fn guard(&self, op: &Guard) -> Result<PlannedOp, Unsupported>;
    fn sql(&self, op: &Sql) -> Result<PlannedOp, Unsupported>;
    fn set_not_null(&self, op: &SetNotNull) -> Result<PlannedOp, Unsupported>;
    fn drop_sync(&self, op: &DropSync) -> Result<PlannedOp, Unsupported>;
    fn drop_index(&self, op: &DropIndex) -> Result<PlannedOp, Unsupported>;
    fn drop_constraint(&self, op: &DropConstraint) -> Result<PlannedOp, Unsupported>;
    fn drop_column(&self, op: &DropColumn) -> Result<PlannedOp, Unsupported>;
    fn drop_table(&self, op: &DropTable) -> Result<PlannedOp, Unsupported>;
}
