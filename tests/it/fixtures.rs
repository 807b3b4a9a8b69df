//! `fixtures/`: the example tables and their seed rows, the same on every backend.

use std::path::Path;

use bellows::dialect::DialectKind;
use sqlx::Connection;

use crate::harness::db::with_database;
use crate::harness::{SqliteDb, TestDb};

pub fn fixture(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The folder of `fixtures/` for the backend of `db`.
fn folder(db: &dyn TestDb) -> &'static str {
    match db.dialect() {
        DialectKind::Postgres => "postgres",
        DialectKind::Sqlite => "sqlite",
        DialectKind::Mysql => "mysql",
    }
}

/// The example tables of `fixtures/` with `users` users (the TEMPORARY table and the seed in
/// one batch: it lives only as long as the connection).
pub fn seed_examples(db: &dyn TestDb, users: i64) {
    db.exec(&fixture(&format!("{}/schema.sql", folder(db))));
    db.exec(&format!(
        "CREATE TEMPORARY TABLE seed_params (users bigint NOT NULL);
         INSERT INTO seed_params VALUES ({users});
         {}",
        fixture(&format!("{}/seed.sql", folder(db)))
    ));
}

/// (users, verified users, distinct emails, orders, orders whose user exists)
const COUNTS: &str = "SELECT
    (SELECT count(*) FROM users),
    (SELECT count(*) FROM users WHERE verified_at IS NOT NULL),
    (SELECT count(DISTINCT email) FROM users),
    (SELECT count(*) FROM orders),
    (SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id)";

backend_test!(
    fn the_seed_makes_100000_users_70_percent_verified(db) {
        db.exec(&fixture(&format!("{}/schema.sql", folder(db))));
        db.exec(&fixture(&format!("{}/seed.sql", folder(db))));
        assert_eq!(db.rows(COUNTS), ["100000|70000|100000|50000|50000"]);
        assert_eq!(
            db.rows("SELECT name, email FROM users WHERE id = 1"),
            ["Grace Lovelace|grace.lovelace.1@example.com"]
        );
        // The ids continue after the seeded ones.
        db.exec("INSERT INTO users (name, email) VALUES ('New', 'new@example.com')");
        assert_eq!(
            db.i64("SELECT id FROM users WHERE email = 'new@example.com'"),
            100_001
        );
    }
);

#[test]
fn the_sqlite_seed_drops_its_temporary_tables() {
    let db = SqliteDb::new();
    let mut conn = db.connect();
    db.block_on(async {
        sqlx::raw_sql(&fixture("sqlite/schema.sql"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql(&fixture("sqlite/seed.sql"))
            .execute(&mut conn)
            .await
            .unwrap();
        let seed_tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_temp_master WHERE name LIKE 'seed_%'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(seed_tables, 0, "the seed drops its temporary tables");
        conn.close().await.unwrap();
    });
}

backend_test!(
    fn the_seed_takes_the_row_count_from_seed_params(db) {
        seed_examples(db, 1000);
        assert_eq!(db.rows(COUNTS), ["1000|700|1000|500|500"]);
        assert_eq!(
            db.rows("SELECT name, email FROM users WHERE id = 1000"),
            ["Ada Lovelace|ada.lovelace.1000@example.com"]
        );
    }
);

#[test]
fn scratch_urls_keep_the_server_and_options() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
