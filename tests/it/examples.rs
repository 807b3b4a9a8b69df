//! The example plans in `plans/` load with no error and no warning, and do what README says.

use std::path::{Path, PathBuf};

use bellows::plan::load::load_file;
use bellows::vocab::Phase;

fn example_plans() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    let mut plans: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    plans.sort();
    plans
}

/// (phase, op) of every step, in execution order.
fn steps(file: &str) -> Vec<(Phase, &'static str)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plans")
        .join(file);
    let loaded = load_file(&path).unwrap();
    let plan = loaded.plan.expect("the example plan loads");
    let mut steps: Vec<_> = plan
        .steps
        .iter()
        .map(|s| (s.phase, s.index, s.op.name()))
        .collect();
    steps.sort();
    steps
        .into_iter()
        .map(|(phase, _, op)| (phase, op))
        .collect()
}

#[test]
fn every_example_plan_loads_clean() {
    let plans = example_plans();
    assert!(
        plans.len() >= 3,
        "expected the three example plans, found {plans:?}"
    );
    for path in plans {
        let loaded = load_file(&path).unwrap();
        assert!(
            loaded.diagnostics.is_empty(),
            "{} has findings: {:#?}",
            path.display(),
            loaded.diagnostics
        );
        let plan = loaded.plan.unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy();
        assert!(
            stem.ends_with(&plan.name),
            "{}: the plan name `{}` should be the file name without its number",
            path.display(),
            plan.name
        );
        for phase in Phase::ALL {
            assert!(
                phase == Phase::Backfill || plan.steps.iter().any(|s| s.phase == phase),
                "{} has no {phase} step",
                path.display()
            );
        }
    }
}

#[test]
fn the_email_verified_example_is_the_spec_example() {
    use Phase::*;
    assert_eq!(
        steps("0001_users_email_verified.toml"),
        [
            (Expand, "add_column"),
            (Expand, "sync_column"),
            (Backfill, "backfill"),
            (Switch, "set_default"),
            (Contract, "drop_sync"),
            (Contract, "set_not_null"),
        ]
    );
}

#[test]
fn the_rename_example_syncs_both_ways_and_guards_before_dropping() {
    use Phase::*;
    assert_eq!(
        steps("0002_users_rename_name_to_full_name.toml"),
        [
            (Expand, "add_column"),
            (Expand, "sync_column"),
            (Backfill, "backfill"),
            (Switch, "guard"),
            (Contract, "drop_sync"),
            (Contract, "set_not_null"),
            (Contract, "drop_column"),
        ]
    );
}

#[test]
fn the_type_change_example_converts_into_a_new_column() {
    use Phase::*;
    assert_eq!(
        steps("0003_orders_total_amount_numeric.toml"),
        [
            (Expand, "add_column"),
            (Expand, "sync_column"),
            (Backfill, "backfill"),
            (Switch, "guard"),
            (Contract, "drop_sync"),
            (Contract, "set_not_null"),
            (Contract, "drop_column"),
        ]
    );
}

/// Plays the SQL of a plan's steps by hand (not through the engine) on a seeded database, to
/// prove the example plans' expressions and guards are valid SQL on every database and that the
/// guards hold once the backfill is done.
mod sql_on_the_fixtures {
    use std::path::Path;

    use toml::{Table, Value};

    use crate::fixtures::seed_examples;
    use crate::harness::TestDb;

    const USERS: i64 = 2000;

    fn steps<'a>(plan: &'a Table, phase: &str) -> Vec<&'a Table> {
        plan.get(phase)
            .and_then(Value::as_array)
            .map(|steps| steps.iter().filter_map(Value::as_table).collect())
            .unwrap_or_default()
    }

    fn text<'a>(step: &'a Table, key: &str) -> &'a str {
        step[key].as_str().unwrap()
    }

    /// Expand's columns, a backfill as one UPDATE, then every guard and NOT NULL check.
    fn play(db: &dyn TestDb, file: &str) {
        seed_examples(db, USERS);
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plans")
            .join(file);
        let plan: Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for step in steps(&plan, "expand") {
            let table = text(step, "table");
            match text(step, "op") {
                "add_column" => {
                    let (column, type_) = (text(step, "column"), text(step, "type"));
                    db.exec(&format!("ALTER TABLE {table} ADD COLUMN {column} {type_}"))
                }
                "sync_column" => {
                    let from = text(step, "from");
                    db.i64(&format!(
                        "SELECT count(*) FROM {table} WHERE ({from}) IS NULL"
                    ));
                    if let Some(reverse) = step.get("reverse").and_then(Value::as_table) {
                        let from = text(reverse, "from");
                        db.i64(&format!(
                            "SELECT count(*) FROM {table} WHERE ({from}) IS NULL"
                        ));
                    }
                }
                op => panic!("{file}: this test does not play `{op}` yet"),
            }
        }
        for step in steps(&plan, "backfill") {
            let set: Vec<String> = step["set"]
                .as_table()
                .unwrap()
                .iter()
                .map(|(column, expression)| format!("{column} = {}", expression.as_str().unwrap()))
                .collect();
            let filter = step.get("where").and_then(Value::as_str).unwrap_or("1 = 1");
            let table = text(step, "table");
            db.exec(&format!(
                "UPDATE {table} SET {} WHERE {filter}",
                set.join(", ")
            ));
        }
        for phase in ["switch", "contract"] {
            for step in steps(&plan, phase) {
                match text(step, "op") {
                    "guard" => {
                        let query = text(step, "query");
                        let found = db.i64(query);
                        assert_eq!(Some(found), step["expect"].as_integer(), "{file}: {query}");
                    }
                    "set_default" => {
                        let (table, default) = (text(step, "table"), text(step, "default"));
                        db.i64(&format!(
                            "SELECT count(*) FROM {table} WHERE ({default}) IS NULL"
                        ));
                    }
                    "set_not_null" => {
                        let (table, column) = (text(step, "table"), text(step, "column"));
                        let nulls = db.i64(&format!(
                            "SELECT count(*) FROM {table} WHERE {column} IS NULL"
                        ));
                        assert_eq!(
                            nulls, 0,
                            "{file}: {table}.{column} has NULLs after the backfill"
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    backend_test!(
        fn the_email_verified_example(db) {
            play(db, "0001_users_email_verified.toml");
        }
    );

    backend_test!(
        fn the_rename_example(db) {
            play(db, "0002_users_rename_name_to_full_name.toml");
        }
    );

    backend_test!(
        fn the_type_change_example(db) {
            play(db, "0003_orders_total_amount_numeric.toml");
        }
    );
}
