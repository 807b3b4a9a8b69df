//! Backfill progress a user can trust: the total counted exactly on a small or never-analysed
//! table, counts with thousands separators, the rate rounded.

use crate::harness::{seed_users_to_backfill, Cli, Plans};

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
