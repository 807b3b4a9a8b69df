//! The online check's SQL (`check -d`, `plan -d`): each step replayed on session-local shadows
//! of the plan's tables, so every expression is compiled against the table as the plan will
//! have shaped it by then, and no real table is touched. Pure: the engine runs what this
//! returns inside a transaction it always rolls back (PostgreSQL, SQLite), or in a session that
//! cannot change a real table (MySQL: see engine/mysql/rehearse.rs).
//!
//! A shadow is a temporary table with the real table's columns and types (read from the
//! catalog, which takes no lock), named like the real table so that the plan's own queries
//! (`guard` queries, qualified column references) resolve to it: PostgreSQL and SQLite look in
//! the temporary schema first for an unqualified name, and a MySQL temporary table hides the
//! real table of its name.

use super::DialectKind;
use crate::ops::guard::GuardCheck;
use crate::ops::{
    AddCheck, AddColumn, AddForeignKey, AddIndex, Backfill, CreateTable, Op, SetDefault, SyncColumn,
};
use crate::vocab::TableName;

/// What replaying one step needs and does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rehearsal {
    /// Tables that must exist (as a real table or one the plan created earlier) before the
    /// statements run: the engine makes a shadow of each the first time it is named.
    pub tables: Vec<TableName>,
    /// Statements that compile the step's SQL against the shadows; each may fail on its own.
    pub statements: Vec<String>,
    /// The table the step creates (its shadow is created by `statements`).
    pub creates: Option<TableName>,
    /// Tables whose shape the step changes in ways the check cannot follow (a raw `sql` step
    /// naming them): later steps on them are not checked.
    pub opaque: Vec<TableName>,
}

/// The shadow of `table`: a temporary table named like it, with `columns` (name, type).
pub fn shadow_sql(kind: DialectKind, table: &TableName, columns: &[(String, String)]) -> String {
    let columns = columns
        .iter()
        .map(|(name, type_)| format!("{} {type_}", q(kind, name)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE {} TABLE {} ({columns})",
        temporary(kind),
        shadow(kind, table)
    )
}

/// The shadow's name as the statements spell it.
fn shadow(kind: DialectKind, table: &TableName) -> String {
    match kind {
        DialectKind::Postgres => format!("pg_temp.{}", q(kind, &table.name)),
        DialectKind::Sqlite => format!("temp.{}", q(kind, &table.name)),
        // NOTE: MySQL has no schema of temporary tables: a temporary table hides the real table
        // of its name in the session, so the bare name is the shadow once it exists (the engine
        // makes sure it does before a statement names it; see engine/mysql/rehearse.rs).
        DialectKind::Mysql => q(kind, &table.name),
    }
}

/// `name` quoted for `kind` (backticks on MySQL, whatever its `sql_mode`).
fn q(kind: DialectKind, name: &str) -> String {
    kind.dialect().ident(name)
}

/// `TEMPORARY` on MySQL, which does not know `TEMP`.
fn temporary(kind: DialectKind) -> &'static str {
    match kind {
        DialectKind::Mysql => "TEMPORARY",
        DialectKind::Postgres | DialectKind::Sqlite => "TEMP",
    }
}

