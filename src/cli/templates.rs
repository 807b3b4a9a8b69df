//! Plan templates for `bellows new`: pure functions from a few values to the TOML text of a
//! complete, commented expand/backfill/switch/contract plan.
//!
//! Every value a template writes into TOML is escaped for TOML; every identifier it writes into
//! a SQL expression (where bellows cannot quote it, because expressions are inserted as written)
//! is quoted for SQL when it needs to be. The output of each template loads without errors or
//! warnings (tested below).

use super::args::Template;

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
            Field::To => "--to",
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
}

impl Values {
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

    fn required(&self, field: Field) -> Result<&str, Field> {
        self.get(field).ok_or(field)
    }
}

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

/// The values a template uses, in the order they are asked for.
pub fn fields(template: Template) -> &'static [(Field, Need)] {
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
        Template::AddNotNull => &[(Table, Required), (Column, Required), (From, Required)],
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
        Field::Column if value.split(',').any(|c| c.trim().is_empty() || c.contains('.')) => {
            Err(format!(
                "{} `{value}` must be a column name without a dot (add-index: names separated by commas)",
                field.flag()
            ))
        }
        _ => Ok(()),
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
    let mut doc = Doc::new(template, name, path);
    match template {
        Template::AddColumn => add_column(&mut doc, table, column, values)?,
        Template::RenameColumn => rename_column(&mut doc, table, column, values)?,
        Template::ChangeType => change_type(&mut doc, table, column, values)?,
        Template::AddNotNull => add_not_null(&mut doc, table, column, values)?,
        Template::AddIndex => add_index(&mut doc, table, column),
    }
    Ok(doc.out)
}

