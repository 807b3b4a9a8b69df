//! Dropping the INVALID index a failed `CREATE INDEX CONCURRENTLY` leaves behind, before the
//! statement is tried again.

use super::PgBackend;
use crate::dialect::quote_ident;
use crate::engine::error::{DbContext, EngineError};
use crate::vocab::TableName;

impl PgBackend {
    /// Drops an INVALID index named `index` (in `table`'s schema); whether there was one.
    pub(super) async fn drop_invalid_index_named(
        &mut self,
        table: Option<&TableName>,
        index: &str,
    ) -> Result<bool, EngineError> {
        // `index` is the index name as SQL (quoted, schema-qualified when the table is); a bare
        // name is looked up in the table's schema.
        let name = match (index.contains('.') || index.starts_with('"'), table) {
            (
                false,
                Some(TableName {
                    schema: Some(schema),
                    ..
                }),
            ) => {
                format!("{}.{}", quote_ident(schema), quote_ident(index))
            }
            (false, _) => quote_ident(index),
            (true, _) => index.to_string(),
        };
        let found: Option<String> = sqlx::query_scalar(
            "SELECT i.indexrelid::regclass::text FROM pg_index i
              WHERE i.indexrelid = to_regclass($1) AND NOT i.indisvalid",
        )
        .bind(&name)
        .fetch_optional(self.control().await?)
        .await
        .context(|| format!("looking for an invalid index {name}"))?;
        let Some(name) = found else { return Ok(false) };
        // NOTE: sent on their own: several statements in one query string run in an implicit
        // transaction, where DROP INDEX CONCURRENTLY is refused.
        sqlx::raw_sql("SET lock_timeout = 0; SET statement_timeout = 0")
            .execute(&mut self.work)
            .await
            .context(|| "preparing to drop an invalid index".into())?;
        let dropped = sqlx::raw_sql(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))
            .execute(&mut self.work)
            .await
            .context(|| format!("dropping the invalid index {name} left by a failed attempt"));
        let _ = sqlx::raw_sql("RESET lock_timeout; RESET statement_timeout")
            .execute(&mut self.work)
            .await;
        dropped?;
        Ok(true)
    }
}
