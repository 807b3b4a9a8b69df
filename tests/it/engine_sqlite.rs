//! `apply`, `rollback` and `status` against SQLite database files: every operation SQLite
//! supports, round trip, with the schema read back from `sqlite_master` and `PRAGMA table_info`;
//! table rebuilds that keep indexes, triggers, views, constraints and rows; sync triggers under
//! writes; guards, compensation, the run lock, checksums, and a backfill resumed after `kill -9`.

use std::time::{Duration, Instant};

use bellows::engine::Event;

use crate::harness::{Cli, Plans, Recorder, SqliteDb, TestDb};

/// Teams, users (with an index, a named CHECK, a UNIQUE column, a trigger and a view on them)
/// and orders referencing users.
fn shop(db: &SqliteDb, users: i64) {
    db.exec(&format!(
        "CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE users (
             id          INTEGER PRIMARY KEY,
             name        TEXT NOT NULL,
             email       TEXT NOT NULL UNIQUE,
             team_id     INTEGER,
             score       INTEGER DEFAULT 0,
             verified_at TEXT,
             CONSTRAINT users_score_range CHECK (score BETWEEN 0 AND 1000)
         );
         CREATE TABLE orders (
             id      INTEGER PRIMARY KEY,
             user_id INTEGER NOT NULL REFERENCES users (id)
         );
         CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
         CREATE INDEX users_name_idx ON users (name);
         CREATE TRIGGER users_audit AFTER DELETE ON users
         BEGIN
             INSERT INTO audit (note) VALUES ('deleted ' || OLD.id);
         END;
         CREATE VIEW verified_users AS SELECT id, name FROM users WHERE verified_at IS NOT NULL;
         INSERT INTO teams (id, name) VALUES (1, 'red'), (2, 'blue');
         INSERT INTO users (id, name, email, team_id, score, verified_at)
         WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {users})
         SELECT n, 'user ' || n, 'u' || n || '@example.com', 1 + n % 2, n % 100,
                CASE WHEN n % 3 = 0 THEN '2024-01-01' END
           FROM seq;
         INSERT INTO orders (id, user_id) SELECT id, id FROM users WHERE id % 10 = 0;"
    ));
}

/// Every row of users and orders as text, to prove a rebuild kept them.
fn data(db: &SqliteDb) -> Vec<String> {
    let mut rows =
        db.rows("SELECT id, name, email, team_id, score, verified_at FROM users ORDER BY id");
    rows.extend(db.rows("SELECT 'order', id, user_id FROM orders ORDER BY id"));
    rows
}

const EVERY_OP: &str = r#"
[[expand]]
op = "create_table"
table = "notes"
columns = [
  { name = "id", type = "INTEGER", primary_key = true },
  { name = "body", type = "TEXT", nullable = false, default = "''" },
]

[[expand]]
op = "add_column"
table = "users"
column = "email_verified"
type = "BOOLEAN"

[[expand]]
op = "add_index"
table = "users"
columns = ["email_verified"]
name = "users_verified_idx"

[[expand]]
op = "add_foreign_key"
table = "users"
columns = ["team_id"]
references = { table = "teams", columns = ["id"] }
name = "users_team_fk"

[[expand]]
op = "add_check"
table = "users"
name = "users_name_len"
check = "length(name) > 0"

