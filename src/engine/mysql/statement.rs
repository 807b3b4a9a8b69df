//! Statements, guards and captures on the run's connection, and the blockers named after a
//! lock wait timed out.

use std::time::Duration;

use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{Row, TypeInfo, ValueRef};

use super::{classify, ledger, MysqlBackend};
use crate::dialect::planned::{Capture, Expect, GuardQuery, Statement, TableEffect, TableRebuild};
use crate::dialect::{quote_literal, DialectKind, Unsupported};
use crate::engine::backend::{AttemptError, GuardValue, Limits, StatementRunner, WaitNotice};
use crate::engine::error::EngineError;
use crate::engine::ledger::Mark;
use crate::engine::reporter::Blocker;
use crate::vocab::TableName;

/// Runs `body` between `BEGIN` and `COMMIT`; `ROLLBACK` when anything fails.
// NOTE: DDL commits on its own in MySQL (an implicit COMMIT before and after): a DDL statement
// in `body` is not undone by the ROLLBACK. The engine compensates with the reverse DDL.
pub(super) async fn in_transaction<T>(
    conn: &mut MySqlConnection,
    body: impl AsyncFnOnce(&mut MySqlConnection) -> Result<T, AttemptError>,
) -> Result<T, AttemptError> {
    sqlx::raw_sql("BEGIN")
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    let result = match body(&mut *conn).await {
        Ok(value) => sqlx::raw_sql("/* bellows batch */ COMMIT")
            .execute(&mut *conn)
            .await
            .map(|_| value)
            .map_err(classify),
        Err(error) => Err(error),
    };
    if result.is_err() {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    }
    result
}

/// Column `i` as text (`None` for NULL), whatever its type.
pub(super) fn text_cell(row: &MySqlRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(None);
    }
    let type_name = raw.type_info().name().to_ascii_uppercase();
    if let Ok(n) = row.try_get::<i64, _>(i) {
        return Ok(Some(n.to_string()));
    }
    if let Ok(n) = row.try_get::<u64, _>(i) {
        return Ok(Some(n.to_string()));
    }
    if type_name.contains("DOUBLE") || type_name.contains("FLOAT") {
        return Ok(Some(row.try_get::<f64, _>(i)?.to_string()));
    }
    if let Ok(text) = row.try_get::<String, _>(i) {
        return Ok(Some(text));
    }
    let bytes = row.try_get_unchecked::<Vec<u8>, _>(i)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The sessions with open transactions that may hold `table`'s metadata lock, oldest first:
/// MariaDB's `METADATA_LOCK_INFO` when the plugin is loaded, else `INNODB_TRX`.
pub(super) async fn blockers(
    conn: &mut MySqlConnection,
    table: Option<&TableName>,
) -> Vec<Blocker> {
    let holders = match table {
        Some(table) => format!(
            "SELECT m.THREAD_ID FROM information_schema.METADATA_LOCK_INFO m WHERE m.TABLE_SCHEMA = {} AND m.TABLE_NAME = {}",
            table
                .schema
                .as_deref()
                .map(quote_literal)
                .unwrap_or_else(|| "DATABASE()".into()),
            quote_literal(&table.name)
        ),
        None => String::new(),
    };
    let base = "SELECT CAST(p.ID AS SIGNED), CAST(CONCAT(p.USER, '@', p.HOST) AS CHAR), CAST(p.COMMAND AS CHAR),
            CAST(LEFT(COALESCE(p.INFO, t.trx_query, ''), 200) AS CHAR),
            CAST(TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) AS SIGNED)
       FROM information_schema.PROCESSLIST p
       LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
      WHERE p.ID <> CONNECTION_ID()";
    let by_lock = (!holders.is_empty())
        .then(|| format!("{base} AND p.ID IN ({holders}) ORDER BY t.trx_started LIMIT 5"));
    let by_trx = format!("{base} AND t.trx_id IS NOT NULL ORDER BY t.trx_started LIMIT 5");
    type BlockerRow = (i64, String, String, String, Option<i64>);
    for query in by_lock.iter().chain(std::iter::once(&by_trx)) {
        let rows: Result<Vec<BlockerRow>, _> = sqlx::query_as(query).fetch_all(&mut *conn).await;
        let Ok(rows) = rows else { continue };
        if rows.is_empty() {
            continue;
        }
        return rows
            .into_iter()
            .map(|(id, who, command, query, age)| Blocker {
                pid: id,
                application_name: who,
                state: match command.as_str() {
                    "Sleep" => "idle in transaction".into(),
                    other => other.to_ascii_lowercase(),
                },
                query,
                xact_age: age.map(|us| Duration::from_micros(us.max(0) as u64)),
                autovacuum: None,
            })
            .collect();
    }
    Vec::new()
}