/// The statements that check `op` on the shadows (see the module docs).
pub fn rehearse(kind: DialectKind, op: &Op, step_number: usize) -> Rehearsal {
    let t = |table: &TableName| shadow(kind, table);
    let ident = |name: &str| q(kind, name);
    let mut r = Rehearsal::default();
    match op {
        Op::CreateTable(op) => create_table(kind, op, &mut r),
        Op::AddColumn(op) => add_column(kind, op, &mut r),
        Op::AddIndex(op) => add_index(kind, op, &mut r, step_number),
        Op::AddForeignKey(op) => add_foreign_key(kind, op, &mut r),
        Op::AddCheck(op) => add_check(kind, op, &mut r),
        Op::SyncColumn(op) => sync_column(kind, op, &mut r),
        Op::Backfill(op) => backfill(kind, op, &mut r),
        Op::SetDefault(op) => set_default(kind, op, &mut r),
        Op::DropDefault(op) => {
            r.tables.push(op.table.clone());
            r.statements.push(select_columns(
                kind,
                &t(&op.table),
                std::slice::from_ref(&op.column),
            ));
        }
        Op::SetNotNull(op) => {
            r.tables.push(op.table.clone());
            r.statements.push(select_columns(
                kind,
                &t(&op.table),
                std::slice::from_ref(&op.column),
            ));
        }
        Op::Guard(op) => match &op.check {
            GuardCheck::Query { query, .. } => r.statements.push(format!("EXPLAIN {query}")),
            GuardCheck::NullCount { table, column } => {
                r.tables.push(table.clone());
                r.statements.push(select_columns(
                    kind,
                    &t(table),
                    std::slice::from_ref(column),
                ));
            }
        },
        Op::DropColumn(op) => {
            r.tables.push(op.table.clone());
            r.statements.push(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                t(&op.table),
                ident(&op.column)
            ));
        }
        Op::DropTable(op) => drop_table(kind, &op.table, &mut r),
        Op::Sql(op) => {
            // NOTE: raw statements are not replayed (a CREATE INDEX CONCURRENTLY cannot run
            // in the check's transaction); the tables they name are no longer followed.
            r.opaque = named_tables(&op.up);
        }
        Op::AddUnique(_)
        | Op::AddPrimaryKey(_)
        | Op::DropNotNull(_)
        | Op::SetComment(_)
        | Op::SetReplicaIdentity(_) => table_settings(kind, op, &mut r),
        Op::RenameColumn(_) | Op::ChangeType(_) | Op::RenameTable(_) | Op::Version(_) => {
            versioned(kind, op, &mut r)
        }
        Op::DropSync(_)
        | Op::DropIndex(_)
        | Op::DropConstraint(_)
        | Op::RenameIndex(_)
        | Op::RenameConstraint(_) => {}
    }
    r
}

fn drop_table(kind: DialectKind, table: &TableName, r: &mut Rehearsal) {
    r.tables.push(table.clone());
    if kind == DialectKind::Mysql {
        // NOTE: once the shadow is gone its bare name means the real table again, so later
        // steps on it are not checked (`opaque`); TEMPORARY drops a temporary table only.
        r.statements
            .push(format!("DROP TEMPORARY TABLE {}", shadow(kind, table)));
        r.opaque = vec![table.clone()];
    } else {
        r.statements
            .push(format!("DROP TABLE {}", shadow(kind, table)));
    }
}

/// The steps of a versioned plan: renames in place, a type change's swap, the version's views.
fn versioned(kind: DialectKind, op: &Op, r: &mut Rehearsal) {
    let t = |table: &TableName| shadow(kind, table);
    let ident = |name: &str| q(kind, name);
    match op {
        Op::RenameColumn(op) => {
            r.tables.push(op.table.clone());
            r.statements.push(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                t(&op.table),
                ident(&op.column),
                ident(&op.to)
            ));
        }
        Op::ChangeType(op) => {
            r.tables.push(op.table.clone());
            r.statements.push(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                t(&op.table),
                ident(&op.column)
            ));
            r.statements.push(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                t(&op.table),
                ident(&op.hidden()),
                ident(&op.column)
            ));
        }
        // NOTE: the shadow cannot follow the table to its new name; later steps on either name
        // are not checked.
        Op::RenameTable(op) => r.opaque = vec![op.table.clone(), op.renamed()],
        // The columns each view renames or leaves out must exist when the views are made.
        Op::Version(op) => {
            for table in &op.tables {
                r.tables.push(table.table.clone());
                let named: Vec<String> = table
                    .renames
                    .iter()
                    .map(|(column, _)| column.clone())
                    .chain(table.hidden.iter().cloned())
                    .collect();
                if !named.is_empty() {
                    r.statements
                        .push(select_columns(kind, &t(&table.table), &named));
                }
            }
        }
        _ => {}
    }
}