[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verified_at IS NOT NULL"

[[backfill]]
table = "users"
set = { email_verified = "verified_at IS NOT NULL" }
where = "email_verified IS NULL"
batch_size = 50

[[switch]]
op = "set_default"
table = "users"
column = "email_verified"
default = "false"

[[switch]]
op = "drop_default"
table = "users"
column = "score"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE email_verified IS NULL"
expect = 0

[[switch]]
op = "sql"
up = "CREATE TABLE side (x INTEGER)"
down = "DROP TABLE side"

[[contract]]
op = "drop_sync"
table = "users"
column = "email_verified"

[[contract]]
op = "set_not_null"
table = "users"
column = "email_verified"

[[contract]]
op = "drop_index"
name = "users_name_idx"
table = "users"

[[contract]]
op = "drop_constraint"
table = "users"
name = "users_score_range"
"#;

#[test]
fn every_operation_applies_and_rolls_back_with_the_schema_checked() {
    let db = SqliteDb::new();
    shop(&db, 300);
    let objects_before = db.objects();
    let columns_before = db.columns("users");
    let data_before = data(&db);
    let plans = Plans::new();
    let plan = plans.write("0001_every_op.toml", EVERY_OP);

    Cli::apply(&db).yes().plan(&plan).run();

    // expand
    assert_eq!(
        db.columns("notes"),
        ["id|INTEGER|1|NULL|1", "body|TEXT|1|''|0"]
    );
    assert!(db.exists("users_verified_idx"));
    let users = db.sql_of("users").unwrap();
    assert!(users.contains("\"users_team_fk\" FOREIGN KEY"), "{users}");
    assert!(
        users.contains("\"users_name_len\" CHECK (length(name) > 0)"),
        "{users}"
    );
    assert_eq!(
        db.rows("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('users')"),
        ["teams|team_id|id"]
    );
    // backfill, switch, contract
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT (verified_at IS NOT NULL)"),
        0
    );
    let columns = db.columns("users");
    assert!(
        columns.contains(&"email_verified|BOOLEAN|1|false|0".to_string()),
        "{columns:?}"
    );
    assert!(
        columns.contains(&"score|INTEGER|0|NULL|0".to_string()),
        "{columns:?}"
    );
    assert!(db.exists("side"));
    assert!(!db.exists("bellows_sync_users_email_verified_insert"));
    assert!(!db.exists("bellows_sync_users_email_verified_update"));
    assert!(!db.exists("users_name_idx"));
    assert!(!db.sql_of("users").unwrap().contains("users_score_range"));
    // What the rebuilds had to keep.
    assert!(db.exists("users_audit"), "the table's own trigger survives");
    assert!(db.exists("users_verified_idx"));
    assert_eq!(
        db.rows("SELECT name FROM pragma_index_list('users') WHERE origin = 'u'"),
        ["sqlite_autoindex_users_1"],
        "UNIQUE on email is kept"
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM verified_users"),
        100,
        "the view still works"
    );
    assert_eq!(
        db.rows("SELECT \"table\" FROM pragma_foreign_key_list('orders')"),
        ["users"],
        "orders still references users"
    );
    assert!(db.rows("PRAGMA foreign_key_check").is_empty());
    assert_eq!(db.i64("SELECT count(*) FROM users"), 300);
    assert!(db
        .ledger_states("0001_every_op")
        .iter()
        .all(|s| s.ends_with("=applied")));
    assert_eq!(db.ledger_states("0001_every_op").len(), 15);

    // The table's own trigger still fires on the rebuilt table.
    db.exec("DELETE FROM orders WHERE user_id = 10; DELETE FROM users WHERE id = 10");
    assert_eq!(db.rows("SELECT note FROM audit"), ["deleted 10"]);
    db.exec(
        "INSERT INTO users (id, name, email, team_id, score, verified_at)
              VALUES (10, 'user 10', 'u10@example.com', 1, 10, NULL);
         INSERT INTO orders (id, user_id) VALUES (10, 10);
         DELETE FROM audit;",
    );

    Cli::rollback(&db).yes().plan(&plan).run();
    assert_eq!(db.objects(), objects_before);
    assert_eq!(db.columns("users"), columns_before);
    let users = db.sql_of("users").unwrap();
    assert!(users.contains("users_score_range"), "{users}");
    assert!(
        !users.contains("users_team_fk") && !users.contains("users_name_len"),
        "{users}"
    );
    assert!(db
        .rows("SELECT * FROM pragma_foreign_key_list('users')")
        .is_empty());
    assert_eq!(
        db.sql_of("users_name_idx").unwrap(),
        "CREATE INDEX users_name_idx ON users (name)"
    );
    assert!(data(&db) == data_before, "every row is as it was");
    assert!(db
        .ledger_states("0001_every_op")
        .iter()
        .all(|s| s.ends_with("=rolled_back")));
}

