//! `-v`/`-vv` and `RUST_LOG` turn on logging to stderr; without them only the report is printed.

use crate::common::{bellows, Plans, SqliteDb};

#[test]
fn verbose_flags_log_every_statement_to_stderr() {
    let db = SqliteDb::new();
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a INT)");
    let plans = Plans::new();
    let plan = plans.write(
        "0001_add.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"t\"\ncolumn = \"b\"\ntype = \"INT\"\n",
    );
    let quiet = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("running:"));

    let plan = plans.write(
        "0002_add.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"t\"\ncolumn = \"c\"\ntype = \"INT\"\n",
    );
    let verbose = bellows()
        .args(["-vv", "apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(verbose.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        stderr.contains("running: ALTER TABLE \"t\" ADD COLUMN \"c\" INT"),
        "{stderr}"
    );
}