/// Steps that change a table's constraints or settings: its columns must exist.
fn table_settings(kind: DialectKind, op: &Op, r: &mut Rehearsal) {
    let t = |table: &TableName| shadow(kind, table);
    match op {
        Op::AddUnique(op) => {
            r.tables.push(op.table.clone());
            r.statements
                .push(select_columns(kind, &t(&op.table), &op.columns));
        }
        Op::AddPrimaryKey(op) => {
            r.tables.push(op.table.clone());
            r.statements
                .push(select_columns(kind, &t(&op.table), &op.columns));
        }
        Op::DropNotNull(op) => {
            r.tables.push(op.table.clone());
            r.statements.push(select_columns(
                kind,
                &t(&op.table),
                std::slice::from_ref(&op.column),
            ));
        }
        Op::SetComment(op) => {
            r.tables.push(op.table.clone());
            if let Some(column) = &op.column {
                r.statements.push(select_columns(
                    kind,
                    &t(&op.table),
                    std::slice::from_ref(column),
                ));
            }
        }
        Op::SetReplicaIdentity(op) => r.tables.push(op.table.clone()),
        _ => {}
    }
}

fn create_table(kind: DialectKind, op: &CreateTable, r: &mut Rehearsal) {
    let columns = op
        .columns
        .iter()
        .map(|c| {
            let default = match &c.default {
                Some(d) => format!(" DEFAULT ({d})"),
                None => String::new(),
            };
            format!("{} {}{default}", q(kind, &c.name), c.type_)
        })
        .collect::<Vec<_>>()
        .join(", ");
    r.statements.push(format!(
        "CREATE {} TABLE {} ({columns})",
        temporary(kind),
        shadow(kind, &op.table)
    ));
    r.creates = Some(op.table.clone());
}

fn add_column(kind: DialectKind, op: &AddColumn, r: &mut Rehearsal) {
    r.tables.push(op.table.clone());
    let add = format!(
        "ALTER TABLE {} ADD COLUMN {} {}",
        shadow(kind, &op.table),
        q(kind, &op.column),
        op.type_
    );
    match (&op.default, kind == DialectKind::Postgres) {
        (Some(default), true) => r.statements.push(format!("{add} DEFAULT ({default})")),
        (Some(default), false) => {
            r.statements.push(add);
            r.statements.push(format!("SELECT ({default})"));
        }
        (None, _) => r.statements.push(add),
    }
}

fn add_index(kind: DialectKind, op: &AddIndex, r: &mut Rehearsal, step_number: usize) {
    r.tables.push(op.table.clone());
    let unique = if op.unique { "UNIQUE " } else { "" };
    let columns = super::common::index_elements(kind.dialect(), &op.columns);
    let filter = match &op.predicate {
        Some(p) => format!(" WHERE {p}"),
        None => String::new(),
    };
    if kind == DialectKind::Mysql {
        // NOTE: no `where`: MySQL has no partial index, and the step is refused while planning.
        r.statements.push(format!(
            "ALTER TABLE {} ADD {unique}INDEX ({columns})",
            shadow(kind, &op.table)
        ));
        return;
    }
    r.statements.push(if kind == DialectKind::Postgres {
        let method = match &op.method {
            Some(m) => format!(" USING {m}"),
            None => String::new(),
        };
        format!(
            "CREATE {unique}INDEX ON {}{method} ({columns}){filter}",
            shadow(kind, &op.table)
        )
    } else {
        format!(
            "CREATE {unique}INDEX temp.{} ON {} ({columns}){filter}",
            q(kind, &format!("bellows_rehearsal_{step_number}")),
            q(kind, &op.table.name)
        )
    });
}

fn add_foreign_key(kind: DialectKind, op: &AddForeignKey, r: &mut Rehearsal) {
    r.tables.push(op.table.clone());
    r.tables.push(op.references.table.clone());
    r.statements
        .push(select_columns(kind, &shadow(kind, &op.table), &op.columns));
    r.statements.push(select_columns(
        kind,
        &shadow(kind, &op.references.table),
        &op.references.columns,
    ));
}

fn add_check(kind: DialectKind, op: &AddCheck, r: &mut Rehearsal) {
    r.tables.push(op.table.clone());
    r.statements.push(format!(
        "SELECT 1 FROM {} WHERE NOT ({})",
        shadow(kind, &op.table),
        op.check
    ));
}

