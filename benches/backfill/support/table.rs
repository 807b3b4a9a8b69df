//! The benchmark's table: `users` with N rows and a new, still empty `email_verified` column,
//! the baseline single `UPDATE`, and the check that every row is right afterwards.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::postgres::PgConnection;

/// The backfill every contender performs.
pub const SET_COLUMN: &str = "email_verified";
pub const SET_EXPRESSION: &str = "verified_at IS NOT NULL";
pub const FILTER: &str = "email_verified IS NULL";

/// The speed limit: the whole table in one statement (and one transaction that holds every
/// row's lock until it commits).
pub const BASELINE_UPDATE_SQL: &str = "UPDATE users SET email_verified = (verified_at IS NOT NULL)";

/// Rows whose `email_verified` is not what the backfill must make it.
pub const WRONG_ROWS_SQL: &str =
    "SELECT count(*) FROM users WHERE email_verified IS DISTINCT FROM (verified_at IS NOT NULL)";

/// (Re)creates `users` with `rows` rows, ids 1..=rows: a third of them never verified. The
/// `email_verified` column is added afterwards when `with_column`, as the expand phase would (no
/// rewrite: every row reads NULL; without it the contender's plan adds it). Then `VACUUM ANALYZE` (hint bits, visibility map, statistics) and a `CHECKPOINT`
/// so that every contender starts from the same clean state.
pub async fn build_users(
    conn: &mut PgConnection,
    rows: u64,
    with_column: bool,
) -> Result<Duration> {
    let started = Instant::now();
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS users;
         CREATE TABLE users (
             id bigint PRIMARY KEY,
             verified_at timestamptz,
             payload text NOT NULL
         )",
    )
    .execute(&mut *conn)
    .await
    .context("cannot create the users table")?;
    sqlx::query(
        "INSERT INTO users (id, verified_at, payload)
         SELECT g,
                CASE WHEN g % 3 = 0 THEN NULL
                     ELSE timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second' END,
                md5(g::text)
         FROM generate_series(1::bigint, $1::bigint) AS g",
    )
    .bind(i64::try_from(rows).context("row count too large")?)
    .execute(&mut *conn)
    .await
    .context("cannot fill the users table")?;
    if with_column {
        sqlx::raw_sql("ALTER TABLE users ADD COLUMN email_verified boolean")
            .execute(&mut *conn)
            .await?;
    }
    sqlx::raw_sql("VACUUM ANALYZE users")
        .execute(&mut *conn)
        .await
        .context("cannot vacuum the users table")?;
    // NOTE: CHECKPOINT needs superuser or (PostgreSQL 15+) pg_checkpoint; without it the run
    // is only a little noisier, so a refusal is not an error.
    let _ = sqlx::raw_sql("CHECKPOINT").execute(&mut *conn).await;
    Ok(started.elapsed())
}

/// Runs [`BASELINE_UPDATE_SQL`]; returns the rows it updated and how long it took.
pub async fn baseline_update(conn: &mut PgConnection) -> Result<(u64, Duration)> {
    sqlx::raw_sql("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    let started = Instant::now();
    let done = sqlx::query(BASELINE_UPDATE_SQL)
        .execute(&mut *conn)
        .await
        .context("the single UPDATE failed")?;
    Ok((done.rows_affected(), started.elapsed()))
}

/// [`WRONG_ROWS_SQL`]: 0 when the backfill is complete and right.
pub async fn wrong_rows(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar(WRONG_ROWS_SQL)
        .fetch_one(&mut *conn)
        .await?)
}

pub async fn row_count(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut *conn)
        .await?)
}

/// The plan each bellows contender applies: only a backfill step, with `batch_size` when given
/// (otherwise bellows' default).
pub fn backfill_plan(name: &str, batch_size: Option<u64>) -> String {
    let mut plan = format!(
        "name = \"{name}\"\n\
         description = \"bellows benchmark: backfill users.{SET_COLUMN}\"\n\
         \n\
         [[backfill]]\n\
         table = \"users\"\n\
         set = {{ {SET_COLUMN} = \"{SET_EXPRESSION}\" }}\n\
         where = \"{FILTER}\"\n"
    );
    if let Some(size) = batch_size {
        plan.push_str(&format!("batch_size = {size}\n"));
    }
    plan
}

/// The plan of the README and of issue 11, whole: the expand phase adds `email_verified` and
/// its sync trigger, the backfill fills the rows that existed before (default settings).
pub fn plan_shape(name: &str) -> String {
    format!(
        "name = \"{name}\"\n\
         description = \"bellows benchmark: add, sync and backfill users.{SET_COLUMN}\"\n\
         \n\
         [[expand]]\n\
         op = \"add_column\"\n\
         table = \"users\"\n\
         column = \"{SET_COLUMN}\"\n\
         type = \"boolean\"\n\
         \n\
         [[expand]]\n\
         op = \"sync_column\"\n\
         table = \"users\"\n\
         column = \"{SET_COLUMN}\"\n\
         from = \"{SET_EXPRESSION}\"\n\
         \n\
         [[backfill]]\n\
         table = \"users\"\n\
         set = {{ {SET_COLUMN} = \"{SET_EXPRESSION}\" }}\n\
         where = \"{FILTER}\"\n"
    )
}
