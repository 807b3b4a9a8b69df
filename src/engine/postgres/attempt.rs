//! One attempt on a connection: limits rendered as settings, a transaction with them set
//! locally, and database errors sorted into retry classes.

use std::time::Duration;

use sqlx::postgres::PgConnection;

use crate::dialect::Dialect;
use crate::engine::backend::{AttemptError, Limits};
use crate::engine::error::EngineError;
use crate::vocab::TableName;

/// SQLSTATEs the engine cares about.
pub(super) const LOCK_NOT_AVAILABLE: &str = "55P03";
pub(super) const DEADLOCK_DETECTED: &str = "40P01";
pub(super) const SERIALIZATION_FAILURE: &str = "40001";
pub(super) const INSUFFICIENT_PRIVILEGE: &str = "42501";

pub(super) fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.to_string()),
        _ => None,
    }
}

/// Whether the connection itself is gone (the server closed it, restarted, the network
/// failed): the next use must reconnect.
pub fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(_) => sqlstate(error).is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Sorts a database error of one attempt into retry classes.
pub(super) fn classify(error: sqlx::Error) -> AttemptError {
    if connection_lost(&error) {
        return AttemptError::Transient(error);
    }
    match sqlstate(&error).as_deref() {
        Some(LOCK_NOT_AVAILABLE) => AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: None,
            autovacuum_cancelled: false,
        },
        Some(DEADLOCK_DETECTED) | Some(SERIALIZATION_FAILURE) => AttemptError::Transient(error),
        _ => AttemptError::Failed(error),
    }
}

/// `'500ms'`, or `'0'` (no limit).
pub(super) fn setting(limit: Option<Duration>) -> String {
    match limit {
        Some(d) => format!("'{}ms'", d.as_millis().max(1)),
        None => "'0'".to_string(),
    }
}

pub(super) fn pg_table(table: &TableName) -> String {
    crate::dialect::postgres::Postgres.table(table)
}

/// Whether an engine error is the control connection breaking.
pub(super) fn control_broke(error: &EngineError) -> bool {
    matches!(error, EngineError::Database { error, .. } if connection_lost(error))
}

/// Runs `f` in a transaction with `limits` set locally (read-only work: guards, captures).
pub(super) async fn with_limits<T>(
    conn: &mut PgConnection,
    limits: Limits,
    f: impl for<'c> FnOnce(
        &'c mut PgConnection,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'c>,
    >,
) -> Result<T, sqlx::Error> {
    sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
    let result = async {
        sqlx::raw_sql(&format!(
            "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
            setting(limits.lock_timeout),
            setting(limits.statement_timeout)
        ))
        .execute(&mut *conn)
        .await?;
        let value = f(&mut *conn).await?;
        sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
        Ok(value)
    }
    .await;
    if result.is_err() {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_render_as_postgres_settings() {
        assert_eq!(setting(Some(Duration::from_millis(500))), "'500ms'");
        assert_eq!(setting(Some(Duration::from_secs(60))), "'60000ms'");
        assert_eq!(setting(None), "'0'");
    }
}
