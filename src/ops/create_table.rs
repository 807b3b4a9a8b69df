//! `create_table`: a new table, created in expand, with everything a real table has: keys,
//! unique, check, foreign key and exclusion constraints (named or not), identity and generated
//! columns, comments.

use serde::Serialize;

use super::add_foreign_key::{read_actions, read_references, ForeignKeyActions, References};
use super::add_index::{read_element, IndexElement, IndexTarget};
use super::{Expression, Operation};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub primary_key: bool,
    /// An unnamed UNIQUE constraint on the column alone.
    pub unique: bool,
    /// An unnamed CHECK constraint, a SQL expression.
    pub check: Option<String>,
    /// An unnamed foreign key from this column.
    pub references: Option<ColumnReference>,
    /// `always` or `by default`: `GENERATED … AS IDENTITY` (PostgreSQL).
    pub identity: Option<String>,
    /// A stored generated column: `GENERATED ALWAYS AS (expression) STORED`.
    pub generated: Option<String>,
    /// `COMMENT ON COLUMN` (PostgreSQL).
    pub comment: Option<String>,
}

/// A column's `references`: the referenced table, its column (default: its primary key) and
/// the foreign key's actions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnReference {
    pub table: TableName,
    pub column: Option<String>,
    pub actions: ForeignKeyActions,
}

/// One element of an exclusion constraint: an index element and the operator it is compared
/// with (`=`, `&&`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExcludeElement {
    pub element: IndexElement,
    pub operator: String,
}

