//! The online check on MySQL/MariaDB: the steps replayed on TEMPORARY shadows of the plan's
//! tables, in a session that cannot change a real table; the table shapes come from
//! `information_schema.COLUMNS`.

use super::MysqlBackend;
use crate::dialect::mysql::quote_backtick;
use crate::engine::backend::{Limits, Rehearse};
use crate::engine::error::{DbContext, DbError, EngineError};
use crate::vocab::TableName;

// NOTE: MySQL commits every DDL statement on its own, so the check cannot rely on a rolled-back
// transaction as it does on PostgreSQL and SQLite. Instead no statement it runs can change a
// real table:
// - the shadows are TEMPORARY tables, private to the session; a temporary table hides the real
//   table of its name, so the plan's own queries (guards, `from`) resolve to the shadow;
// - every statement holding the plan's SQL that is not the check's own DDL (`UPDATE … WHERE
//   false`, `EXPLAIN`, `SELECT`) runs with the session read-only (`tx_read_only`,
//   `transaction_read_only` on MySQL): the server refuses any change to a real table there,
//   while DML on temporary tables stays allowed;
// - DDL is refused in a read-only session even on temporary tables, so the check's own DDL runs
//   with it off: CREATE/DROP TEMPORARY TABLE, which touch temporary tables only, and
//   `ALTER TABLE shadow …`, run only once `SHOW CREATE TABLE` says that the name is a temporary
//   table at that moment (a plan's type such as `int, RENAME TO x` renames the shadow; the next
//   ALTER on the name would reach the real table, and is not run);
// - statements are prepared one at a time (never several in one call), and the shadows are
//   dropped at the end (they would die with the session anyway).

/// What one statement of the check may do, read from its first words (the check writes them).
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// `CREATE TEMPORARY TABLE name …`: makes a shadow (recorded to drop it at the end).
    Create(String),
    /// `DROP TEMPORARY TABLE …`: drops a temporary table only.
    DropTemporary,
    /// `ALTER TABLE name …`: runs only while `name` is a temporary table.
    Alter(String),
    /// Anything else: runs in the read-only session.
    ReadOnly,
}

/// The backtick-quoted name at the start of `rest`, unquoted.
fn leading_name(rest: &str) -> Option<String> {
    let rest = rest.strip_prefix('`')?;
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' if chars.peek() == Some(&'`') => {
                chars.next();
                name.push('`');
            }
            '`' => return Some(name),
            c => name.push(c),
        }
    }
    None
}

fn kind(sql: &str) -> Kind {
    if let Some(rest) = sql.strip_prefix("CREATE TEMPORARY TABLE ") {
        return leading_name(rest).map_or(Kind::ReadOnly, Kind::Create);
    }
    if sql.starts_with("DROP TEMPORARY TABLE ") {
        return Kind::DropTemporary;
    }
    if let Some(rest) = sql.strip_prefix("ALTER TABLE ") {
        return leading_name(rest).map_or(Kind::ReadOnly, Kind::Alter);
    }
    Kind::ReadOnly
}

impl MysqlBackend {
    async fn set_read_only(&mut self, on: bool) -> Result<(), EngineError> {
        let variable = if self.mariadb {
            "tx_read_only"
        } else {
            "transaction_read_only"
        };
        sqlx::raw_sql(&format!("SET SESSION {variable} = {}", u8::from(on)))
            .execute(&mut self.conn)
            .await
            .context(|| "the online check".into())?;
        Ok(())
    }

    /// Whether `table` is a temporary table of this session right now.
    async fn is_temporary(&mut self, table: &str) -> Result<bool, EngineError> {
        let sql = format!("SHOW CREATE TABLE {}", quote_backtick(table));
        let row: Result<(String, String), sqlx::Error> = sqlx::query_as(&sql)
            .persistent(false)
            .fetch_one(&mut self.conn)
            .await;
        Ok(row.is_ok_and(|(_, create)| create.starts_with("CREATE TEMPORARY TABLE")))
    }

    /// Runs one statement of the check: `Ok(Err(db))` when the server refuses it.
    async fn run_rehearsal(&mut self, sql: &str) -> Result<Result<(), DbError>, EngineError> {
        match sqlx::query(sql)
            .persistent(false)
            .execute(&mut self.conn)
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(error) => match DbError::from_sqlx(&error) {
                Some(db) => Ok(Err(db)),
                None => Err(error).context(|| "the online check".into()),
            },
        }
    }
}

impl Rehearse for MysqlBackend {
    const REHEARSES: bool = true;

    async fn table_columns(
        &mut self,
        table: &TableName,
    ) -> Result<Option<Vec<(String, String)>>, EngineError> {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR) FROM information_schema.COLUMNS
              WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
              ORDER BY ORDINAL_POSITION",
        )
        .bind(table.schema.as_deref())
        .bind(&table.name)
        .fetch_all(&mut self.conn)
        .await
        .context(|| format!("reading the columns of {table}"))?;
        Ok((!columns.is_empty()).then_some(columns))
    }

    async fn begin_rehearsal(&mut self, limits: Limits) -> Result<(), EngineError> {
        self.begin_attempt(limits)
            .await
            .context(|| "starting the online check".into())?;
        self.shadows.clear();
        self.set_read_only(true).await
    }

    async fn rehearse(&mut self, sql: &str) -> Result<Result<(), DbError>, EngineError> {
        let kind = kind(sql);
        if kind == Kind::ReadOnly {
            return self.run_rehearsal(sql).await;
        }
        if let Kind::Alter(table) = &kind {
            if !self.is_temporary(table).await? {
                return Err(EngineError::refused(
                    crate::engine::error::ErrorKind::Invalid,
                    format!(
                        "the online check stopped: `{table}` is no longer its temporary copy (an earlier step's SQL renamed or dropped it), so `{sql}` was not run"
                    ),
                ));
            }
        }
        self.set_read_only(false).await?;
        let outcome = self.run_rehearsal(sql).await;
        self.set_read_only(true).await?;
        if let (Kind::Create(table), Ok(Ok(()))) = (kind, &outcome) {
            self.shadows.push(table);
        }
        outcome
    }

    async fn end_rehearsal(&mut self) -> Result<(), EngineError> {
        self.set_read_only(false).await?;
        for table in std::mem::take(&mut self.shadows) {
            sqlx::query(&format!(
                "DROP TEMPORARY TABLE IF EXISTS {}",
                quote_backtick(&table)
            ))
            .persistent(false)
            .execute(&mut self.conn)
            .await
            .context(|| "ending the online check".into())?;
        }
        self.end_attempt().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_sorted_by_what_they_may_touch() {
        for (sql, expected) in [
            (
                "CREATE TEMPORARY TABLE `users` (`id` bigint)",
                Kind::Create("users".into()),
            ),
            ("DROP TEMPORARY TABLE `users`", Kind::DropTemporary),
            (
                "ALTER TABLE `we``ird` ADD COLUMN `a` int",
                Kind::Alter("we`ird".into()),
            ),
            ("UPDATE `users` SET `a` = (1) WHERE false", Kind::ReadOnly),
            ("EXPLAIN SELECT 1", Kind::ReadOnly),
            ("DROP TABLE `users`", Kind::ReadOnly),
            ("ALTER TABLE users ADD x int", Kind::ReadOnly),
            ("ALTER TABLE `unterminated", Kind::ReadOnly),
        ] {
            assert_eq!(kind(sql), expected, "{sql}");
        }
    }
}