#[test]
fn set_not_null_refuses_while_nulls_remain_and_rebuilds_keeping_everything_once_they_are_gone() {
    let db = SqliteDb::new();
    shop(&db, 200);
    db.exec("CREATE UNIQUE INDEX users_lower_email ON users (lower(email)) WHERE team_id = 1");
    let plans = Plans::new();
    let plan = plans.write(
        "0001_not_null.toml",
        "[[contract]]\nop = \"set_not_null\"\ntable = \"users\"\ncolumn = \"verified_at\"\n",
    );
    let objects_before = db.objects();
    let data_before = data(&db);

    let out = Cli::apply(&db).yes().plan(&plan).code(3).run();
    let stderr = &out.stderr;
    assert!(
        stderr.contains("134"),
        "the failing count is shown: {stderr}"
    );
    assert!(db
        .columns("users")
        .contains(&"verified_at|TEXT|0|NULL|0".to_string()));
    assert_eq!(db.ledger_states("0001_not_null"), ["contract/0=pending"]);

    db.exec("UPDATE users SET verified_at = '2025-01-01' WHERE verified_at IS NULL");
    let data_filled = data(&db);
    Cli::apply(&db).yes().plan(&plan).run();
    assert!(db
        .columns("users")
        .contains(&"verified_at|TEXT|1|NULL|0".to_string()));
    assert_eq!(
        db.objects(),
        objects_before,
        "indexes, triggers and views are all back"
    );
    assert_eq!(
        db.sql_of("users_lower_email").unwrap(),
        "CREATE UNIQUE INDEX users_lower_email ON users (lower(email)) WHERE team_id = 1"
    );
    assert!(db.sql_of("users").unwrap().contains("users_score_range"));
    assert!(data(&db) == data_filled, "the rebuild kept every row");
    // The NOT NULL is enforced now; the old CHECK still is.
    let mut conn = db.connect();
    let refused = db.block_on(
        sqlx::raw_sql("INSERT INTO users (id, name, email) VALUES (9999, 'x', 'x@y')")
            .execute(&mut conn),
    );
    assert!(refused.is_err(), "NULL verified_at must be refused");
    let refused = db.block_on(
        sqlx::raw_sql(
            "INSERT INTO users (id, name, email, verified_at, score) VALUES (9999, 'x', 'x@y', 'now', 5000)",
        )
        .execute(&mut conn),
    );
    assert!(refused.is_err(), "the CHECK must still hold");

    Cli::rollback(&db).yes().plan(&plan).run();
    assert!(db
        .columns("users")
        .contains(&"verified_at|TEXT|0|NULL|0".to_string()));
    assert_eq!(db.objects(), objects_before);
    assert!(
        data(&db) != data_before,
        "rollback changes the schema, not the data"
    );
    assert!(data(&db) == data_filled, "the rebuild back kept every row");
}

#[test]
fn a_rebuild_that_would_break_a_foreign_key_is_rolled_back_whole() {
    let db = SqliteDb::new();
    shop(&db, 50);
    db.exec("PRAGMA foreign_keys = OFF; UPDATE users SET team_id = 7 WHERE id = 5");
    let plans = Plans::new();
    let plan = plans.write(
        "0001_fk.toml",
        r#"
[[expand]]
op = "add_foreign_key"
table = "users"
columns = ["team_id"]
references = { table = "teams", columns = ["id"] }
name = "users_team_fk"
"#,
    );
    let before = db.sql_of("users").unwrap();
    let out = Cli::apply(&db).yes().plan(&plan).code(1).run();
    let stderr = &out.stderr;
    assert!(stderr.contains("violate its foreign keys"), "{stderr}");
    assert!(stderr.contains("row 5"), "{stderr}");
    assert_eq!(db.sql_of("users").unwrap(), before);
    assert!(!db.exists("__bellows_rebuild_users"));
    assert_eq!(db.ledger_states("0001_fk"), ["expand/0=failed"]);
}

