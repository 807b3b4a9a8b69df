//! Locking: DDL waits at most `lock_timeout` in the lock queue (so application reads are never
//! held up longer), retries with backoff, gives up with exit 4 and a rolled-back phase; one run
//! per database at a time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::harness::db::DialectKind;
use crate::harness::{runtime, seed_users, Cli, Plans, PostgresDb, TestDb};

const ADD_COLUMN: &str = r#"
[[expand]]
op = "add_column"
table = "users"
column = "nickname"
type = "text"
"#;

/// Runs `SELECT count(*) FROM users` in a loop on its own connection until stopped; returns
/// the longest time one of them took, and how many ran.
fn reader(url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(Duration, u32)> {
    std::thread::spawn(move || {
        let rt = runtime();
        rt.block_on(async move {
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .expect("reader connects");
            let mut longest = Duration::ZERO;
            let mut count = 0;
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let _: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
                    .fetch_one(&mut conn)
                    .await
                    .expect("the application's read never fails");
                longest = longest.max(started.elapsed());
                count += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (longest, count)
        })
    })
}

#[test]
fn ddl_behind_a_lock_holder_never_holds_up_reads_longer_than_lock_timeout_then_succeeds() {
    let db = PostgresDb::new();
    seed_users(&db, 1000);
    let plans = Plans::new();
    let plan = plans.write("0001_nick.toml", ADD_COLUMN);

    // Another session holds ACCESS SHARE on users in an open transaction.
    let mut holder = db.connect();
    db.block_on(async {
        sqlx::raw_sql("BEGIN; SELECT count(*) FROM users;")
            .execute(&mut holder)
            .await
            .unwrap();
    });
    let holder_pid: i32 = db.block_on(async {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut holder)
            .await
            .unwrap()
    });

    let stop = Arc::new(AtomicBool::new(false));
    let reads = reader(db.url.clone(), stop.clone());
    let started = Instant::now();
    let child = Cli::apply(&db)
        .args([
            "--format",
            "json",
            "--lock-timeout",
            "500ms",
            "--lock-retries",
            "30",
        ])
        .plan(&plan)
        .spawn();
    std::thread::sleep(Duration::from_millis(3000));
    // Still waiting: the column is not there while the holder holds its lock.
    assert!(!db.column_exists("users", "nickname"));
    db.block_on(async { sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap() });
    let out = child.wait();
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let (longest_read, reads_done) = reads.join().unwrap();

    let out = out.expect_code(0);
    assert!(db.column_exists("users", "nickname"));
    let events = out.json_lines();
    let retries: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "lock_retry")
        .collect();
    assert!(
        retries.len() >= 2,
        "expected retries while the holder held its lock"
    );
    assert!(
        retries
            .iter()
            .any(|e| e["blockers"][0]["pid"] == holder_pid as i64
                && e["blockers"][0]["state"] == "idle in transaction"),
        "retries name the blocking session: {retries:?}"
    );
    eprintln!(
        "lock wait: {} retries over {took:?}; {reads_done} concurrent reads, the longest took {longest_read:?} (lock_timeout 500ms)",
        retries.len()
    );
    assert!(
        reads_done > 20,
        "the reader ran throughout ({reads_done} reads)"
    );
    assert!(
        longest_read < Duration::from_millis(500 + 350),
        "a read waited {longest_read:?}, longer than about lock_timeout (500ms)"
    );
}

#[test]
fn when_the_holder_never_lets_go_apply_exits_4_with_the_phase_rolled_back() {
    let db = PostgresDb::new();
    seed_users(&db, 1000);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_stuck.toml",
        &format!(
            "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE side_table (id int)\"\ndown = \"DROP TABLE side_table\"\n{ADD_COLUMN}"
        ),
    );
    let mut holder = db.connect();
    db.block_on(async {
        sqlx::raw_sql("BEGIN; SELECT count(*) FROM users;")
            .execute(&mut holder)
            .await
            .unwrap();
    });
    let holder_pid: i32 = db.block_on(async {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut holder)
            .await
            .unwrap()
    });
    let out = Cli::new([
        "apply",
        "--lock-timeout",
        "200ms",
        "--lock-retries",
        "4",
        "-d",
        &db.url,
    ])
    .arg(&plan)
    .code(4)
    .run();
    let stderr = &out.stderr;
    assert!(stderr.contains("in 4 attempts"), "{stderr}");
    assert!(stderr.contains(&format!("pid {holder_pid}")), "{stderr}");
    assert!(
        stderr.contains("the expand phase was rolled back"),
        "{stderr}"
    );
    assert!(!db.table_exists("side_table"));
    assert!(!db.column_exists("users", "nickname"));
    assert_eq!(
        db.ledger_states("0001_stuck"),
        ["expand/0=rolled_back", "expand/1=failed"]
    );
    // The run lock was released on the way out.
    assert_eq!(
        db.i64(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        0
    );
    db.block_on(async {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut holder)
            .await
            .unwrap()
    });

    // Once the table is free, the same apply finishes from the ledger's state.
    Cli::apply(&db).plan(&plan).run();
    assert!(db.table_exists("side_table") && db.column_exists("users", "nickname"));
}

backend_test! {
    fn a_second_run_exits_4_at_once_naming_the_holder(db) {
        seed_users(db, 6);
        let plans = Plans::new();
        // A slow first run: six one-row batches with a pause between them.
        let slow = plans.write(
            "0001_slow.toml",
            "[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"n\"\ntype = \"INTEGER\"\n\n[[backfill]]\ntable = \"users\"\nset = { n = \"id\" }\nbatch_size = 1\npause = \"1500ms\"\n",
        );
        let first = Cli::apply(db).plan(&slow).spawn();
        let holder = db.wait_for_run_lock("bellows apply 0001_slow");

        let started = Instant::now();
        let second = Cli::apply(db).yes().plan(&slow).code(4);
        // NOTE: MySQL has no application name: the holder is its connection, ended by KILL.
        let second = match db.dialect() {
            DialectKind::Mysql => second
                .stderr_has(&format!("connection {holder} ("))
                .stderr_has(&format!("KILL {holder}")),
            _ => second
                .stderr_has(&format!("pid {holder}"))
                .stderr_has("bellows apply 0001_slow"),
        };
        second.run();
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(4), "the second run waited {waited:?}");

        Cli::rollback(db).yes().plan(&slow).code(4).run();

        let (code, _, stderr) = first.finish();
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(db.run_lock(), None, "the lock goes with the run");
        assert_eq!(
            db.ledger_states("0001_slow"),
            ["expand/0=applied", "backfill/0=applied"]
        );
        assert_eq!(db.i64("SELECT count(*) FROM users WHERE n IS NULL OR n <> id"), 0);
    }
}
