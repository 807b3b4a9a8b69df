//! Fleets through the real binary: one plan over many databases (`--databases FILE`, `-d`
//! repeated) with `--parallel`, `--canary`, `--keep-going`, the summary, `status` over the
//! fleet, a kill -9 of the whole run, and a database that cannot be reached.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::running::Running;
use crate::harness::{
    seed_users, seed_users_to_backfill, Cli, Plans, PostgresDb, SqliteDb, TestDb,
};

/// The whole change on `users`: a column, its sync, a backfill, a guard that no name is NULL,
/// then NOT NULL.
const PLAN: &str = r#"
[[expand]]
op = "add_column"
table = "users"
column = "email_verified"
type = "boolean"

[[expand]]
op = "sync_column"
table = "users"
column = "email_verified"
from = "verified_at IS NOT NULL"

[[backfill]]
table = "users"
set = { email_verified = "verified_at IS NOT NULL" }
where = "email_verified IS NULL"
batch_size = 500

[[switch]]
op = "guard"
query = "SELECT count(*) FROM users WHERE name IS NULL"
expect = 0

[[contract]]
op = "drop_sync"
table = "users"
column = "email_verified"

[[contract]]
op = "set_not_null"
table = "users"
column = "email_verified"
"#;

/// A databases file naming each database `(name, url)`, with `extra` TOML after them.
fn databases_file(plans: &Plans, databases: &[(String, String)], extra: &str) -> PathBuf {
    let mut text = String::new();
    for (name, url) in databases {
        text.push_str(&format!("[databases.{name}]\nurl = \"{url}\"\n\n"));
    }
    text.push_str(extra);
    plans.write("databases.toml", &text)
}

fn named(dbs: &[&dyn TestDb], prefix: &str) -> Vec<(String, String)> {
    dbs.iter()
        .enumerate()
        .map(|(i, db)| (format!("{prefix}-{:02}", i + 1), db.url().to_string()))
        .collect()
}

/// `bellows apply --databases FILE --yes PLAN` with more arguments.
fn apply_fleet(file: &PathBuf, plan: &PathBuf, args: &[&str]) -> Cli {
    Cli::new(["apply", "--yes", "--databases"])
        .arg(file)
        .args(args)
        .plan(plan)
}

/// Every step of the plan is applied and the column is NOT NULL with every row filled.
fn assert_complete(db: &dyn TestDb) {
    assert!(
        db.ledger_states("0001_verified")
            .iter()
            .all(|s| s.ends_with("=applied")),
        "{:?}",
        db.ledger_states("0001_verified")
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NULL"),
        0
    );
}

/// The summary row of `name` in stdout.
fn summary_row<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .rev()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no summary row for {name}:\n{stdout}"))
}

#[test]
fn twelve_postgres_databases_and_two_sqlite_files_reach_contract_and_a_rerun_does_nothing() {
    let postgres: Vec<PostgresDb> = (0..12).map(|_| PostgresDb::new()).collect();
    let sqlite: Vec<SqliteDb> = (0..2).map(|_| SqliteDb::new()).collect();
    let all: Vec<&dyn TestDb> = postgres
        .iter()
        .map(|db| db as &dyn TestDb)
        .chain(sqlite.iter().map(|db| db as &dyn TestDb))
        .collect();
    for db in &all {
        seed_users(*db, 2000);
    }
    let plans = Plans::new();
    let plan = plans.write("0001_verified.toml", PLAN);
    let mut databases = named(&all[..12], "tenant");
    databases.extend(named(&all[12..], "local"));
    let file = databases_file(
        &plans,
        &databases,
        "[groups]\nlocal = [\"local-01\", \"local-02\"]\n",
    );

    let out = apply_fleet(&file, &plan, &["--parallel", "4"])
        .stdout_has("14 of 14 databases succeeded")
        .run();
    for ((name, _), db) in databases.iter().zip(&all) {
        assert_complete(*db);
        let row = summary_row(&out.stdout, name);
        assert!(row.contains("contract") && row.contains("ok"), "{row}");
        assert!(row.contains(" 2000 "), "rows backfilled: {row}");
    }

    // A rerun does nothing anywhere, and every JSON event names its database, never a URL.
    let again = apply_fleet(&file, &plan, &["--format", "json"]).run();
    let events = again.json_lines();
    assert!(!again.stdout.contains("postgres://") && !again.stdout.contains("sqlite:"));
    assert!(!events.iter().any(|e| e["event"] == "step_started"));
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "nothing_to_do")
            .count(),
        14
    );
    assert!(events
        .iter()
        .filter(|e| e["event"] == "nothing_to_do")
        .all(|e| e["database"].as_str().is_some_and(|d| d.contains('-'))));
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "fleet_summary");
    assert_eq!(summary["exit_code"], 0);
    assert!(summary["databases"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["result"] == "succeeded"
            && d["rows_backfilled"] == 0
            && d["reached"] == "contract"));

    // `status` over the fleet: one row per database, the phase each plan reached.
    let status = Cli::new(["status", "--databases"]).arg(&file).run();
    assert!(status
        .stdout
        .lines()
        .next()
        .unwrap()
        .contains("0001_verified"));
    for (name, _) in &databases {
        assert!(summary_row(&status.stdout, name).ends_with("contract"));
    }
    let json = Cli::new(["status", "--format", "json", "--databases"])
        .arg(&file)
        .run()
        .json();
    assert_eq!(json["databases"].as_array().unwrap().len(), 14);
    assert_eq!(json["databases"][13]["database"], "local-02");
    assert_eq!(json["databases"][13]["plans"][0]["reached"], "contract");
}

