//! A step the database refuses is reported like a plan diagnostic: the plan file and line, a
//! caret under the plan's own SQL that was refused, the SQLSTATE, and — for an error a re-run
//! cannot fix — no "run it again" advice; `--format json` keeps the database's fields apart.

use bellows::dialect::DialectKind;

use crate::harness::{seed_users, Cli, Plans};

const TYPO_IN_SET: &str = r#"
[[expand]]
op = "add_column"
table = "users"
column = "shout"
type = "text"

[[backfill]]
table = "users"
set = { shout = "upper(nme)" }
"#;

backend_test!(
    fn a_backfill_whose_expression_names_no_column_points_at_the_expression(db) {
        seed_users(db, 50);
        let plans = Plans::new();
        let plan = plans.write("0001_shout.toml", TYPO_IN_SET);
        let shown = plan.display().to_string();
        let out = Cli::apply(db).plan(&plan).code(1).run();
        // The unknown column is on line 10, inside `set = { shout = "upper(nme)" }`.
        assert!(out.stderr.contains(&format!("--> {shown}:10:24")), "{out}");
        assert!(out.stderr.contains("10 | set = { shout = \"upper(nme)\" }"), "{out}");
        assert!(out.stderr.contains("^^^ in this `set`"), "{out}");
        let code = match db.dialect() {
            DialectKind::Postgres => "= sqlstate: 42703",
            DialectKind::Mysql => "= sqlstate: 42S22",
            DialectKind::Sqlite => "= error code: 1",
        };
        assert!(out.stderr.contains(code), "{out}");
        assert!(out.stderr.contains("the error is in the plan's SQL"), "{out}");
        assert!(!out.stderr.contains("run `bellows apply` again to resume"), "{out}");
        assert_eq!(db.ledger_states("0001_shout"), ["expand/0=applied", "backfill/0=failed"]);

        let out = Cli::apply(db)
            .plan(&plan)
            .args(["--format", "json"])
            .code(1)
            .run();
        let error = out.json_lines().pop().expect("an error event");
        assert_eq!(error["event"], "error");
        assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(10), Some(24)));
        assert_eq!(error["expression"]["key"], "set");
        assert_eq!(error["expression"]["text"], "upper(nme)");
        match db.dialect() {
            DialectKind::Postgres => {
                assert_eq!(error["sqlstate"], "42703");
                assert_eq!(error["database"]["message"], "column \"nme\" does not exist");
            }
            DialectKind::Mysql => {
                assert_eq!(error["sqlstate"], "42S22");
                assert_eq!(error["database"]["code"], "1054");
            }
            DialectKind::Sqlite => assert_eq!(error["database"]["code"], "1"),
        }
    }
);

backend_test!(
    fn a_type_typo_in_expand_points_at_the_type_and_the_phase_is_compensated(db) {
        seed_users(db, 5);
        let plans = Plans::new();
        let plan = plans.write(
            "0001_age.toml",
            "[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"note\"\ntype = \"text\"\n\n\
             [[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"age\"\ntype = \"intger\"\n",
        );
        // SQLite takes any type name; PostgreSQL and MySQL refuse the typo.
        let refused = db.dialect() != DialectKind::Sqlite;
        let out = Cli::apply(db).plan(&plan).code(if refused { 1 } else { 0 }).run();
        if refused {
            assert!(out.stderr.contains(":11:9"), "{out}");
            assert!(out.stderr.contains("^^^^^^ in this `type`"), "{out}");
            if db.dialect() == DialectKind::Postgres {
                assert!(out.stderr.contains("= sqlstate: 42704"), "{out}");
            }
            assert!(out.stderr.contains("the expand phase was rolled back"), "{out}");
            assert!(!db.column_exists("users", "note"), "the phase was compensated");
        }
    }
);

backend_test!(
    fn a_guard_whose_query_fails_points_at_the_query(db) {
        seed_users(db, 5);
        let plans = Plans::new();
        let plan = plans.write(
            "0001_guard.toml",
            "[[switch]]\nop = \"guard\"\nquery = \"SELECT count(*) FROM users WHERE nmae IS NULL\"\nexpect = 0\n",
        );
        let out = Cli::apply(db).plan(&plan).code(1).run();
        let shown = plan.display().to_string();
        assert!(out.stderr.contains(&format!("--> {shown}:3:43")), "{out}");
        assert!(out.stderr.contains("in this `query`"), "{out}");
        assert!(out.stderr.contains("guard `"), "{out}");
    }
);
