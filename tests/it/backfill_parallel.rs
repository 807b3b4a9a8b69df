//! A parallel backfill (`parallel = N`) through the real `bellows` binary on PostgreSQL: the
//! key split into ranges walked at once misses and doubles no row at the ranges' edges (integer,
//! composite and text keys, with an application inserting and deleting rows throughout), and a
//! walk killed with SIGKILL resumes every range exactly once.

use std::time::{Duration, Instant};

use crate::backfill_resume::{assert_every_row_correct, assert_written_once};
use crate::harness::writer::{apply_beside, Application};
use crate::harness::{Cli, Plans, PostgresDb, TestDb};

/// Logs into `writes (tbl, k, pid)` EVERY update of `table` (only the backfill updates), so a
/// row walked by two ranges shows twice; `pid` is the session that wrote it.
fn log_every_update(db: &PostgresDb, table: &str, key: &str) {
    db.exec(&format!(
        "CREATE TABLE IF NOT EXISTS writes (tbl text NOT NULL, k text NOT NULL,
                                             pid int NOT NULL DEFAULT pg_backend_pid());
         CREATE FUNCTION log_write_{table}() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN INSERT INTO writes (tbl, k) VALUES ('{table}', {key}); RETURN NULL; END $$;
         CREATE TRIGGER log_write AFTER UPDATE ON {table} FOR EACH ROW
           EXECUTE FUNCTION log_write_{table}();"
    ));
}

/// A plan with one backfill of `table` WITHOUT a `where` (a row walked twice is written twice),
/// in `parallel` workers; `extra` is more TOML for the step.
fn parallel_plan(plans: &Plans, table: &str, batch_size: u64, extra: &str) -> String {
    let path = plans.write(
        "0001_fill.toml",
        &format!(
            "[[backfill]]\ntable = \"{table}\"\nset = {{ email_verified = \"verified_at IS NOT NULL\" }}\n\
             batch_size = {batch_size}\nparallel = 3\n{extra}\n"
        ),
    );
    path.to_string_lossy().into_owned()
}

/// The application writing beside the walk (see [`crate::harness::writer::application`]).
fn application(db: &PostgresDb, writes: &'static [&'static str]) -> Application {
    crate::harness::writer::application::<sqlx::Postgres>(&db.url, writes)
}

/// The ranges the ledger holds for `plan`.
fn ranges(db: &PostgresDb, plan: &str) -> i64 {
    db.i64(&format!(
        "SELECT count(*) FROM bellows.backfill_ranges WHERE plan = '{plan}'"
    ))
}

/// Rows of `table` the application did not insert (`email_verified` set at insert) and did not
/// delete must each have been written once: `logged` rows in all, each once.
fn assert_walked_once(db: &PostgresDb, table: &str) {
    let left = db.i64(&format!("SELECT count(*) FROM {table} WHERE NOT inserted"));
    let logged = db.i64("SELECT count(DISTINCT k) FROM writes");
    assert!(
        logged >= left,
        "{table}: {left} original rows left but only {logged} written"
    );
    assert_written_once(db, table, db.i64("SELECT count(*) FROM writes"));
    assert_every_row_correct(db, table);
}

/// `users` with `rows` rows to backfill, analysed (the split reads the planner's estimate);
/// `logged`: every UPDATE of a row is logged, so a row walked twice shows.
fn users_to_walk(rows: i64, logged: bool) -> (PostgresDb, Plans) {
    let db = PostgresDb::new();
    crate::harness::seed_users_to_backfill(&db, rows);
    db.exec("ANALYZE users");
    if logged {
        log_every_update(&db, "users", "CAST(NEW.id AS TEXT)");
    }
    (db, Plans::new())
}

