//! Snapshots of the planned SQL of every operation, for PostgreSQL and SQLite, as
//! `bellows plan` prints it (plain): statements, locks, effects, transactions, undo and notes.

use std::path::Path;

use bellows::cli::plan::report;
use bellows::cli::plan_render::human_steps;
use bellows::dialect::DialectKind;
use bellows::plan::load::load_str;

/// The step(s) of `toml` planned for both dialects, one after the other.
pub(crate) fn both_dialects(toml: &str) -> String {
    planned_for(toml, &[DialectKind::Postgres, DialectKind::Sqlite])
}

/// The step(s) of `toml` planned for each of `dialects`, one after the other.
pub(crate) fn planned_for(toml: &str, dialects: &[DialectKind]) -> String {
    let loaded = load_str(Path::new("snapshot.toml"), toml);
    assert!(
        !loaded.has_errors(),
        "snapshot plan is invalid: {:#?}",
        loaded.diagnostics
    );
    let mut out = format!("{}\n", toml.trim());
    for &dialect in dialects {
        out.push_str(&format!("\n=== {dialect} ===\n"));
        let report = report(&loaded, dialect);
        if report.valid {
            out.push_str(&human_steps(&report, false));
        } else {
            for diagnostic in &report.diagnostics {
                out.push_str(&format!(
                    "refused ({}): {}\n",
                    diagnostic.code, diagnostic.message
                ));
            }
        }
    }
    out
}

macro_rules! sql_snapshot {
    ($name:ident, $toml:expr) => {
        #[test]
        fn $name() {
            let mut settings = insta::Settings::clone_current();
            settings.set_omit_expression(true);
            settings.bind(|| {
                insta::assert_snapshot!(stringify!($name), both_dialects($toml));
                // MySQL/MariaDB in a snapshot of its own.
                insta::assert_snapshot!(
                    format!("{}_mysql", stringify!($name)),
                    planned_for($toml, &[DialectKind::Mysql])
                );
            });
        }
    };
}

sql_snapshot!(
    create_table,
    r#"
[[expand]]
op = "create_table"
table = "audit_log"
columns = [
  { name = "id", type = "bigint", primary_key = true },
  { name = "message", type = "text", nullable = false, default = "''" },
  { name = "at", type = "timestamptz", default = "now()" },
]
"#
);

sql_snapshot!(
    add_column,
    r#"
[[expand]]
op = "add_column"
table = "users"
column = "email_verified"
type = "boolean"
"#
);

sql_snapshot!(
    add_column_not_null_with_default,
    r#"
[[expand]]
op = "add_column"
table = "users"
column = "score"
type = "integer"
nullable = false
default = "0"
"#
);

sql_snapshot!(
    add_column_volatile_default,
    r#"
[[expand]]
op = "add_column"
table = "users"
column = "token"
type = "uuid"
default = "gen_random_uuid()"
"#
);

sql_snapshot!(
    add_index,
    r#"
[[expand]]
op = "add_index"
table = "users"
columns = ["email"]
"#
);

sql_snapshot!(
    add_index_unique_partial,
    r#"
[[switch]]
op = "add_index"
table = "users"
columns = ["org_id", "email"]
name = "users_org_email_key"
unique = true
where = "deleted_at IS NULL"
"#
);

sql_snapshot!(
    add_index_gin,
    r#"
[[expand]]
op = "add_index"
table = "documents"
columns = ["body_tsv"]
method = "gin"
"#
);

sql_snapshot!(
    add_foreign_key,
    r#"
[[expand]]
op = "add_foreign_key"
table = "users"
columns = ["org_id"]
references = { table = "orgs", columns = ["id"] }
on_delete = "set null"
"#
);

sql_snapshot!(
    add_foreign_key_every_option,
    r#"
[[expand]]
op = "add_foreign_key"
table = "orders"
columns = ["user_id"]
references = { table = "users", columns = ["id"] }
on_delete = "cascade"
on_update = "restrict"
match = "simple"
deferrable = true
initially = "deferred"
"#
);

sql_snapshot!(
    add_foreign_key_match_full,
    r#"
[[expand]]
op = "add_foreign_key"
table = "orders"
columns = ["user_id"]
references = { table = "users", columns = ["id"] }
match = "full"
"#
);

