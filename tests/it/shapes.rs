//! What real tables, indexes and foreign keys have, through the binary: `create_table` with
//! constraints, identity and generated columns and comments; `add_index` with elements,
//! `include`, `with` and `tablespace`; `add_foreign_key` with `on_update`, `match` and
//! deferral. On PostgreSQL each shape is applied, read back from the catalog, recognised by
//! `doctor`, rolled back and compared with `pg_dump --schema-only`; on SQLite the supported
//! shapes are applied and the others refused by `plan --dialect sqlite`.

use std::path::PathBuf;

use crate::harness::{schema_dump, Cli, Plans, PostgresDb, SqliteDb, TestDb};

const SCHEMA: &str = "
CREATE TABLE users (
    id    bigint PRIMARY KEY,
    name  text NOT NULL,
    email text
);
CREATE TABLE orders (
    id      bigint PRIMARY KEY,
    user_id bigint,
    code    text
);
INSERT INTO users SELECT g, 'user ' || g, 'u' || g || '@example.com' FROM generate_series(1, 50) g;
INSERT INTO orders SELECT g, 1 + g % 50, 'c' || g FROM generate_series(1, 100) g;
";

/// Applies `plan` on a fresh PostgreSQL database with [`SCHEMA`], runs `check` on it, asks
/// `doctor` whether the catalog is what the plan made, rolls back and proves the schema is
/// what it was.
fn postgres_round_trip(plan: &str, check: impl Fn(&PostgresDb)) {
    let db = PostgresDb::new();
    db.exec(SCHEMA);
    let before = schema_dump(&db.url);
    let plans = Plans::new();
    let file = plans.write("0001_shape.toml", plan);
    Cli::apply(&db).yes().plan(&file).run();
    check(&db);
    Cli::new(["doctor", "-d", &db.url])
        .plan(&file)
        .stdout_has("no drift")
        .run();
    Cli::rollback(&db).yes().plan(&file).run();
    assert_eq!(
        schema_dump(&db.url),
        before,
        "rollback did not restore the schema"
    );
}

fn one_row(db: &PostgresDb, sql: &str) -> String {
    db.rows(sql).join("|")
}

#[test]
fn create_table_with_every_shape_on_postgres() {
    postgres_round_trip(
        r#"
[[expand]]
op = "create_table"
table = "bookings"
comment = "Room bookings"
columns = [
  { name = "id", type = "bigint", identity = "always" },
  { name = "code", type = "text", nullable = false, unique = true, check = "code <> ''", comment = "the public code" },
  { name = "user_id", type = "bigint", references = { table = "users", on_delete = "cascade", deferrable = true, initially = "deferred" } },
  { name = "order_id", type = "bigint" },
  { name = "during", type = "tstzrange", nullable = false },
  { name = "price", type = "numeric(12,2)", default = "0" },
  { name = "price_with_tax", type = "numeric(12,2)", generated = "price * 1.2" },
]
constraints = [
  { type = "primary_key", name = "bookings_pk", columns = "id" },
  { type = "unique", name = "bookings_order_key", columns = ["order_id", "code"] },
  { type = "check", name = "bookings_price_positive", check = "price >= 0" },
  { type = "foreign_key", name = "bookings_order_fkey", columns = "order_id", references = { table = "orders", columns = "id" }, on_update = "cascade", on_delete = "set null", match = "full" },
  { type = "exclude", name = "bookings_no_overlap", elements = [{ column = "during", with = "&&" }], where = "price > 0" },
]
"#,
        |db| {
            let constraints = db.rows(
                "SELECT conname || ':' || contype::text || ':' || pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE conrelid = 'bookings'::regclass ORDER BY conname",
            );
            let expected = [
                "bookings_code_check:c:CHECK ((code <> ''::text))",
                "bookings_code_key:u:UNIQUE (code)",
                "bookings_no_overlap:x:EXCLUDE USING gist (during WITH &&) WHERE ((price > (0)::numeric))",
                "bookings_order_fkey:f:FOREIGN KEY (order_id) REFERENCES orders(id) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL",
                "bookings_order_key:u:UNIQUE (order_id, code)",
                "bookings_pk:p:PRIMARY KEY (id)",
                "bookings_price_positive:c:CHECK ((price >= (0)::numeric))",
                "bookings_user_id_fkey:f:FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
            ];
            assert_eq!(constraints, expected);
            assert_eq!(
                one_row(
                    db,
                    "SELECT attname || ':' || attidentity::text || ':' || attgenerated::text || ':' || attnotnull FROM pg_attribute \
                     WHERE attrelid = 'bookings'::regclass AND attname IN ('id', 'price_with_tax') ORDER BY attname"
                ),
                "id:a::true|price_with_tax::s:false"
            );
            assert_eq!(
                one_row(
                    db,
                    "SELECT obj_description('bookings'::regclass, 'pg_class') || '/' || col_description('bookings'::regclass, 2)"
                ),
                "Room bookings/the public code"
            );
            db.exec(
                "INSERT INTO bookings (code, user_id, order_id, during, price) VALUES ('a', 1, 1, '[2026-01-01,2026-01-05)', 10)",
            );
            assert_eq!(
                one_row(db, "SELECT id || ':' || price_with_tax FROM bookings"),
                "1:12.00"
            );
            let overlap = db.session().try_exec(
                "INSERT INTO bookings (code, during, price) VALUES ('b', '[2026-01-03,2026-01-04)', 5)",
            );
            assert!(
                overlap.is_err_and(|e| e.contains("bookings_no_overlap")),
                "an overlapping booking must be refused by the exclusion constraint"
            );
        },
    );
}

