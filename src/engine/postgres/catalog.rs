//! What the engine reads from the PostgreSQL catalog: the server version, the key to walk a
//! table by, and its estimated size.

use super::attempt::pg_table;
use super::PgBackend;
use crate::dialect::recovery::{Found, PlannedObject};
use crate::engine::backend::{Catalog, Leftover, ServerVersion};
use crate::engine::error::{DbContext, EngineError, ErrorKind};
use crate::vocab::TableName;

/// Whether a PostgreSQL server is one whose `CONCURRENTLY` index builds can corrupt indexes.
pub fn concurrently_is_broken(version: &ServerVersion) -> bool {
    version.major == 14 && version.minor < 4
}

impl Catalog for PgBackend {
    async fn find_object(
        &mut self,
        object: &PlannedObject,
        table: Option<&TableName>,
    ) -> Result<Found, EngineError> {
        self.find_object_in_catalog(object, table).await
    }

    async fn leftovers(&mut self) -> Result<Vec<Leftover>, EngineError> {
        self.leftovers_in_catalog().await
    }

    async fn server_version(&mut self) -> Result<ServerVersion, EngineError> {
        let (num, text): (String, String) = sqlx::query_as(
            "SELECT current_setting('server_version_num'), current_setting('server_version')",
        )
        .fetch_one(self.control().await?)
        .await
        .context(|| "reading the server version".into())?;
        let num: u32 = num.parse().unwrap_or(0);
        Ok(ServerVersion {
            major: num / 10000,
            minor: num % 10000,
            text,
        })
    }

    async fn primary_key(&mut self, table: &TableName) -> Result<Option<Vec<String>>, EngineError> {
        on_control!(self, async {
            let name = pg_table(table);
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(&name)
                .fetch_one(self.control().await?)
                .await
                .context(|| format!("looking up table {table}"))?;
            if !exists {
                return Err(EngineError::refused(
                    ErrorKind::Failed,
                    format!("table {table} does not exist"),
                ));
            }
            let columns: Vec<String> = sqlx::query_scalar(
                "SELECT a.attname::text
                   FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                  WHERE i.indrelid = to_regclass($1) AND i.indisprimary
                  ORDER BY array_position(i.indkey::int2[], a.attnum)",
            )
            .bind(&name)
            .fetch_all(self.control().await?)
            .await
            .context(|| format!("reading the primary key of {table}"))?;
            if !columns.is_empty() {
                return Ok(Some(columns));
            }
            // No primary key: the narrowest valid, non-partial unique index over plain not-null
            // columns is a key just as good to walk.
            let unique: Option<Vec<String>> = sqlx::query_scalar(
                "SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
                   FROM pg_index i
                   JOIN pg_class c ON c.oid = i.indexrelid
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                  WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid
                    AND i.indpred IS NULL AND NOT (0 = ANY (i.indkey::int2[]))
                  GROUP BY i.indexrelid, c.relname
                 HAVING bool_and(a.attnotnull)
                  ORDER BY count(*), c.relname
                  LIMIT 1",
            )
            .bind(&name)
            .fetch_optional(self.control().await?)
            .await
            .context(|| format!("reading the unique keys of {table}"))?;
            Ok(unique)
        }.await)
    }

    async fn estimate_rows(&mut self, table: &TableName) -> Result<Option<u64>, EngineError> {
        on_control!(
            self,
            async {
                let estimate: Option<f32> = sqlx::query_scalar(
                    "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
                )
                .bind(pg_table(table))
                .fetch_optional(self.control().await?)
                .await
                .context(|| format!("estimating the rows of {table}"))?;
                // NOTE: a table never vacuumed or analyzed has reltuples = -1 (PostgreSQL 14+):
                // unknown, so the backfill counts it (the planner's guess from its size on disk
                // can be off many times over).
                Ok(estimate.filter(|n| *n >= 0.0).map(|rows| rows as u64))
            }
            .await
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrently_is_refused_on_14_0_to_14_3_only() {
        let v = |major, minor| ServerVersion {
            major,
            minor,
            text: String::new(),
        };
        assert!(concurrently_is_broken(&v(14, 0)));
        assert!(concurrently_is_broken(&v(14, 3)));
        assert!(!concurrently_is_broken(&v(14, 4)));
        assert!(!concurrently_is_broken(&v(13, 2)));
        assert!(!concurrently_is_broken(&v(15, 0)));
    }
}
