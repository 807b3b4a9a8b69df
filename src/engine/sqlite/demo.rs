//! The database of `bellows demo`: a new SQLite file with the example tables and seeded rows.
//!
//! The file is marked with an `application_id`, so that the demo recreates only a database it
//! made itself and never replaces someone's own file given by mistake as `--path`.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::Connection;

use crate::engine::error::{DbContext, EngineError};

use super::in_write_transaction;

/// `PRAGMA application_id` of a demo database: "bdem".
pub const DEMO_APPLICATION_ID: i32 = 0x6264_656d;

/// What the database holds after seeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub users: u64,
    pub orders: u64,
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new().filename(path)
}

/// Whether the SQLite file at `path` was made by `bellows demo`.
pub async fn is_demo_database(path: &Path) -> Result<bool, EngineError> {
    let mut conn = SqliteConnection::connect_with(&options(path).read_only(true))
        .await
        .context(|| format!("opening {}", path.display()))?;
    let id: i32 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&mut conn)
        .await
        .context(|| format!("reading the application id of {}", path.display()))?;
    let _ = conn.close().await;
    Ok(id == DEMO_APPLICATION_ID)
}

/// Creates the database at `path` (which must not exist) from `schema` and `seed` (the
/// fixtures), with `users` users: all in one transaction, in WAL mode.
pub async fn create(
    path: &Path,
    schema: &str,
    seed: &str,
    users: u64,
) -> Result<Seeded, EngineError> {
    let context = || format!("creating the demo database {}", path.display());
    let mut conn = SqliteConnection::connect_with(
        &options(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal),
    )
    .await
    .context(context)?;
    // NOTE: the seed reads the number of users from the temporary table `seed_params` of the
    // same connection (see fixtures/sqlite/seed.sql).
    let script = format!(
        "PRAGMA application_id = {DEMO_APPLICATION_ID};
CREATE TEMP TABLE seed_params (users INTEGER NOT NULL);
INSERT INTO seed_params VALUES ({users});
{schema}
{seed}"
    );
    in_write_transaction(
        &mut conn,
        |e| e,
        async |conn| sqlx::raw_sql(&script).execute(conn).await.map(|_| ()),
    )
    .await
    .context(context)?;
    let (users, orders): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders)")
            .fetch_one(&mut conn)
            .await
            .context(context)?;
    let _ = conn.close().await;
    Ok(Seeded {
        users: users.max(0) as u64,
        orders: orders.max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, n INTEGER);
CREATE TABLE orders (id INTEGER PRIMARY KEY);";
    const SEED: &str = "INSERT INTO users (id, n)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < (SELECT users FROM seed_params))
SELECT n, n FROM seq;";

    #[tokio::test]
    async fn creates_a_marked_database_with_the_rows_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.db");
        let seeded = create(&path, SCHEMA, SEED, 1234).await.unwrap();
        assert_eq!(
            seeded,
            Seeded {
                users: 1234,
                orders: 0
            }
        );
        assert!(is_demo_database(&path).await.unwrap());
    }

    #[tokio::test]
    async fn another_sqlite_file_is_not_a_demo_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.db");
        let mut conn = SqliteConnection::connect_with(&options(&path).create_if_missing(true))
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE t (x)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        assert!(!is_demo_database(&path).await.unwrap());
    }
}
