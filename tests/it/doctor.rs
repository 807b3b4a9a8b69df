//! `bellows doctor` through the binary: no drift after a clean apply; an index dropped by hand,
//! an index made by hand under the name of a rolled-back step, and a half-done undo are each
//! reported, with exit 1, in text and JSON.

use crate::harness::{seed_users, Cli, Plans, TestDb};

const PLAN: &str = r#"
[[expand]]
op = "add_index"
table = "users"
columns = ["name"]
name = "users_name_idx"
"#;

/// `DROP INDEX users_name_idx` as `db` writes it (MySQL names the table).
fn drop_index(db: &dyn TestDb) {
    db.exec(match db.dialect() {
        bellows::dialect::DialectKind::Mysql => "DROP INDEX users_name_idx ON users",
        _ => "DROP INDEX users_name_idx",
    });
}

fn doctor(db: &dyn TestDb, plan: &std::path::Path) -> Cli {
    Cli::new(["doctor", "-d", db.url()]).plan(plan)
}

backend_test!(
    fn doctor_reports_what_the_ledger_and_the_catalog_disagree_on(db) {
        seed_users(db, 10);
        let plans = Plans::new();
        let plan = plans.write("0001_index.toml", PLAN);
        Cli::apply(db).yes().plan(&plan).run();
        doctor(db, &plan)
            .stdout_has("no drift")
            .stdout_has("1 object(s)")
            .run();

        drop_index(db);
        doctor(db, &plan)
            .code(1)
            .stdout_has("missing")
            .stdout_has("index users_name_idx")
            .run();
        let json = doctor(db, &plan).arg("--format").arg("json").code(1).run().json();
        assert_eq!(json["findings"][0]["problem"], "missing", "{json}");
        assert_eq!(json["findings"][0]["plan"], "0001_index", "{json}");

        // Rolled back, the index must not exist; one made by hand under its name is reported.
        db.exec("CREATE INDEX users_name_idx ON users (name)");
        Cli::rollback(db).yes().plan(&plan).run();
        doctor(db, &plan).stdout_has("no drift").run();
        db.exec("CREATE INDEX users_name_idx ON users (name)");
        doctor(db, &plan)
            .code(1)
            .stdout_has("unexpected")
            .stdout_has("rolled back")
            .run();

        // A step whose undo an interrupted run began.
        drop_index(db);
        Cli::apply(db).yes().plan(&plan).run();
        let steps = bellows::engine::ledger::steps_table(db.dialect());
        db.exec(&format!("UPDATE {steps} SET undo_done = 0"));
        doctor(db, &plan)
            .code(1)
            .stdout_has("interrupted")
            .stdout_has("its undo stopped after 0 statement(s)")
            .run();
        // … which the next rollback finishes.
        Cli::rollback(db).yes().plan(&plan).run();
        assert!(!db.index_exists("users_name_idx"));
        doctor(db, &plan).stdout_has("no drift").run();
    }
);

backend_test!(
    fn doctor_without_a_ledger_or_plans_finds_nothing(db) {
        Cli::new(["doctor", "-d", db.url()])
            .stdout_has("no drift")
            .stdout_has("no ledger")
            .run();
    }
);
