//! The connection limits a run counts against (`max_connections`, the role's and the
//! database's `CONNECTION LIMIT`) and the sessions in use under each, read before a parallel
//! backfill opens its workers.

use super::PgBackend;
use crate::engine::backfill::connection_room::ConnectionLimit;
use crate::engine::error::{DbContext, EngineError};

/// Each limit that applies to this session: its name, the connections ordinary sessions may
/// open under it, and the client sessions counted against it.
///
/// NOTE: a role without `pg_read_all_stats` sees other roles' sessions in `pg_stat_activity`
/// with `backend_type` hidden (NULL): those connected to a database count too, as client
/// sessions (an autovacuum worker among them counts, one too many: on the safe side). The
/// role's and the database's limits do not hold superusers back; the slots reserved by
/// `superuser_reserved_connections` (and `reserved_connections` from 16 on) are left free
/// always, though a superuser may use them.
const LIMITS_SQL: &str = "
WITH me AS (SELECT oid, rolconnlimit, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
     clients AS (SELECT usesysid, datid FROM pg_catalog.pg_stat_activity
                  WHERE backend_type = 'client backend'
                     OR (backend_type IS NULL AND datid IS NOT NULL))
SELECT 'max_connections',
       current_setting('max_connections')::int8
         - current_setting('superuser_reserved_connections')::int8
         - coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int8,
       (SELECT count(*) FROM clients)
UNION ALL
SELECT 'the role''s CONNECTION LIMIT', me.rolconnlimit::int8,
       (SELECT count(*) FROM clients WHERE clients.usesysid = me.oid)
  FROM me WHERE me.rolconnlimit >= 0 AND NOT me.rolsuper
UNION ALL
SELECT 'the database''s CONNECTION LIMIT', d.datconnlimit::int8,
       (SELECT count(*) FROM clients WHERE clients.datid = d.oid)
  FROM pg_catalog.pg_database d, me
 WHERE d.datname = current_database() AND d.datconnlimit >= 0 AND NOT me.rolsuper";

impl PgBackend {
    pub(super) async fn limits_of_connections(
        &mut self,
    ) -> Result<Vec<ConnectionLimit>, EngineError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(LIMITS_SQL)
            .fetch_all(self.control().await?)
            .await
            .context(|| "reading the server's connection limits (pg_stat_activity)".into())?;
        Ok(rows
            .into_iter()
            .map(|(name, limit, in_use)| ConnectionLimit {
                name,
                limit: limit.max(0) as u64,
                in_use: in_use.max(0) as u64,
            })
            .collect())
    }
}
