//! The operations that change only the catalog or attach keys (`set_comment`, `add_column`'s
//! `comment`, `drop_not_null`, `add_unique`, `add_primary_key`, `rename_index`,
//! `rename_constraint`, `set_replica_identity`) on a real PostgreSQL: applied through the
//! binary, the catalog checked, rolled back, and `pg_dump --schema-only` the same as before.

use crate::engine_ops_postgres::{round_trip_with, SCHEMA};
use crate::harness::{Cli, Plans, PostgresDb, TestDb};

fn text(db: &PostgresDb, sql: &str) -> String {
    db.rows(sql).join("\n")
}

#[test]
fn set_comment_and_add_column_comment_restore_the_previous_comments() {
    round_trip_with(
        "set_comment",
        "COMMENT ON COLUMN users.email IS 'where we write'; COMMENT ON TABLE orders IS 'old'",
        r#"
[[expand]]
op = "add_column"
table = "users"
column = "nickname"
type = "text"
comment = "what friends call them"

[[expand]]
op = "set_comment"
table = "users"
column = "email"
comment = "the login, lower-cased"

[[switch]]
op = "set_comment"
table = "users"
comment = "people who can log in"

[[contract]]
op = "set_comment"
table = "orders"
comment = ""
"#,
        |db| {
            assert_eq!(
                text(db, "SELECT col_description('users'::regclass, attnum) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname IN ('nickname', 'email') ORDER BY attname"),
                "the login, lower-cased\nwhat friends call them"
            );
            assert_eq!(
                text(db, "SELECT obj_description('users'::regclass, 'pg_class')"),
                "people who can log in"
            );
            assert_eq!(
                text(
                    db,
                    "SELECT coalesce(obj_description('orders'::regclass, 'pg_class'), 'NULL')"
                ),
                "NULL"
            );
        },
    );
}

#[test]
fn drop_not_null_is_undone_through_a_validated_check() {
    round_trip_with(
        "drop_not_null",
        "",
        "[[expand]]\nop = \"drop_not_null\"\ntable = \"users\"\ncolumn = \"name\"\n\n[[switch]]\nop = \"drop_not_null\"\ntable = \"users\"\ncolumn = \"email\"\n",
        |db| {
            assert!(!db.bool(
                "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'name'"
            ));
            // email was nullable already: its rollback must leave it so (the dump proves it).
        },
    );
}

#[test]
fn add_unique_is_a_real_constraint_that_drop_constraint_removes() {
    let db = PostgresDb::new();
    db.exec(SCHEMA);
    let before = crate::harness::schema_dump(&db.url);
    let plans = Plans::new();
    let add = plans.write(
        "0001_unique.toml",
        "[[expand]]\nop = \"add_unique\"\ntable = \"users\"\ncolumns = [\"email\"]\ninclude = [\"name\"]\n",
    );
    let drop = plans.write(
        "0002_drop_unique.toml",
        "[[contract]]\nop = \"drop_constraint\"\ntable = \"users\"\nname = \"users_email_key\"\n",
    );
    Cli::apply(&db).plan(&add).run();
    assert_eq!(
        text(&db, "SELECT contype::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'users_email_key'"),
        "u UNIQUE (email) INCLUDE (name)"
    );
    let with_unique = crate::harness::schema_dump(&db.url);
    Cli::apply(&db).yes().plan(&drop).run();
    assert!(
        !db.table_exists("users_email_key"),
        "the index went with the constraint"
    );
    Cli::rollback(&db).yes().plan(&drop).run();
    assert_eq!(crate::harness::schema_dump(&db.url), with_unique);
    Cli::rollback(&db).yes().plan(&add).run();
    assert_eq!(crate::harness::schema_dump(&db.url), before);
}

#[test]
fn add_unique_on_a_duplicate_fails_naming_the_key_and_leaves_no_invalid_index() {
    let db = PostgresDb::new();
    db.exec(SCHEMA);
    db.exec("UPDATE users SET email = 'twice@example.com' WHERE id IN (1, 2)");
    let plans = Plans::new();
    let file = plans.write(
        "0001_unique.toml",
        "[[expand]]\nop = \"add_unique\"\ntable = \"users\"\ncolumns = [\"email\"]\n",
    );
    let out = Cli::apply(&db).plan(&file).run_unchecked();
    let (code, all) = out.code_and_text();
    assert_ne!(code, Some(0), "{all}");
    assert!(all.contains("(email)=(twice@example.com)"), "{all}");
    assert_eq!(
        db.i64("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'users_email_key'"),
        0,
        "no INVALID index is left behind:\n{all}"
    );
    // Fixed data: the next run builds it.
    db.exec("UPDATE users SET email = 'once@example.com' WHERE id = 2");
    Cli::apply(&db).plan(&file).run();
    assert!(db.bool("SELECT count(*) = 1 FROM pg_constraint WHERE conname = 'users_email_key' AND contype = 'u'"));
}

#[test]
fn an_interrupted_add_unique_is_recognised_on_the_next_run() {
    let db = PostgresDb::new();
    db.exec(SCHEMA);
    // What a run that died after the concurrent build (before recording it) leaves.
    db.exec("CREATE UNIQUE INDEX users_email_key ON users (email)");
    let plans = Plans::new();
    let file = plans.write(
        "0001_unique.toml",
        "[[expand]]\nop = \"add_unique\"\ntable = \"users\"\ncolumns = [\"email\"]\n",
    );
    Cli::apply(&db)
        .plan(&file)
        .stdout_has("already exists as planned")
        .run();
    assert!(db.bool("SELECT count(*) = 1 FROM pg_constraint WHERE conname = 'users_email_key' AND contype = 'u'"));
}

#[test]
fn add_primary_key_makes_the_columns_not_null_first() {
    round_trip_with(
        "add_primary_key",
        "CREATE TABLE events (code text, seq integer, body text); INSERT INTO events SELECT 'c' || g, g, 'b' FROM generate_series(1, 50) g",
        r#"
[[expand]]
op = "add_primary_key"
table = "events"
columns = ["code", "seq"]
"#,
        |db| {
            assert_eq!(
                text(db, "SELECT contype::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'events_pkey'"),
                "p PRIMARY KEY (code, seq)"
            );
            assert_eq!(
                db.i64("SELECT count(*) FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype = 'c'"),
                0,
                "no helper check is left"
            );
        },
    );
}

#[test]
fn renames_of_an_index_and_a_constraint_are_undone() {
    round_trip_with(
        "renames",
        "",
        r#"
[[expand]]
op = "rename_index"
name = "users_email_idx"
to = "users_email_partial_idx"

[[switch]]
op = "rename_constraint"
table = "orders"
name = "orders_total_positive"
to = "orders_total_not_negative"
"#,
        |db| {
            assert!(db.table_exists("users_email_partial_idx"));
            assert!(db.bool("SELECT count(*) = 1 FROM pg_constraint WHERE conname = 'orders_total_not_negative'"));
        },
    );
}

#[test]
fn set_replica_identity_restores_the_previous_identity() {
    round_trip_with(
        "replica_identity",
        "ALTER TABLE orders REPLICA IDENTITY FULL",
        r#"
[[expand]]
op = "set_replica_identity"
table = "users"
identity = { index = "users_pkey" }

[[expand]]
op = "set_replica_identity"
table = "orders"
identity = "nothing"
"#,
        |db| {
            assert_eq!(
                text(db, "SELECT relname || '=' || relreplident::text FROM pg_class WHERE relname IN ('users', 'orders') ORDER BY relname"),
                "orders=n\nusers=i"
            );
        },
    );
}
