//! The string values of a step table with their spans, so that a finding about the SQL inside
//! one can point into it.

use toml::de::{DeTable, DeValue};

use super::model::ValueSpan;

/// Every string value in `table`, nested tables and arrays included, with its key path.
pub fn string_values(table: &DeTable<'_>) -> Vec<ValueSpan> {
    let mut found = Vec::new();
    for (key, value) in table.iter() {
        collect(key.get_ref(), value, &mut found);
    }
    found
}

fn collect(path: &str, value: &toml::Spanned<DeValue<'_>>, found: &mut Vec<ValueSpan>) {
    match value.get_ref() {
        DeValue::String(text) => found.push(ValueSpan {
            path: path.to_string(),
            text: text.to_string(),
            span: value.span(),
        }),
        DeValue::Table(table) => {
            for (key, item) in table.iter() {
                collect(&format!("{path}.{}", key.get_ref()), item, found);
            }
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(&format!("{path}[{i}]"), item, found);
            }
        }
        _ => {}
    }
}
