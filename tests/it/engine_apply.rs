//! `apply` and `status` on every backend: phases in order, the ledger, guards, compensation of
//! a failing phase, checksums, directories of plans, invocation errors.

use bellows::dialect::DialectKind;

use crate::harness::{seed_users, seed_users_to_backfill, Cli, Plans, TestDb};

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

/// [`TWO_PHASES`] as `db` writes it: MySQL names an index's table in `DROP INDEX`.
fn two_phases(db: &dyn TestDb) -> String {
    match db.dialect() {
        DialectKind::Mysql => TWO_PHASES.replace(
            "DROP INDEX users_name_idx",
            "DROP INDEX users_name_idx ON users",
        ),
        _ => TWO_PHASES.to_string(),
    }
}

const ALL_APPLIED: [&str; 4] = [
    "expand/0=applied",
    "expand/1=applied",
    "switch/0=applied",
    "switch/1=applied",
];

backend_test!(
    fn apply_runs_every_phase_and_rollback_restores_the_catalog(db) {
        seed_users(db, 500);
        let plans = Plans::new();
        let plan = plans.write("0001_two.toml", &two_phases(db));

        Cli::apply(db)
            .plan(&plan)
            .stdout_has("✓ add_column users.email_verified")
            .run();
        assert!(db.column_exists("users", "email_verified"));
        assert!(db.table_exists("audit_log"));
        assert!(db.index_exists("users_name_idx"));
        assert_eq!(db.ledger_states("0001_two"), ALL_APPLIED);

        Cli::rollback(db).yes().plan(&plan).run();
        assert!(!db.column_exists("users", "email_verified"));
        assert!(!db.table_exists("audit_log"));
        assert!(!db.index_exists("users_name_idx"));
        assert_eq!(
            db.ledger_states("0001_two"),
            ALL_APPLIED.map(|s| s.replace("=applied", "=rolled_back"))
        );
        assert_eq!(db.count("users"), 500, "the data was untouched");

        // A rolled-back plan can be applied again.
        Cli::apply(db).plan(&plan).run();
        assert!(db.column_exists("users", "email_verified"));
    }
);

backend_test!(
    fn a_second_apply_has_nothing_to_do_and_to_stops_after_a_phase(db) {
        seed_users(db, 500);
        let plans = Plans::new();
        let plan = plans.write("0001_two.toml", &two_phases(db));

        Cli::apply(db).args(["--to", "expand"]).plan(&plan).run();
        assert!(db.table_exists("audit_log"));
        assert!(!db.index_exists("users_name_idx"));
        assert_eq!(
            db.ledger_states("0001_two"),
            [
                "expand/0=applied",
                "expand/1=applied",
                "switch/0=pending",
                "switch/1=pending"
            ]
        );
        Cli::apply(db)
            .args(["--to", "expand"])
            .plan(&plan)
            .stdout_has("nothing to do")
            .run();
        Cli::apply(db).plan(&plan).run();
        Cli::apply(db)
            .plan(&plan)
            .stdout_has("0001_two: nothing to do")
            .run();
        assert_eq!(db.ledger_states("0001_two"), ALL_APPLIED);
    }
);

backend_test!(
    fn status_reads_without_creating_the_ledger_and_reports_json(db) {
        seed_users(db, 500);
        let plans = Plans::new();
        let plan = plans.write("0001_two.toml", &two_phases(db));

        Cli::status(db).stdout_has("nothing applied yet").run();
        let json = Cli::status(db)
            .args(["--format", "json"])
            .plan(&plan)
            .run()
            .json();
        assert_eq!(json["ledger"], false);
        assert_eq!(json["plans"][0]["name"], "0001_two");
        assert_eq!(json["plans"][0]["state"], "pending");
        assert!(!db.ledger_exists(), "status must not create the ledger");

        Cli::apply(db)
            .args(["--to", "expand"])
            .plan(&plan)
            .stdout_has("0001_two expand done in")
            .stdout_has("(1 phase pending: switch)")
            .run();
        let json = Cli::status(db).args(["--format", "json"]).run().json();
        let plan_json = &json["plans"][0];
        assert_eq!(plan_json["state"], "partial");
        assert_eq!(plan_json["phases"][0]["phase"], "expand");
        assert_eq!(plan_json["phases"][0]["state"], "applied");
        assert_eq!(plan_json["phases"][1]["state"], "pending");
        assert!(plan_json["phases"][0]["steps"][0]["duration_ms"].is_u64());

        Cli::status(db)
            .stdout_has("0001_two partial")
            .stdout_has("✓ 1. add_column users.email_verified  applied")
            .stdout_has("· 1. guard")
            .run();
    }
);

