//! The online check on PostgreSQL: one transaction on the work connection, always rolled
//! back, with a savepoint around each statement; the table shapes come from `pg_attribute`
//! through `to_regclass`, which takes no lock.

use super::attempt::pg_table;
use super::PgBackend;
use crate::engine::backend::{Limits, Rehearse};
use crate::engine::error::{DbContext, DbError, EngineError};
use crate::vocab::TableName;

fn millis(limit: Option<std::time::Duration>) -> u128 {
    limit.map_or(0, |d| d.as_millis().max(1))
}

impl Rehearse for PgBackend {
    const REHEARSES: bool = true;

    async fn table_columns(
        &mut self,
        table: &TableName,
    ) -> Result<Option<Vec<(String, String)>>, EngineError> {
        let name = pg_table(table);
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&name)
            .fetch_one(&mut self.work)
            .await
            .context(|| format!("looking up table {table}"))?;
        if !exists {
            return Ok(None);
        }
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT attname::text, format_type(atttypid, atttypmod)
               FROM pg_attribute
              WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
              ORDER BY attnum",
        )
        .bind(&name)
        .fetch_all(&mut self.work)
        .await
        .context(|| format!("reading the columns of {table}"))?;
        Ok(Some(columns))
    }

    async fn begin_rehearsal(&mut self, limits: Limits) -> Result<(), EngineError> {
        for sql in [
            "BEGIN".to_string(),
            format!("SET LOCAL lock_timeout = {}", millis(limits.lock_timeout)),
            format!(
                "SET LOCAL statement_timeout = {}",
                millis(limits.statement_timeout)
            ),
        ] {
            sqlx::query(&sql)
                .execute(&mut self.work)
                .await
                .context(|| "starting the online check".into())?;
        }
        Ok(())
    }

    async fn rehearse(&mut self, sql: &str) -> Result<Result<(), DbError>, EngineError> {
        sqlx::query("SAVEPOINT bellows_check")
            .execute(&mut self.work)
            .await
            .context(|| "the online check".into())?;
        match sqlx::query(sql).execute(&mut self.work).await {
            Ok(_) => {
                sqlx::query("RELEASE SAVEPOINT bellows_check")
                    .execute(&mut self.work)
                    .await
                    .context(|| "the online check".into())?;
                Ok(Ok(()))
            }
            Err(error) => {
                let Some(db) = DbError::from_sqlx(&error) else {
                    return Err(error).context(|| "the online check".into());
                };
                sqlx::query("ROLLBACK TO SAVEPOINT bellows_check")
                    .execute(&mut self.work)
                    .await
                    .context(|| "the online check".into())?;
                Ok(Err(db))
            }
        }
    }

    async fn end_rehearsal(&mut self) -> Result<(), EngineError> {
        sqlx::query("ROLLBACK")
            .execute(&mut self.work)
            .await
            .context(|| "ending the online check".into())?;
        Ok(())
    }
}
