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
