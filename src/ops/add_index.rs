//! `add_index`: an index, built without blocking writes.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::vocab::naming;
use crate::vocab::reader::{KeyKind, NameOrTable, Parameter, TableReader};
use crate::vocab::{Phase, TableName};

/// What one element of an index (or of an exclusion constraint) is built on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexTarget {
    Column(String),
    /// A SQL expression over the row, written as is (`lower(email)`).
    Expression(String),
}

/// One element of `columns`: a column or an expression, with its options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexElement {
    #[serde(flatten)]
    pub target: IndexTarget,
    /// Operator class (`text_pattern_ops`, `jsonb_path_ops`); PostgreSQL only.
    pub opclass: Option<String>,
    /// Collation (`"C"`), quoted by bellows.
    pub collate: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    /// `first` or `last`; PostgreSQL only.
    pub nulls: Option<String>,
}

impl IndexElement {
    pub fn column(name: impl Into<String>) -> IndexElement {
        IndexElement {
            target: IndexTarget::Column(name.into()),
            opclass: None,
            collate: None,
            order: None,
            nulls: None,
        }
    }

    /// The element's part of a default index name: the column, or the function an expression
    /// calls (`lower`), or `expr`, as PostgreSQL names an expression index.
    pub fn name_part(&self) -> String {
        match &self.target {
            IndexTarget::Column(column) => column.clone(),
            IndexTarget::Expression(expression) => {
                let text = expression.trim();
                let word: String = text
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                    .collect();
                let call = !word.is_empty() && text[word.len()..].trim_start().starts_with('(');
                match word.rsplit('.').next() {
                    Some(function) if call && !function.is_empty() => function.to_lowercase(),
                    _ => "expr".into(),
                }
            }
        }
    }

    /// Whether the element uses an option PostgreSQL has and SQLite has not.
    pub fn postgres_only_option(&self) -> Option<&'static str> {
        if self.opclass.is_some() {
            Some("opclass")
        } else if self.nulls.is_some() {
            Some("nulls")
        } else {
            None
        }
    }
}

/// The storage parameters PostgreSQL's built-in index methods accept in `WITH (…)`.
pub const INDEX_STORAGE_PARAMETERS: &[&str] = &[
    "fillfactor",
    "deduplicate_items",
    "buffering",
    "fastupdate",
    "gin_pending_list_limit",
    "pages_per_range",
    "autosummarize",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddIndex {
    pub table: TableName,
    pub columns: Vec<IndexElement>,
    pub name: Option<String>,
    pub unique: bool,
    /// Partial index predicate, a SQL expression.
    #[serde(rename = "where")]
    pub predicate: Option<String>,
    /// Index method (`btree`, `gin`, `gist`, `brin`, `hash`, …); PostgreSQL only.
    pub method: Option<String>,
    /// Columns stored in the index but not part of its key (`INCLUDE`); PostgreSQL only.
    pub include: Vec<String>,
    /// Storage parameters (`fillfactor = 70`), each value as text; PostgreSQL only.
    pub with: Vec<(String, String)>,
    /// The tablespace to build the index in; PostgreSQL only.
    pub tablespace: Option<String>,
}

impl AddIndex {
    /// The index name: `name`, or `{table}_{columns}_idx` (`_key` when unique), shortened to
    /// PostgreSQL's 63 bytes with a stable hash suffix.
    pub fn index_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => {
                let parts: Vec<String> = self.columns.iter().map(IndexElement::name_part).collect();
                naming::index_name(&self.table, &parts, self.unique)
            }
        }
    }
}

