//! `apply` and `status` against a real PostgreSQL: phases in order, the ledger, guards,
//! compensation of a failing phase, checksums.

use crate::common::{bellows, output_text, Plans, ScratchDb};

const TWO_PHASES: &str = r#"
[[expand]]
op = "add_column"
table = "users"
column = "email_verified"
type = "boolean"

[[expand]]
op = "sql"
up = "CREATE TABLE audit_log (id bigint PRIMARY KEY, note text)"
down = "DROP TABLE audit_log"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE id < 0"
expect = 0

[[switch]]
op = "sql"
up = "CREATE INDEX users_name_idx ON users (name)"
down = "DROP INDEX users_name_idx"
"#;

fn users(db: &ScratchDb) {
    db.exec(
        "CREATE TABLE users (id bigserial PRIMARY KEY, name text, verified_at timestamptz);
         INSERT INTO users (name, verified_at)
              SELECT 'user ' || g, CASE WHEN g % 3 = 0 THEN now() END FROM generate_series(1, 500) g;",
    );
}

#[test]
fn apply_runs_every_phase_and_rollback_restores_the_catalog() {
    let db = ScratchDb::new();
    users(&db);
    let plans = Plans::new();
    let plan = plans.write("0001_two.toml", TWO_PHASES);

    let out = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(db.column_exists("users", "email_verified"));
    assert!(db.table_exists("audit_log"));
    assert!(db.table_exists("users_name_idx"));
    assert_eq!(
        db.ledger_states("0001_two"),
        [
            "expand/0=applied",
            "expand/1=applied",
            "switch/0=applied",
            "switch/1=applied"
        ]
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("✓ add_column users.email_verified"),
        "{stdout}"
    );

    let out = bellows()
        .args(["rollback", "--yes", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(!db.column_exists("users", "email_verified"));
    assert!(!db.table_exists("audit_log"));
    assert!(!db.table_exists("users_name_idx"));
    assert_eq!(
        db.ledger_states("0001_two"),
        [
            "expand/0=rolled_back",
            "expand/1=rolled_back",
            "switch/0=rolled_back",
            "switch/1=rolled_back"
        ]
    );
    // The data was untouched.
    assert_eq!(db.i64("SELECT count(*) FROM users"), 500);

    // A rolled-back plan can be applied again.
    let out = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(db.column_exists("users", "email_verified"));
}

#[test]
fn a_second_apply_has_nothing_to_do_and_to_stops_after_a_phase() {
    let db = ScratchDb::new();
    users(&db);
    let plans = Plans::new();
    let plan = plans.write("0001_two.toml", TWO_PHASES);

    let out = bellows()
        .args(["apply", "--to", "expand", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(db.table_exists("audit_log"));
    assert!(!db.table_exists("users_name_idx"));
    assert_eq!(
        db.ledger_states("0001_two"),
        [
            "expand/0=applied",
            "expand/1=applied",
            "switch/0=pending",
            "switch/1=pending"
        ]
    );

    let out = bellows()
        .args(["apply", "--to", "expand", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing to do"),
        "{}",
        output_text(&out)
    );

    bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .assert()
        .code(0);
    let out = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0001_two: nothing to do"));
}

#[test]
fn status_reads_without_creating_the_ledger_and_reports_json() {
    let db = ScratchDb::new();
    users(&db);
    let plans = Plans::new();
    let plan = plans.write("0001_two.toml", TWO_PHASES);

    let out = bellows().args(["status", "-d", &db.url]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing applied yet"));
    let out = bellows()
        .args(["status", "--format", "json", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ledger"], false);
    assert_eq!(json["plans"][0]["name"], "0001_two");
    assert_eq!(json["plans"][0]["state"], "pending");
    assert!(!db.ledger_exists(), "status must not create the ledger");

    bellows()
        .args(["apply", "--to", "expand", "-d", &db.url])
        .arg(&plan)
        .assert()
        .code(0);
    let out = bellows()
        .args(["status", "--format", "json", "-d", &db.url])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plan_json = &json["plans"][0];
    assert_eq!(plan_json["state"], "partial");
    assert_eq!(plan_json["phases"][0]["phase"], "expand");
    assert_eq!(plan_json["phases"][0]["state"], "applied");
    assert_eq!(plan_json["phases"][1]["state"], "pending");
    assert!(plan_json["phases"][0]["steps"][0]["duration_ms"].is_u64());

    let out = bellows().args(["status", "-d", &db.url]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0001_two partial"), "{text}");
    assert!(
        text.contains("✓ 1. add_column users.email_verified  applied"),
        "{text}"
    );
    assert!(text.contains("· 1. guard"), "{text}");
}

#[test]
fn a_failing_guard_exits_3_and_applies_nothing_of_its_phase() {
    let db = ScratchDb::new();
    users(&db);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_guarded.toml",
        r#"
[[expand]]
op = "sql"
up = "CREATE TABLE first_table (id int)"
down = "DROP TABLE first_table"

[[switch]]
op = "sql"
up = "CREATE TABLE switched (id int)"
down = "DROP TABLE switched"

[[switch]]
op = "guard"
null_count = "users.verified_at"
"#,
    );
    let out = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", output_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 2 of every 3 users have no verified_at: 334 NULLs.
    assert!(stderr.contains("found 334"), "{stderr}");
    assert!(stderr.contains("users.verified_at"), "{stderr}");
    assert!(
        stderr.contains("nothing of the switch phase was applied"),
        "{stderr}"
    );
    // The earlier phase stays applied; nothing of switch ran.
    assert!(db.table_exists("first_table"));
    assert!(!db.table_exists("switched"));
    assert_eq!(
        db.ledger_states("0001_guarded"),
        ["expand/0=applied", "switch/0=pending", "switch/1=pending"]
    );
}

#[test]
fn a_step_failing_mid_phase_undoes_the_phase_and_exits_1() {
    let db = ScratchDb::new();
    users(&db);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_broken.toml",
        r#"
[[expand]]
op = "sql"
up = "CREATE TABLE good_one (id int)"
down = "DROP TABLE good_one"

[[expand]]
op = "add_column"
table = "users"
column = "good_two"
type = "text"

[[expand]]
op = "sql"
up = "ALTER TABLE no_such_table ADD COLUMN x int"
down = "SELECT 1"
"#,
    );
    let out = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("step 3 of expand"), "{stderr}");
    assert!(stderr.contains("no_such_table"), "{stderr}");
    assert!(
        stderr.contains("the expand phase was rolled back"),
        "{stderr}"
    );
    assert!(!db.table_exists("good_one"));
    assert!(!db.column_exists("users", "good_two"));
    assert_eq!(
        db.ledger_states("0001_broken"),
        [
            "expand/0=rolled_back",
            "expand/1=rolled_back",
            "expand/2=failed"
        ]
    );
    let error =
        db.rows("SELECT error FROM bellows.steps WHERE plan = '0001_broken' AND step_index = 2");
    assert!(error[0].contains("no_such_table"), "{error:?}");
    // The human output shows the undo, last first.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let two = stdout
        .find("undid add_column users.good_two")
        .expect(&stdout);
    let one = stdout
        .find("undid sql CREATE TABLE good_one")
        .expect(&stdout);
    assert!(two < one, "{stdout}");
}

#[test]
fn a_changed_plan_is_refused_naming_both_checksums_unless_allowed() {
    let db = ScratchDb::new();
    users(&db);
    let plans = Plans::new();
    let text = r#"
[[expand]]
op = "sql"
up = "CREATE TABLE t1 (id int)"
down = "DROP TABLE t1"
"#;
    let plan = plans.write("0001_change.toml", text);
    bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .assert()
        .code(0);
    let recorded = db.rows("SELECT checksum FROM bellows.plans WHERE name = '0001_change'");
    plans.write(
        "0001_change.toml",
        &format!("{text}\n[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE t2 (id int)\"\ndown = \"DROP TABLE t2\"\n"),
    );
    let out = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&recorded[0]), "{stderr}");
    assert!(stderr.contains("--allow-changed"), "{stderr}");
    assert!(!db.table_exists("t2"));

    let out = bellows()
        .args(["apply", "--allow-changed", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(db.table_exists("t2"));
    assert_eq!(
        db.ledger_states("0001_change"),
        ["expand/0=applied", "expand/1=applied"]
    );
}

#[test]
fn a_directory_applies_its_plans_in_name_order_with_json_events() {
    let db = ScratchDb::new();
    let plans = Plans::new();
    plans.write(
        "0002_second.toml",
        "[[expand]]\nop = \"sql\"\nup = \"ALTER TABLE made_first ADD COLUMN b int\"\ndown = \"ALTER TABLE made_first DROP COLUMN b\"\n",
    );
    plans.write(
        "0001_first.toml",
        "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE made_first (a int)\"\ndown = \"DROP TABLE made_first\"\n",
    );
    let out = bellows()
        .args(["apply", "--format", "json", "-d", &db.url])
        .arg(plans.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let started: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "plan_started")
        .map(|e| e["plan"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["0001_first", "0002_second"]);
    assert!(events
        .iter()
        .any(|e| e["event"] == "step_finished" && e["outcome"] == "applied"));
    assert!(db.column_exists("made_first", "b"));
}

#[test]
fn invocation_errors_exit_2_before_connecting() {
    let plans = Plans::new();
    let plan = plans.write(
        "0001_x.toml",
        "[[expand]]\nop = \"sql\"\nup = \"SELECT 1\"\ndown = \"SELECT 1\"\n",
    );
    let out = bellows().arg("apply").arg(&plan).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL"));

    let out = bellows()
        .args([
            "apply",
            "-d",
            "postgres://nobody@127.0.0.1:1/none",
            "--lock-retries",
            "0",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lock_retries"));

    let bad = plans.write("0002_bad.toml", "[[expand]]\nop = \"add_colum\"\n");
    let out = bellows()
        .args(["apply", "-d", "postgres://nobody@127.0.0.1:1/none"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0002_bad.toml"));

    // Unreachable server: a database error, exit 1, with a hint.
    let out = bellows()
        .args(["apply", "-d", "postgres://nobody@127.0.0.1:1/none"])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}