/// A guard's value: integers, and 0/1 as booleans when the guard expects one (MySQL has no
/// boolean type).
fn guard_value(row: Option<&MySqlRow>, expect: Expect) -> Result<GuardValue, sqlx::Error> {
    let Some(row) = row else {
        return Ok(GuardValue::NoRow);
    };
    let Some(text) = text_cell(row, 0)? else {
        return Ok(GuardValue::Null);
    };
    let integer = text.parse::<i64>().ok().or_else(|| {
        // DECIMAL results (SUM, division) of whole numbers.
        text.parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    Ok(match (expect, integer) {
        (Expect::Boolean(_), Some(0)) => GuardValue::Boolean(false),
        (Expect::Boolean(_), Some(1)) => GuardValue::Boolean(true),
        (Expect::Integer(_), Some(n)) => GuardValue::Integer(n),
        _ => GuardValue::Other(text),
    })
}

impl StatementRunner for MysqlBackend {
    async fn execute(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<Mark<'_>>,
        _notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        // NOTE: statement_timeout bounds catalog-only statements; an online index build or
        // table rebuild (LOCK=NONE) runs as long as it needs, its lock waits still bounded.
        let limits = match statement.effect {
            TableEffect::Scan | TableEffect::Rewrite => Limits {
                statement_timeout: None,
                ..limits
            },
            _ => limits,
        };
        let sql = statement.sql.as_str();
        let transaction = statement.transaction;
        self.attempt(limits, statement.table.as_ref(), async |conn| {
            if transaction {
                in_transaction(conn, async |conn| {
                    sqlx::raw_sql(sql)
                        .execute(&mut *conn)
                        .await
                        .map_err(classify)?;
                    if let Some(mark) = mark {
                        ledger::write_progress(conn, mark).await.map_err(classify)?;
                    }
                    Ok(())
                })
                .await
            } else {
                sqlx::raw_sql(sql)
                    .execute(&mut *conn)
                    .await
                    .map_err(classify)?;
                if let Some(mark) = mark {
                    ledger::write_progress(conn, mark).await.map_err(classify)?;
                }
                Ok(())
            }
        })
        .await
    }

    async fn guard(
        &mut self,
        guard: &GuardQuery,
        limits: Limits,
    ) -> Result<GuardValue, AttemptError> {
        let query = guard.query.trim().trim_end_matches(';');
        let expect = guard.expect;
        self.attempt(limits, None, async |conn| {
            let row = sqlx::query(query)
                .persistent(false)
                .fetch_optional(conn)
                .await
                .map_err(classify)?;
            guard_value(row.as_ref(), expect).map_err(classify)
        })
        .await
    }

    async fn capture(
        &mut self,
        capture: &Capture,
        limits: Limits,
    ) -> Result<Option<String>, AttemptError> {
        let query = capture.query.as_str();
        self.attempt(limits, None, async |conn| {
            let row = sqlx::query(query)
                .persistent(false)
                .fetch_optional(conn)
                .await
                .map_err(classify)?;
            match row {
                Some(row) => text_cell(&row, 0).map_err(classify),
                None => Ok(None),
            }
        })
        .await
    }

    async fn drop_invalid_index(
        &mut self,
        _table: Option<&TableName>,
        _index: &str,
    ) -> Result<bool, EngineError> {
        // An online index build that fails is rolled back by the server: nothing is left.
        Ok(false)
    }

    async fn rebuild(
        &mut self,
        _rebuild: &TableRebuild,
        _saved_definition: Option<&str>,
        _limits: Limits,
        _mark: Option<Mark<'_>>,
    ) -> Result<(), AttemptError> {
        Err(AttemptError::Engine(EngineError::Unsupported(
            Unsupported {
                dialect: DialectKind::Mysql,
                op: "table rebuild",
                why: "MySQL alters tables online (INSTANT or INPLACE); a rebuild is only planned for SQLite".into(),
            },
        )))
    }
}