/// A parallel walk of `users` (300-row batches, 10 ms pauses) stopped with Ctrl-C once `at` rows
/// are walked: the plan, and what the run printed (it exited 130).
fn interrupted_walk(db: &PostgresDb, plans: &Plans, at: i64) -> (String, String) {
    let plan = parallel_plan(plans, "users", 300, "pause = \"10ms\"");
    let child = Cli::apply(db).yes().plan(&plan).spawn();
    wait_for_walked(db, at);
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(130), "{text}");
    (plan, text)
}

#[test]
fn parallel_walks_of_integer_composite_and_text_keys_miss_and_double_no_row_at_range_edges() {
    // Each table: its rows, the key it is logged by, and the application's writes (inserts
    // land inside the ranges, at their edges too: between existing keys; deletes remove rows
    // ahead of and behind the workers).
    let cases: [(&str, &str, &str, &[&str]); 3] = [
        (
            "ints",
            "CREATE TABLE ints (id bigint PRIMARY KEY, verified_at timestamptz, email_verified boolean,
                                inserted boolean NOT NULL DEFAULT false);
             INSERT INTO ints (id, verified_at)
                  SELECT 2 * g, CASE WHEN g % 3 = 0 THEN now() END FROM generate_series(1, 12000) g;",
            "CAST(NEW.id AS TEXT)",
            &[
                "INSERT INTO ints VALUES (($1 * 7919 % 12000) * 2 + 1, now(), true, true) ON CONFLICT DO NOTHING",
                "DELETE FROM ints WHERE id = ($1 * 104729 % 12000) * 2 AND NOT inserted",
            ],
        ),
        (
            "pairs",
            "CREATE TABLE pairs (tenant int, id int, verified_at timestamptz, email_verified boolean,
                                 inserted boolean NOT NULL DEFAULT false, PRIMARY KEY (tenant, id));
             INSERT INTO pairs (tenant, id, verified_at)
                  SELECT g % 7, 2 * (g / 7), CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 12000) g;",
            "NEW.tenant || '/' || NEW.id",
            &[
                "INSERT INTO pairs VALUES ($1 % 7, ($1 * 7919 % 1714) * 2 + 1, now(), true, true) ON CONFLICT DO NOTHING",
                "DELETE FROM pairs WHERE tenant = $1 % 7 AND id = ($1 * 104729 % 1714) * 2 AND NOT inserted",
            ],
        ),
        (
            "names",
            "CREATE TABLE names (name text PRIMARY KEY, verified_at timestamptz, email_verified boolean,
                                 inserted boolean NOT NULL DEFAULT false);
             INSERT INTO names (name, verified_at)
                  SELECT md5(g::text) || 'a', CASE WHEN g % 5 = 0 THEN now() END FROM generate_series(1, 12000) g;",
            "NEW.name",
            &[
                "INSERT INTO names VALUES (md5(($1 * 7919 % 12000)::text) || 'b', now(), true, true) ON CONFLICT DO NOTHING",
                "DELETE FROM names WHERE name = md5(($1 * 104729 % 12000)::text) || 'a'",
            ],
        ),
    ];
    for (table, setup, key, writes) in cases {
        let db = PostgresDb::new();
        db.exec(setup);
        log_every_update(&db, table, key);
        let plans = Plans::new();
        let plan = parallel_plan(&plans, table, 200, "");
        apply_beside(&db, &plan, application(&db, writes), table);
        assert_eq!(
            db.i64("SELECT count(DISTINCT pid) FROM writes"),
            3,
            "{table}: three workers wrote"
        );
        assert_eq!(
            ranges(&db, "0001_fill"),
            0,
            "{table}: the ranges end with the walk"
        );
        assert_walked_once(&db, table);
        assert_eq!(
            db.backfill_progress("0001_fill").map(|(state, _)| state),
            Some("applied".to_string())
        );
    }
}

