//! The example plans of `plans/` applied through `bellows apply` on every backend, a phase at a
//! time, with the old and the new application writing in between; afterwards every row is
//! checked against what the applications wrote.

use std::path::PathBuf;

use bellows::dialect::DialectKind;

use crate::fixtures::seed_examples;
use crate::harness::{Cli, TestDb};

/// Enough users for several batches of every backfill (1000 and 2000 rows a batch).
const USERS: i64 = 3000;

fn plans() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plans")
}

fn apply_to(db: &dyn TestDb, phase: &str) {
    Cli::apply(db).args(["--to", phase]).plan(plans()).run();
}

/// What the rows must hold at the end: `expected_names` and `expected_orders` start as copies
/// of the seeded rows and change with every application write below.
fn keep_expectations(db: &dyn TestDb) {
    db.exec("CREATE TABLE expected_names AS SELECT id, name FROM users");
    db.exec("CREATE TABLE expected_orders AS SELECT id, total_amount FROM orders");
}

/// The old application, after expand: it writes only the old columns; the sync triggers fill
/// the new ones. User 4 was not verified; user 5 and order 1 change, one user and one order
/// are new.
fn old_application_writes(db: &dyn TestDb) {
    for sql in [
        "UPDATE users SET verified_at = CURRENT_TIMESTAMP WHERE id = 4",
        "UPDATE users SET name = 'Old Write' WHERE id = 5",
        "INSERT INTO users (id, name, email) VALUES (100001, 'Old Signup', 'old@example.com')",
        "UPDATE orders SET total_amount = 999 WHERE id = 1",
        "INSERT INTO orders (id, user_id, total_amount) VALUES (100001, 1, 1234)",
        "UPDATE expected_names SET name = 'Old Write' WHERE id = 5",
        "INSERT INTO expected_names (id, name) VALUES (100001, 'Old Signup')",
        "UPDATE expected_orders SET total_amount = 999 WHERE id = 1",
        "INSERT INTO expected_orders (id, total_amount) VALUES (100001, 1234)",
    ] {
        db.exec(sql);
    }
}

/// The new application, after switch: it writes only the new columns; the reverse syncs keep
/// the old ones right for the old application still running.
fn new_application_writes(db: &dyn TestDb) {
    // NOTE: SQLite's syncs are AFTER triggers and NOT NULL is checked before they run: an insert
    // there writes the old NOT NULL column itself (docs/plan-format.md, sync_column).
    let signup = match db.dialect() {
        DialectKind::Sqlite => "INSERT INTO users (id, name, full_name, email, email_verified) VALUES (100002, 'New Signup', 'New Signup', 'new@example.com', true)",
        _ => "INSERT INTO users (id, full_name, email, email_verified) VALUES (100002, 'New Signup', 'new@example.com', true)",
    };
    let order = match db.dialect() {
        DialectKind::Sqlite => {
            "INSERT INTO orders (id, user_id, total_amount, total) VALUES (100002, 2, 4321, 43.21)"
        }
        _ => "INSERT INTO orders (id, user_id, total) VALUES (100002, 2, 43.21)",
    };
    for sql in [
        "UPDATE users SET full_name = 'New Write' WHERE id = 6",
        signup,
        "UPDATE orders SET total = 7.5 WHERE id = 2",
        order,
        "UPDATE expected_names SET name = 'New Write' WHERE id = 6",
        "INSERT INTO expected_names (id, name) VALUES (100002, 'New Signup')",
        "UPDATE expected_orders SET total_amount = 750 WHERE id = 2",
        "INSERT INTO expected_orders (id, total_amount) VALUES (100002, 4321)",
    ] {
        db.exec(sql);
    }
    // What the old application reads, through the reverse syncs.
    assert_eq!(
        db.rows("SELECT name FROM users WHERE id IN (6, 100002) ORDER BY id"),
        ["New Write", "New Signup"]
    );
    assert_eq!(
        db.rows("SELECT total_amount FROM orders WHERE id IN (2, 100002) ORDER BY id"),
        ["750", "4321"]
    );
}

/// Rows whose new column is not what the seed and the applications' writes make it.
fn wrong_rows(db: &dyn TestDb) -> [i64; 3] {
    [
        db.i64(
            "SELECT count(*) FROM users WHERE email_verified IS NULL
                OR (email_verified AND verified_at IS NULL AND id <> 100002)
                OR (NOT email_verified AND verified_at IS NOT NULL)",
        ),
        db.i64(
            "SELECT (SELECT count(*) FROM users) - (SELECT count(*) FROM users u
                JOIN expected_names e ON e.id = u.id AND e.name = u.full_name)",
        ),
        db.i64(
            "SELECT (SELECT count(*) FROM orders) - (SELECT count(*) FROM orders o
                JOIN expected_orders e ON e.id = o.id AND o.total = e.total_amount / 100.0)",
        ),
    ]
}

/// The contract's NOT NULLs and the switch's default hold: writes breaking them fail.
fn check_the_new_shape(db: &dyn TestDb) {
    assert!(!db.column_exists("users", "name"));
    assert!(!db.column_exists("orders", "total_amount"));
    let mut session = db.session();
    for sql in [
        "INSERT INTO users (id, full_name, email) VALUES (100003, NULL, 'null@example.com')",
        "UPDATE users SET email_verified = NULL WHERE id = 1",
        "UPDATE orders SET total = NULL WHERE id = 1",
    ] {
        assert!(session.try_exec(sql).is_err(), "{sql} must fail");
    }
    db.exec(
        "INSERT INTO users (id, full_name, email) VALUES (100004, 'Defaulted', 'd@example.com')",
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE id = 100004 AND NOT email_verified"),
        1
    );
}

backend_test!(
    fn the_example_plans_apply_end_to_end_and_every_row_is_right(db) {
        seed_examples(db, USERS);
        keep_expectations(db);
        apply_to(db, "expand");
        old_application_writes(db);
        apply_to(db, "switch");
        new_application_writes(db);
        Cli::apply(db).yes().plan(plans()).run();
        assert_eq!(wrong_rows(db), [0, 0, 0]);
        assert_eq!(
            db.i64("SELECT count(*) FROM users WHERE email_verified"),
            USERS * 7 / 10 + 2,
            "70% of the seeded users, user 4 and the new application's signup"
        );
        check_the_new_shape(db);
        assert_eq!(
            db.i64(&format!(
                "SELECT count(*) FROM {} WHERE state <> 'applied'",
                db.steps_table()
            )),
            0
        );
    }
);
