//! Reference contenders: keyset batches driven from the benchmark itself, each batch one
//! transaction that also writes a checkpoint row, as bellows' engine does. They show what a
//! backfill of this shape can reach on the machine, so that bellows' own figures can be read
//! against them:
//!
//! - [`KeysetMode::Dialect`]: the batch SQL of bellows' PostgreSQL dialect (a bounds query, then
//!   a range UPDATE, then the checkpoint, then COMMIT: four round trips), optionally with
//!   `synchronous_commit = off`;
//! - [`KeysetMode::OneStatement`]: the same work as one statement per batch (bounds, update and
//!   checkpoint as data-modifying CTEs; one round trip, its own transaction) with
//!   `synchronous_commit = off`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bellows::dialect::postgres::Postgres;
use bellows::dialect::Dialect;
use bellows::ops::Backfill;
use bellows::vocab::TableName;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use super::table;

/// How the reference loop runs its batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysetMode {
    /// bellows' dialect SQL, statement by statement in a transaction.
    Dialect { async_commit: bool },
    /// One statement per batch, asynchronous commit.
    OneStatement,
}

/// What a reference loop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysetRun {
    pub updated: u64,
    pub batches: u64,
    pub elapsed: Duration,
}

/// The backfill step of the benchmark's plan, as bellows models it.
pub fn backfill_step(batch_size: u64) -> Backfill {
    Backfill {
        table: TableName::parse("users"),
        set: vec![(
            table::SET_COLUMN.to_string(),
            table::SET_EXPRESSION.to_string(),
        )],
        filter: Some(table::FILTER.to_string()),
        key: None,
        batch_size: Some(batch_size),
        pause: None,
        target_batch_time: None,
        max_lag: None,
        throttle_query: None,
        parallel: None,
    }
}

/// Walks `users` by `id` in batches of `batch_size`.
pub async fn run(conn: &mut PgConnection, batch_size: u64, mode: KeysetMode) -> Result<KeysetRun> {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS bench_checkpoint;
         CREATE TABLE bench_checkpoint (id int PRIMARY KEY, last_key text, rows_done bigint NOT NULL);
         INSERT INTO bench_checkpoint VALUES (1, NULL, 0)",
    )
    .execute(&mut *conn)
    .await?;
    match mode {
        KeysetMode::Dialect { async_commit } => dialect_loop(conn, batch_size, async_commit).await,
        KeysetMode::OneStatement => one_statement_loop(conn, batch_size).await,
    }
}

async fn dialect_loop(
    conn: &mut PgConnection,
    batch_size: u64,
    async_commit: bool,
) -> Result<KeysetRun> {
    let step = backfill_step(batch_size);
    let key = vec!["id".to_string()];
    let started = Instant::now();
    let mut after: Option<Vec<String>> = None;
    let (mut updated, mut batches) = (0u64, 0u64);
    loop {
        let mut tx = conn.begin().await?;
        if async_commit {
            // The checkpoint commits with the batch, so a batch lost in a crash is lost with its
            // checkpoint and simply redone: the commit need not wait for the WAL flush.
            sqlx::raw_sql("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
        let bounds = Postgres.backfill_bounds_sql(&step, &key, after.as_deref(), None, batch_size);
        // Each batch's SQL carries its key literals, so it is not kept as a prepared statement.
        let row = sqlx::query(&bounds)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .context("the keyset bounds query failed")?;
        let scanned: i64 = row.try_get("scanned")?;
        if scanned == 0 {
            tx.commit().await?;
            break;
        }
        let upto = vec![row.try_get::<String, _>("last_0")?];
        let update = Postgres.backfill_update_sql(&step, &key, after.as_deref(), &upto);
        let done = sqlx::query(&update)
            .persistent(false)
            .execute(&mut *tx)
            .await
            .context("the batch UPDATE failed")?;
        sqlx::query(
            "UPDATE bench_checkpoint SET last_key = $1, rows_done = rows_done + $2 WHERE id = 1",
        )
        .bind(&upto[0])
        .bind(done.rows_affected() as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        updated += done.rows_affected();
        batches += 1;
        after = Some(upto);
    }
    Ok(KeysetRun {
        updated,
        batches,
        elapsed: started.elapsed(),
    })
}

/// One batch as one statement: the next keys, the update of their range and the checkpoint, in
/// a single implicit transaction. `$1` is the last key done (0 before the first batch: ids
/// start at 1).
fn one_statement_sql(batch_size: u64) -> String {
    format!(
        "WITH batch AS (
            SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT {batch_size}
        ), bounds AS (
            SELECT count(*) AS scanned, max(id) AS last FROM batch
        ), done AS (
            UPDATE users SET {column} = ({expression})
            WHERE id > $1 AND id <= (SELECT last FROM bounds) AND ({filter})
            RETURNING 1
        ), checkpoint AS (
            UPDATE bench_checkpoint
            SET last_key = (SELECT CAST(last AS text) FROM bounds),
                rows_done = rows_done + (SELECT count(*) FROM done)
            WHERE id = 1 AND (SELECT scanned FROM bounds) > 0
        )
        SELECT scanned, last, (SELECT count(*) FROM done) AS updated FROM bounds",
        column = table::SET_COLUMN,
        expression = table::SET_EXPRESSION,
        filter = table::FILTER,
    )
}

async fn one_statement_loop(conn: &mut PgConnection, batch_size: u64) -> Result<KeysetRun> {
    let sql = one_statement_sql(batch_size);
    sqlx::raw_sql("SET synchronous_commit = off")
        .execute(&mut *conn)
        .await?;
    let started = Instant::now();
    let mut after: i64 = 0;
    let (mut updated, mut batches) = (0u64, 0u64);
    loop {
        let row = sqlx::query(&sql)
            .bind(after)
            .fetch_one(&mut *conn)
            .await
            .context("the one-statement batch failed")?;
        let scanned: i64 = row.try_get("scanned")?;
        if scanned == 0 {
            break;
        }
        after = row.try_get("last")?;
        updated += row.try_get::<i64, _>("updated")? as u64;
        batches += 1;
    }
    // The last commit is made durable before the run counts as done, as the engine's final
    // ledger write would.
    sqlx::raw_sql("SET synchronous_commit = on; UPDATE bench_checkpoint SET rows_done = rows_done WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(KeysetRun {
        updated,
        batches,
        elapsed: started.elapsed(),
    })
}
