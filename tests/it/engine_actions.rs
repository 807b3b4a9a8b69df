//! Actions the engine runs beyond plain statements, with hand-built planned steps (the
//! dialect's real ones land separately): `CREATE INDEX CONCURRENTLY` and its INVALID leftovers,
//! captures saved in the ledger and executed by rollback, loud failures while compensating,
//! Ctrl-C between steps.

use std::path::Path;

use bellows::config::Config;
use bellows::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, PlannedStep, Special, Statement,
    TableEffect, Undo,
};
use bellows::engine::reporter::Event;
use bellows::engine::{
    self, Answer, ApplyOptions, Confirmation, ErrorKind, PlanRun, RollbackOptions,
};
use bellows::vocab::{Phase, TableName};

use crate::harness::wait::wait_until;
use crate::harness::{Cli, Plans, PostgresDb, Recorder, TestDb};

fn run_of(name: &str, steps: Vec<PlannedStep>) -> PlanRun {
    let text = format!(
        "name = \"{name}\"\n[[expand]]\nop = \"sql\"\nup = \"SELECT 1\"\ndown = \"SELECT 1\"\n"
    );
    let loaded = bellows::plan::load::load_str(Path::new("hand.toml"), &text);
    PlanRun {
        plan: loaded.plan.expect("a valid plan"),
        steps,
        config: Config::defaults(),
    }
}

fn step(phase: Phase, op: &'static str, actions: Vec<Action>, undo: Undo) -> PlannedStep {
    PlannedStep {
        phase,
        index: 0,
        op,
        target: "t".into(),
        planned: PlannedOp {
            actions,
            undo,
            notes: Vec::new(),
        },
    }
}

fn concurrently(sql: &str, index: Option<&str>) -> Statement {
    Statement {
        sql: sql.into(),
        lock: Lock::ShareUpdateExclusive,
        table: Some(TableName::parse("t")),
        effect: TableEffect::Scan,
        transaction: false,
        policy: LockPolicy::Long,
        special: index.map(|i| Special::CreateIndexConcurrently { index: i.into() }),
    }
}

fn apply(db: &PostgresDb, run: &PlanRun, reporter: &Recorder) -> Result<(), engine::EngineError> {
    let options = ApplyOptions {
        yes: true,
        application_name: "bellows test".into(),
        ..ApplyOptions::default()
    };
    db.block_on(engine::apply(
        &db.url,
        std::slice::from_ref(run),
        &options,
        reporter,
        &Answer(Confirmation::No),
    ))
    .map(|_| ())
}

fn add_unique_index() -> PlannedStep {
    step(
        Phase::Expand,
        "add_index",
        vec![Action::Execute(concurrently(
            "CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)",
            Some("t_v_key"),
        ))],
        Undo::Actions(vec![Action::Execute(concurrently(
            "DROP INDEX CONCURRENTLY IF EXISTS t_v_key",
            None,
        ))]),
    )
}

#[test]
fn an_invalid_index_left_by_a_failed_concurrent_build_is_dropped_and_rebuilt() {
    let db = PostgresDb::new();
    db.exec("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g % 50 FROM generate_series(1, 200) g;");
    // A failed attempt outside bellows leaves an INVALID index behind.
    let mut conn = db.connect();
    let failed = db.block_on(
        sqlx::raw_sql("CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)").execute(&mut conn),
    );
    assert!(failed.is_err(), "duplicates make the build fail");
    assert!(!db.bool("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass"));
    db.exec("UPDATE t SET v = id");

    let run = run_of("0001_index", vec![add_unique_index()]);
    let reporter = Recorder::new();
    apply(&db, &run, &reporter).unwrap();
    assert!(db.bool("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass"));
    assert!(reporter
        .events()
        .iter()
        .any(|e| matches!(e, Event::InvalidIndexDropped { index, .. } if index == "t_v_key")));
}

#[test]
fn a_concurrent_build_that_fails_leaves_no_invalid_index_behind() {
    let db = PostgresDb::new();
    db.exec("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g % 50 FROM generate_series(1, 200) g;");
    let run = run_of("0001_index", vec![add_unique_index()]);
    let error = apply(&db, &run, &Recorder::new()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Failed);
    assert!(error.to_string().contains("t_v_key"), "{error}");
    assert_eq!(
        db.i64("SELECT count(*) FROM pg_class WHERE relname = 't_v_key'"),
        0,
        "the failed step's INVALID index was cleaned up"
    );
    assert_eq!(db.ledger_states("0001_index"), ["expand/0=failed"]);
}

