//! Backfill progress a user can trust: the total counted exactly on a small or never-analysed
//! table, counts with thousands separators, the rate rounded.

use crate::harness::{seed_users_to_backfill, Cli, Plans, TestDb};

const FILL: &str = r#"
[[backfill]]
table = "users"
set = { email_verified = "verified_at IS NOT NULL" }
where = "email_verified IS NULL"
batch_size = 500
"#;

backend_test!(
    fn a_small_never_analysed_table_gets_its_exact_total(db) {
        seed_users_to_backfill(db, 5);
        let plans = Plans::new();
        let plan = plans.write("0001_fill.toml", FILL);
        Cli::apply(db)
            .plan(&plan)
            .stdout_has("backfill users.email_verified: 5/5 (100%) rows")
            .run();
    }
);

backend_test!(
    fn progress_counts_have_thousands_separators_and_a_whole_rate(db) {
        seed_users_to_backfill(db, 1_500);
        let plans = Plans::new();
        let plan = plans.write("0001_fill.toml", FILL);
        let out = Cli::apply(db)
            .plan(&plan)
            .stdout_has("/1,500 (")
            .stdout_has("  1,500 rows")
            .run();
        let rate = out
            .stdout
            .split(" rows/s")
            .next()
            .and_then(|head| head.rsplit(", ").next())
            .unwrap_or_default()
            .to_string();
        assert!(
            !rate.is_empty() && rate.chars().all(|c| c.is_ascii_digit() || c == ','),
            "a whole rate, not {rate:?}: {}",
            out.stdout
        );
    }
);

/// A table above the exact-count threshold, never analysed (autovacuum off on it): its total is
/// counted, not guessed from its size on disk, from the first event on.
#[test]
fn a_large_never_analysed_table_gets_its_exact_total_from_the_start() {
    let db = crate::harness::PostgresDb::new();
    db.exec(
        "CREATE TABLE fresh (id bigint PRIMARY KEY, a int, b int) WITH (autovacuum_enabled = false);
         INSERT INTO fresh SELECT i, i, NULL FROM generate_series(1, 150000) i;",
    );
    assert!(
        db.i64("SELECT reltuples::bigint FROM pg_class WHERE relname = 'fresh'") < 0,
        "the table must not have statistics for this test"
    );
    let plans = Plans::new();
    let plan = plans.write(
        "0001_fresh.toml",
        "[[backfill]]\ntable = \"fresh\"\nset = { b = \"a\" }\nbatch_size = 50000\n",
    );
    let out = Cli::apply(&db).args(["--format", "json"]).plan(&plan).run();
    let totals: Vec<u64> = out
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| {
            event["event"] == "backfill_started" || event["event"] == "backfill_progress"
        })
        .filter_map(|event| event["total"].as_u64())
        .collect();
    assert!(!totals.is_empty(), "{}", out.stdout);
    assert!(totals.iter().all(|t| *t == 150_000), "{totals:?}");
}
