//! Recognising what an interrupted run did: an index of the planned name with another
//! definition stops the step naming both and is never dropped; an index an interrupted run
//! built is not built again; a ledger made before undo progress was recorded still works.

use crate::harness::{seed_users, Cli, Plans, PostgresDb, TestDb};

const INDEX_PLAN: &str = r#"
[[expand]]
op = "add_index"
table = "users"
columns = ["name"]
name = "users_name_idx"
"#;

#[test]
fn an_index_of_the_planned_name_with_another_definition_stops_the_step_naming_both() {
    let db = PostgresDb::new();
    seed_users(&db, 10);
    db.exec("CREATE INDEX users_name_idx ON users (verified_at)");
    let plans = Plans::new();
    let plan = plans.write("0001_index.toml", INDEX_PLAN);
    Cli::apply(&db)
        .yes()
        .plan(&plan)
        .code(1)
        .stderr_has("index users_name_idx already exists with a different definition")
        .stderr_has("planned: CREATE INDEX CONCURRENTLY \"users_name_idx\"")
        .stderr_has(
            "found:   CREATE INDEX users_name_idx ON public.users USING btree (verified_at)",
        )
        .run();
    assert!(
        db.bool("SELECT pg_get_indexdef('users_name_idx'::regclass) LIKE '%(verified_at)'"),
        "someone else's index is left alone"
    );
}

#[test]
fn an_index_an_interrupted_run_built_is_recorded_not_built_again() {
    let db = PostgresDb::new();
    seed_users(&db, 10);
    let plans = Plans::new();
    let plan = plans.write("0001_index.toml", INDEX_PLAN);
    Cli::apply(&db).yes().plan(&plan).run();
    // As a run killed after the build and before its ledger write leaves it.
    db.exec("UPDATE bellows.steps SET state = 'running', actions_done = 0");
    Cli::apply(&db)
        .yes()
        .plan(&plan)
        .stdout_has("index users_name_idx already exists as planned")
        .run();
    assert_eq!(db.ledger_states("0001_index"), ["expand/0=applied"]);
}

backend_test!(
    mysql: "no MySQL ledger predates the undo column: bellows creates MySQL ledgers with it";
    fn a_ledger_without_the_undo_column_is_read_and_upgraded(db) {
        seed_users(db, 10);
        let plans = Plans::new();
        let plan = plans.write("0001_index.toml", INDEX_PLAN);
        Cli::apply(db).yes().plan(&plan).run();
        let steps = bellows::engine::ledger::steps_table(db.dialect());
        db.exec(&format!("ALTER TABLE {steps} DROP COLUMN undo_done"));
        Cli::status(db).plan(&plan).stdout_has("applied").run();
        Cli::new(["doctor", "-d", db.url()]).plan(&plan).stdout_has("no drift").run();
        Cli::rollback(db).yes().plan(&plan).run();
        assert!(!db.index_exists("users_name_idx"));
        assert_eq!(db.ledger_states("0001_index"), ["expand/0=rolled_back"]);
    }
);
