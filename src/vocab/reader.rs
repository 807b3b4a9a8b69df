//! Typed reading of one TOML table (a step, `[settings]`, a nested table) with spans.
//!
//! Each operation reads its keys through a [`TableReader`]; the reader records every key it was
//! asked for, so that unknown keys can be reported with a suggestion, missing required keys can be
//! named, and the JSON Schema of the plan file can be generated from the very same calls (see
//! [`TableReader::probe`]). Errors are collected, never returned early, so one pass reports all
//! mistakes of a file.

use std::time::Duration;

use serde::Serialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{did_you_mean, Code, Diagnostic};
use super::duration::parse_duration;
use super::lag::{parse_max_lag, MaxLag};
use super::span::Span;
use super::table_name::TableName;

/// The shape of a value a key accepts; drives both validation messages and the JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Any string.
    String,
    /// An identifier (column, index, constraint name); quoted by bellows.
    Identifier,
    /// A table name, optionally schema-qualified (`"billing.invoices"`); quoted by bellows.
    Table,
    /// Another object's name (an index), optionally schema-qualified; quoted by bellows.
    QualifiedName,
    /// A column named through its table: `"table.column"` or `"schema.table.column"`.
    ColumnRef,
    /// A SQL expression, inserted as written.
    Expression,
    /// A SQL query, inserted as written.
    Query,
    /// A column type, inserted as written (`text`, `numeric(12,2)`).
    Type,
    Bool,
    /// A positive integer.
    Integer,
    /// A duration string with a unit: `"250ms"`, `"2s"`, `"5m"`.
    Duration,
    /// A duration or a byte size: `"2s"`, `"16MB"`.
    MaxLag,
    /// An identifier or an array of identifiers.
    IdentList,
    /// A table mapping column names to SQL expressions.
    ExpressionMap,
    /// One of a fixed set of strings.
    OneOf(&'static [&'static str]),
    /// An integer or a boolean.
    IntegerOrBool,
    /// Any string, the empty one included (a comment, where `""` removes it).
    Text,
    /// One of a fixed set of strings, or a nested table with its own keys.
    OneOfOrTable(&'static [&'static str], Vec<KeyInfo>),
    /// A nested table with its own keys.
    Table_(Vec<KeyInfo>),
    /// An array of tables with their own keys.
    TableArray(Vec<KeyInfo>),
    /// A name, or an array whose items are each a name or a table with these keys (an index's
    /// `columns`: `"email"` or `{ expression = "lower(email)" }`).
    NamesOrTables(Vec<KeyInfo>),
    /// A table of `name = value` parameters, each value a string, a number or a boolean
    /// (storage parameters such as `fillfactor`).
    Parameters,
}

/// What a reader learned about one key: used for the JSON Schema and for "what would be accepted".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyInfo {
    pub name: &'static str,
    pub kind: KeyKind,
    pub required: bool,
    pub doc: &'static str,
}