fn add_column(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let type_ = values.required(Field::Type)?;
    let from = values.from.as_deref();
    doc.header(&match from {
        Some(from) => {
            format!("Add {table}.{column} ({type_}), filled from `{from}`, then make it NOT NULL")
        }
        None => format!("Add the nullable column {table}.{column} ({type_})"),
    });

    doc.phase(
        "expand",
        "additive only: the running application does not notice.",
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_column"), None),
            ("table", s(table), None),
            ("column", s(column), None),
            (
                "type",
                s(type_),
                Some("nullable: adding it is instant and old code keeps working"),
            ),
        ],
    );
    let Some(from) = from else {
        doc.comment(
            "\nNothing else to do: the column stays nullable. To fill it and make it NOT NULL,\n\
             add a `sync_column` step here, a [[backfill]], and `drop_sync` + `set_not_null` in\n\
             contract (run `bellows new NAME --template add-column --from EXPRESSION` to see one).",
        );
        return Ok(());
    };
    let col = ident(column);
    doc.step(
        "expand",
        &[
            (
                "op",
                s("sync_column"),
                Some("writes from the old application fill the new column too"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
            ("from", s(from), Some("SQL over the row being written")),
        ],
    );

    doc.phase(
        "backfill",
        "existing rows, in small keyset batches, each its own short transaction.",
    );
    doc.backfill(table, &[(column, from)], &format!("{col} IS NULL"));

    doc.phase(
        "switch",
        &format!(
            "deploy the version that reads {column}, then apply this phase.\n\
             The guard stops here if any row was missed."
        ),
    );
    doc.step(
        "switch",
        &[
            ("op", s("guard"), None),
            ("null_count", s(&format!("{table}.{column}")), None),
        ],
    );
    doc.comment(&format!(
        "To give rows the new version inserts a value without writing it, add:\n\
         [[switch]]\n\
         op = \"set_default\"\n\
         table = {}\n\
         column = {}\n\
         default = \"…\"                 # a SQL expression",
        s(table),
        s(column)
    ));

    doc.phase(
        "contract",
        "only the new version runs: it writes the column itself from now on.",
    );
    doc.step(
        "contract",
        &[
            ("op", s("drop_sync"), None),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("set_not_null"),
                Some("refuses while any NULL remains; remove it to keep the column nullable"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
    Ok(())
}

fn rename_column(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let to = values.required(Field::To)?;
    let type_ = values.required(Field::Type)?;
    let (old, new) = (ident(column), ident(to));
    doc.header(&format!("Rename {table}.{column} to {to} without downtime"));

    doc.phase(
        "expand",
        &format!("add {to} beside {column} and keep the two in step, whichever one a write sets."),
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_column"), None),
            ("table", s(table), None),
            ("column", s(to), None),
            (
                "type",
                s(type_),
                Some(&format!("the type of {column}; nullable for now")),
            ),
        ],
    );
    doc.step(
        "expand",
        &[
            (
                "op",
                s("sync_column"),
                Some(&format!("old code writes {column} → {to} follows")),
            ),
            ("table", s(table), None),
            ("column", s(to), None),
            ("from", s(&old), None),
            (
                "reverse",
                inline(&[("column", s(column)), ("from", s(&new))]),
                Some(&format!("new code writes {to} → {column} follows")),
            ),
        ],
    );

    doc.phase(
        "backfill",
        &format!("copy {column} into {to} for existing rows."),
    );
    doc.backfill(table, &[(to, &old)], &format!("{new} IS NULL"));

    doc.phase(
        "switch",
        &format!("deploy the version that reads and writes {to}; the guard proves no row differs."),
    );
    guard_then_contract(
        doc,
        table,
        column,
        to,
        &format!("{new} IS DISTINCT FROM {old}"),
    );
    doc.comment(&format!(
        "Indexes and constraints on {column} are dropped with it; recreate them on {to} in\n\
         expand (`add_index`, `add_check`, `add_foreign_key`) if the new version needs them."
    ));
    Ok(())
}

fn change_type(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let to = values.required(Field::To)?;
    let type_ = values.required(Field::Type)?;
    let (old, new) = (ident(column), ident(to));
    let convert = match values.from.as_deref() {
        Some(from) => from.to_string(),
        None => format!("CAST({old} AS {type_})"),
    };
    doc.header(&format!(
        "Change the type of {table}.{column}: a new column {to} ({type_}) replaces it"
    ));

    doc.phase(
        "expand",
        &format!("add {to} with the new type and fill it on every write of the old application."),
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_column"), None),
            ("table", s(table), None),
            ("column", s(to), None),
            ("type", s(type_), Some("nullable for now")),
        ],
    );
    doc.step(
        "expand",
        &[
            (
                "op",
                s("sync_column"),
                Some(&format!("old code writes {column} → {to} follows")),
            ),
            ("table", s(table), None),
            ("column", s(to), None),
            ("from", s(&convert), None),
        ],
    );
    doc.comment(&format!(
        "If old and new versions run side by side and the new one writes only {to}, keep\n\
         {column} in step too: add `reverse = {{ column = \"{column}\", from = \"…\" }}` above,\n\
         with the conversion back to the old type."
    ));

    doc.phase("backfill", &format!("convert the existing rows into {to}."));
    doc.backfill(table, &[(to, &convert)], &format!("{new} IS NULL"));

    doc.phase(
        "switch",
        &format!("deploy the version that uses {to}; the guard proves every row converted."),
    );
    guard_then_contract(
        doc,
        table,
        column,
        to,
        &format!("{new} IS DISTINCT FROM ({convert})"),
    );
    Ok(())
}

/// The end shared by rename-column and change-type: a switch guard that no row has `differs`,
/// then contract — stop syncing, make `to` NOT NULL, drop `column`.
fn guard_then_contract(doc: &mut Doc, table: &str, column: &str, to: &str, differs: &str) {
    doc.step(
        "switch",
        &[
            ("op", s("guard"), None),
            (
                "query",
                s(&format!(
                    "SELECT count(*) FROM {} WHERE {differs}",
                    table_ident(table)
                )),
                None,
            ),
            ("expect", "0".to_string(), None),
        ],
    );

    doc.phase(
        "contract",
        &format!("only the new version runs: stop syncing, then drop {column}."),
    );
    doc.step(
        "contract",
        &[
            ("op", s("drop_sync"), None),
            ("table", s(table), None),
            ("column", s(to), None),
        ],
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("set_not_null"),
                Some(&format!(
                    "remove this step if {column} was nullable; it refuses while any NULL remains"
                )),
            ),
            ("table", s(table), None),
            ("column", s(to), None),
        ],
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("drop_column"),
                Some("irreversible: rollback stops before this step"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
}

fn add_not_null(doc: &mut Doc, table: &str, column: &str, values: &Values) -> Result<(), Field> {
    let from = values.required(Field::From)?;
    let col = ident(column);
    doc.header(&format!(
        "Make {table}.{column} NOT NULL; rows that are NULL now get `{from}`"
    ));
    doc.comment(
        "\nNothing to expand: the column exists. Deploy an application version that never\n\
         writes NULL into it before the switch phase.",
    );

    doc.phase("backfill", "fill the NULLs in small keyset batches.");
    doc.backfill(table, &[(column, from)], &format!("{col} IS NULL"));

    doc.phase(
        "switch",
        "the guard proves no NULL is left (and the application writes none any more).\n\
         If it fails, something still writes NULL: fix that, fill the rows, apply again.",
    );
    doc.step(
        "switch",
        &[
            ("op", s("guard"), None),
            ("null_count", s(&format!("{table}.{column}")), None),
        ],
    );

    doc.phase(
        "contract",
        "SET NOT NULL without a long lock (on PostgreSQL: CHECK NOT VALID, VALIDATE,\n\
         SET NOT NULL, drop the check; on SQLite: a table rebuild in one transaction).",
    );
    doc.step(
        "contract",
        &[
            (
                "op",
                s("set_not_null"),
                Some("carries its own null-count guard"),
            ),
            ("table", s(table), None),
            ("column", s(column), None),
        ],
    );
    Ok(())
}

fn add_index(doc: &mut Doc, table: &str, columns: &str) {
    let columns: Vec<&str> = columns.split(',').map(str::trim).collect();
    doc.header(&format!("Index {table} on ({})", columns.join(", ")));
    doc.phase(
        "expand",
        "PostgreSQL builds the index CONCURRENTLY: reads and writes go on meanwhile.\n\
         An invalid index left by a failed attempt is dropped and the build retried.",
    );
    let list = format!(
        "[{}]",
        columns.iter().map(|c| s(c)).collect::<Vec<_>>().join(", ")
    );
    doc.step(
        "expand",
        &[
            ("op", s("add_index"), None),
            ("table", s(table), None),
            ("columns", list, Some("in index order")),
        ],
    );
    doc.comment(
        "Optional keys: name = \"…\" (default {table}_{columns}_idx), unique = true,\n\
         where = \"SQL predicate\" (a partial index), method = \"gin\" (PostgreSQL).\n\
         Nothing to backfill, switch or contract: the index is in use as soon as it is valid.",
    );
}

/// The plan text being written.
struct Doc {
    out: String,
    template: Template,
    name: String,
    path: String,
}

impl Doc {
    fn new(template: Template, name: &str, path: &str) -> Doc {
        Doc {
            out: String::new(),
            template,
            name: name.to_string(),
            path: path.to_string(),
        }
    }

    fn header(&mut self, description: &str) {
        let template = template_name(self.template);
        let path = &self.path;
        self.out.push_str(&format!(
            "# Written by `bellows new --template {template}`. Read it, adjust it, then:\n\
             #   bellows check {path}\n\
             #       validates it;\n\
             #   bellows plan {path}\n\
             #       shows the exact SQL, lock and undo of every step;\n\
             #   bellows apply {path} --to PHASE\n\
             #       applies the phases up to PHASE (expand, backfill, switch, contract);\n\
             #       apply them one at a time, redeploying the application in between.\n\
             \n\
             name = {}\n\
             description = {}\n\
             \n\
             [settings]\n\
             lock_timeout = \"500ms\"      # each DDL attempt waits at most this long for its lock\n\
             lock_retries = 20           # then retries, with exponential backoff and jitter\n",
            s(&self.name),
            s(description),
        ));
    }

    fn phase(&mut self, phase: &str, what: &str) {
        self.out
            .push_str(&format!("\n# {:=<78}\n", format!("=== {phase} ")));
        let mut first = true;
        for line in what.lines() {
            let mut chars = line.chars();
            let line = match chars.next() {
                Some(c) if first => c.to_uppercase().chain(chars).collect(),
                _ => line.to_string(),
            };
            first = false;
            self.out.push_str(&format!("# {line}\n"));
        }
    }

    fn comment(&mut self, text: &str) {
        for line in text.lines() {
            if line.is_empty() {
                self.out.push('\n');
            } else {
                self.out.push_str(&format!("# {line}\n"));
            }
        }
    }

    /// One `[[phase]]` table; values are TOML already; comments trail their key.
    fn step(&mut self, phase: &str, keys: &[(&str, String, Option<&str>)]) {
        self.out.push_str(&format!("\n[[{phase}]]\n"));
        for (key, value, comment) in keys {
            let line = format!("{} = {value}", toml_key(key));
            match comment {
                Some(comment) if line.len() < 28 => {
                    self.out.push_str(&format!("{line:<28}# {comment}\n"))
                }
                Some(comment) => self.out.push_str(&format!("{line}  # {comment}\n")),
                None => self.out.push_str(&format!("{line}\n")),
            }
        }
    }

    fn backfill(&mut self, table: &str, set: &[(&str, &str)], filter: &str) {
        let set = inline(
            &set.iter()
                .map(|(column, expression)| (*column, s(expression)))
                .collect::<Vec<_>>(),
        );
        self.step(
            "backfill",
            &[
                ("table", s(table), None),
                ("set", set, Some("column = SQL expression")),
                ("where", s(filter), Some("only rows not done yet")),
                (
                    "batch_size",
                    "1000".to_string(),
                    Some("rows per batch and transaction"),
                ),
                ("pause", s("10ms"), Some("sleep between batches")),
            ],
        );
        self.comment(
            "target_batch_time = \"200ms\"   # adapt batch_size so a batch takes about this long\n\
             throttle_query = \"SELECT …\"    # pause while this query returns true",
        );
    }
}

/// A TOML string: a literal string when that needs no escaping, else a basic string.
fn s(text: &str) -> String {
    if !text.contains('\'') && !text.chars().any(char::is_control) && text.contains('"') {
        return format!("'{text}'");
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, else quoted.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        s(key)
    }
}

/// A TOML inline table of already-TOML values.
fn inline(pairs: &[(&str, String)]) -> String {
    let body = pairs
        .iter()
        .map(|(key, value)| format!("{} = {value}", toml_key(key)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{{ {body} }}")
}

/// Words that cannot be a bare column name in SQL expressions on PostgreSQL or SQLite.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "both",
    "by",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "initially",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "leading",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// An identifier as it must be written inside a SQL expression: bare when it is a plain
/// lower-case name, double-quoted (both PostgreSQL and SQLite) otherwise.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A table name, optionally `schema.table`, as it must be written inside a SQL expression.
pub fn table_ident(table: &str) -> String {
    match table.split_once('.') {
        Some((schema, name)) => format!("{}.{}", ident(schema), ident(name)),
        None => ident(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::load::load_str;
    use std::path::Path;

    const ALL: [Template; 5] = [
        Template::AddColumn,
        Template::RenameColumn,
        Template::ChangeType,
        Template::AddNotNull,
        Template::AddIndex,
    ];

    fn values(table: &str, column: &str, to: &str, type_: &str, from: Option<&str>) -> Values {
        Values {
            table: Some(table.into()),
            column: Some(column.into()),
            to: Some(to.into()),
            type_: Some(type_.into()),
            from: from.map(str::to_string),
        }
    }

    /// Loads `text` and asserts it has no diagnostic at all; returns the number of steps.
    fn loads_clean(text: &str) -> usize {
        let loaded = load_str(Path::new("plans/0001_test.toml"), text);
        assert!(
            loaded.diagnostics.is_empty(),
            "diagnostics {:#?} in\n{text}",
            loaded.diagnostics
        );
        loaded.plan.expect("a plan without diagnostics").steps.len()
    }

    #[test]
    fn every_template_loads_clean_with_plain_names() {
        for template in ALL {
            for from in [None, Some("false")] {
                let v = values("users", "email_verified", "verified", "boolean", from);
                if template == Template::AddNotNull && from.is_none() {
                    continue;
                }
                let text = render(template, "test", "plans/0001_test.toml", &v).unwrap();
                assert!(loads_clean(&text) >= 1, "{}", template_name(template));
            }
        }
    }

    #[test]
    fn every_template_loads_clean_with_names_that_need_quoting() {
        for template in ALL {
            let v = values(
                "billing.Order Items",
                "weird\"name",
                "select",
                "numeric(12,2)",
                Some("it's \"quoted\" \\ here"),
            );
            let text = render(template, "odd-names_2", "plans/0001_test.toml", &v).unwrap();
            assert!(loads_clean(&text) >= 1, "{}", template_name(template));
        }
    }

    #[test]
    fn templates_use_the_steps_the_pattern_needs() {
        let v = values("users", "name", "full_name", "text", None);
        let loaded = load_str(
            Path::new("x.toml"),
            &render(Template::RenameColumn, "rename", "plans/0001_test.toml", &v).unwrap(),
        );
        let ops: Vec<String> = loaded
            .plan
            .unwrap()
            .steps
            .iter()
            .map(|s| format!("{}:{}", s.phase, s.op.name()))
            .collect();
        assert_eq!(
            ops,
            [
                "expand:add_column",
                "expand:sync_column",
                "backfill:backfill",
                "switch:guard",
                "contract:drop_sync",
                "contract:set_not_null",
                "contract:drop_column"
            ]
        );
    }

    #[test]
    fn add_column_without_from_only_adds_the_column() {
        let v = Values {
            table: Some("users".into()),
            column: Some("nickname".into()),
            type_: Some("text".into()),
            ..Values::default()
        };
        let text = render(Template::AddColumn, "nickname", "plans/0001_test.toml", &v).unwrap();
        assert_eq!(loads_clean(&text), 1);
    }

    #[test]
    fn change_type_defaults_to_a_cast() {
        let v = values("orders", "total_amount", "total", "numeric(12,2)", None);
        let text = render(Template::ChangeType, "t", "plans/0001_test.toml", &v).unwrap();
        assert!(
            text.contains("from = \"CAST(total_amount AS numeric(12,2))\""),
            "{text}"
        );
    }

    #[test]
    fn add_index_splits_columns() {
        let v = values("orders", "user_id, created_at", "", "", None);
        let text = render(Template::AddIndex, "idx", "plans/0001_test.toml", &v).unwrap();
        assert!(
            text.contains("columns = [\"user_id\", \"created_at\"]"),
            "{text}"
        );
        assert_eq!(loads_clean(&text), 1);
    }

    #[test]
    fn a_missing_value_is_named() {
        let v = Values {
            table: Some("users".into()),
            column: Some("name".into()),
            ..Values::default()
        };
        assert_eq!(
            render(Template::RenameColumn, "r", "plans/0001_test.toml", &v),
            Err(Field::To)
        );
        assert_eq!(
            render(Template::AddNotNull, "r", "plans/0001_test.toml", &v),
            Err(Field::From)
        );
        assert_eq!(
            render(
                Template::AddColumn,
                "r",
                "plans/0001_test.toml",
                &Values::default()
            ),
            Err(Field::Table)
        );
        assert!(render(Template::AddIndex, "r", "plans/0001_test.toml", &v).is_ok());
    }

    #[test]
    fn required_fields_match_what_render_needs() {
        for template in ALL {
            let mut v = Values::default();
            for (field, need) in fields(template) {
                if *need == Need::Required {
                    v.set(*field, Some("x".into()));
                }
            }
            assert!(
                render(template, "r", "plans/0001_test.toml", &v).is_ok(),
                "{}",
                template_name(template)
            );
        }
    }

    #[test]
    fn values_are_checked() {
        assert!(check_value(Field::Table, "billing.invoices").is_ok());
        assert!(check_value(Field::Table, "a.b.c").is_err());
        assert!(check_value(Field::Table, ".b").is_err());
        assert!(check_value(Field::Column, "a.b").is_err());
        assert!(check_value(Field::Column, "a, b").is_ok());
        assert!(check_value(Field::Column, "a,,b").is_err());
        assert!(check_value(Field::To, "x.y").is_err());
        assert!(check_value(Field::Type, "  ").is_err());
        assert!(check_value(Field::From, "a\nb").is_err());
        assert!(check_value(Field::From, "coalesce(a, b)").is_ok());
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(ident("email_verified"), "email_verified");
        assert_eq!(ident("Email"), "\"Email\"");
        assert_eq!(ident("order"), "\"order\"");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(ident("1st"), "\"1st\"");
        assert_eq!(table_ident("billing.Invoices"), "billing.\"Invoices\"");
    }

    #[test]
    fn toml_strings_round_trip() {
        for text in [
            "plain",
            "with \"quotes\"",
            "it's",
            "it's \"both\" \\",
            "tab\there",
        ] {
            let doc = format!("v = {}", s(text));
            let parsed: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(parsed["v"].as_str(), Some(text), "{doc}");
        }
    }

    #[test]
    fn templates_snapshot() {
        let cases = [
            (
                Template::AddColumn,
                values(
                    "users",
                    "email_verified",
                    "",
                    "boolean",
                    Some("verified_at IS NOT NULL"),
                ),
            ),
            (
                Template::RenameColumn,
                values("users", "name", "full_name", "text", None),
            ),
            (
                Template::ChangeType,
                values(
                    "orders",
                    "total_amount",
                    "total",
                    "numeric(12,2)",
                    Some("total_amount / 100.0"),
                ),
            ),
            (
                Template::AddNotNull,
                values("users", "email", "", "", Some("''")),
            ),
            (
                Template::AddIndex,
                values("orders", "user_id", "", "", None),
            ),
        ];
        for (template, v) in cases {
            let text = render(template, "example", "plans/0001_test.toml", &v).unwrap();
            insta::assert_snapshot!(template_name(template), text);
        }
    }
}
