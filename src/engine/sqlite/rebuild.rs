//! The SQLite table rebuild ("12-step ALTER TABLE"): a table is moved to a new `CREATE TABLE`
//! definition in one transaction, keeping its rows, indexes and triggers.
//!
//! The definitions are read from `sqlite_master`; the new one and the statements come from
//! [`crate::dialect::sqlite::table`] (pure, tested there). Here: the pragmas around the
//! transaction, running the statements, the foreign key check and the ledger mark.

use sqlx::sqlite::SqliteConnection;
use sqlx::Row;

use crate::dialect::planned::{RebuildChange, TableRebuild};
use crate::dialect::sqlite::table::{self as sqlite_table, DefinitionChange};
use crate::dialect::{DialectKind, Unsupported};
use crate::engine::backend::AttemptError;
use crate::engine::error::{db_message, EngineError, ErrorKind};
use crate::engine::ledger::Mark;

use super::{classify, in_write_transaction, is_interrupt, ledger};

/// How many rows of a failed foreign key check the error names.
const SHOWN_VIOLATIONS: usize = 5;

fn failed(message: String) -> AttemptError {
    AttemptError::Engine(EngineError::refused(ErrorKind::Failed, message))
}

/// The new `CREATE TABLE` statement of the table.
fn new_definition(
    rebuild: &TableRebuild,
    current: &str,
    saved_definition: Option<&str>,
) -> Result<String, AttemptError> {
    let table = &rebuild.table;
    let check;
    let change = match &rebuild.change {
        RebuildChange::RestoreDefinition { saved } => {
            return saved_definition.map(str::to_string).ok_or_else(|| {
                failed(format!(
                    "no saved definition `{saved}` of {table} was given to restore"
                ))
            })
        }
        RebuildChange::SetNotNull { column } => DefinitionChange::SetNotNull(column),
        RebuildChange::DropNotNull { column } => DefinitionChange::DropNotNull(column),
        RebuildChange::SetDefault { column, default } => {
            DefinitionChange::SetDefault(column, default)
        }
        RebuildChange::DropDefault { column } => DefinitionChange::DropDefault(column),
        RebuildChange::AddCheck {
            name,
            check: expression,
        } => {
            check = format!("CHECK ({expression})");
            DefinitionChange::AddConstraint(name, &check)
        }
        RebuildChange::AddForeignKey { name, definition }
        | RebuildChange::AddUnique { name, definition } => {
            DefinitionChange::AddConstraint(name, definition)
        }
        RebuildChange::DropConstraint { name } => DefinitionChange::DropConstraint(name),
    };
    let rewritten = sqlite_table::rewrite(current, &change);
    rewritten.map_err(|error| {
        failed(format!(
            "cannot rebuild {table}: {error}\n  its definition: {}",
            one_line(current)
        ))
    })
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rebuilds the table in one transaction; the connection's `busy_timeout` and deadline are set
/// by the caller.
pub async fn run(
    conn: &mut SqliteConnection,
    rebuild: &TableRebuild,
    saved_definition: Option<&str>,
    mark: Option<Mark<'_>>,
) -> Result<(), AttemptError> {
    if let Some(schema) = &rebuild.table.schema {
        if !schema.eq_ignore_ascii_case("main") {
            return Err(AttemptError::Engine(EngineError::Unsupported(Unsupported {
                dialect: DialectKind::Sqlite,
                op: "table rebuild",
                why: format!(
                    "{} is in the attached database `{schema}`; bellows rebuilds tables of the main database only",
                    rebuild.table
                ),
            })));
        }
    }
    // NOTE: both pragmas are no-ops inside a transaction, so they are set before BEGIN and put
    // back after COMMIT or ROLLBACK. foreign_keys = OFF: dropping the old table must not cascade
    // or fail on references to it. legacy_alter_table = ON: renaming the new table must not
    // rewrite or re-check the views and triggers that name the table (they name it again once
    // the rename is done).
    let (foreign_keys, legacy_alter_table) = pragmas(conn).await.map_err(classify)?;
    sqlx::raw_sql("PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON")
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    let result = in_write_transaction(conn, classify, async |conn| {
        rebuild_in_transaction(conn, rebuild, saved_definition, mark).await
    })
    .await;
    let restored = sqlx::raw_sql(&format!(
        "PRAGMA foreign_keys = {}; PRAGMA legacy_alter_table = {}",
        i64::from(foreign_keys),
        i64::from(legacy_alter_table)
    ))
    .execute(&mut *conn)
    .await;
    result?;
    restored.map(|_| ()).map_err(classify)
}

async fn pragmas(conn: &mut SqliteConnection) -> Result<(bool, bool), sqlx::Error> {
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await?;
    let legacy: i64 = sqlx::query_scalar("PRAGMA legacy_alter_table")
        .fetch_one(&mut *conn)
        .await?;
    Ok((foreign_keys != 0, legacy != 0))
}

async fn rebuild_in_transaction(
    conn: &mut SqliteConnection,
    rebuild: &TableRebuild,
    saved_definition: Option<&str>,
    mark: Option<Mark<'_>>,
) -> Result<(), AttemptError> {
    let table = &rebuild.table;
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
          WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
    )
    .bind(&table.name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(classify)?;
    let Some((name, current)) = found else {
        return Err(failed(format!("table {table} does not exist")));
    };
    // Indexes first (triggers may use them), each in creation order. Automatic indexes of
    // PRIMARY KEY / UNIQUE have no SQL: the new CREATE TABLE makes them again.
    let dependents: Vec<String> = sqlx::query(
        "SELECT sql FROM sqlite_master
          WHERE tbl_name = ?1 COLLATE NOCASE AND type IN ('index', 'trigger') AND sql IS NOT NULL
          ORDER BY type, rowid",
    )
    .bind(&name)
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    let sequence = autoincrement_sequence(conn, &name).await?;
    let definition = new_definition(rebuild, &current, saved_definition)?;
    let statements = sqlite_table::rebuild_statements(&name, &current, &definition, &dependents)
        .map_err(|error| failed(format!("cannot rebuild {table}: {error}")))?;
    for (i, statement) in statements.iter().enumerate() {
        sqlx::raw_sql(statement)
            .execute(&mut *conn)
            .await
            .map_err(|error| match classify(error) {
                // An interrupt by the statement deadline is reported as such by the caller.
                AttemptError::Failed(error) if !is_interrupt(&error) => failed(format!(
                    "rebuilding {table} failed while {}: {}\n  statement: {}",
                    stage(i),
                    db_message(&error),
                    one_line(statement)
                )),
                other => other,
            })?;
    }
    if let Some(seq) = sequence {
        // NOTE: dropping the old table dropped its AUTOINCREMENT counter, and the copy set the
        // new one to the largest id present; put back the old one, so that ids of rows deleted
        // earlier are still never reused.
        sqlx::query("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2")
            .bind(seq)
            .bind(&name)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
    }
    check_foreign_keys(conn, &name, table).await?;
    if let Some(mark) = mark {
        ledger::write_progress(conn, mark).await.map_err(classify)?;
    }
    Ok(())
}

/// The AUTOINCREMENT counter of the table, if it has one.
async fn autoincrement_sequence(
    conn: &mut SqliteConnection,
    name: &str,
) -> Result<Option<i64>, AttemptError> {
    let has_sequences: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(classify)?;
    if has_sequences == 0 {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(classify)
}

/// What statement `i` of `rebuild_statements` does, for error messages.
fn stage(i: usize) -> &'static str {
    match i {
        0 => "creating the table with its new definition",
        1 => "copying the rows into the new definition (a row does not satisfy it)",
        2 => "dropping the old table",
        3 => "renaming the new table",
        _ => "recreating an index or trigger",
    }
}

async fn check_foreign_keys(
    conn: &mut SqliteConnection,
    name: &str,
    table: &crate::vocab::TableName,
) -> Result<(), AttemptError> {
    let rows = sqlx::query(&format!(
        "PRAGMA foreign_key_check({})",
        crate::dialect::quote_ident(name)
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(classify)?;
    if rows.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = rows
        .iter()
        .take(SHOWN_VIOLATIONS)
        .map(|row| {
            let rowid: Option<i64> = row.try_get(1).ok().flatten();
            let parent: String = row.try_get(2).unwrap_or_default();
            match rowid {
                Some(rowid) => format!("row {rowid} references a missing row of {parent}"),
                None => format!("a row references a missing row of {parent}"),
            }
        })
        .collect();
    Err(failed(format!(
        "rebuilding {table} was rolled back: {} row(s) violate its foreign keys ({}{})",
        rows.len(),
        shown.join("; "),
        if rows.len() > SHOWN_VIOLATIONS {
            "; …"
        } else {
            ""
        }
    )))
}