sql_snapshot!(
    add_index_elements,
    r#"
[[expand]]
op = "add_index"
table = "users"
columns = [
  { expression = "lower(email)" },
  { column = "name", collate = "C", order = "desc" },
  { column = "id", order = "asc" },
]
where = "email IS NOT NULL"
"#
);

sql_snapshot!(
    add_index_postgres_options,
    r#"
[[expand]]
op = "add_index"
table = "billing.invoices"
columns = [{ column = "code", opclass = "text_pattern_ops", nulls = "first" }, { column = "at", order = "desc", nulls = "last" }]
include = ["id", "total"]
with = { fillfactor = 70, deduplicate_items = "off", gin_pending_list_limit = true }
tablespace = "fast_disk"
"#
);

sql_snapshot!(
    create_table_constraints,
    r#"
[[expand]]
op = "create_table"
table = "orders"
columns = [
  { name = "id", type = "integer" },
  { name = "code", type = "text", nullable = false, unique = true, check = "code <> ''" },
  { name = "user_id", type = "bigint", references = { table = "users", on_delete = "cascade", on_update = "cascade" } },
  { name = "qty", type = "integer", default = "1" },
  { name = "double_qty", type = "integer", generated = "qty * 2" },
]
constraints = [
  { type = "primary_key", name = "orders_pk", columns = "id" },
  { type = "unique", columns = ["user_id", "code"] },
  { type = "check", name = "orders_qty_positive", check = "qty > 0" },
  { type = "foreign_key", name = "orders_code_fkey", columns = "code", references = { table = "codes", columns = "code" }, deferrable = true, initially = "deferred" },
]
"#
);

sql_snapshot!(
    create_table_postgres_only,
    r#"
[[expand]]
op = "create_table"
table = "billing.bookings"
comment = "Room bookings: it's a table"
columns = [
  { name = "id", type = "bigint", identity = "by default" },
  { name = "room", type = "integer", nullable = false, comment = "the room" },
  { name = "during", type = "tstzrange", nullable = false },
]
primary_key = ["id"]
constraints = [
  { type = "exclude", name = "bookings_no_overlap", using = "gist", elements = [
      { column = "room", with = "=" },
      { expression = "tstzrange(lower(during), upper(during))", with = "&&" },
    ], where = "room > 0" },
]
"#
);

sql_snapshot!(
    add_check,
    r#"
[[switch]]
op = "add_check"
table = "orders"
name = "orders_total_positive"
check = "total_amount >= 0"
"#
);

