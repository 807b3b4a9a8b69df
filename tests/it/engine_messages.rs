//! What `apply` and `check` say in the cases users found wrong: a step's guard reported once,
//! `drop_constraint` on an index name, `check` agreeing with `plan` on a rewriting `add_column`,
//! and a tiny unanalysed table's backfill total counted exactly.

use crate::engine_ops_postgres::SCHEMA;
use crate::harness::{Cli, Plans, PostgresDb, TestDb};

#[test]
fn set_not_null_reports_its_null_count_once() {
    let db = PostgresDb::new();
    db.exec(SCHEMA);
    let plans = Plans::new();
    let file = plans.write(
        "0001_nn.toml",
        "[[contract]]\nop = \"set_not_null\"\ntable = \"users\"\ncolumn = \"email\"\n",
    );
    let out = Cli::apply(&db).yes().plan(&file).run();
    let (_, all) = out.code_and_text();
    assert_eq!(
        all.matches("no NULL left in users.email").count(),
        1,
        "the null count is said once:\n{all}"
    );
}

#[test]
fn drop_constraint_on_an_index_says_to_use_drop_index() {
    let db = PostgresDb::new();
    db.exec(SCHEMA);
    let plans = Plans::new();
    let file = plans.write(
        "0001_drop.toml",
        "[[contract]]\nop = \"drop_constraint\"\ntable = \"users\"\nname = \"users_email_idx\"\n",
    );
    Cli::apply(&db)
        .yes()
        .plan(&file)
        .code(1)
        .stderr_has("users_email_idx is an index, not a constraint: use drop_index")
        .run();
    assert!(db.table_exists("users_email_idx"));
}

#[test]
fn check_warns_where_plan_says_add_column_rewrites_every_row() {
    let plans = Plans::new();
    let file = plans.write(
        "0001_token.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"token\"\ntype = \"uuid\"\ndefault = \"gen_random_uuid()\"\n",
    );
    Cli::check()
        .plan(&file)
        .stdout_has("table-rewrite")
        .stdout_has("rewrites every row")
        .run();
    Cli::plan_cmd()
        .args(["--dialect", "postgres"])
        .plan(&file)
        .stdout_has("REWRITES")
        .run();
}

#[test]
fn a_tiny_unanalysed_table_gets_an_exact_backfill_total() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE tiny (id bigint PRIMARY KEY, a int, b int) WITH (autovacuum_enabled = false);
         INSERT INTO tiny SELECT i, i, NULL FROM generate_series(1, 5) i;",
    );
    let plans = Plans::new();
    let plan = plans.write(
        "0001_tiny.toml",
        "[[backfill]]\ntable = \"tiny\"\nset = { b = \"a\" }\n",
    );
    let out = Cli::apply(&db).args(["--format", "json"]).plan(&plan).run();
    let totals: Vec<u64> = out
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "backfill_progress")
        .filter_map(|event| event["total"].as_u64())
        .collect();
    assert!(
        !totals.is_empty() && totals.iter().all(|t| *t == 5),
        "{totals:?}"
    );
}