#[test]
fn add_index_with_every_option_on_postgres() {
    postgres_round_trip(
        r#"
[[expand]]
op = "add_index"
table = "users"
columns = [{ expression = "lower(email)" }, { column = "name", collate = "C", order = "desc", nulls = "last" }]
include = ["id"]
with = { fillfactor = 70, deduplicate_items = false }
tablespace = "pg_default"
where = "email IS NOT NULL"

[[expand]]
op = "add_index"
table = "users"
columns = [{ column = "name", opclass = "text_pattern_ops" }, { column = "id", order = "asc", nulls = "first" }]
"#,
        |db| {
            assert_eq!(
                db.rows(
                    "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'users'::regclass \
                     AND NOT indisprimary ORDER BY indexrelid::regclass::text"
                ),
                [
                    "CREATE INDEX users_lower_name_idx ON public.users USING btree (lower(email), name COLLATE \"C\" DESC NULLS LAST) INCLUDE (id) WITH (fillfactor='70', deduplicate_items='false') WHERE (email IS NOT NULL)",
                    "CREATE INDEX users_name_id_idx ON public.users USING btree (name text_pattern_ops, id NULLS FIRST)",
                ]
            );
        },
    );
}

#[test]
fn add_foreign_key_with_every_option_on_postgres() {
    postgres_round_trip(
        r#"
[[expand]]
op = "add_foreign_key"
table = "orders"
columns = "user_id"
references = { table = "users", columns = "id" }
on_delete = "set null"
on_update = "cascade"
match = "full"
deferrable = true
initially = "deferred"
"#,
        |db| {
            assert_eq!(
                one_row(
                    db,
                    "SELECT pg_get_constraintdef(oid) || ':' || convalidated FROM pg_constraint WHERE conname = 'orders_user_id_fkey'"
                ),
                "FOREIGN KEY (user_id) REFERENCES users(id) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED:true"
            );
        },
    );
}

/// A plan file with `text`, kept alive with its directory.
fn plan_file(text: &str) -> (Plans, PathBuf) {
    let plans = Plans::new();
    let file = plans.write("0001_shape.toml", text);
    (plans, file)
}

#[test]
fn sql_written_as_an_index_column_name_is_refused_with_the_table_to_write() {
    let (_plans, file) = plan_file(
        "[[expand]]\nop = \"add_index\"\ntable = \"users\"\ncolumns = [\"id int8_ops\"]\n",
    );
    Cli::check()
        .plan(&file)
        .code(2)
        .stdout_has("lists `id int8_ops`, which is not a column name")
        .stdout_has("{ column = \"id\", opclass = \"int8_ops\" }")
        .run();
}