/// Reads the keys of one element table: `column` or `expression`, `opclass`, `collate`,
/// `order`, `nulls`.
pub fn read_element(r: &mut TableReader<'_, '_>) -> Option<IndexElement> {
    let column = r.opt_str("column", KeyKind::Identifier, "the indexed column");
    let expression = r.opt_str(
        "expression",
        KeyKind::Expression,
        "an indexed SQL expression instead of a column (`lower(email)`)",
    );
    let opclass = r.opt_str(
        "opclass",
        KeyKind::Identifier,
        "operator class (`text_pattern_ops`); PostgreSQL",
    );
    let collate = r.opt_str("collate", KeyKind::Identifier, "collation (`C`)");
    let order = r.opt_one_of("order", &["asc", "desc"], "sort order (default `asc`)");
    let nulls = r.opt_one_of(
        "nulls",
        &["first", "last"],
        "where NULLs sort (default `last` for asc, `first` for desc); PostgreSQL",
    );
    let target = match (column, expression) {
        (Some(column), None) => IndexTarget::Column(column),
        (None, Some(expression)) => IndexTarget::Expression(expression),
        (both, _) => {
            let span = r.span();
            let context = r.context().to_string();
            let message = if both.is_some() {
                format!("{context} has both `column` and `expression`")
            } else {
                format!("{context} has neither `column` nor `expression`")
            };
            r.report(
                Diagnostic::error(Code::InvalidValue, Some(span), message).with_help(
                    "give one of them: `{ column = \"email\" }` or `{ expression = \"lower(email)\" }`",
                ),
            );
            return None;
        }
    };
    Some(IndexElement {
        target,
        opclass,
        collate,
        order: order.map(str::to_string),
        nulls: nulls.map(str::to_string),
    })
}

/// Reads `columns`: names, or element tables. A name with a space or parenthesis is not a
/// column name but SQL (`"id int8_ops"`, `"lower(email)"`), which would be quoted as one
/// identifier: it is refused with the table to write instead.
pub fn read_elements(r: &mut TableReader<'_, '_>, doc: &'static str) -> Option<Vec<IndexElement>> {
    let items = r.req_names_or_tables("columns", doc, read_element)?;
    let mut elements = Vec::new();
    let mut ok = true;
    for item in items {
        match item {
            NameOrTable::Table(element) => elements.push(element),
            NameOrTable::Name(name) => {
                let text = name.get_ref().trim();
                if let Some(help) = sql_in_a_name(text) {
                    let context = r.context().to_string();
                    r.report(
                        Diagnostic::error(
                            Code::InvalidValue,
                            Some(name.span()),
                            format!(
                                "`columns` in {context} lists `{text}`, which is not a column name"
                            ),
                        )
                        .with_help(help),
                    );
                    ok = false;
                } else {
                    elements.push(IndexElement::column(name.into_inner()));
                }
            }
        }
    }
    ok.then_some(elements)
}

/// The table to write instead of SQL given as a column name, or `None` for a name. A name with
/// spaces can be a column's (`"Created At"`); it is SQL when it calls something, ends in a sort
/// order, names a collation or NULLs order, or ends in an operator class (`…_ops`).
fn sql_in_a_name(text: &str) -> Option<String> {
    if text.contains('(') {
        return Some(format!(
            "an expression is written `{{ expression = \"{text}\" }}`"
        ));
    }
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let [column, .., last] = words.as_slice() else {
        return None;
    };
    let column = text.split_whitespace().next().unwrap_or(column);
    let keyword = words.iter().any(|w| w == "collate" || w == "nulls");
    if !keyword && (last == "asc" || last == "desc") && words.len() == 2 {
        return Some(format!(
            "write `{{ column = \"{column}\", order = \"{last}\" }}`"
        ));
    }
    if !keyword && last.ends_with("_ops") && words.len() == 2 {
        let opclass = text.split_whitespace().last().unwrap_or(last);
        return Some(format!(
            "an operator class is written `{{ column = \"{column}\", opclass = \"{opclass}\" }}`"
        ));
    }
    if keyword || last == "asc" || last == "desc" || last.ends_with("_ops") {
        return Some(
            "write a table: `{ column = \"…\", opclass = \"…\", collate = \"…\", order = \"asc|desc\", nulls = \"first|last\" }`".into(),
        );
    }
    None
}