#[test]
fn sync_triggers_fill_the_new_column_and_follow_renames_during_writes() {
    let db = SqliteDb::new();
    shop(&db, 20);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_sync.toml",
        r#"
[[expand]]
op = "add_column"
table = "users"
column = "email_verified"
type = "BOOLEAN"

[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verified_at IS NOT NULL"

[[expand]]
op = "add_column"
table = "users"
column = "full_name"
type = "TEXT"

[[expand]]
op = "sync_column"
table = "users"
column = "full_name"
from = "name"
reverse = { column = "name", from = "full_name" }
"#,
    );
    Cli::apply(&db)
        .yes()
        .args(["--to", "expand"])
        .plan(&plan)
        .run();

    // The old application writes only the old columns.
    db.exec(
        "INSERT INTO users (id, name, email, verified_at) VALUES (101, 'Ada', 'ada@x', '2024-02-02');
         INSERT INTO users (id, name, email) VALUES (102, 'Alan', 'alan@x');
         UPDATE users SET verified_at = '2024-03-03' WHERE id = 102;
         UPDATE users SET name = 'Grace H.' WHERE id = 1;",
    );
    assert_eq!(
        db.rows(
            "SELECT id, email_verified, full_name FROM users WHERE id IN (1, 101, 102) ORDER BY id"
        ),
        ["1|0|Grace H.", "101|1|Ada", "102|1|Alan"]
    );
    // The new application writes the new column; the old one follows.
    db.exec(
        "UPDATE users SET full_name = 'Ada Lovelace' WHERE id = 101;
         INSERT INTO users (id, full_name, name, email, email_verified) VALUES (103, 'Edsger', 'Edsger', 'e@x', 1);",
    );
    assert_eq!(
        db.rows("SELECT id, name, full_name, email_verified FROM users WHERE id IN (101, 103) ORDER BY id"),
        ["101|Ada Lovelace|Ada Lovelace|1", "103|Edsger|Edsger|1"]
    );
    // An explicit write of the new column is kept, not overwritten by the trigger.
    db.exec("UPDATE users SET email_verified = 0 WHERE id = 101");
    assert_eq!(db.i64("SELECT email_verified FROM users WHERE id = 101"), 0);

    Cli::rollback(&db).yes().plan(&plan).run();
    assert!(db
        .rows("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'bellows_%'")
        .is_empty());
    assert!(!db
        .columns("users")
        .iter()
        .any(|c| c.starts_with("email_verified") || c.starts_with("full_name")));
}

#[test]
fn status_reads_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    Cli::new(["status", "-d", &format!("sqlite:{}", missing.display())])
        .code(1)
        .stderr_has("does not exist")
        .run();
    assert!(
        !missing.exists(),
        "status must not create the database file"
    );

    // sqlite:// works too (the engine tests on every backend use `sqlite:`).
    let db = SqliteDb::new();
    shop(&db, 5);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_one.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"a\"\ntype = \"TEXT\"\n",
    );
    Cli::new(["apply", "-d", &format!("sqlite://{}", db.path.display())])
        .plan(&plan)
        .run();
    let report = Cli::status(&db).args(["--format", "json"]).run().json();
    assert_eq!(report["plans"][0]["name"], "0001_one");
    assert_eq!(report["plans"][0]["state"], "applied");
}

