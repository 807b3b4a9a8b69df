//! What the engine reads from `information_schema`: the server version, a table's key and
//! size, objects by name and leftovers of interrupted runs.

use super::{parse_version, MysqlBackend};
use crate::dialect::quote_literal;
use crate::dialect::recovery::{Found, ObjectKind, PlannedObject};
use crate::engine::backend::{Catalog, Leftover, ServerVersion};
use crate::engine::error::{DbContext, EngineError, ErrorKind};
use crate::vocab::TableName;

/// `TABLE_SCHEMA = … AND TABLE_NAME = …`, the current database when the name has none.
fn where_table(table: &TableName) -> String {
    format!(
        "TABLE_SCHEMA = {} AND TABLE_NAME = {}",
        table
            .schema
            .as_deref()
            .map(quote_literal)
            .unwrap_or_else(|| "DATABASE()".into()),
        quote_literal(&table.name)
    )
}

impl Catalog for MysqlBackend {
    async fn server_version(&mut self) -> Result<ServerVersion, EngineError> {
        let text: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&mut self.conn)
            .await
            .context(|| "reading the server version".into())?;
        let (major, minor) = parse_version(&text);
        Ok(ServerVersion { major, minor, text })
    }

    async fn primary_key(&mut self, table: &TableName) -> Result<Option<Vec<String>>, EngineError> {
        let found: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM information_schema.TABLES WHERE {}",
            where_table(table)
        ))
        .fetch_one(&mut self.conn)
        .await
        .context(|| format!("looking up table {table}"))?;
        if found == 0 {
            return Err(EngineError::refused(
                ErrorKind::Failed,
                format!("table {table} does not exist"),
            ));
        }
        // The primary key, else the unique index with the fewest columns, all NOT NULL.
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT CAST(s.INDEX_NAME AS CHAR), CAST(s.COLUMN_NAME AS CHAR)
               FROM information_schema.STATISTICS s
              WHERE s.{} AND s.NON_UNIQUE = 0
                AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS n
                                 WHERE n.TABLE_SCHEMA = s.TABLE_SCHEMA AND n.TABLE_NAME = s.TABLE_NAME
                                   AND n.INDEX_NAME = s.INDEX_NAME AND (n.NULLABLE = 'YES' OR n.SUB_PART IS NOT NULL))
              ORDER BY s.INDEX_NAME <> 'PRIMARY',
                       (SELECT count(*) FROM information_schema.STATISTICS c
                         WHERE c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.INDEX_NAME = s.INDEX_NAME),
                       s.INDEX_NAME, s.SEQ_IN_INDEX",
            where_table(table)
        ))
        .fetch_all(&mut self.conn)
        .await
        .context(|| format!("reading the keys of {table}"))?;
        let Some((first, _)) = rows.first() else {
            return Ok(None);
        };
        let first = first.clone();
        Ok(Some(
            rows.into_iter()
                .filter(|(index, _)| *index == first)
                .map(|(_, column)| column)
                .collect(),
        ))
    }

    async fn estimate_rows(&mut self, table: &TableName) -> Result<Option<u64>, EngineError> {
        let rows: Option<Option<u64>> = sqlx::query_scalar(&format!(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE {}",
            where_table(table)
        ))
        .fetch_optional(&mut self.conn)
        .await
        .context(|| format!("estimating the rows of {table}"))?;
        Ok(rows.flatten())
    }

    async fn find_object(
        &mut self,
        object: &PlannedObject,
        table: Option<&TableName>,
    ) -> Result<Found, EngineError> {
        let schema = table
            .and_then(|t| t.schema.as_deref())
            .map(quote_literal)
            .unwrap_or_else(|| "DATABASE()".into());
        let name = quote_literal(&object.name);
        let sql = match object.kind {
            ObjectKind::Index => format!(
                "SELECT CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS CHAR) FROM information_schema.STATISTICS
                  WHERE TABLE_SCHEMA = {schema} AND INDEX_NAME = {name} HAVING count(*) > 0"
            ),
            ObjectKind::Constraint => format!(
                "SELECT CAST(CONSTRAINT_TYPE AS CHAR) FROM information_schema.TABLE_CONSTRAINTS
                  WHERE CONSTRAINT_SCHEMA = {schema} AND CONSTRAINT_NAME = {name} LIMIT 1"
            ),
            ObjectKind::Trigger => format!(
                "SELECT CAST(ACTION_STATEMENT AS CHAR) FROM information_schema.TRIGGERS
                  WHERE TRIGGER_SCHEMA = {schema} AND TRIGGER_NAME = {name}"
            ),
        };
        let definition: Option<Option<String>> = sqlx::query_scalar(&sql)
            .fetch_optional(&mut self.conn)
            .await
            .context(|| format!("looking up {} {}", object.kind.as_str(), object.name))?;
        Ok(match definition {
            None => Found::Absent,
            Some(definition) => Found::Present {
                definition: definition.unwrap_or_default(),
                valid: true,
            },
        })
    }

    async fn leftovers(&mut self) -> Result<Vec<Leftover>, EngineError> {
        // Online DDL that fails leaves nothing behind: only bellows' own triggers can be left.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(EVENT_OBJECT_TABLE AS CHAR), CAST(TRIGGER_NAME AS CHAR) FROM information_schema.TRIGGERS
              WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'bellows\\_%' ORDER BY TRIGGER_NAME",
        )
        .fetch_all(&mut self.conn)
        .await
        .context(|| "looking for leftovers of interrupted runs".into())?;
        Ok(rows
            .into_iter()
            .map(|(table, name)| Leftover {
                kind: "trigger".into(),
                name: format!("{table}.{name}"),
                detail: "bellows trigger".into(),
            })
            .collect())
    }
}
