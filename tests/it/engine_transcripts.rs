//! Snapshots of what a person reads from `apply`, `status` and `rollback` (not a terminal),
//! with times, checksums and paths redacted by the harness's transcript filters.

use crate::harness::{Cli, Plans, PostgresDb, TestDb};

const PLAN: &str = r#"
[[expand]]
op = "add_column"
table = "accounts"
column = "plan_tier"
type = "text"

[[expand]]
op = "sql"
up = "CREATE TABLE tiers (name text PRIMARY KEY)"
down = "DROP TABLE tiers"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM accounts WHERE plan_tier IS NOT NULL"
expect = 0

[[contract]]
op = "sql"
up = "ALTER TABLE accounts DROP COLUMN legacy"
"#;

#[test]
fn apply_status_and_rollback_read_well() {
    let db = PostgresDb::new();
    db.exec("CREATE TABLE accounts (id int PRIMARY KEY, legacy text); INSERT INTO accounts VALUES (1, 'x');");
    let plans = Plans::new();
    let plan = plans.write("0001_tiers.toml", PLAN);
    let dir = plans.path().display().to_string();

    let out = Cli::apply(&db)
        .args(["--to", "switch"])
        .plan(&plan)
        .run_unchecked();
    assert_transcript!("apply_to_switch", out, &dir);

    let out = Cli::status(&db).plan(&plan).run_unchecked();
    assert_transcript!("status_after_switch", out, &dir);

    let out = Cli::apply(&db).yes().plan(&plan).run_unchecked();
    assert_transcript!("apply_contract", out, &dir);

    let out = Cli::rollback(&db).yes().plan(&plan).run_unchecked();
    assert_transcript!("rollback_refused", out, &dir);
}

#[test]
fn a_failing_phase_reads_well() {
    let db = PostgresDb::new();
    db.exec("CREATE TABLE accounts (id int PRIMARY KEY, legacy text);");
    let plans = Plans::new();
    let plan = plans.write(
        "0001_broken.toml",
        r#"
[[expand]]
op = "add_column"
table = "accounts"
column = "plan_tier"
type = "text"

[[expand]]
op = "sql"
up = "CREATE INDEX tier_idx ON accounts (no_such_column)"
down = "DROP INDEX tier_idx"
"#,
    );
    let dir = plans.path().display().to_string();
    let out = Cli::apply(&db).plan(&plan).run_unchecked();
    assert_transcript!("apply_failing_phase", out, &dir);
}