sql_snapshot!(
    sync_column,
    r#"
[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verified_at IS NOT NULL"
"#
);

sql_snapshot!(
    sync_column_reverse,
    r#"
[[expand]]
op = "sync_column"
table = "users"
column = "full_name"
from = "name"
reverse = { column = "name", from = "full_name" }
"#
);

sql_snapshot!(
    backfill,
    r#"
[[backfill]]
table = "users"
set = { email_verified = "verified_at IS NOT NULL" }
where = "email_verified IS NULL"
"#
);

sql_snapshot!(
    backfill_composite_key_throttled,
    r#"
[[backfill]]
table = "order_lines"
set = { amount = "quantity * unit_price", currency = "'EUR'" }
key = ["order_id", "line_no"]
batch_size = 500
pause = "20ms"
target_batch_time = "200ms"
max_lag = "5s"
throttle_query = "SELECT count(*) > 10 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
"#
);

sql_snapshot!(
    backfill_parallel,
    r#"
[[backfill]]
table = "users"
set = { email_verified = "verified_at IS NOT NULL" }
parallel = 4
"#
);

sql_snapshot!(
    set_default,
    r#"
[[switch]]
op = "set_default"
table = "users"
column = "email_verified"
default = "false"
"#
);

sql_snapshot!(
    drop_default,
    r#"
[[switch]]
op = "drop_default"
table = "users"
column = "status"
"#
);

sql_snapshot!(
    guard_null_count,
    r#"
[[contract]]
op = "guard"
null_count = "users.email_verified"
"#
);

sql_snapshot!(
    guard_query,
    r#"
[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE full_name IS DISTINCT FROM name"
expect = 0
"#
);

sql_snapshot!(
    sql_with_down,
    r#"
[[switch]]
op = "sql"
up = "CREATE VIEW active_users AS SELECT * FROM users WHERE deleted_at IS NULL"
down = "DROP VIEW active_users"
"#
);

sql_snapshot!(
    sql_outside_transaction_without_down,
    r#"
[[contract]]
op = "sql"
up = "REINDEX INDEX CONCURRENTLY users_email_idx"
transaction = false
"#
);

sql_snapshot!(
    set_not_null,
    r#"
[[contract]]
op = "set_not_null"
table = "users"
column = "email_verified"
"#
);

sql_snapshot!(
    drop_sync,
    r#"
[[contract]]
op = "drop_sync"
table = "users"
column = "email_verified"
"#
);

sql_snapshot!(
    drop_index,
    r#"
[[contract]]
op = "drop_index"
name = "users_email_idx"
table = "users"
"#
);

sql_snapshot!(
    drop_constraint,
    r#"
[[contract]]
op = "drop_constraint"
table = "users"
name = "users_org_id_fkey"
"#
);

sql_snapshot!(
    drop_column,
    r#"
[[contract]]
op = "drop_column"
table = "users"
column = "name"
"#
);

sql_snapshot!(
    drop_table,
    r#"
[[contract]]
op = "drop_table"
table = "legacy_sessions"
"#
);

// Names that need quoting: spaces, embedded double quotes, a schema.
sql_snapshot!(
    quoting,
    r#"
[[expand]]
op = "create_table"
table = 'billing.Audit "Log"'
columns = [{ name = 'Message "text"', type = "text" }]

[[expand]]
op = "add_column"
table = "billing.Order Items"
column = 'weird"name'
type = "text"

[[expand]]
op = "add_index"
table = "billing.Order Items"
columns = ['weird"name', "Total Cents"]

[[expand]]
op = "add_foreign_key"
table = "billing.Order Items"
columns = ["Invoice Id"]
references = { table = "billing.Invoices", columns = ["Id"] }

[[expand]]
op = "sync_column"
table = "billing.Order Items"
column = 'weird"name'
from = '"Old Name"'
reverse = { column = "Old Name", from = '"weird""name"' }

[[backfill]]
table = "billing.Order Items"
set = { 'weird"name' = '"Old Name"' }
key = ["Order Id", "Line No"]

[[switch]]
op = "set_default"
table = "billing.Order Items"
column = 'weird"name'
default = "''"

[[contract]]
op = "drop_sync"
table = "billing.Order Items"
column = 'weird"name'

[[contract]]
op = "set_not_null"
table = "billing.Order Items"
column = 'weird"name'

[[contract]]
op = "drop_index"
name = 'Order Items "idx"'
table = "billing.Order Items"

[[contract]]
op = "drop_constraint"
table = "billing.Order Items"
name = 'Order "Check"'

[[contract]]
op = "drop_column"
table = "billing.Order Items"
column = "Old Name"
"#
);

sql_snapshot!(
    shapes_every_database_has,
    r#"
[[expand]]
op = "create_table"
table = "invoices"
columns = [
  { name = "id", type = "bigint" },
  { name = "user_id", type = "bigint", nullable = false, references = { table = "users", column = "id", on_delete = "cascade" } },
  { name = "number", type = "varchar(32)", nullable = false, unique = true },
  { name = "cents", type = "bigint", nullable = false, check = "cents >= 0" },
  { name = "euros", type = "numeric(12,2)", generated = "cents / 100.0" },
]
constraints = [
  { type = "primary_key", name = "invoices_pk", columns = ["id"] },
  { type = "unique", name = "invoices_user_number", columns = ["user_id", "number"] },
  { type = "check", name = "invoices_positive", check = "id > 0" },
]

[[expand]]
op = "add_index"
table = "invoices"
columns = ["user_id", { column = "cents", order = "desc" }]

[[expand]]
op = "add_foreign_key"
table = "orders"
columns = ["user_id"]
references = { table = "users", columns = ["id"] }
on_delete = "set null"
on_update = "cascade"
"#
);

sql_snapshot!(
    versioned_renames,
    r#"
[[expand]]
op = "add_column"
table = "users"
column = "nickname"
type = "text"

[[contract]]
op = "rename_column"
table = "users"
column = "name"
to = "full_name"

[[contract]]
op = "rename_table"
table = "billing.orders"
to = "purchases"

[[contract]]
op = "drop_column"
table = "users"
column = "legacy"
default = "0"
"#
);

sql_snapshot!(
    change_type,
    r#"
[[contract]]
op = "change_type"
table = "users"
column = "score"
type = "integer"
using = "CAST(score AS integer)"
reverse = "CAST(score AS text)"
"#
);
