//! `fixtures/`: the example tables and their seed rows, on SQLite and on PostgreSQL.

use std::path::Path;

use sqlx::{Connection, PgConnection};

pub fn fixture(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A PostgreSQL database of its own for one test, created on the server of `TEST_DATABASE_URL`
/// (or `DATABASE_URL`, or the local default); dropped by [`ScratchPostgres::drop`].
pub struct ScratchPostgres {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ScratchPostgres {
    pub async fn create(purpose: &str) -> ScratchPostgres {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .or_else(|_| std::env::var("DATABASE_URL"))
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {admin_url}: {e}; start it with \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
                 or point TEST_DATABASE_URL at a server"
            )
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("bellows_{purpose}_{}_{nanos}", std::process::id());
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = database_url(&admin_url, &name);
        ScratchPostgres {
            admin_url,
            name,
            url,
        }
    }
}

/// Drops the scratch database, even when the test panicked. `Drop` cannot await, so a thread
/// with a runtime of its own does it while the test's thread waits.
impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop the scratch database {}: {error}", self.name);
        }
    }
}

/// `url` with its database replaced by `database`.
fn database_url(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
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
    let scratch = ScratchPostgres::create("fixtures").await;
    let mut db = PgConnection::connect(&scratch.url).await.unwrap();
    sqlx::raw_sql(&fixture("postgres/schema.sql"))
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::raw_sql(&fixture("postgres/seed.sql"))
        .execute(&mut db)
        .await
        .unwrap();
    let counts: (i64, i64, i64, i64, i64) =
        sqlx::query_as(COUNTS).fetch_one(&mut db).await.unwrap();
    assert_eq!(counts, (100_000, 70_000, 100_000, 50_000, 50_000));
    let first: (String, String) = sqlx::query_as("SELECT name, email FROM users WHERE id = 1")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(
        first,
        (
            "Grace Lovelace".to_string(),
            "grace.lovelace.1@example.com".to_string()
        )
    );
    // the identity continues after the seeded ids
    let next_id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, email) VALUES ('New', 'new@example.com') RETURNING id",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(next_id, 100_001);
    db.close().await.unwrap();
}

#[test]
fn scratch_urls_keep_the_server_and_options() {
    assert_eq!(
        database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        database_url("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(database_url("postgres://u@h", "x"), "postgres://u@h/x");
}