#[test]
fn a_failing_guard_stops_the_fleet_unless_keep_going_and_a_failing_canary_touches_nothing_else() {
    let dbs: Vec<PostgresDb> = (0..4).map(|_| PostgresDb::new()).collect();
    for db in &dbs {
        seed_users(db, 300);
    }
    // The first database has a user without a name: its switch guard fails.
    dbs[0].exec("INSERT INTO users (name) VALUES (NULL)");
    let all: Vec<&dyn TestDb> = dbs.iter().map(|db| db as &dyn TestDb).collect();
    let plans = Plans::new();
    let plan = plans.write("0001_verified.toml", PLAN);
    let mut databases = named(&all, "tenant");
    databases[0].0 = "bad".into();
    let file = databases_file(&plans, &databases, "[groups]\nfirst = [\"bad\"]\n");

    // The canary fails: nothing else is touched.
    let out = apply_fleet(&file, &plan, &["--canary", "first", "--parallel", "4"])
        .code(3)
        .stderr_has("apply failed on 1 of 4 databases: `bad`")
        .run();
    assert!(summary_row(&out.stdout, "bad").contains("failed (3)"));
    for (i, db) in dbs.iter().enumerate().skip(1) {
        assert!(!db.ledger_exists(), "database {i} was touched");
        assert!(summary_row(&out.stdout, &databases[i].0).contains("not started"));
    }

    // Without a canary: none new starts after the failure.
    let out = apply_fleet(&file, &plan, &["--parallel", "1"])
        .code(3)
        .run();
    assert!(summary_row(&out.stdout, "bad").contains("expected 0, found 1"));
    assert!(dbs[1..].iter().all(|db| !db.ledger_exists()));
    // The one running beside it finishes the step it is in, then stops (or finishes); none
    // new starts; the next run resumes it.
    let out = apply_fleet(&file, &plan, &["--parallel", "2"])
        .code(3)
        .run();
    let row = summary_row(&out.stdout, &databases[1].0);
    assert!(
        ["ok", "stopped", "not started"]
            .iter()
            .any(|r| row.contains(r)),
        "{row}"
    );
    if dbs[1].ledger_exists() {
        let running = dbs[1].rows(&format!(
            "SELECT phase || '/' || step_index FROM {} WHERE state = 'running'",
            dbs[1].steps_table()
        ));
        assert!(
            running.is_empty(),
            "a database stopped beside a failing one finishes its step: {running:?} still running"
        );
    }
    assert!(dbs[2..].iter().all(|db| !db.ledger_exists()));

    // --keep-going: the others complete, the exit is still the guard's.
    let out = apply_fleet(&file, &plan, &["--parallel", "2", "--keep-going"])
        .code(3)
        .stdout_has("3 of 4 databases succeeded")
        .run();
    for db in &dbs[1..] {
        assert_complete(db);
    }
    assert!(summary_row(&out.stdout, "bad").contains("backfill"));
}

/// Logs into `writes` every row whose `email_verified` goes from NULL to a value.
fn log_writes(db: &dyn TestDb) {
    db.exec(
        "CREATE TABLE writes (k bigint NOT NULL);
         CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN INSERT INTO writes VALUES (NEW.id); RETURN NULL; END $$;
         CREATE TRIGGER log_write AFTER UPDATE ON users FOR EACH ROW
           WHEN (OLD.email_verified IS NULL AND NEW.email_verified IS NOT NULL)
           EXECUTE FUNCTION log_write();",
    );
}

#[test]
fn a_fleet_killed_with_sigkill_resumes_every_database_and_backfills_each_row_once() {
    stop_mid_backfill_then_resume(|child| {
        child.kill();
        false
    });
}

#[test]
fn ctrl_c_stops_every_database_after_its_batch_exits_130_and_the_rerun_resumes_all() {
    stop_mid_backfill_then_resume(|child| {
        child.signal("INT");
        true
    });
}

