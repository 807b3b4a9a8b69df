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

/// A plan that keeps `display` in step with `name`; its contract drops the sync.
const SYNC_PLAN: &str = r#"
[[expand]]
op = "add_column"
table = "users"
column = "display"
type = "text"

[[expand]]
op = "sync_column"
table = "users"
column = "display"
from = "name"

[[contract]]
op = "drop_sync"
table = "users"
column = "display"
"#;

fn doctor_alone(db: &dyn TestDb) -> Cli {
    Cli::new(["doctor", "-d", db.url()])
}

backend_test!(
    fn doctor_without_plans_accounts_for_the_syncs_the_ledger_records(db) {
        seed_users(db, 5);
        if db.dialect() == bellows::dialect::DialectKind::Postgres {
            // PostgreSQL copies a partitioned table's triggers onto each partition.
            db.exec(
                "CREATE TABLE events (id bigint, name text) PARTITION BY RANGE (id);
                 CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (100);
                 CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (100) TO (200);",
            );
        }
        let plans = Plans::new();
        let plan = plans.write("0001_sync.toml", SYNC_PLAN);
        Cli::apply(db).yes().plan(&plan).arg("--to").arg("switch").run();
        if db.dialect() == bellows::dialect::DialectKind::Postgres {
            let kept = plans.write(
                "0002_kept.toml",
                SYNC_PLAN
                    .replace("\"users\"", "\"events\"")
                    .split("[[contract]]")
                    .next()
                    .unwrap(),
            );
            Cli::apply(db).yes().plan(&kept).run();
        }
        // A live sync of an applied plan, without its plan file: not a leftover.
        doctor_alone(db).stdout_has("no drift").run();

        // Its step marked rolled back, the same triggers are left over.
        db.exec(&format!(
            "UPDATE {} SET state = 'rolled_back' WHERE plan = '0001_sync' AND op = 'sync_column'",
            db.steps_table()
        ));
        doctor_alone(db)
            .code(1)
            .stdout_has("leftover")
            .stdout_has("bellows_sync_users_display")
            .run();
        db.exec(&format!(
            "UPDATE {} SET state = 'applied' WHERE plan = '0001_sync' AND op = 'sync_column'",
            db.steps_table()
        ));

        // The contract dropped it: none left, and no drift either.
        Cli::apply(db).yes().plan(&plan).run();
        assert!(!db.trigger_exists("bellows_sync_users_display"));
        doctor_alone(db).stdout_has("no drift").run();
    }
);