/// Applies a plan whose switch phase ends with `guard` (failing on the 334 users of 500 with
/// no `verified_at`): exit 3 saying each of `says`, the expand phase applied, nothing of switch.
fn a_failing_guard(db: &dyn TestDb, guard: &str, says: &[&str]) {
    seed_users(db, 500);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_guarded.toml",
        &format!(
            r#"
[[expand]]
op = "add_column"
table = "users"
column = "nickname"
type = "text"

[[switch]]
op = "sql"
up = "CREATE TABLE switched (id int)"
down = "DROP TABLE switched"

[[switch]]
op = "guard"
{guard}
"#
        ),
    );
    let out = Cli::apply(db)
        .plan(&plan)
        .code(3)
        .stderr_has("nothing of the switch phase was applied")
        .run();
    for text in says {
        assert!(out.stderr.contains(text), "stderr lacks {text:?}\n{out}");
    }
    assert!(
        db.column_exists("users", "nickname"),
        "expand stays applied"
    );
    assert!(!db.table_exists("switched"), "nothing of switch ran");
    assert_eq!(
        db.ledger_states("0001_guarded"),
        ["expand/0=applied", "switch/0=pending", "switch/1=pending"]
    );
}

backend_test!(
    fn a_failing_null_count_guard_exits_3_and_applies_nothing_of_its_phase(db) {
        a_failing_guard(
            db,
            "null_count = \"users.verified_at\"",
            &["found 334", "users.verified_at"],
        );
    }
);

backend_test!(
    fn a_failing_query_guard_exits_3_and_applies_nothing_of_its_phase(db) {
        a_failing_guard(
            db,
            "query = \"SELECT count(*) FROM users WHERE verified_at IS NULL\"\nexpect = 0",
            &["expected 0, found 334"],
        );
    }
);

backend_test!(
    fn a_boolean_guard_compares_booleans_on_every_backend(db) {
        seed_users(db, 10);
        let plans = Plans::new();
        let plan = plans.write(
            "0001_bool.toml",
            r#"
[[expand]]
op = "guard"
query = "SELECT EXISTS (SELECT 1 FROM users WHERE id = 3)"
expect = true

[[expand]]
op = "guard"
query = "SELECT count(*) > 100 FROM users"
expect = false
"#,
        );
        Cli::apply(db).plan(&plan).run();
        assert_eq!(
            db.ledger_states("0001_bool"),
            ["expand/0=applied", "expand/1=applied"]
        );
    }
);

backend_test!(
    fn a_step_failing_mid_phase_undoes_the_phase_and_exits_1(db) {
        seed_users(db, 500);
        let objects_before = db.objects();
        let columns_before = db.rows(&columns_of_users(db));
        let plans = Plans::new();
        // NOTE: MySQL adds a CHECK only by copying the table (refused): an index there.
        let third = match db.dialect() {
            DialectKind::Mysql => "op = \"add_index\"\ntable = \"users\"\nname = \"users_name_len\"\ncolumns = [\"name\"]",
            _ => "op = \"add_check\"\ntable = \"users\"\nname = \"users_name_len\"\ncheck = \"length(name) > 0\"",
        };
        let plan = plans.write(
            "0001_broken.toml",
            &r#"
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
THIRD

[[expand]]
op = "sql"
up = "INSERT INTO no_such_table VALUES (1)"
down = "SELECT 1"
"#
            .replace("THIRD", third),
        );
        let out = Cli::apply(db)
            .plan(&plan)
            .code(1)
            .stderr_has("step 4 of expand")
            .stderr_has("no_such_table")
            .stderr_has("the expand phase was rolled back")
            .run();
        assert!(!db.table_exists("good_one"));
        assert!(!db.column_exists("users", "good_two"));
        assert!(!db.constraint_exists("users", "users_name_len"));
        assert_eq!(db.objects(), objects_before);
        assert_eq!(db.rows(&columns_of_users(db)), columns_before);
        if db.dialect() == DialectKind::Sqlite {
            assert!(out.stderr.contains("no such table: no_such_table"), "{out}");
        }
        assert_eq!(
            db.ledger_states("0001_broken"),
            [
                "expand/0=rolled_back",
                "expand/1=rolled_back",
                "expand/2=rolled_back",
                "expand/3=failed"
            ]
        );
        let error = db.ledger_value("0001_broken", "error", "state = 'failed'");
        assert!(error.contains("no_such_table"), "{error}");
        // The human output shows the undo, last first.
        let check = out.stdout_at(match db.dialect() {
            DialectKind::Mysql => "undid add_index index users_name_len on users",
            _ => "undid add_check constraint users_name_len on users",
        });
        let two = out.stdout_at("undid add_column users.good_two");
        let one = out.stdout_at("undid sql CREATE TABLE good_one");
        assert!(check < two && two < one, "{out}");
    }
);

