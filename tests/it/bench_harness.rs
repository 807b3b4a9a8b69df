//! The backfill benchmark's parts (`benches/backfill/support`), checked so that the figures it
//! prints can be trusted: latency math, URLs, the table and baseline UPDATE, the workload, the
//! child-process runner, and the PostgreSQL replica-lag query of the throttle.

#[allow(dead_code)]
#[path = "../../benches/backfill/support/mod.rs"]
mod support;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use support::keyset::{self, KeysetMode};
use support::latency::{percentile, Latencies};
use support::scratch::{self, Server};
use support::workload::{Workload, WorkloadConfig};
use support::{child, machine, report, table};

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh scratch database on the test server (the test fails, with how to start PostgreSQL,
/// when the server cannot be reached).
async fn scratch_database(label: &str) -> (Server, String) {
    let server = Server::connect(&server_url())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let url = server
        .create_database(&format!("test_{label}"))
        .await
        .unwrap();
    (server, url)
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let samples: Vec<u64> = (1..=100).collect();
    assert_eq!(percentile(&samples, 50.0), Some(50));
    assert_eq!(percentile(&samples, 99.0), Some(99));
    assert_eq!(percentile(&samples, 100.0), Some(100));
    assert_eq!(percentile(&samples, 0.0), Some(1));
    assert_eq!(percentile(&[7], 99.0), Some(7));
    assert_eq!(percentile(&[1, 2, 3], 50.0), Some(2));
    assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
    assert_eq!(percentile(&[], 50.0), None);
    // 1 µs … 1000 µs: exact ranks.
    let mut latencies = Latencies::default();
    for i in 1..=1000u64 {
        latencies.record(Duration::from_micros(i));
    }
    let summary = latencies.clone().summary();
    assert_eq!(summary.count, 1000);
    assert_eq!(summary.p50, Duration::from_micros(500));
    assert_eq!(summary.p99, Duration::from_micros(990));
    assert_eq!(summary.max, Duration::from_micros(1000));
    // Ten slow samples are 1% (p99 stays fast); eleven are more than 1% (p99 is slow).
    let mut ten = latencies.clone();
    let mut eleven = latencies;
    for _ in 0..10 {
        ten.record(Duration::from_secs(2));
        eleven.record(Duration::from_secs(2));
    }
    let mut one_more = Latencies::default();
    one_more.record(Duration::from_secs(2));
    eleven.merge(one_more);
    let ten = ten.summary();
    assert_eq!(
        (ten.count, ten.p99, ten.max),
        (1010, Duration::from_micros(1000), Duration::from_secs(2))
    );
    let eleven = eleven.summary();
    assert_eq!((eleven.count, eleven.p99), (1011, Duration::from_secs(2)));
    assert_eq!(Latencies::default().summary().count, 0);
}

#[test]
fn database_urls_are_rewritten_for_scratch_databases() {
    let cases = [
        (
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@127.0.0.1:5432/scratch",
        ),
        (
            "postgres://u:p@h/db?sslmode=disable",
            "postgres://u:p@h/scratch?sslmode=disable",
        ),
        ("postgres://localhost", "postgres://localhost/scratch"),
        (
            "postgresql://h:5433?application_name=x",
            "postgresql://h:5433/scratch?application_name=x",
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(scratch::database_url(url, "scratch"), expected, "{url}");
        assert_eq!(scratch::database_name(expected), Some("scratch"));
    }
    assert_eq!(scratch::database_name("postgres://localhost"), None);
    assert_eq!(
        scratch::redact("postgres://user:secret@host:5432/db"),
        "postgres://user:***@host:5432/db"
    );
    assert_eq!(
        scratch::redact("postgres://user@host/db"),
        "postgres://user@host/db"
    );
}

#[test]
fn proc_files_are_read_right() {
    let status = "Name:\tbellows\nVmPeak:\t  200000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t   12000 kB\n";
    assert_eq!(child::parse_vm_hwm(status), Some(12345));
    assert_eq!(
        child::parse_vm_hwm("Name:\tzombie\nState:\tZ (zombie)\n"),
        None
    );
    assert_eq!(
        machine::mem_total_kib("MemTotal:       24589052 kB\nMemFree: 1 kB\n"),
        Some(24589052)
    );
    assert_eq!(
        machine::cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n").as_deref(),
        Some("AMD EPYC 7B13")
    );
    // This process: VmHWM is there and plausible.
    let own = child::peak_rss_kib(std::process::id()).unwrap();
    assert!(own > 100, "{own} KiB");
}

#[test]
fn numbers_and_tables_are_formatted() {
    assert_eq!(report::thousands(0), "0");
    assert_eq!(report::thousands(999), "999");
    assert_eq!(report::thousands(1000), "1,000");
    assert_eq!(report::thousands(1234567), "1,234,567");
    assert_eq!(report::millis(Duration::from_micros(1234)), "1.23");
    assert_eq!(report::millis(Duration::from_micros(45_670)), "45.7");
    assert_eq!(report::millis(Duration::from_millis(12_345)), "12,345");
    let text = report::table(
        &["name", "n"],
        &[
            vec!["a".into(), "1".into()],
            vec!["longer".into(), "1,000".into()],
        ],
    );
    assert_eq!(
        text,
        "name        n\n------  -----\na           1\nlonger  1,000\n"
    );
}

#[test]
fn the_generated_plans_are_valid_bellows_plans() {
    for batch_size in [None, Some(5000)] {
        let text = table::backfill_plan("bench_default", batch_size);
        let loaded = bellows::plan::load::load_str(Path::new("bench.toml"), &text);
        assert!(!loaded.has_errors(), "{text}\n{:#?}", loaded.diagnostics);
        let plan = loaded.plan.unwrap();
        assert_eq!(plan.name, "bench_default");
        assert_eq!(plan.steps.len(), 1);
        let bellows::ops::Op::Backfill(step) = &plan.steps[0].op else {
            panic!("not a backfill: {:?}", plan.steps[0].op);
        };
        assert_eq!(step.table.name, "users");
        assert_eq!(
            step.set,
            vec![(
                "email_verified".to_string(),
                "verified_at IS NOT NULL".to_string()
            )]
        );
        assert_eq!(step.filter.as_deref(), Some("email_verified IS NULL"));
        assert_eq!(step.batch_size, batch_size);
        // The keyset reference contender runs exactly this step.
        let reference = keyset::backfill_step(batch_size.unwrap_or(1000));
        assert_eq!(
            bellows::ops::Backfill {
                batch_size: reference.batch_size,
                ..step.clone()
            },
            reference
        );
    }
}

#[test]
fn the_plan_shape_adds_syncs_and_backfills_the_column() {
    let text = table::plan_shape("bench_plan");
    let loaded = bellows::plan::load::load_str(Path::new("bench.toml"), &text);
    assert!(!loaded.has_errors(), "{text}\n{:#?}", loaded.diagnostics);
    let ops: Vec<&str> = loaded
        .plan
        .unwrap()
        .steps
        .iter()
        .map(|s| s.op.name())
        .collect();
    assert_eq!(ops, ["add_column", "sync_column", "backfill"]);
}

#[tokio::test]
async fn the_keyset_references_backfill_every_row_once() {
    let (server, url) = scratch_database("keyset").await;
    let mut conn = scratch::connect(&url, "bellows-test").await.unwrap();
    for mode in [
        KeysetMode::Dialect {
            async_commit: false,
        },
        KeysetMode::Dialect { async_commit: true },
        KeysetMode::OneStatement,
    ] {
        table::build_users(&mut conn, 2500, true).await.unwrap();
        let run = keyset::run(conn.postgres().unwrap(), 1000, mode)
            .await
            .unwrap();
        assert_eq!((run.updated, run.batches), (2500, 3), "{mode:?}");
        assert_eq!(table::wrong_rows(&mut conn).await.unwrap(), 0, "{mode:?}");
        let checkpoint: (String, i64) =
            sqlx::query_as("SELECT last_key, rows_done FROM bench_checkpoint")
                .fetch_one(conn.postgres().unwrap())
                .await
                .unwrap();
        assert_eq!(checkpoint, ("2500".to_string(), 2500), "{mode:?}");
        // A second walk finds nothing left to write (the plan's `where`).
        let again = keyset::run(conn.postgres().unwrap(), 1000, mode)
            .await
            .unwrap();
        assert_eq!((again.updated, again.batches), (0, 3), "{mode:?}");
    }
    drop(conn);
    server.drop_database(&url).await.unwrap();
}

#[tokio::test]
async fn the_table_is_built_and_the_baseline_update_makes_every_row_right() {
    let (server, url) = scratch_database("table").await;
    let mut conn = scratch::connect(&url, "bellows-test").await.unwrap();
    table::build_users(&mut conn, 3000, true).await.unwrap();
    assert_eq!(table::row_count(&mut conn).await.unwrap(), 3000);
    // Every row still needs the backfill; a third were never verified.
    assert_eq!(table::wrong_rows(&mut conn).await.unwrap(), 3000);
    let never: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE verified_at IS NULL")
        .fetch_one(conn.postgres().unwrap())
        .await
        .unwrap();
    assert_eq!(never, 1000);
    let ids: (i64, i64) = sqlx::query_as("SELECT min(id), max(id) FROM users")
        .fetch_one(conn.postgres().unwrap())
        .await
        .unwrap();
    assert_eq!(ids, (1, 3000));
    // Rebuilding gives the same table again.
    table::build_users(&mut conn, 3000, true).await.unwrap();
    assert_eq!(table::row_count(&mut conn).await.unwrap(), 3000);

    let (updated, elapsed) = table::baseline_update(&mut conn).await.unwrap();
    assert_eq!(updated, 3000);
    assert!(elapsed > Duration::ZERO);
    assert_eq!(table::wrong_rows(&mut conn).await.unwrap(), 0);
    // One row broken again is seen.
    sqlx::query("UPDATE users SET email_verified = NULL WHERE id = 7")
        .execute(conn.postgres().unwrap())
        .await
        .unwrap();
    assert_eq!(table::wrong_rows(&mut conn).await.unwrap(), 1);
    drop(conn);
    server.drop_database(&url).await.unwrap();
    assert!(server.drop_all().await.is_empty());
    assert!(!database_exists(&server, &url).await);
}

async fn database_exists(server: &Server, url: &str) -> bool {
    let name = scratch::database_name(url).unwrap().to_string();
    let mut admin = server.admin().await.unwrap();
    sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(admin.postgres().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_workload_runs_reads_and_writes_without_errors() {
    let (server, url) = scratch_database("workload").await;
    let mut conn = scratch::connect(&url, "bellows-test").await.unwrap();
    table::build_users(&mut conn, 2000, true).await.unwrap();

    // Flat out: as many operations as the connections can do.
    let config = WorkloadConfig {
        url: url.clone(),
        connections: 2,
        rows: 2000,
        rate: 0.0,
    };
    let report = support::workload::run_for(&config, Duration::from_millis(400))
        .await
        .unwrap();
    assert!(report.ops > 20, "{report:?}");
    assert_eq!(report.errors, 0, "{:?}", report.first_error);
    assert_eq!(report.latency.count as u64, report.ops);
    assert!(report.latency.p50 <= report.latency.p99 && report.latency.p99 <= report.latency.max);
    assert!(report.elapsed >= Duration::from_millis(400));
    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE payload LIKE 'workload %'")
            .fetch_one(conn.postgres().unwrap())
            .await
            .unwrap();
    assert!(written > 0, "the workload's UPDATEs reached the table");

    // At a rate: 2 connections × 50 ops/s for 1 s is about 100 operations.
    let config = WorkloadConfig {
        rate: 50.0,
        ..config
    };
    let workload = Workload::start(&config).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = workload.stop().await;
    assert!((80..=110).contains(&report.ops), "{report:?}");
    assert!((report.ops_per_second() - 100.0).abs() < 25.0, "{report:?}");
    assert_eq!(report.errors, 0, "{:?}", report.first_error);

    drop(conn);
    server.drop_database(&url).await.unwrap();
}

#[tokio::test]
async fn workload_latency_counts_the_time_a_lock_held_it_up() {
    let (server, url) = scratch_database("locked").await;
    let mut conn = scratch::connect(&url, "bellows-test").await.unwrap();
    table::build_users(&mut conn, 10, true).await.unwrap();
    // Lock every row for 600 ms, as the single UPDATE does for its whole run.
    let mut holder = scratch::connect(&url, "bellows-test").await.unwrap();
    sqlx::raw_sql("BEGIN; UPDATE users SET email_verified = true")
        .execute(holder.postgres().unwrap())
        .await
        .unwrap();
    let config = WorkloadConfig {
        url: url.clone(),
        connections: 1,
        rows: 10,
        rate: 100.0,
    };
    let workload = Workload::start(&config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    sqlx::raw_sql("ROLLBACK")
        .execute(holder.postgres().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = workload.stop().await;
    assert_eq!(report.errors, 0, "{:?}", report.first_error);
    assert!(
        report.latency.max >= Duration::from_millis(450),
        "{report:?}"
    );
    // Operations due while the first UPDATE waited are counted late too: p50 is high.
    assert!(
        report.latency.p50 >= Duration::from_millis(100),
        "{report:?}"
    );
    drop((conn, holder));
    server.drop_database(&url).await.unwrap();
}

#[tokio::test]
async fn a_child_process_is_measured_and_its_failure_reported() {
    let dir = tempfile::tempdir().unwrap();
    let sh = Path::new("/bin/sh");
    let args = |script: &str| -> Vec<OsString> { vec!["-c".into(), script.into()] };

    let ok = child::run(
        sh,
        &args("echo one; echo two; sleep 0.1"),
        &dir.path().join("ok"),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(ok.status.success());
    assert_eq!(ok.failure(), None);
    assert_eq!(ok.stdout_lines, 2);
    assert_eq!(ok.stdout_tail, vec!["one", "two"]);
    assert!(ok.wall >= Duration::from_millis(100));
    assert!(ok.peak_rss_kib.is_some_and(|kib| kib > 0), "{ok:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ok.stdout")).unwrap(),
        "one\ntwo\n"
    );

    let bad = child::run(
        sh,
        &args("echo '{\"event\":\"start\"}'; echo 'error: `bellows apply` is not written yet' >&2; exit 1"),
        &dir.path().join("bad"),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let failure = bad.failure().unwrap();
    assert!(failure.contains("exit status: 1"), "{failure}");
    assert!(failure.contains("not written yet"), "{failure}");

    let slow = child::run(
        sh,
        &args("sleep 5"),
        &dir.path().join("slow"),
        Duration::from_millis(200),
    )
    .await;
    let error = slow.unwrap_err().to_string();
    assert!(error.contains("killed"), "{error}");

    let missing =
        child::locate_binary(Some("/nonexistent/bellows".into()), "/also/not/here").unwrap_err();
    assert!(missing.to_string().contains("BELLOWS_BIN"), "{missing}");
    assert_eq!(
        child::locate_binary(None, "/bin/sh").unwrap(),
        Path::new("/bin/sh")
    );
}

#[tokio::test]
async fn the_replica_lag_query_runs_on_postgres() {
    let mut conn = scratch::connect(&server_url(), "bellows-test")
        .await
        .unwrap_or_else(|e| panic!("{e:#}; {}", scratch::START_HINT));
    let text: String = sqlx::query_scalar(bellows::engine::throttle::POSTGRES_REPLICA_LAG_SQL)
        .fetch_one(conn.postgres().unwrap())
        .await
        .unwrap();
    // The test server has no replica: no lag; the test role (a superuser) may read it.
    let state = bellows::engine::throttle::ReplicaState::parse(&text).expect(&text);
    assert_eq!(
        (state.replay_lag, state.unreplayed_bytes, state.standbys),
        (None, 0, 0)
    );
    assert!(state.readable);
    // A role without pg_read_all_stats is told it cannot read it.
    sqlx::raw_sql("DROP ROLE IF EXISTS bellows_no_stats; CREATE ROLE bellows_no_stats; SET ROLE bellows_no_stats")
        .execute(conn.postgres().unwrap())
        .await
        .unwrap();
    let text: String = sqlx::query_scalar(bellows::engine::throttle::POSTGRES_REPLICA_LAG_SQL)
        .fetch_one(conn.postgres().unwrap())
        .await
        .unwrap();
    sqlx::raw_sql("RESET ROLE; DROP ROLE bellows_no_stats")
        .execute(conn.postgres().unwrap())
        .await
        .unwrap();
    assert!(
        !bellows::engine::throttle::ReplicaState::parse(&text)
            .unwrap()
            .readable
    );
}

#[tokio::test]
async fn on_mariadb_the_table_the_single_update_and_the_workload_run_too() {
    let server = Server::connect(&crate::harness::db::mysql_server_url())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let url = server.create_database("mariadb").await.unwrap();
    let mut conn = scratch::connect(&url, "bellows-test").await.unwrap();
    assert!(conn.is_mysql());
    table::build_users(&mut conn, 3000, true).await.unwrap();
    assert_eq!(table::row_count(&mut conn).await.unwrap(), 3000);
    assert_eq!(table::wrong_rows(&mut conn).await.unwrap(), 3000);
    let config = WorkloadConfig {
        url: url.clone(),
        connections: 2,
        rows: 3000,
        rate: 100.0,
    };
    let workload = Workload::start(&config).await.unwrap();
    let (updated, _) = table::baseline_update(&mut conn).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = workload.stop().await;
    assert_eq!(updated, 3000);
    assert_eq!(table::wrong_rows(&mut conn).await.unwrap(), 0);
    assert!(report.ops > 0 && report.errors == 0, "{report:?}");
    let machine = machine::Machine::read(&mut conn).await.unwrap();
    assert!(machine.server.contains("MariaDB"), "{}", machine.server);
    assert!(
        conn.postgres().is_err(),
        "the keyset references are PostgreSQL's"
    );
    drop(conn);
    server.drop_database(&url).await.unwrap();
    assert!(server.drop_all().await.is_empty());
}
