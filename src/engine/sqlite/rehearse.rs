//! The online check on SQLite: one deferred transaction, always rolled back, with a savepoint
//! around each statement; the shadows live in the `temp` schema and the table shapes come from
//! `pragma_table_info`.

use super::SqliteBackend;
use crate::engine::backend::{Limits, Rehearse};
use crate::engine::error::{DbContext, DbError, EngineError};
use crate::vocab::TableName;

impl Rehearse for SqliteBackend {
    const REHEARSES: bool = true;

    async fn table_columns(
        &mut self,
        table: &TableName,
    ) -> Result<Option<Vec<(String, String)>>, EngineError> {
        let schema = table.schema.as_deref().unwrap_or("main");
        let columns: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info(?1, ?2) ORDER BY cid")
                .bind(&table.name)
                .bind(schema)
                .fetch_all(&mut self.conn)
                .await
                .context(|| format!("reading the columns of {table}"))?;
        Ok((!columns.is_empty()).then_some(columns))
    }

    async fn begin_rehearsal(&mut self, limits: Limits) -> Result<(), EngineError> {
        let busy = limits.lock_timeout.map_or(0, |d| d.as_millis().max(1));
        for sql in [format!("PRAGMA busy_timeout = {busy}"), "BEGIN".to_string()] {
            sqlx::query(&sql)
                .execute(&mut self.conn)
                .await
                .context(|| "starting the online check".into())?;
        }
        Ok(())
    }

    async fn rehearse(&mut self, sql: &str) -> Result<Result<(), DbError>, EngineError> {
        sqlx::query("SAVEPOINT bellows_check")
            .execute(&mut self.conn)
            .await
            .context(|| "the online check".into())?;
        let result = sqlx::query(sql).execute(&mut self.conn).await;
        let outcome = match result {
            Ok(_) => Ok(()),
            Err(error) => match DbError::from_sqlx(&error) {
                Some(db) => Err(db),
                None => return Err(error).context(|| "the online check".into()),
            },
        };
        // A statement that failed leaves nothing behind; one that worked shapes the shadows
        // for the steps after it.
        let end = match outcome {
            Ok(()) => "RELEASE SAVEPOINT bellows_check",
            Err(_) => "ROLLBACK TO SAVEPOINT bellows_check; RELEASE SAVEPOINT bellows_check",
        };
        for sql in end.split("; ") {
            sqlx::query(sql)
                .execute(&mut self.conn)
                .await
                .context(|| "the online check".into())?;
        }
        Ok(outcome)
    }

    async fn end_rehearsal(&mut self) -> Result<(), EngineError> {
        sqlx::query("ROLLBACK")
            .execute(&mut self.conn)
            .await
            .context(|| "ending the online check".into())?;
        Ok(())
    }
}