/// A query listing every column of `users` with its type, nullability and default.
fn columns_of_users(db: &dyn TestDb) -> String {
    match db.dialect() {
        DialectKind::Postgres => "SELECT column_name, data_type, is_nullable, \
             coalesce(column_default, 'NULL') FROM information_schema.columns \
             WHERE table_name = 'users' ORDER BY ordinal_position"
            .into(),
        DialectKind::Sqlite => {
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('users') ORDER BY cid"
                .into()
        }
        DialectKind::Mysql => "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, \
             COALESCE(COLUMN_DEFAULT, 'NULL') FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' ORDER BY ORDINAL_POSITION"
            .into(),
    }
}

backend_test!(
    fn a_plan_edited_to_fewer_steps_keeps_the_ledger_rows_of_the_others(db) {
        let plans = Plans::new();
        let step = |phase: &str, table: &str| {
            format!("[[{phase}]]\nop = \"sql\"\nup = \"CREATE TABLE {table} (id int)\"\ndown = \"DROP TABLE {table}\"\n\n")
        };
        let two = format!("{}{}", step("expand", "k1"), step("switch", "k2"));
        let plan = plans.write("0001_fewer.toml", &format!("{two}{}", step("switch", "k3")));
        Cli::apply(db).plan(&plan).run();
        plans.write("0001_fewer.toml", &two);
        Cli::apply(db).arg("--allow-changed").plan(&plan).run();
        assert_eq!(
            db.ledger_states("0001_fewer"),
            ["expand/0=applied", "switch/0=applied"]
        );
    }
);

backend_test!(
    fn a_changed_applied_step_is_refused_with_its_diff_unless_allowed(db) {
        seed_users(db, 10);
        let plans = Plans::new();
        let text = "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE t1 (id int)\"\ndown = \"DROP TABLE t1\"\n\n[[switch]]\nop = \"sql\"\nup = \"CREATE TABLE s1 (x int)\"\ndown = \"DROP TABLE s1\"\n";
        let plan = plans.write("0001_change.toml", text);
        Cli::apply(db).args(["--to", "expand"]).plan(&plan).run();

        // The applied step changed: refused, with the step and the key that differs.
        plans.write("0001_change.toml", &text.replace("t1 (id int)", "t1 (id bigint)"));
        Cli::apply(db)
            .plan(&plan)
            .code(2)
            .stderr_has("changed a step that is already in the database")
            .stderr_has("expand step 1 (sql")
            .stderr_has("up: \"CREATE TABLE t1 (id int)\" → \"CREATE TABLE t1 (id bigint)\"")
            .stderr_has("--allow-changed")
            .run();
        assert!(!db.table_exists("s1"));

        // A comment and an edit of the pending step need no flag.
        plans.write("0001_change.toml", &format!("# edited\n{}", text.replace("s1", "s2")));
        Cli::apply(db).plan(&plan).run();
        assert!(db.table_exists("s2"));
        assert_eq!(
            db.ledger_states("0001_change"),
            ["expand/0=applied", "switch/0=applied"]
        );
        Cli::apply(db).plan(&plan).stdout_has("nothing to do").run();

        // A plan edited to fewer steps loses their ledger rows (an applied step left the file:
        // only with the flag).
        let first_step_only = text.split("\n\n[[switch]]").next().unwrap();
        plans.write("0001_change.toml", first_step_only);
        Cli::apply(db).plan(&plan).code(2).stderr_has("switch step 1 (sql").run();
        Cli::apply(db).arg("--allow-changed").plan(&plan).run();
        assert_eq!(db.ledger_states("0001_change"), ["expand/0=applied"]);
    }
);