/// A table constraint of `constraints`, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConstraintKind {
    PrimaryKey {
        columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
    },
    Check {
        check: String,
    },
    ForeignKey {
        columns: Vec<String>,
        references: References,
        actions: ForeignKeyActions,
    },
    Exclude {
        using: String,
        elements: Vec<ExcludeElement>,
        #[serde(rename = "where")]
        predicate: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableConstraint {
    /// `CONSTRAINT name`; without one the database names it.
    pub name: Option<String>,
    pub kind: ConstraintKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateTable {
    pub table: TableName,
    pub columns: Vec<ColumnDef>,
    /// Table-level primary key; alternatively `primary_key = true` on columns.
    pub primary_key: Option<Vec<String>>,
    pub constraints: Vec<TableConstraint>,
    /// `COMMENT ON TABLE` (PostgreSQL).
    pub comment: Option<String>,
}

impl CreateTable {
    /// The primary key columns, from the table key, a `primary_key` constraint or the columns'
    /// flags.
    pub fn key_columns(&self) -> Vec<String> {
        if let Some(cols) = &self.primary_key {
            return cols.clone();
        }
        if let Some((_, cols)) = self.named_key() {
            return cols.clone();
        }
        self.columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect()
    }

    /// The primary key given as a constraint, with its name (if any).
    pub fn named_key(&self) -> Option<(Option<&String>, &Vec<String>)> {
        self.constraints.iter().find_map(|c| match &c.kind {
            ConstraintKind::PrimaryKey { columns } => Some((c.name.as_ref(), columns)),
            _ => None,
        })
    }

    /// Whether the column is NOT NULL: declared so, an identity column, or in the primary key
    /// (which SQLite, unlike PostgreSQL, does not imply).
    pub fn not_null(&self, column: &ColumnDef) -> bool {
        !column.nullable || column.identity.is_some() || self.key_columns().contains(&column.name)
    }

    /// Whether any column or constraint has a comment.
    pub fn has_comments(&self) -> bool {
        self.comment.is_some() || self.columns.iter().any(|c| c.comment.is_some())
    }
}

const CONSTRAINT_TYPES: &[&str] = &["primary_key", "unique", "check", "foreign_key", "exclude"];

fn contradiction(r: &mut TableReader<'_, '_>, message: String, help: &str) {
    let span = r.span();
    r.report(Diagnostic::error(Code::Contradiction, Some(span), message).with_help(help));
}

fn read_column_reference(r: &mut TableReader<'_, '_>) -> Option<ColumnReference> {
    let table = r.req_table_name("table", "the referenced table");
    let column = r.opt_str(
        "column",
        KeyKind::Identifier,
        "the referenced column (default: the referenced table's primary key)",
    );
    let actions = read_actions(r);
    Some(ColumnReference {
        table: table?,
        column,
        actions,
    })
}

fn read_column(r: &mut TableReader<'_, '_>) -> Option<ColumnDef> {
    let name = r.req_str("name", KeyKind::Identifier, "column name");
    let type_ = r.req_str(
        "type",
        KeyKind::Type,
        "column type, as SQL (`bigint`, `text`)",
    );
    let nullable = r.opt_bool("nullable", "whether NULL is allowed (default true)");
    let default = r.opt_str(
        "default",
        KeyKind::Expression,
        "default value, a SQL expression",
    );
    let primary_key = r.opt_bool("primary_key", "part of the primary key (default false)");
    let unique = r.opt_bool(
        "unique",
        "an unnamed UNIQUE constraint on the column (default false)",
    );
    let check = r.opt_str(
        "check",
        KeyKind::Expression,
        "an unnamed CHECK constraint, a SQL expression",
    );
    let references = r.table(
        "references",
        false,
        "an unnamed foreign key: `{ table, [column], [on_delete], [on_update], [match], [deferrable], [initially] }`",
        read_column_reference,
    );
    let identity = r.opt_one_of(
        "identity",
        &["always", "by default"],
        "an identity column, `GENERATED … AS IDENTITY` (PostgreSQL)",
    );
    let generated = r.opt_str(
        "generated",
        KeyKind::Expression,
        "a stored generated column: the SQL expression it is computed from",
    );
    let comment = r.opt_str(
        "comment",
        KeyKind::String,
        "the column's comment (PostgreSQL)",
    );
    let label = name.as_deref().unwrap_or("?").to_string();
    if nullable == Some(true) && primary_key == Some(true) {
        contradiction(
            r,
            format!("column `{label}` is in the primary key, which cannot be nullable"),
            "remove `nullable = true`: primary key columns are NOT NULL",
        );
    }
    let value_sources = [
        ("default", default.is_some()),
        ("identity", identity.is_some()),
        ("generated", generated.is_some()),
    ];
    let given: Vec<&str> = value_sources
        .iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| *key)
        .collect();
    if given.len() > 1 {
        contradiction(
            r,
            format!(
                "column `{label}` has both `{}` and `{}`: a column's value comes from one of `default`, `identity` and `generated`",
                given[0], given[1]
            ),
            "keep one of them",
        );
    }
    if identity.is_some() && nullable == Some(true) {
        contradiction(
            r,
            format!("column `{label}` is an identity column, which cannot be nullable"),
            "remove `nullable = true`: identity columns are NOT NULL",
        );
    }
    Some(ColumnDef {
        name: name?,
        type_: type_?,
        nullable: nullable.unwrap_or(!primary_key.unwrap_or(false)),
        default,
        primary_key: primary_key.unwrap_or(false),
        unique: unique.unwrap_or(false),
        check,
        references,
        identity: identity.map(str::to_string),
        generated,
        comment,
    })
}

/// Reports a key the constraint's type needs and does not have; returns whether it is there.
fn require(r: &mut TableReader<'_, '_>, kind: &str, present: bool, key: &str) -> bool {
    if !present {
        let span = r.span();
        let context = r.context().to_string();
        r.report(
            Diagnostic::error(
                Code::MissingKey,
                Some(span),
                format!("{context} is a `{kind}` constraint without `{key}`"),
            )
            .with_help(format!("add `{key} = …`")),
        );
    }
    present
}

fn read_exclude_element(r: &mut TableReader<'_, '_>) -> Option<ExcludeElement> {
    let element = read_element(r);
    let operator = r.req_str(
        "with",
        KeyKind::String,
        "the operator the element is compared with (`=`, `&&`)",
    );
    Some(ExcludeElement {
        element: element?,
        operator: operator?,
    })
}

/// One table of `constraints`. Only the keys of its `type` are read, so a key of another type
/// is reported as unknown, with the keys this type accepts; a probe reads them all.
fn read_constraint(r: &mut TableReader<'_, '_>) -> Option<TableConstraint> {
    let kind = r.req_one_of(
        "type",
        CONSTRAINT_TYPES,
        "`primary_key`, `unique`, `check`, `foreign_key` or `exclude`",
    );
    let name = r.opt_str(
        "name",
        KeyKind::Identifier,
        "the constraint's name (default: the database names it)",
    );
    // An unknown or missing type: read every key, so only the type is reported.
    let all = r.is_probe() || kind.is_none();
    let wants = |t: &str| all || kind == Some(t);
    let columns = if wants("primary_key") || wants("unique") || wants("foreign_key") {
        r.opt_ident_list(
            "columns",
            "the constrained columns (primary_key, unique, foreign_key)",
        )
    } else {
        None
    };
    let check = if wants("check") {
        r.opt_str(
            "check",
            KeyKind::Expression,
            "the condition, a SQL expression (check)",
        )
    } else {
        None
    };
    let (references, actions) = if wants("foreign_key") {
        let references = r.table(
            "references",
            false,
            "the referenced table and columns: `{ table, columns }` (foreign_key)",
            read_references,
        );
        (references, read_actions(r))
    } else {
        (None, ForeignKeyActions::default())
    };
    let (using, elements, predicate) = if wants("exclude") {
        let using = r.opt_one_of(
            "using",
            &["gist", "spgist", "btree", "hash"],
            "the index method (default `gist`) (exclude)",
        );
        let elements = r.opt_table_array(
            "elements",
            "`{ column | expression, with, [opclass], [collate], [order], [nulls] }` (exclude)",
            read_exclude_element,
        );
        let predicate = r.opt_str(
            "where",
            KeyKind::Expression,
            "exclude only among rows matching this SQL expression (exclude)",
        );
        (using, elements, predicate)
    } else {
        (None, None, None)
    };
    let kind = kind?;
    let kind = match kind {
        "primary_key" | "unique" | "foreign_key"
            if !require(r, kind, columns.is_some(), "columns") =>
        {
            return None
        }
        "primary_key" => ConstraintKind::PrimaryKey { columns: columns? },
        "unique" => ConstraintKind::Unique { columns: columns? },
        "check" if !require(r, kind, check.is_some(), "check") => return None,
        "check" => ConstraintKind::Check { check: check? },
        "foreign_key" if !require(r, kind, references.is_some(), "references") => return None,
        "foreign_key" => foreign_key(r, columns?, references?, actions)?,
        _ => {
            let elements = elements?;
            if !require(r, kind, !elements.is_empty(), "elements") {
                return None;
            }
            ConstraintKind::Exclude {
                using: using.unwrap_or("gist").to_string(),
                elements,
                predicate,
            }
        }
    };
    Some(TableConstraint { name, kind })
}

/// A `foreign_key` constraint, once its columns pair up with the referenced ones.
fn foreign_key(
    r: &mut TableReader<'_, '_>,
    columns: Vec<String>,
    references: References,
    actions: ForeignKeyActions,
) -> Option<ConstraintKind> {
    if columns.len() != references.columns.len() {
        let span = r.span();
        r.report(
            Diagnostic::error(
                Code::InvalidValue,
                Some(span),
                format!(
                    "a foreign key of {} has {} column(s) but references {}",
                    r.context(),
                    columns.len(),
                    references.columns.len()
                ),
            )
            .with_help("`columns` and `references.columns` must pair up one to one"),
        );
        return None;
    }
    Some(ConstraintKind::ForeignKey {
        columns,
        references,
        actions,
    })
}

impl Operation for CreateTable {
    const NAME: &'static str = "create_table";
    const PHASES: &'static [Phase] = &[Phase::Expand];
    const DOC: &'static str = "Create a new table.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to create");
        let columns = r.table_array(
            "columns",
            "the columns: `{ name, type, [nullable], [default], [primary_key], [unique], [check], [references], [identity], [generated], [comment] }`",
            read_column,
        );
        let primary_key = r.opt_ident_list(
            "primary_key",
            "primary key columns (or `primary_key = true` on columns)",
        );
        let constraints = r.opt_table_array(
            "constraints",
            "table constraints: `{ type, [name], … }`, `type` one of `primary_key`, `unique`, `check`, `foreign_key`, `exclude`",
            read_constraint,
        );
        let comment = r.opt_str(
            "comment",
            KeyKind::String,
            "the table's comment (PostgreSQL)",
        );
        let op = CreateTable {
            table: table?,
            columns: columns?,
            primary_key,
            constraints: constraints?,
            comment,
        };
        check_table(r, &op);
        Some(op)
    }

    fn target(&self) -> String {
        self.table.to_string()
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let mut found = Vec::new();
        for c in &self.columns {
            found.push(Expression::new("type", &c.type_));
            let keyed = [
                ("default", &c.default),
                ("check", &c.check),
                ("generated", &c.generated),
            ];
            for (key, text) in keyed {
                if let Some(text) = text {
                    found.push(Expression::new(key, text));
                }
            }
        }
        for constraint in &self.constraints {
            match &constraint.kind {
                ConstraintKind::Check { check } => found.push(Expression::new("check", check)),
                ConstraintKind::Exclude {
                    elements,
                    predicate,
                    ..
                } => {
                    for e in elements {
                        if let IndexTarget::Expression(text) = &e.element.target {
                            found.push(Expression::new("expression", text));
                        }
                    }
                    if let Some(predicate) = predicate {
                        found.push(Expression::new("where", predicate));
                    }
                }
                _ => {}
            }
        }
        found
    }
}

