//! `sync_column` when the synced column has a DEFAULT: a default fills the
//! column before the trigger sees the row, so on INSERT a value equal to the default counts as
//! not written. The INSERTs users reported, forward and reverse, on every backend; and `check`'s
//! warnings where the rule cannot be exact.

use crate::harness::db::DialectKind;
use crate::harness::{Cli, Plans};

backend_test!(
    fn forward_sync_fills_a_column_left_at_its_default(db) {
        db.exec("CREATE TABLE f (id integer PRIMARY KEY, name text)");
        let plans = Plans::new();
        let file = plans.write(
            "0001_label.toml",
            r#"
[[expand]]
op = "add_column"
table = "f"
column = "label"
type = "text"
default = "'none'"

[[expand]]
op = "sync_column"
table = "f"
column = "label"
from = "upper(name)"
"#,
        );
        Cli::apply(db).args(["--to", "expand"]).plan(&file).run();
        // The old application does not know `label`.
        db.exec("INSERT INTO f (id, name) VALUES (1, 'x')");
        // The new application writes it.
        db.exec("INSERT INTO f (id, name, label) VALUES (2, 'y', 'chosen')");
        // NULL is left out too.
        db.exec("INSERT INTO f (id, name, label) VALUES (3, 'z', NULL)");
        // The default's text in other letters is a value of its own.
        db.exec("INSERT INTO f (id, name, label) VALUES (4, 'w', 'NONE')");
        assert_eq!(
            db.rows("SELECT id, label FROM f ORDER BY id"),
            ["1|X", "2|chosen", "3|Z", "4|NONE"]
        );
    }
);

backend_test!(
    fn reverse_sync_fills_the_old_column_left_at_its_default(db) {
        db.exec("CREATE TABLE r (id integer PRIMARY KEY, rating text NOT NULL DEFAULT '0')");
        let plans = Plans::new();
        // MySQL casts to SIGNED and CHAR.
        let (to_int, to_text) = match db.dialect() {
            DialectKind::Mysql => ("SIGNED", "CHAR"),
            _ => ("integer", "text"),
        };
        let file = plans.write(
            "0001_rating.toml",
            &r#"
[[expand]]
op = "add_column"
table = "r"
column = "rating_int"
type = "integer"

[[expand]]
op = "sync_column"
table = "r"
column = "rating_int"
from = "CAST(rating AS INT_TYPE)"
reverse = { column = "rating", from = "CAST(rating_int AS TEXT_TYPE)" }
"#
            .replace("INT_TYPE", to_int)
            .replace("TEXT_TYPE", to_text),
        );
        Cli::apply(db).args(["--to", "expand"]).plan(&file).run();
        // The new application writes only the new column: the old one follows, default or not.
        db.exec("INSERT INTO r (id, rating_int) VALUES (1, 7)");
        // The old application writes only the old column.
        db.exec("INSERT INTO r (id, rating) VALUES (2, '5')");
        // Nobody writes either: both agree on the default.
        db.exec("INSERT INTO r (id) VALUES (3)");
        // The new application writes the value that happens to be the old column's default.
        db.exec("INSERT INTO r (id, rating_int) VALUES (4, 0)");
        assert_eq!(
            db.rows("SELECT id, rating, rating_int FROM r ORDER BY id"),
            ["1|7|7", "2|5|5", "3|0|0", "4|0|0"]
        );
        db.exec("UPDATE r SET rating_int = 9 WHERE id = 1");
        db.exec("UPDATE r SET rating = '4' WHERE id = 2");
        assert_eq!(
            db.rows("SELECT id, rating, rating_int FROM r WHERE id IN (1, 2) ORDER BY id"),
            ["1|9|9", "2|4|4"]
        );
    }
);

#[test]
fn check_warns_where_the_sync_cannot_be_exact_and_not_for_a_constant_default() {
    let plans = Plans::new();
    let file = plans.write(
        "0001_sync.toml",
        r#"
[[expand]]
op = "add_column"
table = "f"
column = "label"
type = "text"
default = "'none'"

[[expand]]
op = "sync_column"
table = "f"
column = "label"
from = "upper(name)"

[[expand]]
op = "add_column"
table = "f"
column = "origin"
type = "text"

[[expand]]
op = "add_column"
table = "f"
column = "token"
type = "uuid"
default = "gen_random_uuid()"

[[expand]]
op = "sync_column"
table = "f"
column = "token"
from = "md5(name)::uuid"

[[expand]]
op = "sync_column"
table = "f"
column = "origin"
from = "'legacy'"
"#,
    );
    Cli::check()
        .plan(&file)
        .stdout_has("sync-inexact")
        .stdout_has("its default `gen_random_uuid()` calls `gen_random_uuid()`, which the trigger cannot compare with")
        .stdout_has("`from` is a constant, so every UPDATE that does not change origin sets it to `'legacy'` again")
        .stdout_lacks("sync_column f.label")
        .run();
}