#[test]
fn a_capture_is_saved_in_the_ledger_and_executed_by_rollback() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v int); CREATE INDEX t_v_idx ON t (v) WHERE v > 3;",
    );
    let drop_index = step(
        Phase::Contract,
        "drop_index",
        vec![
            Action::Capture(Capture {
                name: "definition",
                description: "the definition of index t_v_idx".into(),
                query: "SELECT pg_get_indexdef('t_v_idx'::regclass)".into(),
                missing: None,
            }),
            Action::Execute(concurrently("DROP INDEX CONCURRENTLY t_v_idx", None)),
        ],
        Undo::Actions(vec![Action::ExecuteSaved(ExecuteSaved {
            name: "definition",
            description: "the saved definition".into(),
            lock: Lock::Share,
            table: Some(TableName::parse("t")),
            effect: TableEffect::Scan,
            transaction: true,
            policy: LockPolicy::Short,
            special: None,
        })]),
    );
    let run = run_of("0001_drop_index", vec![drop_index]);
    apply(&db, &run, &Recorder::new()).unwrap();
    assert!(!db.table_exists("t_v_idx"));
    let saved = db.rows("SELECT captures->>'definition' FROM bellows.steps");
    assert_eq!(
        saved,
        ["CREATE INDEX t_v_idx ON public.t USING btree (v) WHERE (v > 3)"]
    );

    let options = RollbackOptions {
        yes: true,
        application_name: "bellows test".into(),
        ..RollbackOptions::default()
    };
    db.block_on(engine::rollback(
        &db.url,
        &run,
        &options,
        &Recorder::new(),
        &Answer(Confirmation::No),
    ))
    .unwrap();
    assert_eq!(
        db.rows("SELECT pg_get_indexdef('t_v_idx'::regclass)"),
        ["CREATE INDEX t_v_idx ON public.t USING btree (v) WHERE (v > 3)"]
    );
    assert_eq!(
        db.ledger_states("0001_drop_index"),
        ["contract/0=rolled_back"]
    );
}

#[test]
fn a_failure_while_compensating_is_reported_loudly_with_what_needs_a_hand() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_bad_down.toml",
        r#"
[[expand]]
op = "sql"
up = "CREATE TABLE made (id int)"
down = "DROP TABLE not_what_was_made"

[[expand]]
op = "sql"
up = "SELECT * FROM missing_table"
down = "SELECT 1"
"#,
    );
    let out = Cli::apply(&db).plan(&plan).code(1).run();
    let stderr = &out.stderr;
    assert!(
        stderr.contains("could NOT be fully rolled back"),
        "{stderr}"
    );
    assert!(
        stderr.contains("COMPENSATION FAILED for step 1 of expand"),
        "{stderr}"
    );
    assert!(stderr.contains("not_what_was_made"), "{stderr}");
    let stdout = &out.stdout;
    assert!(stdout.contains("COULD NOT UNDO"), "{stdout}");
    // The ledger tells the truth: step 1 is still applied, step 2 failed.
    assert!(db.table_exists("made"));
    assert_eq!(
        db.ledger_states("0001_bad_down"),
        ["expand/0=applied", "expand/1=failed"]
    );
    let error = db.rows("SELECT error FROM bellows.steps WHERE step_index = 0");
    assert!(error[0].starts_with("compensation failed"), "{error:?}");
}

#[test]
fn ctrl_c_stops_between_steps_with_exit_130_and_apply_continues_later() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_slow.toml",
        r#"
[[expand]]
op = "sql"
up = "SELECT pg_sleep(2)"
down = "SELECT 1"

[[expand]]
op = "sql"
up = "CREATE TABLE after_stop (id int)"
down = "DROP TABLE after_stop"
"#,
    );
    let child = Cli::apply(&db).plan(&plan).spawn();
    wait_until("the first step to start", || {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(2)' AND state = 'active' AND datname = current_database()";
        (db.i64(sql) > 0).then_some(())
    });
    child.signal("INT");
    let out = child.wait().expect_code(130);
    assert!(&out.stderr.contains("bellows apply` again"));
    assert!(!db.table_exists("after_stop"));
    assert_eq!(
        db.ledger_states("0001_slow"),
        ["expand/0=applied", "expand/1=pending"]
    );

    Cli::apply(&db).plan(&plan).run();
    assert!(db.table_exists("after_stop"));
}

#[test]
fn a_statement_whose_connection_is_killed_is_retried_on_a_new_connection() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_killed.toml",
        r#"
[[expand]]
op = "sql"
up = "CREATE TABLE made_once (id int); SELECT pg_sleep(1.5)"
down = "DROP TABLE made_once"
"#,
    );
    let child = Cli::apply(&db)
        .args(["--format", "json"])
        .plan(&plan)
        .spawn();
    wait_until(
        "the statement to start, and its connection to be killed",
        || {
            let killed = db.i64(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE query LIKE 'CREATE TABLE made_once%' AND state = 'active'
                AND datname = current_database()) k",
            );
            (killed > 0).then_some(())
        },
    );
    let out = child.wait().expect_code(0);
    assert!(&out.stdout.contains("\"event\":\"retrying\""));
    assert!(db.table_exists("made_once"));
    assert_eq!(db.ledger_states("0001_killed"), ["expand/0=applied"]);
}
