//! The example plans of `plans/`, applied for real to the seeded example tables while an
//! application keeps reading and writing them: no application query fails or waits longer
//! than about the lock timeout, and afterwards every row is checked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::fixtures::seed_examples;
use crate::harness::{runtime, Cli, PostgresDb, TestDb};

/// What the application saw: queries run, failures, the slowest query.
#[derive(Debug, Default)]
struct Workload {
    queries: u64,
    errors: Vec<String>,
    slowest: Duration,
}

/// The old application: reads users by id, confirms emails (writes `verified_at`), signs up
/// users (writes `name`), places orders (writes `total_amount`), until stopped.
fn old_application(
    url: String,
    stop: Arc<AtomicBool>,
    worker: u64,
) -> std::thread::JoinHandle<Workload> {
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("the application connects");
            let mut seen = Workload::default();
            let mut n: u64 = worker * 1_000_000;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let id = (n * 7919 % 20_000 + 1) as i64;
                let statements: [(&str, Option<i64>); 4] = [
                    // NOTE: named columns: a prepared `SELECT *` fails after any ADD COLUMN ("cached plan
                    // must not change result type"), whatever tool changes the schema.
                    ("SELECT id, email, verified_at FROM users WHERE id = $1", Some(id)),
                    ("UPDATE users SET verified_at = now() WHERE id = $1 AND verified_at IS NULL", Some(id)),
                    ("INSERT INTO users (name, email) VALUES ('worker ' || $1, 'w' || $1 || '@example.com')", Some(n as i64)),
                    ("INSERT INTO orders (user_id, total_amount) VALUES ($1, 1234)", Some(id)),
                ];
                for (sql, arg) in statements {
                    let started = Instant::now();
                    let mut query = sqlx::query(sql);
                    if let Some(arg) = arg {
                        query = query.bind(arg);
                    }
                    if let Err(e) = query.execute(&mut conn).await {
                        seen.errors.push(format!("{sql}: {e}"));
                    }
                    seen.slowest = seen.slowest.max(started.elapsed());
                    seen.queries += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            seen
        })
    })
}

#[test]
fn the_example_plans_run_under_load_and_every_row_is_right() {
    let db = PostgresDb::new();
    seed_examples(&db, 20_000);
    db.exec(
        "CREATE TABLE before_names AS SELECT id, name FROM users;
         CREATE TABLE before_orders AS SELECT id, total_amount FROM orders;",
    );
    let plans = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");

    // Expand, backfill and switch of every plan while the old application runs.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|w| old_application(db.url.clone(), stop.clone(), w))
        .collect();
    let started = Instant::now();
    let out = Cli::apply(&db)
        .args(["--to", "switch"])
        .plan(&plans)
        .run_unchecked();
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let seen: Vec<Workload> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    out.expect_code(0);
    let queries: u64 = seen.iter().map(|s| s.queries).sum();
    let slowest = seen.iter().map(|s| s.slowest).max().unwrap();
    let errors: Vec<&String> = seen.iter().flat_map(|s| &s.errors).collect();
    eprintln!(
        "examples under load: apply --to switch took {took:?}; the application ran {queries} queries, \
         {} failed, the slowest took {slowest:?}",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} application queries failed, the first: {:?}",
        errors.len(),
        errors.first()
    );
    assert!(
        queries > 100,
        "the application ran throughout ({queries} queries)"
    );
    assert!(
        slowest < Duration::from_millis(1500),
        "an application query waited {slowest:?}"
    );

    // The new application is deployed; contract.
    Cli::apply(&db).yes().plan(&plans).run();

    // Every row, old and written during the run.
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS DISTINCT FROM (verified_at IS NOT NULL)"),
        0
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM users u JOIN before_names b USING (id) WHERE u.full_name IS DISTINCT FROM b.name"),
        0
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE id NOT IN (SELECT id FROM before_names) AND full_name NOT LIKE 'worker %'"),
        0
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM orders o JOIN before_orders b USING (id) WHERE o.total IS DISTINCT FROM b.total_amount / 100.0"),
        0
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM orders WHERE id NOT IN (SELECT id FROM before_orders) AND total IS DISTINCT FROM 12.34"),
        0
    );
    // The contract happened: old columns gone, new ones NOT NULL.
    assert!(!db.column_exists("users", "name"));
    assert!(!db.column_exists("orders", "total_amount"));
    assert!(db.bool(
        "SELECT bool_and(attnotnull) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname IN ('email_verified', 'full_name')"
    ));
    assert_eq!(
        db.i64("SELECT count(*) FROM bellows.steps WHERE state <> 'applied'"),
        0
    );
}
