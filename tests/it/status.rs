//! `status` shows what was asked about, in file order, and tells an interrupted step (no run
//! holds the run lock) from a running one; `plan -d` shows only its own plan's ledger state.

use crate::harness::{seed_users, Cli, Plans, SqliteDb, TestDb};

/// A plan named `name` (not its file stem, so that name order and file order differ).
fn plan_text(name: &str, column: &str) -> String {
    format!(
        r#"name = "{name}"

[[expand]]
op = "add_column"
table = "users"
column = "{column}"
type = "boolean"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE id < 0"
expect = 0
"#
    )
}

/// Plans `zeta` (0001) and `alpha` (0002) in `first/`, `other` (0003) in `second/`, all
/// applied up to expand.
fn three_plans(db: &dyn TestDb, plans: &Plans) -> (std::path::PathBuf, std::path::PathBuf) {
    seed_users(db, 10);
    let first = plans.path().join("first");
    let second = plans.path().join("second");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(first.join("0001_z.toml"), plan_text("zeta", "a")).unwrap();
    std::fs::write(first.join("0002_a.toml"), plan_text("alpha", "b")).unwrap();
    std::fs::write(second.join("0003_o.toml"), plan_text("other", "c")).unwrap();
    for dir in [&first, &second] {
        Cli::apply(db).args(["--to", "expand"]).plan(dir).run();
    }
    (first, second)
}

fn names(json: &serde_json::Value) -> Vec<String> {
    json["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

backend_test!(
    fn status_shows_exactly_the_plans_asked_about_in_file_order(db) {
        let plans = Plans::new();
        let (first, _) = three_plans(db, &plans);
        let json = |args: &[&str]| {
            Cli::status(db)
                .args(["--format", "json"])
                .args(args)
                .run()
                .json()
        };
        assert_eq!(names(&json(&[])), ["zeta", "alpha", "other"]);
        let folder = first.display().to_string();
        assert_eq!(names(&json(&[&folder])), ["zeta", "alpha"]);
        assert_eq!(names(&json(&["alpha"])), ["alpha"]);
        Cli::status(db)
            .arg("alpha")
            .stdout_has("alpha partial")
            .stdout_lacks("zeta")
            .stdout_lacks("other")
            .run();
    }
);

backend_test!(
    fn plan_with_a_database_shows_only_its_own_ledger_state(db) {
        let plans = Plans::new();
        let (first, _) = three_plans(db, &plans);
        Cli::plan_cmd()
            .plan(first.join("0002_a.toml"))
            .args(["-d", db.url()])
            .stdout_has("plan alpha: partial")
            .stdout_lacks("zeta")
            .stdout_lacks("plan other")
            .run();
    }
);

backend_test!(
    fn a_step_left_running_without_the_run_lock_is_interrupted(db) {
        let plans = Plans::new();
        let (first, _) = three_plans(db, &plans);
        db.exec(&format!(
            "UPDATE {} SET state = 'running' WHERE plan = 'alpha' AND phase = 'expand'",
            db.steps_table()
        ));
        let json = Cli::status(db)
            .args(["--format", "json", "alpha"])
            .run()
            .json();
        assert_eq!(json["plans"][0]["state"], "interrupted", "{json}");
        assert_eq!(
            json["plans"][0]["phases"][0]["steps"][0]["state"],
            "interrupted"
        );
        Cli::status(db)
            .plan(&first)
            .stdout_has("alpha interrupted")
            .stdout_lacks("running")
            .run();
    }
);

#[test]
fn a_step_left_running_while_a_run_holds_the_lock_is_running() {
    let db = SqliteDb::new();
    let plans = Plans::new();
    three_plans(&db, &plans);
    db.exec("UPDATE bellows_steps SET state = 'running' WHERE plan = 'alpha' AND phase = 'expand'");
    let mut lock_path = db.path.clone().into_os_string();
    lock_path.push(".bellows-lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    Cli::status(&db)
        .arg("alpha")
        .stdout_has("alpha running")
        .run();
    lock.unlock().unwrap();
    Cli::status(&db)
        .arg("alpha")
        .stdout_has("alpha interrupted")
        .run();
}
