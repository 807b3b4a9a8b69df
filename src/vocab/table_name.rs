//! Table (and other object) names, optionally schema-qualified.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A table name, optionally schema-qualified (`"billing.invoices"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    /// Splits `schema.table` on the first dot; a name without a dot has no schema.
    pub fn parse(text: &str) -> TableName {
        match text.split_once('.') {
            Some((schema, name)) => TableName {
                schema: Some(schema.to_string()),
                name: name.to_string(),
            },
            None => TableName {
                schema: None,
                name: text.to_string(),
            },
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}
