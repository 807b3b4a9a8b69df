//! A reference contender: the same keyset batches bellows runs (the SQL comes from bellows'
//! PostgreSQL dialect), driven from the benchmark itself, each batch in one transaction with a
//! checkpoint row written, as the engine does. What it reaches is about what bellows' backfill
//! can reach; the difference is the engine's own overhead.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bellows::dialect::postgres::Postgres;
use bellows::dialect::Dialect;
use bellows::ops::Backfill;
use bellows::plan::model::TableName;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use super::table;

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
    }
}

/// Walks `users` by `id` in batches of `batch_size`; returns the rows updated, the batches and
/// the time taken.
pub async fn run(conn: &mut PgConnection, batch_size: u64) -> Result<(u64, u64, Duration)> {
    let step = backfill_step(batch_size);
    let key = vec!["id".to_string()];
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS bench_checkpoint;
         CREATE TABLE bench_checkpoint (id int PRIMARY KEY, last_key text, rows_done bigint NOT NULL);
         INSERT INTO bench_checkpoint VALUES (1, NULL, 0)",
    )
    .execute(&mut *conn)
    .await?;
    let started = Instant::now();
    let mut after: Option<Vec<String>> = None;
    let (mut updated, mut batches) = (0u64, 0u64);
    loop {
        let mut tx = conn.begin().await?;
        let bounds = Postgres.backfill_bounds_sql(&step, &key, after.as_deref(), batch_size);
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
        let last: String = row.try_get("last_0")?;
        let upto = vec![last];
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
    Ok((updated, batches, started.elapsed()))
}