#[test]
fn sqlite_refuses_what_it_has_not_at_plan() {
    let refused = [
        (
            "create_table",
            "columns = [{ name = \"id\", type = \"bigint\", identity = \"always\" }]",
            "SQLite has no identity columns",
        ),
        (
            "create_table",
            "columns = [{ name = \"id\", type = \"bigint\", comment = \"x\" }]",
            "SQLite has no comments",
        ),
        (
            "create_table",
            "columns = [{ name = \"d\", type = \"text\" }]\nconstraints = [{ type = \"exclude\", elements = [{ column = \"d\", with = \"=\" }] }]",
            "SQLite has no exclusion constraints",
        ),
        (
            "add_index",
            "columns = \"name\"\ninclude = \"id\"",
            "SQLite has no INCLUDE columns",
        ),
        (
            "add_index",
            "columns = [{ column = \"name\", opclass = \"text_pattern_ops\" }]",
            "SQLite has no operator classes",
        ),
        (
            "add_index",
            "columns = \"name\"\nwith = { fillfactor = 70 }",
            "SQLite indexes have no storage parameters",
        ),
        (
            "add_foreign_key",
            "columns = \"user_id\"\nreferences = { table = \"users\", columns = \"id\" }\nmatch = \"full\"",
            "SQLite parses MATCH FULL",
        ),
    ];
    for (op, keys, why) in refused {
        let (_plans, file) = plan_file(&format!(
            "[[expand]]\nop = \"{op}\"\ntable = \"t\"\n{keys}\n"
        ));
        Cli::check().plan(&file).run();
        Cli::plan_cmd()
            .plan(&file)
            .args(["--dialect", "sqlite"])
            .code(2)
            .stderr_has(&format!("{op} is not supported on sqlite"))
            .stderr_has(why)
            .run();
    }
}

#[test]
fn sqlite_creates_the_shapes_it_has_and_rolls_them_back() {
    let db = SqliteDb::new();
    db.exec("CREATE TABLE users (id integer PRIMARY KEY, name text, email text)");
    db.exec("INSERT INTO users VALUES (1, 'Ada', 'ADA@example.com')");
    let (_plans, file) = plan_file(
        r#"
[[expand]]
op = "create_table"
table = "orders"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "code", type = "text", unique = true, check = "code <> ''" },
  { name = "user_id", type = "integer", references = { table = "users", column = "id", on_delete = "cascade" } },
  { name = "qty", type = "integer", default = "1" },
  { name = "double_qty", type = "integer", generated = "qty * 2" },
]
constraints = [
  { type = "check", name = "orders_qty_positive", check = "qty > 0" },
  { type = "unique", name = "orders_user_code_key", columns = ["user_id", "code"] },
]

[[expand]]
op = "add_index"
table = "users"
columns = [{ expression = "lower(email)", collate = "NOCASE", order = "desc" }]
where = "email IS NOT NULL"

[[expand]]
op = "add_foreign_key"
table = "orders"
columns = "user_id"
references = { table = "users", columns = "id" }
name = "orders_user_fkey"
on_update = "cascade"
deferrable = true
initially = "deferred"

[[switch]]
op = "add_check"
table = "orders"
name = "orders_code_short"
check = "length(code) < 10"
"#,
    );
    Cli::apply(&db).yes().plan(&file).run();
    let orders = db.sql_of("orders").expect("orders exists");
    for part in [
        "\"code\" text UNIQUE CHECK (code <> '')",
        "REFERENCES \"users\" (\"id\") ON DELETE CASCADE",
        "\"double_qty\" integer GENERATED ALWAYS AS (qty * 2) STORED",
        "CONSTRAINT \"orders_qty_positive\" CHECK (qty > 0)",
        "CONSTRAINT \"orders_user_code_key\" UNIQUE (\"user_id\", \"code\")",
        "CONSTRAINT \"orders_code_short\" CHECK (length(code) < 10)",
    ] {
        assert!(orders.contains(part), "{part} is not in {orders}");
    }
    assert!(db
        .sql_of("users_lower_idx")
        .expect("the index exists")
        .contains("((lower(email)) COLLATE \"NOCASE\" DESC) WHERE email IS NOT NULL"));
    assert!(orders.contains("CONSTRAINT \"orders_user_fkey\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED"));
    db.exec("INSERT INTO orders (id, code, user_id, qty) VALUES (1, 'a', 1, 3)");
    assert_eq!(db.rows("SELECT double_qty FROM orders"), ["6"]);
    Cli::rollback(&db).yes().plan(&file).run();
    assert!(!db.table_exists("orders"));
    assert!(!db.index_exists("users_lower_idx"));
}
