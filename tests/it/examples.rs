//! The example plans in `plans/` load with no error and no warning, and do what README says.

use std::path::{Path, PathBuf};

use bellows::plan::load::load_file;
use bellows::plan::Phase;

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