backend_test!(
    mysql: "no MySQL ledger predates the definition column: bellows creates MySQL ledgers with it";
    fn a_ledger_without_step_definitions_falls_back_to_the_file_checksum(db) {
        seed_users(db, 10);
        let plans = Plans::new();
        let text = "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE t1 (id int)\"\ndown = \"DROP TABLE t1\"\n\n[[switch]]\nop = \"sql\"\nup = \"CREATE TABLE s1 (x int)\"\ndown = \"DROP TABLE s1\"\n";
        let plan = plans.write("0001_old.toml", text);
        Cli::apply(db).args(["--to", "expand"]).plan(&plan).run();
        // As an older bellows wrote it.
        let steps = bellows::engine::ledger::steps_table(db.dialect());
        db.exec(&format!("ALTER TABLE {steps} DROP COLUMN definition"));
        let recorded = db.rows(&format!(
            "SELECT checksum FROM {} WHERE name = '0001_old'",
            db.plans_table()
        ));
        plans.write("0001_old.toml", &format!("# edited\n{text}"));
        Cli::apply(db)
            .plan(&plan)
            .code(2)
            .stderr_has(&recorded[0])
            .stderr_has("changed since it was started")
            .stderr_has("--allow-changed")
            .run();
        Cli::apply(db).arg("--allow-changed").plan(&plan).run();
        assert!(db.table_exists("s1"));
        // The ledger now remembers each step: the next edit of a comment needs no flag.
        plans.write("0001_old.toml", &format!("# edited twice\n{text}"));
        Cli::apply(db).plan(&plan).stdout_has("nothing to do").run();
    }
);

backend_test!(
    fn a_directory_applies_its_plans_in_name_order_with_json_events(db) {
        let plans = Plans::new();
        plans.write(
            "0002_second.toml",
            "[[expand]]\nop = \"sql\"\nup = \"ALTER TABLE made_first ADD COLUMN b int\"\ndown = \"ALTER TABLE made_first DROP COLUMN b\"\n",
        );
        plans.write(
            "0001_first.toml",
            "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE made_first (a int)\"\ndown = \"DROP TABLE made_first\"\n",
        );
        let events = Cli::apply(db)
            .args(["--format", "json"])
            .plan(plans.path())
            .run()
            .json_lines();
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
);

#[test]
fn invocation_errors_exit_2_before_connecting() {
    let plans = Plans::new();
    let plan = plans.write(
        "0001_x.toml",
        "[[expand]]\nop = \"sql\"\nup = \"SELECT 1\"\ndown = \"SELECT 1\"\n",
    );
    let nowhere = "postgres://nobody@127.0.0.1:1/none";
    Cli::new(["apply"])
        .plan(&plan)
        .code(2)
        .stderr_has("DATABASE_URL")
        .run();
    Cli::new(["apply", "-d", nowhere, "--lock-retries", "0"])
        .plan(&plan)
        .code(2)
        .stderr_has("lock_retries")
        .run();
    let bad = plans.write("0002_bad.toml", "[[expand]]\nop = \"add_colum\"\n");
    Cli::new(["apply", "-d", nowhere])
        .plan(&bad)
        .code(2)
        .stderr_has("0002_bad.toml")
        .run();
    // Unreachable server: a database error, exit 1, with a hint.
    Cli::new(["apply", "-d", nowhere])
        .plan(&plan)
        .code(1)
        .stderr_has("cannot connect")
        .run();
}

backend_test!(
    fn an_interrupted_backfill_may_change_its_pacing_but_not_its_set(db) {
        seed_users_to_backfill(db, 10);
        let plans = Plans::new();
        let text = "[[backfill]]\ntable = \"users\"\nset = { email_verified = \"verified_at IS NOT NULL\" }\nbatch_size = 5\n";
        let plan = plans.write("0001_pace.toml", text);
        Cli::apply(db).plan(&plan).run();
        // As a run interrupted in the middle of the walk leaves it.
        let steps = bellows::engine::ledger::steps_table(db.dialect());
        db.exec(&format!("UPDATE {steps} SET state = 'running'"));
        plans.write(
            "0001_pace.toml",
            &text.replace("batch_size = 5", "batch_size = 2\npause = \"10ms\"\ntarget_batch_time = \"1s\""),
        );
        Cli::apply(db).plan(&plan).run();
        assert_eq!(db.ledger_states("0001_pace"), ["backfill/0=applied"]);
        plans.write("0001_pace.toml", &text.replace("IS NOT NULL", "IS NULL"));
        Cli::apply(db)
            .plan(&plan)
            .code(2)
            .stderr_has("backfill step 1 (backfill users")
            .stderr_has("set:")
            .run();
    }
);