/// `with`: storage parameters, each a known name.
fn read_storage_parameters(r: &mut TableReader<'_, '_>) -> Option<Vec<(String, String)>> {
    let parameters: Vec<Parameter> = r.opt_parameters(
        "with",
        "storage parameters, `{ fillfactor = 70 }`; PostgreSQL",
    )?;
    let mut out = Vec::new();
    for parameter in parameters {
        let name = parameter.name.get_ref().to_lowercase();
        if !INDEX_STORAGE_PARAMETERS.contains(&name.as_str()) {
            let context = r.context().to_string();
            let accepted = INDEX_STORAGE_PARAMETERS
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let help = match did_you_mean(&name, INDEX_STORAGE_PARAMETERS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? accepted: {accepted}"),
                None => format!("accepted: {accepted}"),
            };
            r.report(
                Diagnostic::error(
                    Code::InvalidValue,
                    Some(parameter.name.span()),
                    format!("`with` in {context} sets `{name}`, which is not an index storage parameter"),
                )
                .with_help(help),
            );
            return None;
        }
        out.push((name, parameter.value));
    }
    Some(out)
}

impl Operation for AddIndex {
    const NAME: &'static str = "add_index";
    const PHASES: &'static [Phase] = &[Phase::Expand, Phase::Switch];
    const DOC: &'static str = "Build an index concurrently (PostgreSQL), without blocking writes.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to index");
        let columns = read_elements(
            r,
            "the indexed columns: names, or `{ column | expression, [opclass], [collate], [order], [nulls] }`",
        );
        let name = r.opt_str(
            "name",
            KeyKind::Identifier,
            "index name (default `{table}_{columns}_idx`)",
        );
        let unique = r
            .opt_bool("unique", "a unique index (default false)")
            .unwrap_or(false);
        let predicate = r.opt_str(
            "where",
            KeyKind::Expression,
            "partial index predicate, a SQL expression",
        );
        let method = r.opt_one_of(
            "method",
            &["btree", "hash", "gist", "spgist", "gin", "brin"],
            "index method (PostgreSQL)",
        );
        let include = r.opt_ident_list(
            "include",
            "columns stored in the index but not part of its key (PostgreSQL)",
        );
        let with = read_storage_parameters(r);
        let tablespace = r.opt_str(
            "tablespace",
            KeyKind::Identifier,
            "the tablespace to build the index in (PostgreSQL)",
        );
        let with = if r.has("with") { with? } else { Vec::new() };
        Some(AddIndex {
            table: table?,
            columns: columns?,
            name,
            unique,
            predicate,
            method: method.map(str::to_string),
            include: include.unwrap_or_default(),
            with,
            tablespace,
        })
    }

    fn target(&self) -> String {
        format!("index {} on {}", self.index_name(), self.table)
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let elements = self.columns.iter().filter_map(|e| match &e.target {
            IndexTarget::Expression(text) => Some(Expression::new("expression", text)),
            IndexTarget::Column(_) => None,
        });
        elements
            .chain(
                self.predicate
                    .as_deref()
                    .map(|p| Expression::new("where", p)),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_elements_are_named_as_postgres_names_them() {
        let element = |text: &str| IndexElement {
            target: IndexTarget::Expression(text.into()),
            ..IndexElement::column("x")
        };
        assert_eq!(element("lower(email)").name_part(), "lower");
        assert_eq!(element("public.f (a, b)").name_part(), "f");
        assert_eq!(element("(a + b)").name_part(), "expr");
        assert_eq!(element("a || b").name_part(), "expr");
        assert_eq!(IndexElement::column("email").name_part(), "email");
    }

    #[test]
    fn sql_written_as_a_name_gets_the_table_to_write() {
        assert_eq!(sql_in_a_name("email"), None);
        assert_eq!(sql_in_a_name("Created At"), None);
        assert!(sql_in_a_name("name COLLATE \"C\" DESC").is_some());
        assert!(sql_in_a_name("id int8_ops")
            .unwrap()
            .contains("{ column = \"id\", opclass = \"int8_ops\" }"));
        assert!(sql_in_a_name("at DESC")
            .unwrap()
            .contains("order = \"desc\""));
        assert!(sql_in_a_name("lower(email)")
            .unwrap()
            .contains("{ expression = \"lower(email)\" }"));
    }
}
