//! `rollback` on every backend: reverse order, `--to`, refusal before any change when an
//! irreversible step is in the way, confirmation.

use crate::harness::{seed_users, Cli, Plans};

const WITH_IRREVERSIBLE: &str = r#"
[[expand]]
op = "sql"
up = "CREATE TABLE kept (id int)"
down = "DROP TABLE kept"

[[switch]]
op = "sql"
up = "CREATE TABLE switched (id int)"
down = "DROP TABLE switched"

[[contract]]
op = "sql"
up = "CREATE TABLE forever (id int)"
"#;

const SMALL: &str =
    "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE small (id int)\"\ndown = \"DROP TABLE small\"\n";

backend_test!(
    fn rollback_refuses_before_changing_anything_when_an_irreversible_step_is_in_the_way(db) {
        let plans = Plans::new();
        let plan = plans.write("0001_mixed.toml", WITH_IRREVERSIBLE);
        Cli::apply(db).yes().plan(&plan).run();
        let before = db.ledger_states("0001_mixed");

        Cli::rollback(db)
            .yes()
            .plan(&plan)
            .code(2)
            .stderr_has("step 1 of contract")
            .stderr_has("irreversible")
            .stderr_has("nothing was changed")
            .run();
        for table in ["kept", "switched", "forever"] {
            assert!(db.table_exists(table), "{table}");
        }
        assert_eq!(db.ledger_states("0001_mixed"), before);

        // --to switch would pass the irreversible contract step too: refused as well.
        Cli::rollback(db)
            .yes()
            .args(["--to", "switch"])
            .plan(&plan)
            .code(2)
            .run();
        assert!(db.table_exists("switched"));
        assert_eq!(db.ledger_states("0001_mixed"), before);
    }
);

backend_test!(
    fn rollback_refuses_before_any_change_when_a_drop_is_in_the_way(db) {
        seed_users(db, 10);
        db.exec("CREATE TABLE audit (id int PRIMARY KEY, note text)");
        let plans = Plans::new();
        let plan = plans.write(
            "0001_drop.toml",
            r#"
[[expand]]
op = "add_column"
table = "users"
column = "nickname"
type = "text"

[[contract]]
op = "drop_column"
table = "users"
column = "verified_at"

[[contract]]
op = "drop_table"
table = "audit"
"#,
        );
        Cli::apply(db).yes().plan(&plan).run();
        assert!(!db.column_exists("users", "verified_at"));
        assert!(!db.table_exists("audit"));
        let before = db.ledger_states("0001_drop");

        Cli::rollback(db)
            .yes()
            .plan(&plan)
            .code(2)
            .stderr_has("drop_")
            .run();
        assert_eq!(db.ledger_states("0001_drop"), before);
        assert!(db.column_exists("users", "nickname"));
    }
);

backend_test!(
    fn rollback_to_a_phase_undoes_only_that_phase_and_later_ones(db) {
        let plans = Plans::new();
        let plan = plans.write(
            "0001_phases.toml",
            &WITH_IRREVERSIBLE.replace(
                "up = \"CREATE TABLE forever (id int)\"",
                "up = \"CREATE TABLE forever (id int)\"\ndown = \"DROP TABLE forever\"",
            ),
        );
        Cli::apply(db).yes().plan(&plan).run();
        let out = Cli::rollback(db)
            .yes()
            .args(["--to", "switch"])
            .plan(&plan)
            .run();
        assert!(db.table_exists("kept"));
        assert!(!db.table_exists("switched"));
        assert!(!db.table_exists("forever"));
        assert_eq!(
            db.ledger_states("0001_phases"),
            [
                "expand/0=applied",
                "switch/0=rolled_back",
                "contract/0=rolled_back"
            ]
        );
        let contract = out.stdout_at("undid sql CREATE TABLE forever");
        let switch = out.stdout_at("undid sql CREATE TABLE switched");
        assert!(contract < switch, "last first: {out}");

        // Nothing left after switch: a second rollback to switch has nothing to do.
        Cli::rollback(db)
            .yes()
            .args(["--to", "switch"])
            .plan(&plan)
            .stdout_has("nothing to do")
            .run();
    }
);

backend_test!(
    fn rollback_without_a_terminal_needs_yes_and_changes_nothing(db) {
        let plans = Plans::new();
        let plan = plans.write("0001_small.toml", SMALL);
        Cli::apply(db).plan(&plan).run();
        Cli::rollback(db)
            .plan(&plan)
            .code(2)
            .stderr_has("--yes")
            .run();
        assert!(db.table_exists("small"));
        assert_eq!(db.ledger_states("0001_small"), ["expand/0=applied"]);
    }
);

backend_test!(
    fn rollback_of_a_database_without_a_ledger_has_nothing_to_do_and_creates_nothing(db) {
        let plans = Plans::new();
        let plan = plans.write("0001_small.toml", SMALL);
        Cli::rollback(db)
            .yes()
            .plan(&plan)
            .stdout_has("nothing to do")
            .run();
        assert!(!db.ledger_exists());
    }
);
