//! Reading one schema object from the PostgreSQL catalog in the server's own words
//! (`pg_get_indexdef`, `pg_get_constraintdef`, `pg_get_triggerdef`), so a statement that may
//! already have run can be recognised; and listing what interrupted runs leave behind.

use super::attempt::pg_table;
use super::PgBackend;
use crate::dialect::quote_ident;
use crate::dialect::recovery::{Found, ObjectKind, PlannedObject};
use crate::engine::backend::Leftover;
use crate::engine::error::{DbContext, EngineError};
use crate::vocab::TableName;

/// `$1`: the index name as SQL (quoted, schema-qualified as needed), for `to_regclass`.
const INDEX: &str = "SELECT pg_get_indexdef(i.indexrelid), i.indisvalid AND i.indisready
  FROM pg_index i
 WHERE i.indexrelid = to_regclass($1)";

/// `$1`: the table as SQL, for `to_regclass`; `$2`: the constraint name, unquoted.
const CONSTRAINT: &str = "SELECT pg_get_constraintdef(c.oid), c.convalidated
  FROM pg_constraint c
 WHERE c.conrelid = to_regclass($1) AND c.conname = $2";

/// `$1`: the table as SQL, for `to_regclass`; `$2`: the trigger name, unquoted.
const TRIGGER: &str = "SELECT pg_get_triggerdef(t.oid), true
  FROM pg_trigger t
 WHERE t.tgrelid = to_regclass($1) AND t.tgname = $2 AND NOT t.tgisinternal";

/// Every leftover of an interrupted run in the current database, one row per object:
/// `(kind, name, detail)`.
const LEFTOVERS: &str = "SELECT 'index', i.indexrelid::regclass::text, 'INVALID'
  FROM pg_index i WHERE NOT i.indisvalid
UNION ALL
SELECT 'constraint', c.conrelid::regclass::text || '.' || c.conname,
       CASE WHEN c.convalidated THEN 'bellows helper' ELSE 'NOT VALID' END
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND (NOT c.convalidated OR c.conname LIKE 'bellows\\_%')
UNION ALL
SELECT 'trigger', t.tgrelid::regclass::text || '.' || t.tgname, 'bellows trigger'
  FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgname LIKE 'bellows\\_%'
UNION ALL
SELECT 'function', p.oid::regprocedure::text, 'bellows function'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'bellows')
   AND p.proname LIKE 'bellows\\_%'
ORDER BY 1, 2";

impl PgBackend {
    pub(super) async fn find_object_in_catalog(
        &mut self,
        object: &PlannedObject,
        table: Option<&TableName>,
    ) -> Result<Found, EngineError> {
        let schema = table.and_then(|t| t.schema.as_deref());
        let table_sql = table.map(pg_table).unwrap_or_default();
        let (query, first) = match object.kind {
            ObjectKind::Index => (
                INDEX,
                match schema {
                    Some(schema) => {
                        format!("{}.{}", quote_ident(schema), quote_ident(&object.name))
                    }
                    None => quote_ident(&object.name),
                },
            ),
            ObjectKind::Constraint => (CONSTRAINT, table_sql),
            ObjectKind::Trigger => (TRIGGER, table_sql),
        };
        let row: Option<(String, bool)> = on_control!(
            self,
            sqlx::query_as(query)
                .bind(&first)
                .bind(&object.name)
                .fetch_optional(self.control().await?)
                .await
                .context(|| format!("looking up {} {}", object.kind.as_str(), object.name))
        )?;
        Ok(match row {
            None => Found::Absent,
            Some((definition, valid)) => Found::Present { definition, valid },
        })
    }

    pub(super) async fn leftovers_in_catalog(&mut self) -> Result<Vec<Leftover>, EngineError> {
        let rows: Vec<(String, String, String)> = on_control!(
            self,
            sqlx::query_as(LEFTOVERS)
                .fetch_all(self.control().await?)
                .await
                .context(|| "looking for leftovers of interrupted runs".into())
        )?;
        Ok(rows
            .into_iter()
            .map(|(kind, name, detail)| Leftover { kind, name, detail })
            .collect())
    }
}