/// What only the whole table can tell: one primary key, each column once, constraints over
/// columns the table has, constraint names used once.
fn check_table(r: &mut TableReader<'_, '_>, op: &CreateTable) {
    let table = &op.table;
    let keys = [
        op.primary_key.is_some(),
        op.columns.iter().any(|c| c.primary_key),
        op.named_key().is_some(),
    ];
    if keys.iter().filter(|k| **k).count() > 1
        || op
            .constraints
            .iter()
            .filter(|c| matches!(c.kind, ConstraintKind::PrimaryKey { .. }))
            .count()
            > 1
    {
        contradiction(
            r,
            format!("create_table {table} gives more than one primary key (`primary_key = [...]`, `primary_key = true` on columns, a `primary_key` constraint)"),
            "keep one of them",
        );
    }
    for (i, column) in op.columns.iter().enumerate() {
        if op.columns[..i].iter().any(|c| c.name == column.name) {
            let span = r.span();
            r.report(
                Diagnostic::error(
                    Code::Duplicate,
                    Some(span),
                    format!("create_table {table} lists column `{}` twice", column.name),
                )
                .with_help("each column once"),
            );
        }
    }
    let mut named: Vec<(&str, &str)> = Vec::new();
    if let Some(keys) = &op.primary_key {
        named.extend(keys.iter().map(|k| (k.as_str(), "primary key")));
    }
    for constraint in &op.constraints {
        let (what, columns): (&str, Vec<&String>) = match &constraint.kind {
            ConstraintKind::PrimaryKey { columns } => ("primary key", columns.iter().collect()),
            ConstraintKind::Unique { columns } => ("unique constraint", columns.iter().collect()),
            ConstraintKind::ForeignKey { columns, .. } => ("foreign key", columns.iter().collect()),
            ConstraintKind::Exclude { elements, .. } => (
                "exclusion constraint",
                elements
                    .iter()
                    .filter_map(|e| match &e.element.target {
                        IndexTarget::Column(c) => Some(c),
                        IndexTarget::Expression(_) => None,
                    })
                    .collect(),
            ),
            ConstraintKind::Check { .. } => ("check", Vec::new()),
        };
        named.extend(columns.into_iter().map(|c| (c.as_str(), what)));
    }
    for (column, what) in named {
        if !op.columns.iter().any(|c| c.name == column) {
            let span = r.span();
            r.report(
                Diagnostic::error(
                    Code::UnknownColumn,
                    Some(span),
                    format!("{what} column `{column}` is not among the columns of {table}"),
                )
                .with_help("list the column in `columns`, or correct the name"),
            );
        }
    }
    for (i, constraint) in op.constraints.iter().enumerate() {
        let Some(name) = &constraint.name else {
            continue;
        };
        if op.constraints[..i]
            .iter()
            .any(|c| c.name.as_ref() == Some(name))
        {
            let span = r.span();
            r.report(
                Diagnostic::error(
                    Code::Duplicate,
                    Some(span),
                    format!("create_table {table} names two constraints `{name}`"),
                )
                .with_help("give each constraint its own `name`"),
            );
        }
    }
}
