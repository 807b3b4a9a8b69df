//! `bellows plan` driven as a user runs it: exit codes, the human and JSON output of the seed
//! plans on both dialects, how the dialect is chosen, colours, and that it never connects.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Cli, PostgresDb, TestDb};

const EMAIL_VERIFIED: &str = "tests/plans/ok/plan_email_verified.toml";
const RENAME_COLUMN: &str = "tests/plans/ok/plan_rename_column.toml";

/// `bellows plan ARGS…` in the harness's clean environment, colour left to the terminal
/// (`NO_COLOR` unset).
fn bellows_plan(args: &[&str]) -> Cli {
    Cli::plan_cmd().env_remove("NO_COLOR").args(args)
}

/// `bellows plan ARGS…`, which must succeed and print something: its stdout.
fn plan_ok(args: &[&str]) -> String {
    let out = bellows_plan(args).run();
    assert!(!out.stdout.is_empty());
    out.stdout
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    settings.add_filter(
        r#""checksum": "[0-9a-f]{64}""#,
        r#""checksum": "[checksum]""#,
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn email_verified_on_postgres() {
    snapshot("plan_email_verified_postgres", &plan_ok(&[EMAIL_VERIFIED]));
}

#[test]
fn email_verified_on_sqlite() {
    let out = plan_ok(&[EMAIL_VERIFIED, "--dialect", "sqlite"]);
    assert!(out.contains("emulated: table rebuild of users: set NOT NULL on email_verified"));
    snapshot("plan_email_verified_sqlite", &out);
}

#[test]
fn email_verified_on_mysql_shows_the_lock_wait_the_server_keeps() {
    let out = plan_ok(&[EMAIL_VERIFIED, "--dialect", "mysql"]);
    assert!(
        out.contains("lock_timeout 500ms per attempt (the server waits 1s: MySQL's lock_wait_timeout counts whole seconds), up to 20 attempts"),
        "{out}"
    );
    assert!(out.contains("waits at most 1s for its lock"), "{out}");
    assert!(!out.contains("waits at most 500ms"), "{out}");
}

#[test]
fn rename_column_on_postgres() {
    snapshot("plan_rename_column_postgres", &plan_ok(&[RENAME_COLUMN]));
}

#[test]
fn rename_column_on_sqlite() {
    snapshot(
        "plan_rename_column_sqlite",
        &plan_ok(&[RENAME_COLUMN, "--dialect", "sqlite"]),
    );
}

#[test]
fn json_is_one_document_with_the_same_information() {
    let out = plan_ok(&[EMAIL_VERIFIED, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(json["valid"], true);
    assert_eq!(json["dialect"], "postgres");
    assert_eq!(json["connected"], false);
    assert_eq!(json["plan"]["name"], "users_email_verified_preview");
    let phases = json["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 4);
    let add_column = &phases[0]["steps"][0];
    assert_eq!(add_column["op"], "add_column");
    let statement = &add_column["actions"][0];
    assert_eq!(statement["action"], "execute");
    assert_eq!(
        statement["sql"],
        r#"ALTER TABLE "users" ADD COLUMN "email_verified" boolean"#
    );
    assert_eq!(statement["lock_name"], "ACCESS EXCLUSIVE");
    assert_eq!(statement["blocks_reads"], true);
    assert_eq!(add_column["undo"]["kind"], "actions");
    assert_eq!(phases[1]["steps"][0]["backfill"]["batch_size"], 1000);
    snapshot("plan_email_verified_json", &out);

    let out = plan_ok(&[RENAME_COLUMN, "--format", "json", "--dialect", "sqlite"]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let set_not_null = &json["phases"][3]["steps"][1];
    assert_eq!(set_not_null["op"], "set_not_null");
    assert_eq!(set_not_null["actions"][1]["action"], "rebuild");
    assert_eq!(set_not_null["actions"][1]["change"], "set_not_null");
    assert_eq!(set_not_null["actions"][1]["column"], "full_name");
    assert_eq!(
        json["phases"][3]["steps"][2]["undo"]["kind"],
        "irreversible"
    );
}

#[test]
fn an_invalid_plan_is_exit_2_with_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"x\"\n\n[[contract]]\nop = \"add_colum\"\n",
    )
    .unwrap();
    bellows_plan(&["bad.toml"])
        .current_dir(dir.path())
        .code(2)
        .stdout_is("")
        .stderr_has("bad.toml:1:")
        .stderr_has("bad.toml:7:")
        .stderr_has("bad.toml is invalid for postgres: 2 errors")
        .run();

    let json = bellows_plan(&["bad.toml", "--format", "json"])
        .current_dir(dir.path())
        .code(2)
        .run()
        .json();
    assert_eq!(json["valid"], false);
    assert_eq!(json["phases"].as_array().unwrap().len(), 0);
    let lines: Vec<u64> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert!(lines.contains(&7), "{lines:?}");
}

#[test]
fn a_step_the_dialect_cannot_run_is_exit_2_naming_the_step() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plan.toml"),
        "[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"token\"\ntype = \"text\"\ndefault = \"random()\"\n",
    )
    .unwrap();
    plan_ok(&[dir.path().join("plan.toml").to_str().unwrap()]);
    bellows_plan(&["plan.toml", "--dialect", "sqlite"])
        .current_dir(dir.path())
        .code(2)
        .stderr_has("add_column is not supported on sqlite: SQLite's ALTER TABLE ADD COLUMN accepts only a constant default")
        .stderr_has("plan.toml:1:1")
        .run();
}

#[test]
fn never_connects_even_with_an_unreachable_database_url() {
    let started = Instant::now();
    bellows_plan(&[EMAIL_VERIFIED])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/x")
        .stdout_has("dialect  postgres")
        .run();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // A SQLite URL chooses the dialect, and the file is never created.
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("never.db");
    bellows_plan(&[EMAIL_VERIFIED])
        .env("DATABASE_URL", format!("sqlite:{}", database.display()))
        .stdout_has("dialect  sqlite")
        .run();
    assert!(!database.exists(), "plan created {}", database.display());

    // --dialect wins over DATABASE_URL.
    bellows_plan(&[EMAIL_VERIFIED, "--dialect", "postgres"])
        .env("DATABASE_URL", "sqlite://app.db")
        .stdout_has("dialect  postgres")
        .run();
    assert!(!Path::new("app.db").exists());

    // An explicit --database that contradicts --dialect is refused before connecting.
    bellows_plan(&[
        EMAIL_VERIFIED,
        "-d",
        "sqlite://app.db",
        "--dialect",
        "postgres",
    ])
    .code(2)
    .stderr_has("contradicts --database")
    .run();
    assert!(!Path::new("app.db").exists());
}

#[test]
fn with_database_plan_shows_applied_steps_and_rows_to_touch_and_changes_nothing() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE users (id bigint PRIMARY KEY, verified_at timestamptz);
         INSERT INTO users SELECT i, CASE WHEN i % 2 = 0 THEN now() END FROM generate_series(1, 500) i;",
    );
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/0001_users_email_verified.toml");
    let plan = plan.to_str().unwrap();

    // Before anything is applied: no ledger, and none is created by looking.
    let json = |args: &[&str]| bellows_plan(args).args(["--format", "json"]).run().json();
    let before = json(&[plan, "-d", &db.url]);
    assert_eq!(before["connected"], true);
    assert_eq!(before["database"]["status"]["ledger"], false);
    assert_eq!(
        before["database"]["backfills"][0]["rows"], 500,
        "{before:#}"
    );
    assert!(!db.ledger_exists(), "plan created the ledger");
    assert!(!db.column_exists("users", "email_verified"));

    // After expand, and with some rows already filled, the count uses the backfill's `where`.
    Cli::apply(&db).args(["--to", "expand"]).plan(plan).run();
    db.exec("UPDATE users SET email_verified = true WHERE id <= 100");
    let after = json(&[plan, "-d", &db.url]);
    assert_eq!(after["database"]["backfills"][0]["rows"], 400, "{after:#}");
    bellows_plan(&[plan, "-d", &db.url])
        .stdout_has("expand 1 add_column users.email_verified: applied")
        .stdout_has("backfill 1 backfill users.email_verified: pending")
        .stdout_has("400 rows to touch")
        .run();
    assert_eq!(
        db.ledger_states("users_email_verified")[0],
        "expand/0=applied"
    );

    // An unreachable --database is an error that says how to get a plain dry run.
    bellows_plan(&[plan, "-d", "postgres://nobody@127.0.0.1:1/x"])
        .code(1)
        .stderr_has("drop --database")
        .run();
}

#[test]
fn an_unknown_url_scheme_is_exit_2_without_showing_the_url() {
    bellows_plan(&[EMAIL_VERIFIED, "-d", "oracle://root:hunter2@db/app"])
        .code(2)
        .stderr_has("`oracle:`")
        .stderr_lacks("hunter2")
        .run();
}

#[test]
fn a_missing_file_is_exit_2() {
    bellows_plan(&["tests/plans/ok/does_not_exist.toml"])
        .code(2)
        .stderr_has("cannot read plan file tests/plans/ok/does_not_exist.toml")
        .run();
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let plain = plan_ok(&[EMAIL_VERIFIED]);
    assert!(!plain.contains('\u{1b}'), "colour in a pipe");

    let coloured = bellows_plan(&[EMAIL_VERIFIED])
        .env("CLICOLOR_FORCE", "1")
        .stdout_has("\u{1b}[")
        .run();
    assert_eq!(console::strip_ansi_codes(&coloured.stdout), plain);

    bellows_plan(&[EMAIL_VERIFIED])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .stdout_is(&plain)
        .run();
}
