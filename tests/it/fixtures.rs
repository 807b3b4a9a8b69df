//! `fixtures/`: the example tables and their seed rows, on SQLite and on PostgreSQL.

use std::path::Path;

use sqlx::Connection;

fn fixture(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

const START_POSTGRES: &str =
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
     or point TEST_DATABASE_URL at a server";

fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// (users, verified users, distinct emails, orders, orders whose user exists)
const COUNTS: &str = "SELECT
    (SELECT count(*) FROM users),
    (SELECT count(*) FROM users WHERE verified_at IS NOT NULL),
    (SELECT count(DISTINCT email) FROM users),
    (SELECT count(*) FROM orders),
    (SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id)";

#[tokio::test]
async fn sqlite_seed_makes_100000_users_70_percent_verified() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("fixture.db").display()
    );
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&fixture("sqlite/schema.sql"))
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::raw_sql(&fixture("sqlite/seed.sql"))
        .execute(&mut db)
        .await
        .unwrap();

    let counts: (i64, i64, i64, i64, i64) =
        sqlx::query_as(COUNTS).fetch_one(&mut db).await.unwrap();
    assert_eq!(counts, (100_000, 70_000, 100_000, 50_000, 50_000));
    let (name, email): (String, String) =
        sqlx::query_as("SELECT name, email FROM users WHERE id = 1")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), email.as_str()),
        ("Grace Lovelace", "grace.lovelace.1@example.com")
    );
    let seed_tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_temp_master WHERE name LIKE 'seed_%'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(seed_tables, 0, "the seed drops its temporary tables");
}

#[tokio::test]
async fn sqlite_seed_takes_the_row_count_from_seed_params() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("fixture.db").display()
    );
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&fixture("sqlite/schema.sql"))
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TEMP TABLE seed_params (users INTEGER NOT NULL); INSERT INTO seed_params VALUES (1000);")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::raw_sql(&fixture("sqlite/seed.sql"))
        .execute(&mut db)
        .await
        .unwrap();
    let counts: (i64, i64, i64, i64, i64) =
        sqlx::query_as(COUNTS).fetch_one(&mut db).await.unwrap();
    assert_eq!(counts, (1000, 700, 1000, 500, 500));
}

#[tokio::test]
async fn postgres_seed_makes_the_same_rows() {
    let admin_url = postgres_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at {admin_url}: {e}; {START_POSTGRES}")
        });
    let name = format!(
        "bellows_fixtures_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();

    let result = async {
        let url = scratch_url(&admin_url, &name);
        let mut db = sqlx::PgConnection::connect(&url).await?;
        sqlx::raw_sql(&fixture("postgres/schema.sql"))
            .execute(&mut db)
            .await?;
        sqlx::raw_sql(&fixture("postgres/seed.sql"))
            .execute(&mut db)
            .await?;
        let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(COUNTS).fetch_one(&mut db).await?;
        let first: (String, String) = sqlx::query_as("SELECT name, email FROM users WHERE id = 1")
            .fetch_one(&mut db)
            .await?;
        // the identity continues after the seeded ids
        let next_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (name, email) VALUES ('New', 'new@example.com') RETURNING id",
        )
        .fetch_one(&mut db)
        .await?;
        db.close().await?;
        Ok::<_, sqlx::Error>((counts, first, next_id))
    }
    .await;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();

    let (counts, first, next_id) = result.unwrap();
    assert_eq!(counts, (100_000, 70_000, 100_000, 50_000, 50_000));
    assert_eq!(
        first,
        (
            "Grace Lovelace".to_string(),
            "grace.lovelace.1@example.com".to_string()
        )
    );
    assert_eq!(next_id, 100_001);
}

/// `admin_url` with its database replaced by `database`.
fn scratch_url(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}