#[test]
fn a_backfill_killed_mid_way_resumes_after_its_checkpoint_without_rewriting_a_row() {
    const ROWS: i64 = 30_000;
    let db = SqliteDb::new();
    shop(&db, ROWS);
    // Every write of the new column is counted, to prove no row is written twice.
    db.exec(
        "CREATE TABLE writes (id INTEGER NOT NULL);
         ALTER TABLE users ADD COLUMN email_verified BOOLEAN;
         CREATE TRIGGER count_writes AFTER UPDATE OF email_verified ON users
         BEGIN INSERT INTO writes (id) VALUES (NEW.id); END;",
    );
    let plans = Plans::new();
    let plan = plans.write(
        "0001_resume.toml",
        "[[backfill]]\ntable = \"users\"\nset = { email_verified = \"verified_at IS NOT NULL\" }\nbatch_size = 100\npause = \"10ms\"\n",
    );
    let mut child = Cli::apply(&db).plan(&plan).spawn();
    let done_at_kill = child.wait_for_rows(&db, "0001_resume", 3_000);
    child.kill(); // SIGKILL: no clean-up of any kind
    assert!(
        done_at_kill < ROWS,
        "the backfill finished before it was killed"
    );
    assert!(
        db.dir().join("app.db.bellows-lock").exists(),
        "the killed run left its lock file behind; the OS lock on it died with the process"
    );

    let (state, rows_done, checkpoint) = {
        let row = db
            .rows(
                "SELECT state, rows_done, checkpoint FROM bellows_steps WHERE plan = '0001_resume'",
            )
            .pop()
            .unwrap();
        let parts: Vec<String> = row.split('|').map(str::to_string).collect();
        (
            parts[0].clone(),
            parts[1].parse::<i64>().unwrap(),
            parts[2].clone(),
        )
    };
    assert_eq!(state, "running");
    assert!(rows_done > 0 && rows_done < ROWS);
    assert_eq!(checkpoint, format!("[\"{rows_done}\"]"), "ids run 1..N");
    // Exactly the rows up to the checkpoint were written, each once.
    assert_eq!(db.i64("SELECT count(*) FROM writes"), rows_done);
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT NULL"),
        rows_done
    );

    Cli::apply(&db).yes().plan(&plan).run();
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT (verified_at IS NOT NULL)"),
        0
    );
    assert_eq!(db.i64("SELECT count(*) FROM writes"), ROWS);
    assert_eq!(db.i64("SELECT count(DISTINCT id) FROM writes"), ROWS);
    assert_eq!(
        db.rows("SELECT state, rows_done FROM bellows_steps WHERE plan = '0001_resume'"),
        [format!("applied|{ROWS}")]
    );
}

#[test]
fn demo_runs_the_example_through_all_four_phases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    Cli::demo()
        .current_dir(dir.path())
        .arg("--path")
        .arg(&path)
        .stdout_has("created the demo database")
        .stdout_has("100000 rows")
        .stdout_has("status")
        .run();

    let db = SqliteDb::at(&path);
    assert_eq!(db.i64("SELECT count(*) FROM users"), 100_000);
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT (verified_at IS NOT NULL)"),
        0
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified"),
        70_000
    );
    assert!(db
        .columns("users")
        .contains(&"email_verified|boolean|1|false|0".to_string()));
    assert!(db
        .rows("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .is_empty());
    assert_eq!(
        db.ledger_states("users_email_verified"),
        [
            "expand/0=applied",
            "expand/1=applied",
            "backfill/0=applied",
            "switch/0=applied",
            "contract/0=applied",
            "contract/1=applied"
        ]
    );
    assert_eq!(db.rows("PRAGMA journal_mode"), ["wal"]);

    // Again: the demo's own database is recreated; anything else is left alone.
    Cli::new(["demo", "--rows", "500", "--path"])
        .arg(&path)
        .stdout_has("recreated the demo database")
        .run();
    assert_eq!(db.i64("SELECT count(*) FROM users"), 500);

    let mine = dir.path().join("mine.db");
    std::fs::write(&mine, "precious").unwrap();
    Cli::new(["demo", "--path"]).arg(&mine).code(2).run();
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "precious");
}

/// A second connection that takes the database write lock (`BEGIN IMMEDIATE`) on command and
/// lets it go later, from a thread of its own.
struct WriteLock {
    commands: std::sync::mpsc::Sender<Hold>,
    acks: std::sync::mpsc::Receiver<()>,
}

enum Hold {
    Take,
    ReleaseAfter(Duration),
}

