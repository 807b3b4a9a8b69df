//! `-v`/`-vv` and `RUST_LOG` turn on logging to stderr; without them only the report is printed.

use crate::harness::{Cli, Plans, SqliteDb, TestDb};

#[test]
fn verbose_flags_log_every_statement_to_stderr() {
    let db = SqliteDb::new();
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a INT)");
    let plans = Plans::new();
    let plan = plans.write(
        "0001_add.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"t\"\ncolumn = \"b\"\ntype = \"INT\"\n",
    );
    Cli::apply(&db).plan(&plan).stderr_lacks("running:").run();

    let plan = plans.write(
        "0002_add.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"t\"\ncolumn = \"c\"\ntype = \"INT\"\n",
    );
    Cli::new(["-vv", "apply", "-d", &db.url])
        .plan(&plan)
        .stderr_has("running: ALTER TABLE \"t\" ADD COLUMN \"c\" INT")
        .run();
}

#[test]
fn quiet_prints_nothing_for_a_run_that_succeeds() {
    let db = SqliteDb::new();
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a INT)");
    let plans = Plans::new();
    let plan = plans.write(
        "0001_add.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"t\"\ncolumn = \"b\"\ntype = \"INT\"\n",
    );
    let out = Cli::new(["-q", "apply", "-d", &db.url]).plan(&plan).run();
    assert_eq!(out.stdout, "", "quiet: nothing printed");
    assert!(db.column_exists("t", "b"));
}

#[test]
fn color_always_and_never_override_the_terminal_check() {
    let plans = Plans::new();
    let plan = plans.write(
        "0001_add.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"t\"\ncolumn = \"b\"\ntype = \"INT\"\n",
    );
    let always = Cli::new(["--color", "always", "check"]).plan(&plan).run();
    assert!(always.stdout.contains('\u{1b}'), "{}", always.stdout);
    let never = Cli::new(["--color", "never", "check"])
        .env("CLICOLOR_FORCE", "1")
        .plan(&plan)
        .run();
    assert!(!never.stdout.contains('\u{1b}'), "{}", never.stdout);
}
