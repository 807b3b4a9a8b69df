//! `kill -9` trials on SQLite through the same engine code: apply and rollback of a plan with
//! an index, a two-way sync, a backfill, a table rebuild (add_check) and drops, killed at a
//! random instant and run again; the schema must equal a fault-free run's (or the one before
//! the plan), every row be backfilled, `status` agree and `doctor` find no drift.

use std::path::Path;
use std::time::{Duration, Instant};

use super::rng::{self, Rng};
use super::{trial_seed, Command, Run, DEFAULT_TRIALS};
use crate::harness::{SqliteDb, TestDb};

const ROWS: i64 = 3_000;

const PLAN: &str = r#"name = "faults"

[settings]
lock_timeout = "1s"
lock_retries = 10

[[expand]]
op = "add_column"
table = "orders"
column = "total"
type = "REAL"

[[expand]]
op = "add_index"
table = "orders"
columns = ["customer_id"]

[[expand]]
op = "add_check"
table = "orders"
name = "orders_qty_positive"
check = "qty > 0"

[[expand]]
op = "sync_column"
table = "orders"
column = "total"
from = "total_amount / 100.0"

[[backfill]]
table = "orders"
set = { total = "total_amount / 100.0" }
where = "total IS NULL"
batch_size = 200

[[contract]]
op = "drop_sync"
table = "orders"
column = "total"

[[contract]]
op = "drop_index"
name = "orders_note_idx"
"#;

fn seed(db: &SqliteDb) {
    db.exec(&format!(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,
                              total_amount INTEGER NOT NULL, qty INTEGER NOT NULL DEFAULT 1,
                              note TEXT);
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ROWS})
         INSERT INTO orders (id, customer_id, total_amount, note)
              SELECT n, n % 100, n % 5000, 'note ' || n FROM g;
         CREATE INDEX orders_note_idx ON orders (note);"
    ));
}

/// The schema without the ledger, one `CREATE` statement per line, sorted.
fn schema(db: &SqliteDb) -> String {
    db.rows(
        "SELECT sql FROM sqlite_master
          WHERE sql IS NOT NULL AND name NOT LIKE 'bellows%' ORDER BY sql",
    )
    .join("\n")
}

/// A schema without quotes and with whitespace only between words.
fn spelled(schema: &str) -> String {
    let words = schema.replace('"', "");
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    ["(", ")", ","].iter().fold(words, |text, punct| {
        text.replace(&format!(" {punct}"), punct)
            .replace(&format!("{punct} "), punct)
    })
}

/// A seeded database; for rollback, with the plan applied. With the schema before the plan.
fn prepare(command: Command, plan: &Path) -> (SqliteDb, String) {
    let db = SqliteDb::new();
    seed(&db);
    let before = schema(&db);
    if command == Command::Rollback {
        let run = Run::start(Command::Apply, db.url(), plan).finish();
        assert_eq!(run.code, Some(0), "applying first:\n{}", run.text());
    }
    (db, before)
}

fn problems(db: &SqliteDb, command: Command, plan: &Path, expected: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if schema(db) != expected {
        problems.push(format!(
            "the schema differs:\n{}\n---\n{expected}",
            schema(db)
        ));
    }
    let state = match command {
        Command::Apply => {
            let wrong =
                db.i64("SELECT count(*) FROM orders WHERE total IS NOT total_amount / 100.0");
            if wrong != 0 {
                problems.push(format!("{wrong} rows not backfilled"));
            }
            "applied"
        }
        Command::Rollback => "rolled_back",
    };
    problems.extend(super::checks::status_of(db.url(), plan, state));
    let doctor = crate::harness::cli::bellows_std()
        .args(["doctor", "-d", db.url()])
        .arg(plan)
        .output()
        .expect("run bellows doctor");
    if !doctor.status.success() {
        problems.push(format!(
            "doctor: {}",
            String::from_utf8_lossy(&doctor.stdout)
        ));
    }
    problems
}

fn trials(command: Command) {
    let dir = tempfile::tempdir().expect("a directory");
    let plan = dir.path().join("faults.toml");
    std::fs::write(&plan, PLAN).expect("write the plan");
    let seed = rng::seed();
    let count = rng::trials(DEFAULT_TRIALS);
    let (db, before) = prepare(command, &plan);
    let base = Run::start(command, db.url(), &plan).finish();
    assert_eq!(base.code, Some(0), "the fault-free run:\n{}", base.text());
    // NOTE: rolling back a table rebuild writes the table's definition in SQLite's own
    // spelling, so the rollback trials compare with a fault-free rollback, and `before` only
    // has to match it up to spelling.
    let expected = schema(&db);
    if command == Command::Rollback {
        assert_eq!(
            spelled(&expected),
            spelled(&before),
            "rolled back: the schema before"
        );
    }
    let started = Instant::now();
    let mut failed = Vec::new();
    for number in 0..count {
        let mut rng = Rng::new(trial_seed(seed, number));
        let (db, _) = prepare(command, &plan);
        let at = rng.between(Duration::ZERO, base.duration.max(Duration::from_millis(20)));
        let mut run = Run::start(command, db.url(), &plan);
        let struck = run.wait_until(at);
        run.kill();
        let first = run.finish();
        let rerun = Run::start(command, db.url(), &plan).finish();
        let mut found = problems(&db, command, &plan, &expected);
        if rerun.code != Some(0) {
            found.insert(0, rerun.summary("rerun"));
        }
        if !found.is_empty() {
            failed.push(format!(
                "trial {number}: kill -9 at {at:?} (struck: {struck}; {}):\n    - {}",
                first.summary("faulted"),
                found.join("\n    - ")
            ));
        }
    }
    eprintln!(
        "SQLite kill -9 during {command:?}: {} of {count} trials recovered in {:.1?} (seed {seed}; \
         replay with BELLOWS_FAULT_SEED={seed} BELLOWS_FAULT_TRIALS={count})",
        count - failed.len(),
        started.elapsed()
    );
    assert!(
        failed.is_empty(),
        "{} of {count} SQLite trials of kill -9 during {command:?} did not recover \
         (seed {seed}; replay with BELLOWS_FAULT_SEED={seed} BELLOWS_FAULT_TRIALS={count}):\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

#[test]
fn sqlite_kill_9_during_apply_then_apply_again_finishes() {
    trials(Command::Apply);
}

#[test]
fn sqlite_kill_9_during_rollback_then_rollback_again_finishes() {
    trials(Command::Rollback);
}