impl WriteLock {
    fn new(db: &SqliteDb) -> WriteLock {
        let (commands, inbox) = std::sync::mpsc::channel::<Hold>();
        let (ack, acks) = std::sync::mpsc::channel::<()>();
        let path = db.path.clone();
        std::thread::spawn(move || {
            let db = SqliteDb::at(&path);
            let mut session = db.session();
            for command in inbox {
                match command {
                    Hold::Take => {
                        session.exec("BEGIN IMMEDIATE");
                        ack.send(()).unwrap();
                    }
                    Hold::ReleaseAfter(wait) => {
                        std::thread::sleep(wait);
                        session.exec("ROLLBACK");
                    }
                }
            }
        });
        WriteLock { commands, acks }
    }

    /// A recorder that takes the lock when the engine starts the statement containing
    /// `marker`, and lets it go `release_after` after the lock retry numbered
    /// `release_on_retry`.
    fn recorder(
        &self,
        marker: &'static str,
        release_on_retry: u32,
        release_after: Duration,
    ) -> Recorder<'_> {
        Recorder::with(move |event| match event {
            Event::StatementStarted { sql, .. } if sql.contains(marker) => {
                self.commands.send(Hold::Take).unwrap();
                self.acks.recv().unwrap();
            }
            Event::LockRetry { attempt, .. } if *attempt == release_on_retry => {
                self.commands
                    .send(Hold::ReleaseAfter(release_after))
                    .unwrap();
            }
            _ => {}
        })
    }
}

/// How many lock retries `recorder` saw.
fn retries(recorder: &Recorder) -> usize {
    recorder.count(|e| matches!(e, Event::LockRetry { .. }))
}

/// The plan of the lock tests, planned for SQLite with a short lock timeout.
fn busy_run(lock_retries: u32) -> bellows::engine::PlanRun {
    use bellows::config::{Config, Overrides};
    let text = "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE first (x)\"\ndown = \"DROP TABLE first\"\n\n[[expand]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = \"nickname\"\ntype = \"TEXT\"\n";
    let loaded = bellows::plan::load::load_str(std::path::Path::new("0001_busy.toml"), text);
    let plan = loaded
        .plan
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let steps =
        bellows::dialect::plan_steps(&plan, bellows::dialect::DialectKind::Sqlite.dialect())
            .unwrap();
    let flags = Overrides {
        lock_timeout: Some(Duration::from_millis(100)),
        lock_retries: Some(lock_retries),
        ..Overrides::default()
    };
    let config = Config::resolve(&flags, &|_| None, &plan.settings).unwrap();
    bellows::engine::PlanRun {
        plan,
        steps,
        config,
    }
}

fn apply_run(
    db: &SqliteDb,
    run: &bellows::engine::PlanRun,
    reporter: &dyn bellows::engine::Reporter,
) -> Result<(), bellows::engine::EngineError> {
    use bellows::engine::{Answer, ApplyOptions, Confirmation};
    let options = ApplyOptions {
        application_name: "bellows test".into(),
        yes: true,
        ..ApplyOptions::default()
    };
    db.block_on(bellows::engine::apply(
        &db.url,
        std::slice::from_ref(run),
        &options,
        reporter,
        &Answer(Confirmation::No),
    ))
    .map(|_| ())
}

#[test]
fn a_statement_that_cannot_get_the_write_lock_is_retried_then_exits_4_with_its_phase_undone() {
    let db = SqliteDb::new();
    shop(&db, 10);
    let run = busy_run(3);
    // Held through all three attempts of the add_column; let go once they are over.
    let lock = WriteLock::new(&db);
    let holder = lock.recorder("ADD COLUMN \"nickname\"", 2, Duration::from_secs(1));
    let started = Instant::now();
    let error = apply_run(&db, &run, &holder).unwrap_err();
    assert_eq!(error.kind(), bellows::engine::ErrorKind::Locked, "{error}");
    assert!(error.to_string().contains("3 attempts"), "{error}");
    assert_eq!(retries(&holder), 2);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!db.exists("first"), "the phase's applied step was undone");
    assert!(!db
        .columns("users")
        .iter()
        .any(|c| c.starts_with("nickname|")));
    assert_eq!(
        db.ledger_states("0001_busy"),
        ["expand/0=rolled_back", "expand/1=failed"]
    );
}