#[test]
fn a_parallel_backfill_killed_with_sigkill_resumes_every_range_exactly_once() {
    const ROWS: i64 = 60_000;
    let (db, plans) = users_to_walk(ROWS, true);
    let plan = parallel_plan(&plans, "users", 500, "pause = \"10ms\"");
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    let walked = "SELECT coalesce(sum(rows_done), 0)::int8 FROM bellows.backfill_ranges";
    while db.i64("SELECT count(*) FROM pg_tables WHERE tablename = 'backfill_ranges'") == 0
        || db.i64(walked) < 6_000
    {
        assert!(
            Instant::now() < deadline,
            "the parallel walk never got going"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill(); // SIGKILL: no clean-up of any kind
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.i64("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'bellows%'") > 0 {
        assert!(Instant::now() < deadline, "the killed run's sessions never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Each range's checkpoint covers exactly the rows written in it.
    let at_kill = db.i64(WALKED);
    assert!(at_kill < ROWS, "killed before the end ({at_kill})");
    assert_eq!(db.i64("SELECT count(*) FROM writes"), at_kill);
    assert_eq!(ranges(&db, "0001_fill"), 3);
    // `status` shows the whole walk's rows: the ranges' together.
    let status = Cli::status(&db)
        .args(["--format", "json"])
        .plan(&plan)
        .run()
        .json();
    assert_eq!(
        status["plans"][0]["phases"][0]["steps"][0]["rows_done"], at_kill,
        "{status}"
    );
    let started = db.i64(
        "SELECT count(*) FROM bellows.backfill_ranges WHERE checkpoint IS NOT NULL AND range_index > 0 \
           AND checkpoint <> (SELECT until FROM bellows.backfill_ranges r WHERE r.range_index = backfill_ranges.range_index - 1)",
    );
    assert!(
        started >= 1,
        "the later ranges were walked at once with the first"
    );
    Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .run();
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", ROWS);
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

/// The rows the ranges of the running walk have done.
const WALKED: &str = "SELECT coalesce(sum(rows_done), 0)::int8 FROM bellows.backfill_ranges";

/// Waits until the parallel walk has done at least `rows` rows.
fn wait_for_walked(db: &PostgresDb, rows: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.i64("SELECT count(*) FROM pg_tables WHERE tablename = 'backfill_ranges'") == 0
        || db.i64(WALKED) < rows
    {
        assert!(
            Instant::now() < deadline,
            "the parallel walk never reached {rows} rows"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn workers_whose_connections_the_server_closes_reconnect_and_write_every_row_once() {
    const ROWS: i64 = 40_000;
    let (db, plans) = users_to_walk(ROWS, true);
    let plan = parallel_plan(&plans, "users", 300, "pause = \"5ms\"");
    let child = Cli::apply(&db).yes().plan(&plan).spawn();
    let mut cut = 0;
    for at in [3_000, 12_000] {
        wait_for_walked(&db, at);
        let deadline = Instant::now() + Duration::from_secs(10);
        // The sessions in the middle of a range's batch (one worker or several at once).
        loop {
            let n = db.i64(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                  WHERE datname = current_database() AND application_name LIKE 'bellows apply%'
                    AND query LIKE '%WITH batch%backfill_ranges%' AND state = 'active'",
            );
            if n > 0 {
                cut += n;
                break;
            }
            assert!(Instant::now() < deadline, "no batch in flight to cut");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert!(cut >= 2, "{cut} batches cut");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "a dropped connection is retried: {text}");
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", ROWS);
}

#[test]
fn the_pause_file_holds_every_worker() {
    const ROWS: i64 = 30_000;
    let (db, plans) = users_to_walk(ROWS, false);
    let plan = parallel_plan(&plans, "users", 200, "pause = \"5ms\"");
    let pause = plans.path().join("hold");
    let child = Cli::apply(&db)
        .yes()
        .args(["--pause-file", pause.to_str().unwrap()])
        .plan(&plan)
        .spawn();
    wait_for_walked(&db, 2_000);
    std::fs::write(&pause, "").unwrap();
    // The round in flight ends; then no range moves while the file exists.
    std::thread::sleep(Duration::from_millis(300));
    let held =
        db.rows("SELECT range_index || ':' || rows_done FROM bellows.backfill_ranges ORDER BY 1");
    assert_eq!(held.len(), 3, "{held:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        db.rows("SELECT range_index || ':' || rows_done FROM bellows.backfill_ranges ORDER BY 1"),
        held,
        "no worker walked while the pause file existed"
    );
    std::fs::remove_file(&pause).unwrap();
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "{text}");
    assert_every_row_correct(&db, "users");
}

#[test]
fn ctrl_c_stops_every_worker_after_its_batch_and_the_next_apply_resumes_each_range_once() {
    const ROWS: i64 = 40_000;
    let (db, plans) = users_to_walk(ROWS, true);
    let (plan, text) = interrupted_walk(&db, &plans, 3_000);
    assert!(
        text.contains("rows in 3 ranges, each with its checkpoint saved")
            && text.contains("again to continue every range")
            && !text.contains("checkpoint: key"),
        "says how to resume, and names no one key as where the walk stopped: {text}"
    );
    let at_stop = db.i64(WALKED);
    assert!(at_stop < ROWS, "stopped before the end ({at_stop})");
    assert_eq!(db.i64("SELECT count(*) FROM writes"), at_stop);
    // `status` counts every range's rows.
    let status = Cli::status(&db)
        .args(["--format", "json"])
        .plan(&plan)
        .run()
        .json();
    assert_eq!(
        status["plans"][0]["phases"][0]["steps"][0]["rows_done"], at_stop,
        "{status}"
    );
    // Resumed with another number of workers: the saved ranges are walked as they are, one at
    // a time.
    Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms", "--backfill-workers", "1"])
        .plan(&plan)
        .run();
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", ROWS);
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

#[test]
fn sqlite_walks_with_one_worker_and_says_so() {
    let db = crate::harness::SqliteDb::new();
    crate::harness::seed_users_to_backfill(&db, 3_000);
    let plans = Plans::new();
    let plan = parallel_plan(&plans, "users", 300, "");
    let text = Cli::apply(&db).yes().plan(&plan).run().to_string();
    assert!(
        text.contains("parallel = 3 is ignored: SQLite has one writer at a time"),
        "{text}"
    );
    assert_every_row_correct(&db, "users");
}

#[test]
fn a_rolled_back_parallel_walk_forgets_its_ranges_and_walks_the_whole_key_again() {
    const ROWS: i64 = 30_000;
    let (db, plans) = users_to_walk(ROWS, false);
    let (plan, _) = interrupted_walk(&db, &plans, 2_000);
    assert_eq!(ranges(&db, "0001_fill"), 3);
    Cli::rollback(&db).yes().plan(&plan).run();
    assert_eq!(ranges(&db, "0001_fill"), 0, "rollback forgets the ranges");
    // As if the expand rollback had dropped and re-added the column: nothing is filled.
    db.exec("UPDATE users SET email_verified = NULL");
    Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .run();
    assert_every_row_correct(&db, "users");
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

#[test]
fn a_serial_walk_resumed_with_workers_splits_only_what_is_left() {
    const ROWS: i64 = 30_000;
    let (db, plans) = users_to_walk(ROWS, true);
    let path = plans.write(
        "0001_fill.toml",
        "[[backfill]]\ntable = \"users\"\nset = { email_verified = \"verified_at IS NOT NULL\" }\n\
         batch_size = 300\npause = \"10ms\"\n",
    );
    let plan = path.to_string_lossy().into_owned();
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    let done = child.wait_for_rows(&db, "0001_fill", 3_000);
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(130), "{text}");
    let sessions = db.i64("SELECT count(DISTINCT pid) FROM writes");
    let log = Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms", "--backfill-workers", "3"])
        .plan(&plan)
        .run()
        .to_string();
    assert_eq!(
        db.i64("SELECT count(DISTINCT pid) FROM writes") - sessions,
        3,
        "the rest was walked by three workers: {log}"
    );
    assert!(done < ROWS);
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", ROWS);
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

/// The rows of `writes` the sessions of a run wrote, one line per session: the workers that
/// walked (each worker's work connection is one session).
fn writing_sessions(db: &PostgresDb) -> i64 {
    db.i64("SELECT count(DISTINCT pid) FROM writes")
}

#[test]
fn a_walk_opens_only_the_workers_that_leave_connections_free_and_says_so() {
    const ROWS: i64 = 30_000;
    let (db, plans) = users_to_walk(ROWS, true);
    // A role that may hold 8 sessions: the run's own three (run lock, ledger, the first
    // worker's work connection), three left free for the application, so two more workers
    // fit of the four more asked.
    let role = format!("few_conn_{}", &db.name[db.name.len().saturating_sub(12)..]);
    db.exec(&format!(
        "CREATE ROLE {role} LOGIN CONNECTION LIMIT 8;
         ALTER DATABASE \"{name}\" OWNER TO {role};
         ALTER TABLE users OWNER TO {role};
         ALTER TABLE writes OWNER TO {role};",
        name = db.name
    ));
    let url = db.url.replacen("://postgres@", &format!("://{role}@"), 1);
    let path = plans.write(
        "0001_fill.toml",
        "[[backfill]]\ntable = \"users\"\nset = { email_verified = \"verified_at IS NOT NULL\" }\n\
         batch_size = 300\nparallel = 5\npause = \"5ms\"\n",
    );
    let child = Cli::new(["apply", "--yes", "-d", &url]).plan(&path).spawn();
    wait_for_walked(&db, 3_000);
    let sessions = db.i64(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}'"
    ));
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "5 backfill workers would leave fewer than 3 connections free under the role's \
             CONNECTION LIMIT (8, 3 in use); the backfill walks with 3 workers"
        ),
        "says how many workers fit and why: {text}"
    );
    assert_eq!(
        sessions, 5,
        "3 workers' connections, the ledger's and the run lock's"
    );
    assert_eq!(
        writing_sessions(&db),
        3,
        "three workers walked the five ranges"
    );
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", ROWS);
    assert_eq!(ranges(&db, "0001_fill"), 0);
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
    db.exec(&format!(
        "ALTER DATABASE \"{name}\" OWNER TO postgres; DROP OWNED BY {role}; DROP ROLE {role};",
        name = db.name
    ));
}

#[test]
fn a_walk_with_no_connection_to_spare_walks_with_one_worker_and_never_fails_for_it() {
    const ROWS: i64 = 12_000;
    let (db, plans) = users_to_walk(ROWS, true);
    let role = format!("no_conn_{}", &db.name[db.name.len().saturating_sub(12)..]);
    db.exec(&format!(
        "CREATE ROLE {role} LOGIN CONNECTION LIMIT 5;
         ALTER DATABASE \"{name}\" OWNER TO {role};
         ALTER TABLE users OWNER TO {role};
         ALTER TABLE writes OWNER TO {role};",
        name = db.name
    ));
    let url = db.url.replacen("://postgres@", &format!("://{role}@"), 1);
    let path = plans.write(
        "0001_fill.toml",
        "[[backfill]]\ntable = \"users\"\nset = { email_verified = \"verified_at IS NOT NULL\" }\n\
         batch_size = 500\nparallel = 4\n",
    );
    let text = Cli::new(["apply", "--yes", "-d", &url])
        .plan(&path)
        .run()
        .to_string();
    assert!(
        text.contains("the backfill walks with 1 worker and the ranges take turns"),
        "{text}"
    );
    assert_eq!(
        writing_sessions(&db),
        1,
        "one worker walked the four ranges"
    );
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", ROWS);
    db.exec(&format!(
        "ALTER DATABASE \"{name}\" OWNER TO postgres; DROP OWNED BY {role}; DROP ROLE {role};",
        name = db.name
    ));
}

#[test]
fn a_set_expression_failing_in_one_range_says_which_range_and_after_which_key() {
    const ROWS: i64 = 30_000;
    let (db, plans) = users_to_walk(ROWS, true);
    // One row in the middle range divides by zero (set without the log's trigger).
    let set_d = |d: i32| {
        db.exec(&format!(
            "SET session_replication_role = replica; UPDATE users SET d = {d} WHERE id = 15000"
        ))
    };
    db.exec("ALTER TABLE users ADD COLUMN d int NOT NULL DEFAULT 1");
    set_d(0);
    let path = plans.write(
        "0001_fill.toml",
        "[[backfill]]\ntable = \"users\"\n\
         set = { email_verified = \"(verified_at IS NOT NULL) = (1 / d = 1)\" }\n\
         batch_size = 500\nparallel = 3\n",
    );
    let text = Cli::apply(&db).yes().plan(&path).code(1).run().to_string();
    let at = db.rows(
        "SELECT checkpoint->>0 FROM bellows.backfill_ranges WHERE plan = '0001_fill' AND range_index = 1",
    );
    assert_eq!(at.len(), 1);
    assert!(
        text.contains(&format!(
            "range 2 of 3: the batch after key {}; the rows up to it are done",
            at[0]
        )) && text.contains("division by zero")
            && !text.contains("panicked"),
        "names the failed batch's range and where in it: {text}"
    );
    set_d(1);
    Cli::apply(&db).yes().plan(&path).run();
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", ROWS);
}

#[test]
fn plan_says_how_a_parallel_from_settings_walks_and_on_how_many_connections() {
    const ROWS: i64 = 30_000;
    let (db, plans) = users_to_walk(ROWS, false);
    let path = plans.write(
        "0001_fill.toml",
        "[settings]\nparallel = 3\n\n[[backfill]]\ntable = \"users\"\n\
         set = { email_verified = \"verified_at IS NOT NULL\" }\nbatch_size = 300\npause = \"10ms\"\n",
    );
    let text = Cli::plan_cmd()
        .args(["-d", &db.url])
        .plan(&path)
        .run()
        .to_string();
    assert!(
        text.contains("`parallel = 3`: the key is split into 3 contiguous ranges")
            && text.contains("5 connections in all")
            && text.contains("row locks on one batch at a time in each of 3 workers"),
        "the plan's [settings] parallel is how the step walks: {text}"
    );
    let child = Cli::apply(&db).yes().plan(&path).spawn();
    wait_for_walked(&db, 2_000);
    let sessions = db.i64(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'bellows apply%'",
    );
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(130), "{text}");
    assert_eq!(
        sessions, 5,
        "the connections the plan named: 3 workers', the ledger's and the run lock's"
    );
}

#[test]
fn apply_dry_run_shows_the_workers_and_batch_size_its_flags_give() {
    let (db, plans) = users_to_walk(3_000, false);
    let plan = parallel_plan(&plans, "users", 300, "");
    let one = Cli::apply(&db)
        .args([
            "--dry-run",
            "--backfill-workers",
            "1",
            "--batch-size",
            "700",
        ])
        .plan(&plan)
        .run()
        .to_string();
    assert!(
        !one.contains("contiguous ranges") && one.contains("LIMIT 700"),
        "one worker and 700 rows a batch, as apply would run: {one}"
    );
    let five = Cli::apply(&db)
        .args([
            "--dry-run",
            "--backfill-workers",
            "5",
            "--lock-timeout",
            "2s",
        ])
        .plan(&plan)
        .run()
        .to_string();
    assert!(
        five.contains("`parallel = 5`: the key is split into 5 contiguous ranges")
            && five.contains("lock_timeout 2s per attempt")
            && five.contains("LIMIT 300"),
        "the flags beat the step's parallel and the plan's lock_timeout: {five}"
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT NULL"),
        0,
        "a dry run writes nothing"
    );
}
