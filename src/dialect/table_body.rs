//! The body of a `CREATE TABLE`: its column lines and table constraints. Both dialects write it
//! the same way but for a column's default and a referenced table, which each passes in.

use super::common::{column_list, foreign_key_actions, index_element};
use super::Dialect;
use crate::ops::create_table::{ColumnDef, ConstraintKind, CreateTable, TableConstraint};
use crate::vocab::TableName;

/// How a dialect writes the parts that differ.
pub struct BodyStyle<'a> {
    pub dialect: &'a dyn Dialect,
    /// A referenced table (SQLite: unqualified, in the same database).
    pub referenced: &'a dyn Fn(&TableName) -> String,
    /// `DEFAULT …` for a default expression (SQLite: in parentheses unless a literal).
    pub default: &'a dyn Fn(&str) -> String,
}

/// The lines between the parentheses of `CREATE TABLE t ( … )`.
pub fn table_body(style: &BodyStyle<'_>, op: &CreateTable) -> Vec<String> {
    let d = style.dialect;
    let mut lines: Vec<String> = op
        .columns
        .iter()
        .map(|c| column_line(style, op, c))
        .collect();
    let key = op.key_columns();
    if op.named_key().is_none() && !key.is_empty() {
        lines.push(format!("PRIMARY KEY ({})", column_list(d, &key)));
    }
    lines.extend(op.constraints.iter().map(|c| constraint_line(style, c)));
    lines
}

fn column_line(style: &BodyStyle<'_>, op: &CreateTable, c: &ColumnDef) -> String {
    let d = style.dialect;
    let mut line = format!("{} {}", d.ident(&c.name), c.type_);
    if let Some(default) = &c.default {
        line.push(' ');
        line.push_str(&(style.default)(default));
    }
    if let Some(identity) = &c.identity {
        line.push_str(&format!(
            " GENERATED {} AS IDENTITY",
            identity.to_ascii_uppercase()
        ));
    }
    if let Some(generated) = &c.generated {
        line.push_str(&format!(" GENERATED ALWAYS AS ({generated}) STORED"));
    }
    if op.not_null(c) {
        line.push_str(" NOT NULL");
    }
    if c.unique {
        line.push_str(" UNIQUE");
    }
    if let Some(check) = &c.check {
        line.push_str(&format!(" CHECK ({check})"));
    }
    if let Some(reference) = &c.references {
        line.push_str(&format!(
            " REFERENCES {}",
            (style.referenced)(&reference.table)
        ));
        if let Some(column) = &reference.column {
            line.push_str(&format!(" ({})", d.ident(column)));
        }
        line.push_str(&foreign_key_actions(&reference.actions));
    }
    line
}

fn constraint_line(style: &BodyStyle<'_>, constraint: &TableConstraint) -> String {
    let d = style.dialect;
    let body = match &constraint.kind {
        ConstraintKind::PrimaryKey { columns } => {
            format!("PRIMARY KEY ({})", column_list(d, columns))
        }
        ConstraintKind::Unique { columns } => format!("UNIQUE ({})", column_list(d, columns)),
        ConstraintKind::Check { check } => format!("CHECK ({check})"),
        ConstraintKind::ForeignKey {
            columns,
            references,
            actions,
        } => format!(
            "FOREIGN KEY ({}) REFERENCES {} ({}){}",
            column_list(d, columns),
            (style.referenced)(&references.table),
            column_list(d, &references.columns),
            foreign_key_actions(actions)
        ),
        ConstraintKind::Exclude {
            using,
            elements,
            predicate,
        } => {
            let elements = elements
                .iter()
                .map(|e| format!("{} WITH {}", index_element(d, &e.element), e.operator))
                .collect::<Vec<_>>()
                .join(", ");
            let mut body = format!("EXCLUDE USING {using} ({elements})");
            if let Some(predicate) = predicate {
                body.push_str(&format!(" WHERE ({predicate})"));
            }
            body
        }
    };
    match &constraint.name {
        Some(name) => format!("CONSTRAINT {} {body}", d.ident(name)),
        None => body,
    }
}
