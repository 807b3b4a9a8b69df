//! Whether a sync function needs its own `search_path`: checked on the server when the step
//! runs, from what a temporary view of the sync's expressions depends on and how it reads.

use crate::dialect::{quote_literal, Dialect};
use crate::ops::SyncColumn;

use super::Postgres;

/// The temporary view the check makes and drops, and the temporary table (`LIKE` the sync's
/// table) it reads from.
const VIEW: &str = "pg_temp.bellows_sync_names";
const ROW: &str = "pg_temp.bellows_sync_row";
/// The same view made again with every schema on the search_path (`pg_catalog` first).
const WIDE: &str = "pg_temp.bellows_sync_wide";

// NOTE: why. The sync function is created `SET search_path FROM CURRENT` so that the names in
// `from` resolve as the step checked them, whatever the writer's search_path. But a function
// with a SET clause saves and restores the setting on every call, which cost single-row
// updates of the table about a tenth of their throughput (PostgreSQL 15, measured with
// benches/trigger_floor.sh). The setting is only needed for a name that is not built in:
// PostgreSQL searches pg_catalog first on every search_path that does not list it later. A
// view records a dependency on every relation, function, operator, type and collation it uses
// except the built-in (pinned) ones, so a temporary view of the function's expressions that
// depends on nothing else shows that every name they use is built in. Then the function's SET
// is removed. The expressions are `from` (and `reverse.from`) and the comparison
// `column IS DISTINCT FROM column` of each synced column (the function's test of whether a
// write set it: the type's `=` may be an extension's). They read a temporary table made
// `LIKE` the sync's table, not the table itself: a view over the table records its columns,
// which replace (in pg_depend) the table's own entry that a subquery of `from` naming the
// table by name would record; over the copy, any dependency on the table is such a name.
// Names looked up only when the expression runs (text made a `regclass`, say) are in no
// dependency: the view's query tree is searched for them (`LOOKED_UP`). And a writer whose
// search_path lists a schema the apply's does not may resolve a call to a function of that
// schema instead of the built-in one (an exact match beats a built-in that needs a cast:
// `replace` on a `citext`, with citext's `replace` only on the writer's path): the view is
// made again with every schema on the search_path (`pg_catalog` first) and must read the same
// (`pg_get_viewdef` of both, shown with the apply's search_path). Anything going wrong (no
// right to make temporary objects, say) keeps the setting: the check is in a block of its own
// that only decides.

/// A value of an object identifier type (`regclass`, `regtype`, …) computed when the
/// expression runs, in the view's stored query tree: the name it is read from or written as
/// resolves through the search_path of that moment (`CAST('s' AS text)::regclass`,
/// `to_regclass(…)`, `tableoid::regclass`). A constant (`nextval('s')`) is a dependency instead.
const LOOKED_UP: &str = r":(funcresulttype|opresulttype|resulttype) (24|2202|2203|2204|2205|2206|3734|3769|4089|4096|4191)\M";

/// A `DO` block that removes `function`'s `SET search_path` when every name the sync's
/// expressions use is built into PostgreSQL.
pub(super) fn reset_search_path_sql(pg: &Postgres, op: &SyncColumn, function: &str) -> String {
    let mut expressions = vec![op.from.clone()];
    let mut columns = vec![pg.ident(&op.column)];
    if let Some(reverse) = &op.reverse {
        expressions.push(reverse.from.clone());
        columns.push(pg.ident(&reverse.column));
    }
    expressions.extend(columns.iter().map(|c| format!("{c} IS DISTINCT FROM {c}")));
    let expressions = expressions
        .iter()
        .enumerate()
        .map(|(i, e)| format!("({e}) AS bellows_{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let view = quote_literal(VIEW);
    let class = |name: &str| format!("'pg_catalog.{name}'::pg_catalog.regclass");
    format!(
        "DO $bellows$\nDECLARE\n  bellows_builtin boolean := false;\n  bellows_def text;\n  bellows_path text := pg_catalog.current_setting('search_path');\nBEGIN\n  BEGIN\n    DROP VIEW IF EXISTS {VIEW};\n    DROP VIEW IF EXISTS {WIDE};\n    DROP TABLE IF EXISTS {ROW};\n    CREATE TEMPORARY TABLE bellows_sync_row (LIKE {table});\n    CREATE TEMPORARY VIEW bellows_sync_names AS\n      SELECT {expressions} FROM {ROW} AS {alias};\n    WITH own (class, id) AS (\n      SELECT {pg_class}, c.oid FROM pg_catalog.pg_class c WHERE c.oid = {view}::pg_catalog.regclass\n      UNION ALL SELECT {pg_type}, c.reltype FROM pg_catalog.pg_class c WHERE c.oid = {view}::pg_catalog.regclass\n      UNION ALL SELECT {pg_rewrite}, r.oid FROM pg_catalog.pg_rewrite r WHERE r.ev_class = {view}::pg_catalog.regclass\n    )\n    SELECT NOT EXISTS (\n      SELECT 1 FROM pg_catalog.pg_depend d\n       WHERE (d.classid, d.objid) IN (SELECT class, id FROM own)\n         AND (d.refclassid, d.refobjid) NOT IN (SELECT class, id FROM own)\n         AND d.refclassid <> {pg_namespace}\n         AND NOT (d.refclassid = {pg_class} AND d.refobjid = {row}::pg_catalog.regclass)\n    ) AND NOT EXISTS (\n      SELECT 1 FROM pg_catalog.pg_rewrite r\n       WHERE r.ev_class = {view}::pg_catalog.regclass\n         AND r.ev_action::text ~ {looked_up}\n    ) INTO bellows_builtin;\n    bellows_def := pg_catalog.pg_get_viewdef({view}::pg_catalog.regclass);\n    PERFORM pg_catalog.set_config('search_path', (\n      SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n.nspname), ', '\n               ORDER BY n.nspname <> 'pg_catalog', n.nspname)\n        FROM pg_catalog.pg_namespace n WHERE n.nspname !~ '^pg_(toast|temp_|toast_temp_)'), true);\n    CREATE TEMPORARY VIEW bellows_sync_wide AS\n      SELECT {expressions} FROM {ROW} AS {alias};\n    PERFORM pg_catalog.set_config('search_path', bellows_path, true);\n    bellows_builtin := bellows_builtin\n      AND pg_catalog.pg_get_viewdef({wide}::pg_catalog.regclass) = bellows_def;\n    DROP VIEW {VIEW};\n    DROP VIEW {WIDE};\n    DROP TABLE {ROW};\n  EXCEPTION WHEN OTHERS THEN\n    bellows_builtin := false;\n  END;\n  IF bellows_builtin THEN\n    ALTER FUNCTION {function}() RESET search_path;\n  END IF;\nEND\n$bellows$",
        table = pg.table(&op.table),
        alias = pg.ident(&op.table.name),
        row = quote_literal(ROW),
        wide = quote_literal(WIDE),
        looked_up = quote_literal(LOOKED_UP),
        pg_class = class("pg_class"),
        pg_type = class("pg_type"),
        pg_rewrite = class("pg_rewrite"),
        pg_namespace = class("pg_namespace"),
    )
}