/// Reads keys from one table, collecting diagnostics into a shared list.
pub struct TableReader<'a, 'i> {
    table: Option<&'a DeTable<'i>>,
    span: Span,
    /// Human name of the table for messages: "step 2 of [[expand]] (add_column)".
    context: String,
    keys: Vec<KeyInfo>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl<'a, 'i> TableReader<'a, 'i> {
    pub fn new(
        table: &'a DeTable<'i>,
        span: Span,
        context: impl Into<String>,
        diagnostics: &'a mut Vec<Diagnostic>,
    ) -> Self {
        TableReader {
            table: Some(table),
            span,
            context: context.into(),
            keys: Vec::new(),
            diagnostics,
        }
    }

    /// A reader over no table at all: every `get` returns nothing and no diagnostic is kept.
    /// Running an operation's reading code through it lists the keys the operation accepts.
    pub fn probe(diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        TableReader {
            table: None,
            span: 0..0,
            context: String::new(),
            keys: Vec::new(),
            diagnostics,
        }
    }

    pub fn is_probe(&self) -> bool {
        self.table.is_none()
    }

    pub fn span(&self) -> Span {
        self.span.clone()
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// Keys this reader has been asked for so far.
    pub fn keys(&self) -> &[KeyInfo] {
        &self.keys
    }

    /// Marks a key as known without reading it (e.g. `op`, which the caller dispatched on).
    pub fn accept(&mut self, name: &'static str, kind: KeyKind, doc: &'static str) {
        self.keys.push(KeyInfo {
            name,
            kind,
            required: true,
            doc,
        });
    }

    /// Whether the table has the key at all, valid or not (always false for a probe). Lets a
    /// reader tell "absent" from "present but invalid", which was already reported.
    pub fn has(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        if !self.is_probe() {
            self.diagnostics.push(diagnostic);
        }
    }

    fn lookup(
        &self,
        name: &str,
    ) -> Option<(
        &'a Spanned<toml::de::DeString<'i>>,
        &'a Spanned<DeValue<'i>>,
    )> {
        self.table?.get_key_value(name)
    }

    fn get(
        &mut self,
        name: &'static str,
        kind: KeyKind,
        required: bool,
        doc: &'static str,
    ) -> Option<&'a Spanned<DeValue<'i>>> {
        self.keys.push(KeyInfo {
            name,
            kind,
            required,
            doc,
        });
        let found = self.lookup(name).map(|(_, v)| v);
        if found.is_none() && required && !self.is_probe() {
            let context = self.context.clone();
            let span = self.span.clone();
            self.report(
                Diagnostic::error(
                    Code::MissingKey,
                    Some(span),
                    format!("{context} is missing the required key `{name}`"),
                )
                .with_help(format!("add `{name} = …`: {doc}")),
            );
        }
        found
    }

    fn type_error(&mut self, name: &str, value: &Spanned<DeValue<'i>>, expected: &str) {
        let context = self.context.clone();
        let mut diagnostic = Diagnostic::error(
            Code::InvalidValue,
            Some(value.span()),
            format!(
                "`{name}` in {context} must be {expected}, found {}",
                describe(value.get_ref())
            ),
        );
        // SQL written as a bare TOML number or boolean: say how to quote it.
        let bare = match value.get_ref() {
            DeValue::Integer(n) if n.radix() == 10 => Some(n.as_str().to_string()),
            DeValue::Float(f) => Some(f.as_str().to_string()),
            DeValue::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        if let (Some(text), "a string") = (bare, expected) {
            diagnostic = diagnostic.with_help(format!("write it as a string: {name} = \"{text}\""));
        }
        self.report(diagnostic);
    }

    fn read_string(
        &mut self,
        name: &'static str,
        kind: KeyKind,
        required: bool,
        doc: &'static str,
    ) -> Option<Spanned<String>> {
        let value = self.get(name, kind, required, doc)?;
        match value.get_ref() {
            DeValue::String(s) => {
                if s.trim().is_empty() {
                    let context = self.context.clone();
                    self.report(Diagnostic::error(
                        Code::InvalidValue,
                        Some(value.span()),
                        format!("`{name}` in {context} must not be empty"),
                    ));
                    None
                } else {
                    Some(Spanned::new(value.span(), s.to_string()))
                }
            }
            _ => {
                self.type_error(name, value, "a string");
                None
            }
        }
    }

    /// A required string of the given kind.
    pub fn req_str(
        &mut self,
        name: &'static str,
        kind: KeyKind,
        doc: &'static str,
    ) -> Option<String> {
        self.read_string(name, kind, true, doc)
            .map(Spanned::into_inner)
    }

    /// An optional string of the given kind.
    pub fn opt_str(
        &mut self,
        name: &'static str,
        kind: KeyKind,
        doc: &'static str,
    ) -> Option<String> {
        self.read_string(name, kind, false, doc)
            .map(Spanned::into_inner)
    }

    /// A string that may be empty (a comment: `""` removes it); `required` as for any key.
    pub fn text(
        &mut self,
        name: &'static str,
        required: bool,
        doc: &'static str,
    ) -> Option<String> {
        let value = self.get(name, KeyKind::Text, required, doc)?;
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.type_error(name, value, "a string");
                None
            }
        }
    }

    /// A required key that is either one of `allowed` (`Ok`) or a nested table read by `read`
    /// (`Err`), such as `identity = "full"` or `identity = { index = "…" }`.
    pub fn one_of_or_table<T>(
        &mut self,
        name: &'static str,
        allowed: &'static [&'static str],
        doc: &'static str,
        read: impl Fn(&mut TableReader<'_, '_>) -> Option<T>,
    ) -> Option<Result<&'static str, T>> {
        let nested_keys = probe_keys(&read);
        let value = self.get(name, KeyKind::OneOfOrTable(allowed, nested_keys), true, doc)?;
        match value.get_ref() {
            DeValue::String(text) => {
                if let Some(found) = allowed.iter().find(|a| a.eq_ignore_ascii_case(text)) {
                    return Some(Ok(found));
                }
                let accepted = allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let context = self.context.clone();
                let mut diagnostic = Diagnostic::error(
                    Code::InvalidValue,
                    Some(value.span()),
                    format!("`{name}` in {context} cannot be `{text}`"),
                );
                diagnostic = match did_you_mean(text, allowed.iter().copied()) {
                    Some(s) => diagnostic.with_help(format!(
                        "did you mean `{s}`? accepted: {accepted}, or a table"
                    )),
                    None => diagnostic.with_help(format!("accepted: {accepted}, or a table")),
                };
                self.report(diagnostic);
                None
            }
            DeValue::Table(table) => {
                let context = format!("`{name}` of {}", self.context);
                let mut nested = TableReader::new(table, value.span(), context, self.diagnostics);
                let result = read(&mut nested);
                nested.finish();
                result.map(Err)
            }
            _ => {
                self.type_error(name, value, "a string or a table");
                None
            }
        }
    }

    /// A required string, with its span (for later cross-checks).
    pub fn req_str_spanned(
        &mut self,
        name: &'static str,
        kind: KeyKind,
        doc: &'static str,
    ) -> Option<Spanned<String>> {
        self.read_string(name, kind, true, doc)
    }

    /// A name with at most one dot (`name` or `schema.name`), no part blank.
    fn qualified_name(
        &mut self,
        name: &'static str,
        kind: KeyKind,
        required: bool,
        doc: &'static str,
    ) -> Option<TableName> {
        let value = self.read_string(name, kind, required, doc)?;
        let text = value.get_ref();
        if split_name(text, 1, 2).is_none() {
            let context = self.context.clone();
            self.report(
                Diagnostic::error(
                    Code::InvalidValue,
                    Some(value.span()),
                    format!("`{name}` in {context} is not a valid name: `{text}`"),
                )
                .with_help("write `name` or `schema.name`: at most one dot, no part empty; bellows quotes each part"),
            );
            return None;
        }
        Some(TableName::parse(text))
    }

    pub fn req_table_name(&mut self, name: &'static str, doc: &'static str) -> Option<TableName> {
        self.qualified_name(name, KeyKind::Table, true, doc)
    }

    pub fn opt_table_name(&mut self, name: &'static str, doc: &'static str) -> Option<TableName> {
        self.qualified_name(name, KeyKind::Table, false, doc)
    }

    /// A required name of another object (an index), optionally schema-qualified.
    pub fn req_qualified_name(
        &mut self,
        name: &'static str,
        doc: &'static str,
    ) -> Option<TableName> {
        self.qualified_name(name, KeyKind::QualifiedName, true, doc)
    }

    /// An optional `"table.column"` or `"schema.table.column"`.
    pub fn opt_column_ref(
        &mut self,
        name: &'static str,
        doc: &'static str,
    ) -> Option<(TableName, String)> {
        let value = self.read_string(name, KeyKind::ColumnRef, false, doc)?;
        let text = value.get_ref();
        match split_name(text, 2, 3) {
            Some(mut parts) => {
                let column = parts.pop().unwrap_or_default();
                let table = TableName {
                    name: parts.pop().unwrap_or_default(),
                    schema: parts.pop(),
                };
                Some((table, column))
            }
            None => {
                let context = self.context.clone();
                self.report(
                    Diagnostic::error(
                        Code::InvalidValue,
                        Some(value.span()),
                        format!("`{name}` in {context} must name a column as \"table.column\", found `{text}`"),
                    )
                    .with_help("write \"table.column\" or \"schema.table.column\""),
                );
                None
            }
        }
    }

    /// One of a fixed set of strings, in any letter case; an unknown value gets a suggestion.
    pub fn opt_one_of(
        &mut self,
        name: &'static str,
        allowed: &'static [&'static str],
        doc: &'static str,
    ) -> Option<&'static str> {
        self.one_of(name, allowed, false, doc)
    }

    /// A required one of a fixed set of strings.
    pub fn req_one_of(
        &mut self,
        name: &'static str,
        allowed: &'static [&'static str],
        doc: &'static str,
    ) -> Option<&'static str> {
        self.one_of(name, allowed, true, doc)
    }

    fn one_of(
        &mut self,
        name: &'static str,
        allowed: &'static [&'static str],
        required: bool,
        doc: &'static str,
    ) -> Option<&'static str> {
        let value = self.read_string(name, KeyKind::OneOf(allowed), required, doc)?;
        let text = value.get_ref().as_str();
        if let Some(found) = allowed.iter().find(|a| a.eq_ignore_ascii_case(text)) {
            return Some(found);
        }
        let context = self.context.clone();
        let mut diagnostic = Diagnostic::error(
            Code::InvalidValue,
            Some(value.span()),
            format!("`{name}` in {context} cannot be `{text}`"),
        );
        let accepted = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        diagnostic = match did_you_mean(text, allowed.iter().copied()) {
            Some(s) => diagnostic.with_help(format!("did you mean `{s}`? accepted: {accepted}")),
            None => diagnostic.with_help(format!("accepted: {accepted}")),
        };
        self.report(diagnostic);
        None
    }

    pub fn opt_bool(&mut self, name: &'static str, doc: &'static str) -> Option<bool> {
        let value = self.get(name, KeyKind::Bool, false, doc)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.type_error(name, value, "`true` or `false`");
                None
            }
        }
    }

    /// An optional positive integer.
    pub fn opt_positive(&mut self, name: &'static str, doc: &'static str) -> Option<u64> {
        let value = self.get(name, KeyKind::Integer, false, doc)?;
        match integer(value.get_ref()) {
            Some(n) if n > 0 => Some(n as u64),
            _ => {
                self.type_error(name, value, "a positive integer");
                None
            }
        }
    }

    pub fn opt_duration(&mut self, name: &'static str, doc: &'static str) -> Option<Duration> {
        let value = self.get(name, KeyKind::Duration, false, doc)?;
        let DeValue::String(text) = value.get_ref() else {
            let context = self.context.clone();
            self.report(
                Diagnostic::error(
                    Code::InvalidDuration,
                    Some(value.span()),
                    format!(
                        "`{name}` in {context} must be a duration string with a unit, found {}",
                        describe(value.get_ref())
                    ),
                )
                .with_help(format!(
                    "write a number with a unit, as a string: {name} = \"500ms\", \"2s\", \"5m\""
                )),
            );
            return None;
        };
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(why) => {
                let context = self.context.clone();
                self.report(
                    Diagnostic::error(
                        Code::InvalidDuration,
                        Some(value.span()),
                        format!("`{name}` in {context} is not a valid duration: `{text}` ({why})"),
                    )
                    .with_help("write a number with a unit: \"250ms\", \"2s\", \"5m\", \"1h\""),
                );
                None
            }
        }
    }

    /// A replica lag: a duration or a byte size (`max_lag`).
    pub fn opt_max_lag(&mut self, name: &'static str, doc: &'static str) -> Option<MaxLag> {
        let value = self.get(name, KeyKind::MaxLag, false, doc)?;
        let parsed = match value.get_ref() {
            DeValue::String(text) => parse_max_lag(text).map_err(|why| format!("`{text}` ({why})")),
            other => Err(format!("found {}", describe(other))),
        };
        match parsed {
            Ok(lag) => Some(lag),
            Err(why) => {
                let context = self.context.clone();
                self.report(
                    Diagnostic::error(
                        Code::InvalidDuration,
                        Some(value.span()),
                        format!("`{name}` in {context} must be a duration or a size: {why}"),
                    )
                    .with_help(format!(
                        "write a duration or a size, as a string: {name} = \"2s\" or \"16MB\""
                    )),
                );
                None
            }
        }
    }

    /// An integer or a boolean (a guard's `expect`).
    pub fn opt_integer_or_bool(
        &mut self,
        name: &'static str,
        doc: &'static str,
    ) -> Option<IntOrBool> {
        let value = self.get(name, KeyKind::IntegerOrBool, false, doc)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(IntOrBool::Bool(*b)),
            v => match integer(v) {
                Some(n) => Some(IntOrBool::Int(n)),
                None => {
                    self.type_error(name, value, "an integer or a boolean");
                    None
                }
            },
        }
    }

    fn ident_list(
        &mut self,
        name: &'static str,
        required: bool,
        doc: &'static str,
    ) -> Option<Vec<String>> {
        let value = self.get(name, KeyKind::IdentList, required, doc)?;
        match value.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some(vec![s.to_string()]),
            DeValue::Array(items) if !items.is_empty() => {
                let mut names = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) if !s.trim().is_empty() => names.push(s.to_string()),
                        _ => {
                            self.type_error(name, item, "a non-empty column name");
                            return None;
                        }
                    }
                }
                Some(names)
            }
            _ => {
                self.type_error(
                    name,
                    value,
                    "a column name or a non-empty array of column names",
                );
                None
            }
        }
    }

    pub fn req_ident_list(&mut self, name: &'static str, doc: &'static str) -> Option<Vec<String>> {
        self.ident_list(name, true, doc)
    }

    pub fn opt_ident_list(&mut self, name: &'static str, doc: &'static str) -> Option<Vec<String>> {
        self.ident_list(name, false, doc)
    }

    /// A table of `column = "expression"` pairs, in file order. `None` if absent or invalid;
    /// an empty table is returned as empty so the caller can say why that is wrong.
    pub fn req_expression_map(
        &mut self,
        name: &'static str,
        doc: &'static str,
    ) -> Option<Spanned<Vec<(String, String)>>> {
        let value = self.get(name, KeyKind::ExpressionMap, true, doc)?;
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(name, value, "a table of column = \"SQL expression\" pairs");
            return None;
        };
        let mut pairs = Vec::new();
        for (key, item) in table.iter() {
            match item.get_ref() {
                DeValue::String(expr) if !expr.trim().is_empty() => {
                    pairs.push((key.get_ref().to_string(), expr.to_string()))
                }
                _ => {
                    let label = format!("{name}.{}", key.get_ref());
                    let context = self.context.clone();
                    self.report(Diagnostic::error(
                        Code::InvalidValue,
                        Some(item.span()),
                        format!(
                            "`{label}` in {context} must be a SQL expression string, found {}",
                            describe(item.get_ref())
                        ),
                    ));
                    return None;
                }
            }
        }
        Some(Spanned::new(value.span(), pairs))
    }

    /// A nested table read with its own reader; `read` is also run in probe mode so its keys are
    /// known to the schema even when the key is absent.
    pub fn table<T>(
        &mut self,
        name: &'static str,
        required: bool,
        doc: &'static str,
        read: impl Fn(&mut TableReader<'_, '_>) -> Option<T>,
    ) -> Option<T> {
        let nested_keys = probe_keys(&read);
        let context = format!("`{name}` of {}", self.context);
        let value = self.get(name, KeyKind::Table_(nested_keys), required, doc)?;
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(name, value, "a table, like `{ key = \"…\" }`");
            return None;
        };
        let mut nested = TableReader::new(table, value.span(), context, self.diagnostics);
        let result = read(&mut nested);
        nested.finish();
        result
    }

    /// A required array of tables, each read with its own reader.
    pub fn table_array<T>(
        &mut self,
        name: &'static str,
        doc: &'static str,
        read: impl Fn(&mut TableReader<'_, '_>) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.array_of_tables(name, true, doc, read)
    }

    /// An optional array of tables: `Some(empty)` when absent, `None` when invalid.
    pub fn opt_table_array<T>(
        &mut self,
        name: &'static str,
        doc: &'static str,
        read: impl Fn(&mut TableReader<'_, '_>) -> Option<T>,
    ) -> Option<Vec<T>> {
        if !self.has(name) {
            self.keys.push(KeyInfo {
                name,
                kind: KeyKind::TableArray(probe_keys(&read)),
                required: false,
                doc,
            });
            return Some(Vec::new());
        }
        self.array_of_tables(name, false, doc, read)
    }

    fn array_of_tables<T>(
        &mut self,
        name: &'static str,
        required: bool,
        doc: &'static str,
        read: impl Fn(&mut TableReader<'_, '_>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let nested_keys = probe_keys(&read);
        let value = self.get(name, KeyKind::TableArray(nested_keys), required, doc)?;
        let DeValue::Array(items) = value.get_ref() else {
            self.type_error(name, value, "an array of tables");
            return None;
        };
        if items.is_empty() {
            let context = self.context.clone();
            self.report(Diagnostic::error(
                Code::InvalidValue,
                Some(value.span()),
                format!("`{name}` in {context} must not be empty"),
            ));
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let DeValue::Table(table) = item.get_ref() else {
                self.type_error(name, item, "an array of tables");
                ok = false;
                continue;
            };
            let context = format!("{name}[{i}] of {}", self.context);
            let mut nested = TableReader::new(table, item.span(), context, self.diagnostics);
            let result = read(&mut nested);
            nested.finish();
            match result {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A required name, or array whose items are each a name or a table read with `read`.
    pub fn req_names_or_tables<T>(
        &mut self,
        name: &'static str,
        doc: &'static str,
        read: impl Fn(&mut TableReader<'_, '_>) -> Option<T>,
    ) -> Option<Vec<NameOrTable<T>>> {
        let nested_keys = probe_keys(&read);
        let value = self.get(name, KeyKind::NamesOrTables(nested_keys), true, doc)?;
        let single = std::slice::from_ref(value);
        let items = match value.get_ref() {
            DeValue::Array(items) if !items.is_empty() => &items[..],
            DeValue::String(_) => single,
            _ => {
                self.type_error(
                    name,
                    value,
                    "a name or a non-empty array of names and tables",
                );
                return None;
            }
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => {
                    out.push(NameOrTable::Name(Spanned::new(item.span(), s.to_string())))
                }
                DeValue::Table(table) => {
                    let context = format!("{name}[{i}] of {}", self.context);
                    let mut nested =
                        TableReader::new(table, item.span(), context, self.diagnostics);
                    let result = read(&mut nested);
                    nested.finish();
                    match result {
                        Some(v) => out.push(NameOrTable::Table(v)),
                        None => ok = false,
                    }
                }
                _ => {
                    self.type_error(name, item, "a non-empty name or a table");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// An optional table of `name = value` parameters; names are checked by the caller.
    pub fn opt_parameters(
        &mut self,
        name: &'static str,
        doc: &'static str,
    ) -> Option<Vec<Parameter>> {
        let value = self.get(name, KeyKind::Parameters, false, doc)?;
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(name, value, "a table of `parameter = value` pairs");
            return None;
        };
        let mut out = Vec::new();
        for (key, item) in table.iter() {
            let text = match item.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => s.to_string(),
                DeValue::Integer(n) => n.as_str().to_string(),
                DeValue::Float(f) => f.as_str().to_string(),
                DeValue::Boolean(b) => b.to_string(),
                _ => {
                    let label = format!("{name}.{}", key.get_ref());
                    self.type_error(&label, item, "a string, a number or a boolean");
                    return None;
                }
            };
            out.push(Parameter {
                name: Spanned::new(key.span(), key.get_ref().to_string()),
                value: text,
            });
        }
        Some(out)
    }

    /// Reports every key of the table that no read asked for, with a suggestion.
    pub fn finish(self) {
        let Some(table) = self.table else { return };
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if self.keys.iter().any(|k| k.name == name) {
                continue;
            }
            let known: Vec<&str> = self.keys.iter().map(|k| k.name).collect();
            let accepted = known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let help = match did_you_mean(name, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? accepted keys: {accepted}"),
                None => format!("accepted keys: {accepted}"),
            };
            self.diagnostics.push(
                Diagnostic::error(
                    Code::UnknownKey,
                    Some(key.span()),
                    format!("unknown key `{name}` in {}", self.context),
                )
                .with_help(help),
            );
        }
    }
}

/// The keys a reading function asks for, found by running it over no table.
pub fn probe_keys<T>(read: impl Fn(&mut TableReader<'_, '_>) -> Option<T>) -> Vec<KeyInfo> {
    let mut sink = Vec::new();
    let mut probe = TableReader::probe(&mut sink);
    let _ = read(&mut probe);
    probe.keys
}

/// An item of [`TableReader::req_names_or_tables`]: a name with its span, or a table as read.
#[derive(Debug, Clone, PartialEq)]
pub enum NameOrTable<T> {
    Name(Spanned<String>),
    Table(T),
}

/// One `name = value` of [`TableReader::opt_parameters`]; the value as text (`70`, `off`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: Spanned<String>,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrBool {
    Int(i64),
    Bool(bool),
}

fn integer(value: &DeValue<'_>) -> Option<i64> {
    match value {
        DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix()).ok(),
        _ => None,
    }
}

/// The dot-separated parts of `text` when there are `min..=max` of them and none is blank.
fn split_name(text: &str, min: usize, max: usize) -> Option<Vec<String>> {
    let parts: Vec<String> = text.split('.').map(str::to_string).collect();
    let fits = (min..=max).contains(&parts.len()) && parts.iter().all(|p| !p.trim().is_empty());
    fits.then_some(parts)
}

/// "a string", "an integer (5)", … for type-mismatch messages.
pub fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("the string \"{s}\""),
        DeValue::Integer(n) => format!("the integer {}", n.as_str()),
        DeValue::Float(f) => format!("the number {f}"),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Datetime(d) => format!("the date-time {d}"),
        DeValue::Array(items) if items.is_empty() => "an empty array".to_string(),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}