fn sync_column(kind: DialectKind, op: &SyncColumn, r: &mut Rehearsal) {
    r.tables.push(op.table.clone());
    let mut set = vec![format!("{} = ({})", q(kind, &op.column), op.from)];
    if let Some(reverse) = &op.reverse {
        set.push(format!("{} = ({})", q(kind, &reverse.column), reverse.from));
    }
    r.statements.push(format!(
        "UPDATE {} SET {} WHERE false",
        shadow(kind, &op.table),
        set.join(", ")
    ));
}

fn backfill(kind: DialectKind, op: &Backfill, r: &mut Rehearsal) {
    r.tables.push(op.table.clone());
    let set = op
        .set
        .iter()
        .map(|(column, e)| format!("{} = ({e})", q(kind, column)))
        .collect::<Vec<_>>()
        .join(", ");
    let filter = match &op.filter {
        Some(f) => format!("({f}) AND false"),
        None => "false".to_string(),
    };
    r.statements.push(format!(
        "UPDATE {} SET {set} WHERE {filter}",
        shadow(kind, &op.table)
    ));
    if let Some(query) = &op.throttle_query {
        r.statements.push(format!("EXPLAIN {query}"));
    }
}

fn set_default(kind: DialectKind, op: &SetDefault, r: &mut Rehearsal) {
    r.tables.push(op.table.clone());
    r.statements.push(if kind == DialectKind::Postgres {
        format!(
            "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT ({})",
            shadow(kind, &op.table),
            q(kind, &op.column),
            op.default
        )
    } else {
        format!(
            "SELECT {}, ({}) FROM {} WHERE false",
            q(kind, &op.column),
            op.default,
            shadow(kind, &op.table)
        )
    });
}

/// `SELECT "a", "b" FROM shadow WHERE false`: the columns exist.
fn select_columns(kind: DialectKind, table: &str, columns: &[String]) -> String {
    let columns = columns
        .iter()
        .map(|c| q(kind, c))
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT {columns} FROM {table} WHERE false")
}

/// Every word of `sql` that could name a table (lowercased): a `sql` step naming a table makes
/// it opaque to the check, so a false alarm is never raised after it.
fn named_tables(sql: &str) -> Vec<TableName> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '"'))
        .filter(|w| !w.is_empty())
        .map(|w| TableName::parse(&w.replace('"', "").to_lowercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::load::load_str;

    fn rehearsals(kind: DialectKind) -> String {
        let plan = load_str(
            std::path::Path::new("plans/0001_x.toml"),
            r#"
name = "x"

[[expand]]
op = "add_column"
table = "users"
column = "age"
type = "integer"
default = "0"

[[expand]]
op = "add_index"
table = "users"
columns = ["age"]
where = "age > 0"

[[backfill]]
table = "users"
set = { age = "length(name)" }
where = "age = 0"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE age IS NULL"
expect = 0

[[contract]]
op = "drop_column"
table = "users"
column = "name"
"#,
        )
        .plan
        .expect("the plan loads");
        let mut out = format!(
            "{}\n",
            shadow_sql(
                kind,
                &TableName::parse("users"),
                &[
                    ("id".into(), "integer".into()),
                    ("name".into(), "text".into())
                ]
            )
        );
        for (n, step) in plan.steps.iter().enumerate() {
            for statement in rehearse(kind, &step.op, n).statements {
                out.push_str(&statement);
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn rehearsal_sql_postgres() {
        insta::assert_snapshot!(rehearsals(DialectKind::Postgres));
    }

    #[test]
    fn rehearsal_sql_sqlite() {
        insta::assert_snapshot!(rehearsals(DialectKind::Sqlite));
    }

    #[test]
    fn rehearsal_sql_mysql() {
        insta::assert_snapshot!(rehearsals(DialectKind::Mysql));
    }

    #[test]
    fn a_sql_step_makes_the_tables_it_names_opaque() {
        let names: Vec<String> = named_tables("ALTER TABLE public.\"Users\" ADD x int")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(names.contains(&"public.users".to_string()), "{names:?}");
    }
}
