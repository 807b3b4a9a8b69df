//! What a first hour expects of a command line: folders wherever plans are taken, a dry run on
//! `apply`, help that explains every flag, the database and the exit codes.

use crate::harness::{seed_users, Cli, Plans, SqliteDb, TestDb};

const ADD: &str =
    "[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"COL\"\ntype = \"boolean\"\n";

fn two_plans(plans: &Plans) {
    plans.write("0001_a.toml", &ADD.replace("COL", "a"));
    plans.write("0002_b.toml", &ADD.replace("COL", "b"));
}

#[test]
fn plan_and_check_take_a_folder() {
    let plans = Plans::new();
    two_plans(&plans);
    Cli::plan_cmd()
        .plan(plans.path())
        .args(["--dialect", "sqlite"])
        .stdout_has("users.a")
        .stdout_has("users.b")
        .run();
    Cli::check().plan(plans.path()).run();
}

#[test]
fn apply_dry_run_shows_the_plan_and_changes_nothing() {
    let db = SqliteDb::new();
    seed_users(&db, 3);
    let plans = Plans::new();
    two_plans(&plans);
    Cli::apply(&db)
        .arg("--dry-run")
        .plan(plans.path())
        .stdout_has("ADD COLUMN \"a\"")
        .stdout_has("ADD COLUMN \"b\"")
        .run();
    assert!(!db.column_exists("users", "a"));
    assert!(!db.ledger_exists());
}

#[test]
fn help_names_the_database_the_exit_codes_the_phases_and_every_flag() {
    Cli::new(["--help"])
        .stdout_has("DATABASE_URL")
        .stdout_has("Exit codes: 0 success")
        .stdout_has("130 interrupted")
        .run();
    Cli::new(["apply", "--help"])
        .stdout_has("[possible values: expand, backfill, switch, contract]")
        .stdout_has("How to print: human lines or JSON")
        .stdout_has("--dry-run")
        .run();
    Cli::new(["rollback", "--help"])
        .stdout_has("--lock-timeout")
        .stdout_lacks("--batch-size")
        .stdout_lacks("--pause")
        .run();
    Cli::new(["apply", "-d", "sqlite:x.db", "--to", "expnd", "p.toml"])
        .code(2)
        .stderr_has("possible values: expand, backfill, switch, contract")
        .run();
}

#[test]
fn database_url_is_read_from_a_dot_env_file() {
    let db = SqliteDb::new();
    let plans = Plans::new();
    plans.write(".env", &format!("OTHER=1\nDATABASE_URL={}\n", db.url()));
    Cli::new(["status"])
        .current_dir(plans.path())
        .stdout_has("nothing applied yet")
        .run();
    Cli::new(["status"])
        .current_dir(plans.path())
        .env("DATABASE_URL", "sqlite:/nonexistent/elsewhere.db")
        .code(1)
        .run();
}

#[test]
fn check_refuses_two_plans_with_one_name() {
    let plans = Plans::new();
    plans.write(
        "0001_a.toml",
        &format!("name = \"same\"\n{}", ADD.replace("COL", "a")),
    );
    plans.write(
        "0002_b.toml",
        &format!("name = \"same\"\n{}", ADD.replace("COL", "b")),
    );
    Cli::check()
        .plan(plans.path())
        .code(2)
        .stdout_has("another plan is named `same`")
        .run();
}

#[test]
fn a_file_that_is_no_plan_gets_one_sentence() {
    let out = Cli::check().plan("README.md").code(2).run();
    assert!(
        out.stdout.contains("README.md is not a bellows plan"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("checked 1 plan: 1 error"),
        "{}",
        out.stdout
    );
    Cli::check()
        .plan("Cargo.toml")
        .code(2)
        .stdout_has("Cargo.toml is not a bellows plan")
        .run();
}

#[test]
fn init_writes_a_first_plan_that_checks_and_wires_the_schema_into_editors() {
    let dir = Plans::new();
    Cli::new(["init"])
        .current_dir(dir.path())
        .stdout_has("created plans/0001_first.toml")
        .stdout_has("created .taplo.toml")
        .run();
    let plan = std::fs::read_to_string(dir.path().join("plans/0001_first.toml")).unwrap();
    assert!(plan.starts_with("#:schema ./bellows.schema.json"), "{plan}");
    assert!(dir.path().join("plans/bellows.schema.json").is_file());
    let taplo = std::fs::read_to_string(dir.path().join(".taplo.toml")).unwrap();
    assert!(
        taplo.contains("path = \"plans/bellows.schema.json\""),
        "{taplo}"
    );
    Cli::new(["check", "--deny-warnings", "plans"])
        .current_dir(dir.path())
        .stdout_has("no problems found")
        .run();
    Cli::new(["init"])
        .current_dir(dir.path())
        .stdout_has("kept plans/0001_first.toml (it exists)")
        .run();
}