/// A fleet of four backfills, stopped mid-way by `stop` (true when the run is left to end on
/// its own, with 130), then run again: every database completes and every row is
/// written exactly once.
fn stop_mid_backfill_then_resume(stop: impl FnOnce(&mut Running) -> bool) {
    const ROWS: i64 = 3000;
    let dbs: Vec<PostgresDb> = (0..4).map(|_| PostgresDb::new()).collect();
    for db in &dbs {
        seed_users_to_backfill(db, ROWS);
        log_writes(db);
    }
    let all: Vec<&dyn TestDb> = dbs.iter().map(|db| db as &dyn TestDb).collect();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_fill.toml",
        "[[backfill]]\ntable = \"users\"\nset = { email_verified = \"verified_at IS NOT NULL\" }\n\
         where = \"email_verified IS NULL\"\nbatch_size = 100\npause = \"20ms\"\n",
    );
    let file = databases_file(&plans, &named(&all, "shard"), "");
    let mut child = apply_fleet(&file, &plan, &["--parallel", "2"]).spawn();
    child.wait_for_rows(&dbs[0], "0001_fill", 500);
    let ends_itself = stop(&mut child);
    if ends_itself {
        let out = child.wait();
        assert_eq!(out.code, Some(130), "Ctrl-C exits 130: {}", out.stderr);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for db in &dbs {
        while db.i64("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'bellows%'") > 0 {
            assert!(Instant::now() < deadline, "the stopped run's sessions never ended");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_ne!(dbs[0].backfill_progress("0001_fill").unwrap().0, "applied");

    apply_fleet(&file, &plan, &["--pause", "0ms"])
        .stdout_has("4 of 4 databases succeeded")
        .run();
    for db in &dbs {
        assert_eq!(
            db.backfill_progress("0001_fill"),
            Some(("applied".to_string(), ROWS))
        );
        assert_eq!(
            db.i64("SELECT count(*) FROM writes"),
            ROWS,
            "one write per row"
        );
        assert_eq!(db.i64("SELECT count(DISTINCT k) FROM writes"), ROWS);
    }
}

#[test]
fn an_unreachable_database_is_reported_and_the_others_go_on_with_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = [
        SqliteDb::at(&dir.path().join("east.db")),
        SqliteDb::at(&dir.path().join("west.db")),
    ];
    for db in &dbs {
        seed_users(db, 100);
    }
    let plans = Plans::new();
    let plan = plans.write("0001_verified.toml", PLAN);
    // Nothing listens on port 1; the password never appears anywhere.
    let unreachable = "postgres://app:hunter2@127.0.0.1:1/gone";
    let out = Cli::new(["apply", "--yes", "--keep-going"])
        .args(["-d", unreachable, "-d", dbs[0].url(), "-d", dbs[1].url()])
        .plan(&plan)
        .code(1)
        .stdout_has("2 of 3 databases succeeded")
        .stderr_has("apply failed on 1 of 3 databases: `gone` (cannot connect")
        .run();
    assert!(!out.to_string().contains("hunter2"));
    assert!(summary_row(&out.stdout, "gone").contains("cannot connect"));
    for db in &dbs {
        assert_complete(db);
    }
    // `status` says which one it could not read, and reads the others.
    let status = Cli::new(["status"])
        .args(["-d", unreachable, "-d", dbs[0].url(), "-d", dbs[1].url()])
        .code(1)
        .stderr_has("cannot read the status of gone")
        .run();
    assert!(summary_row(&status.stdout, "gone").contains("unreachable"));
    assert!(summary_row(&status.stdout, "west.db").ends_with("contract"));

    // A rollback over the fleet undoes the plan on each database.
    Cli::new(["rollback", "--yes"])
        .args(["-d", dbs[0].url(), "-d", dbs[1].url()])
        .plan(&plan)
        .stdout_has("2 of 2 databases succeeded")
        .run();
    for db in &dbs {
        assert!(!db.column_exists("users", "email_verified"));
    }

    // `plan --databases`: the dry run read against each database in turn, under its name.
    let file = databases_file(
        &plans,
        &named(&[&dbs[0] as &dyn TestDb, &dbs[1]], "region"),
        "",
    );
    let out = Cli::new(["plan", "--databases"])
        .arg(&file)
        .plan(&plan)
        .run();
    assert!(out.stdout_at("── region-01 ──") < out.stdout_at("── region-02 ──"));
}

#[test]
fn a_databases_file_with_mistakes_is_refused_like_a_plan() {
    let plans = Plans::new();
    let plan = plans.write("0001_verified.toml", PLAN);
    let file = plans.write(
        "databases.toml",
        "[databases.one]\nurl = \"sqlite:one.db\"\n\n[databases.two]\nurl_env = \"TWO_URL\"\n\n[groups]\ncanary = [\"onw\"]\n",
    );
    Cli::new(["apply", "--yes", "--databases"])
        .arg(&file)
        .plan(&plan)
        .code(2)
        .stderr_has("databases.toml:5:11")
        .stderr_has("the environment variable `TWO_URL` (database `two`) is not set")
        .stderr_has("did you mean `one`?")
        .stderr_has("nothing was run")
        .run();
    // A good file, and a canary that names nothing in it.
    let file = plans.write(
        "good.toml",
        "[databases.one]\nurl = \"sqlite:one.db\"\n\n[databases.two]\nurl_env = \"TWO_URL\"\n",
    );
    Cli::new(["apply", "--yes", "--canary", "three", "--databases"])
        .arg(&file)
        .env("TWO_URL", "sqlite:two.db")
        .plan(&plan)
        .code(2)
        .stderr_has("no group or database of the fleet is named `three`")
        .run();
}