#[test]
fn a_statement_gets_the_write_lock_on_a_retry_once_it_is_released() {
    let db = SqliteDb::new();
    shop(&db, 10);
    let run = busy_run(10);
    let lock = WriteLock::new(&db);
    let holder = lock.recorder("ADD COLUMN \"nickname\"", 1, Duration::ZERO);
    apply_run(&db, &run, &holder).unwrap();
    assert!(
        retries(&holder) >= 1,
        "the first attempt must have waited in vain"
    );
    assert!(db.exists("first"));
    assert!(db
        .columns("users")
        .iter()
        .any(|c| c.starts_with("nickname|")));
    assert_eq!(
        db.ledger_states("0001_busy"),
        ["expand/0=applied", "expand/1=applied"]
    );
}

#[test]
fn a_rebuild_keeps_the_autoincrement_counter() {
    let db = SqliteDb::new();
    db.exec(
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT);
         INSERT INTO events (kind) VALUES ('a'), ('b'), ('c'), ('d');
         DELETE FROM events WHERE id >= 3;",
    );
    let plans = Plans::new();
    let plan = plans.write(
        "0001_events.toml",
        "[[contract]]\nop = \"set_not_null\"\ntable = \"events\"\ncolumn = \"kind\"\n",
    );
    Cli::apply(&db).yes().plan(&plan).run();
    assert!(db
        .columns("events")
        .contains(&"kind|TEXT|1|NULL|0".to_string()));
    db.exec("INSERT INTO events (kind) VALUES ('e')");
    assert_eq!(
        db.i64("SELECT id FROM events WHERE kind = 'e'"),
        5,
        "ids of deleted rows are not reused"
    );
}

#[test]
fn a_statement_running_past_statement_timeout_is_cancelled_and_its_phase_undone() {
    let db = SqliteDb::new();
    shop(&db, 5);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_slow_sql.toml",
        r#"
[[expand]]
op = "sql"
up = "CREATE TABLE before_it (x)"
down = "DROP TABLE before_it"

[[expand]]
op = "sql"
up = "CREATE TABLE counted AS WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000000000) SELECT count(*) AS c FROM s"
down = "DROP TABLE counted"
"#,
    );
    let started = Instant::now();
    let out = Cli::apply(&db)
        .yes()
        .args(["--statement-timeout", "300ms"])
        .plan(&plan)
        .code(1)
        .run();
    assert!(started.elapsed() < Duration::from_secs(20));
    let stderr = &out.stderr;
    assert!(stderr.contains("statement_timeout (300ms)"), "{stderr}");
    assert!(!db.exists("counted") && !db.exists("before_it"));
    assert_eq!(
        db.ledger_states("0001_slow_sql"),
        ["expand/0=rolled_back", "expand/1=failed"]
    );
}

#[test]
fn a_rebuild_running_past_statement_timeout_is_cancelled_whole() {
    let db = SqliteDb::new();
    shop(&db, 100_000);
    let before = db.sql_of("users").unwrap();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_check.toml",
        "[[expand]]\nop = \"add_check\"\ntable = \"users\"\nname = \"users_name_len\"\ncheck = \"length(name) > 0\"\n",
    );
    let out = Cli::apply(&db)
        .yes()
        .args(["--statement-timeout", "5ms"])
        .plan(&plan)
        .code(1)
        .run();
    let stderr = &out.stderr;
    assert!(
        stderr.contains("the rebuild of users ran longer than statement_timeout (5ms)"),
        "{stderr}"
    );
    assert_eq!(db.sql_of("users").unwrap(), before);
    assert!(!db.exists("__bellows_rebuild_users"));
    assert_eq!(db.i64("SELECT count(*) FROM users"), 100_000);
}
