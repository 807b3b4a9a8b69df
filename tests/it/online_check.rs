//! `check -d` and `plan -d`: the plan's SQL compiled against the database, as the plan will have
//! shaped it by then, with nothing changed.

use crate::harness::*;
use bellows::dialect::DialectKind;

/// Every kind of mistake the online check must catch, each at its own step; the good steps in
/// between use a column an earlier step adds, which must not be reported.
const MISTAKES: &str = r#"name = "mistakes"

[[expand]]
op = "add_column"
table = "users"
column = "age"
type = "intger"

[[expand]]
op = "add_column"
table = "users"
column = "kind"
type = "text"

[[expand]]
op = "add_column"
table = "nosuch"
column = "x"
type = "text"

[[backfill]]
table = "users"
set = { kind = "name ||| 'x'" }

[[backfill]]
table = "users"
set = { kind = "upper(nme)" }
where = "kind IS NULL"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE kind IS NULL"
expect = 0
"#;

const GOOD: &str = r#"name = "good"

[[expand]]
op = "add_column"
table = "users"
column = "kind"
type = "text"

[[backfill]]
table = "users"
set = { kind = "upper(name)" }
where = "kind IS NULL"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE kind IS NULL"
expect = 0

[[contract]]
op = "drop_column"
table = "users"
column = "verified_at"
"#;

backend_test! {
    fn check_with_a_database_catches_what_only_the_database_knows(db) {
        seed_users(db, 3);
        let plans = Plans::new();
        let bad = plans.write("0001_mistakes.toml", MISTAKES);
        let out = Cli::check().arg("-d").arg(db.url()).plan(&bad).code(2).run();
        let stdout = out.stdout.clone();
        println!("{stdout}");
        assert!(stdout.contains("table `nosuch` does not exist"), "{stdout}");
        assert!(stdout.contains(":17:9"), "the table value of the third step: {stdout}");
        // The unknown column is pointed at inside the fragment.
        assert!(stdout.contains("nme"), "{stdout}");
        assert!(stdout.contains(":27:23"), "the caret on `nme`: {stdout}");
        // The operator that does not exist (a syntax error on SQLite).
        assert!(stdout.contains(":23:2"), "`|||`: {stdout}");
        if db.dialect() == DialectKind::Postgres {
            assert!(stdout.contains("type \"intger\" does not exist"), "{stdout}");
            assert!(stdout.contains(":7:9"), "the type value: {stdout}");
        }
        // The guard uses `kind`, which the second step adds: no error there.
        assert!(!stdout.contains(":32:"), "{stdout}");
        // Nothing was changed.
        assert!(!db.column_exists("users", "kind"));
        assert!(!db.ledger_exists());

        let good = plans.write("0002_good.toml", GOOD);
        Cli::check().arg("-d").arg(db.url()).plan(&good)
            .stdout_has("checked 1 plan: 1 warning")
            .stdout_lacks("sql-invalid")
            .run();
        assert!(db.column_exists("users", "verified_at"));
        assert!(!db.column_exists("users", "kind"));
    }
}

backend_test! {
    fn plan_with_a_database_refuses_what_the_database_refuses(db) {
        seed_users(db, 3);
        let plans = Plans::new();
        let bad = plans.write("0001_mistakes.toml", MISTAKES);
        Cli::plan_cmd().arg("-d").arg(db.url()).plan(&bad)
            .code(2)
            .stderr_has("error[sql-invalid]")
            .stderr_has("nme")
            .run();
        let good = plans.write("0002_good.toml", GOOD);
        Cli::plan_cmd().arg("-d").arg(db.url()).plan(&good).run();
    }
}

backend_test!(
    fn steps_already_applied_are_not_replayed(db) {
        seed_users(db, 3);
        let plans = Plans::new();
        let good = plans.write("0001_good.toml", GOOD);
        Cli::apply(db).args(["--to", "expand"]).plan(&good).run();
        Cli::check().arg("-d").arg(db.url()).plan(&good)
            .stdout_lacks("sql-invalid")
            .run();
        Cli::plan_cmd().arg("-d").arg(db.url()).plan(&good).run();
    }
);

/// Every kind of step the check replays with DDL on MySQL's temporary shadows.
const EVERY_DDL: &str = r#"name = "every_ddl"

[[expand]]
op = "add_column"
table = "users"
column = "kind"
type = "varchar(20)"

[[expand]]
op = "add_index"
table = "users"
columns = ["kind"]

[[backfill]]
table = "users"
set = { kind = "upper(name)" }
where = "kind IS NULL"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE kind IS NULL AND id IN (SELECT id FROM users)"
expect = 0

[[contract]]
op = "set_not_null"
table = "users"
column = "kind"

[[contract]]
op = "drop_column"
table = "users"
column = "verified_at"

[[contract]]
op = "drop_table"
table = "extra"
"#;

/// MySQL commits DDL on its own, so its check cannot roll back: the real tables must come out
/// byte for byte as they went in, every ALTER having run on a TEMPORARY shadow.
#[test]
fn the_mysql_check_changes_no_real_table() {
    let db = MysqlDb::new();
    seed_users(&db, 3);
    db.exec("CREATE TABLE extra (id int PRIMARY KEY, v int)");
    let before = (
        db.show_create("users"),
        db.show_create("extra"),
        db.objects(),
    );
    let plans = Plans::new();
    let plan = plans.write("0001_every_ddl.toml", EVERY_DDL);
    Cli::check()
        .arg("-d")
        .arg(db.url())
        .plan(&plan)
        .stdout_lacks("sql-invalid")
        .stdout_lacks("not available")
        .run();
    Cli::plan_cmd().arg("-d").arg(db.url()).plan(&plan).run();
    let after = (
        db.show_create("users"),
        db.show_create("extra"),
        db.objects(),
    );
    assert_eq!(before, after);
    assert_eq!(db.count("users"), 3);
    assert!(!db.ledger_exists());
}
