//! Whether a sync function needs its own `search_path`: checked on the server when the step
//! runs, from what a temporary view of the sync's expressions depends on.

use crate::dialect::{quote_literal, Dialect};
use crate::ops::SyncColumn;

use super::Postgres;

/// The name of the temporary view the check makes and drops.
const VIEW: &str = "pg_temp.bellows_sync_names";

// NOTE: why. The sync function is created `SET search_path FROM CURRENT` so that the names in
// `from` resolve as the step checked them, whatever the writer's search_path. But a function
// with a SET clause saves and restores the setting on every call, which cost single-row
// updates of the table about a tenth of their throughput (PostgreSQL 15, measured with
// benches/trigger_floor.sh). The setting is only needed for a name that is not built in:
// PostgreSQL searches pg_catalog first on every search_path that does not list it later. A
// view records a dependency on every function, operator, type and collation it uses except
// the built-in (pinned) ones, so a temporary view of the expressions over the table that
// depends on nothing but the table shows that every name they use is built in. Then the
// function's SET is removed. Anything going wrong (no right to make temporary objects, say)
// keeps it: the check is in a block of its own that only decides.

/// A `DO` block that removes `function`'s `SET search_path` when every name the sync's
/// expressions use is built into PostgreSQL.
pub(super) fn reset_search_path_sql(pg: &Postgres, op: &SyncColumn, function: &str) -> String {
    let mut expressions = vec![format!("({}) AS bellows_0", op.from)];
    if let Some(reverse) = &op.reverse {
        expressions.push(format!("({}) AS bellows_1", reverse.from));
    }
    let table = quote_literal(&pg.table(&op.table));
    let view = quote_literal(VIEW);
    let class = |name: &str| format!("'pg_catalog.{name}'::pg_catalog.regclass");
    format!(
        "DO $bellows$\nDECLARE\n  bellows_builtin boolean := false;\nBEGIN\n  BEGIN\n    DROP VIEW IF EXISTS {VIEW};\n    CREATE TEMPORARY VIEW bellows_sync_names AS\n      SELECT {expressions} FROM {from};\n    WITH own (class, id) AS (\n      SELECT {pg_class}, c.oid FROM pg_catalog.pg_class c WHERE c.oid = {view}::pg_catalog.regclass\n      UNION ALL SELECT {pg_type}, c.reltype FROM pg_catalog.pg_class c WHERE c.oid = {view}::pg_catalog.regclass\n      UNION ALL SELECT {pg_rewrite}, r.oid FROM pg_catalog.pg_rewrite r WHERE r.ev_class = {view}::pg_catalog.regclass\n    )\n    SELECT NOT EXISTS (\n      SELECT 1 FROM pg_catalog.pg_depend d\n       WHERE (d.classid, d.objid) IN (SELECT class, id FROM own)\n         AND (d.refclassid, d.refobjid) NOT IN (SELECT class, id FROM own)\n         AND d.refclassid <> {pg_namespace}\n         AND NOT (d.refclassid = {pg_class} AND d.refobjid = {table}::pg_catalog.regclass)\n    ) INTO bellows_builtin;\n    DROP VIEW {VIEW};\n  EXCEPTION WHEN OTHERS THEN\n    bellows_builtin := false;\n  END;\n  IF bellows_builtin THEN\n    ALTER FUNCTION {function}() RESET search_path;\n  END IF;\nEND\n$bellows$",
        expressions = expressions.join(", "),
        from = pg.table(&op.table),
        pg_class = class("pg_class"),
        pg_type = class("pg_type"),
        pg_rewrite = class("pg_rewrite"),
        pg_namespace = class("pg_namespace"),
    )
}
