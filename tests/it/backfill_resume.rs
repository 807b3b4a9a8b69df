//! The backfill through the real `bellows` binary against PostgreSQL (and SQLite where it
//! applies): composite, text and uuid keys, a table with no usable key, and the exactly-once
//! promise under `kill -9`, SIGINT, a connection the server closes and application writes
//! running throughout; peak memory that does not grow with the table.
//!
//! Every row written by a backfill is logged by an `AFTER UPDATE` trigger that fires only when
//! the backfilled column goes from NULL to a value, so "no row written twice" is a count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::harness::db::DialectKind;
use crate::harness::{
    seed_users_to_backfill, with_settings, Cli, Plans, PostgresDb, SqliteDb, TestDb,
};

/// The tag of a table in the write log (and the name of its log function).
fn tag(table: &str) -> String {
    table.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
}

/// Logs into `writes (tbl, k)` every row of `table` (SQL) whose `email_verified` goes from NULL
/// to a value; `key` is the SQL naming the row from `NEW` (e.g. `CAST(NEW.id AS TEXT)`).
pub(crate) fn log_writes(db: &dyn TestDb, table: &str, key: &str) {
    let tag = tag(table);
    db.exec(&match db.dialect() {
        DialectKind::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS writes (tbl text NOT NULL, k text NOT NULL);
             CREATE FUNCTION log_write_{tag}() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN INSERT INTO writes VALUES ('{tag}', {key}); RETURN NULL; END $$;
             CREATE TRIGGER log_write AFTER UPDATE ON {table} FOR EACH ROW
               WHEN (OLD.email_verified IS NULL AND NEW.email_verified IS NOT NULL)
               EXECUTE FUNCTION log_write_{tag}();"
        ),
        DialectKind::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS writes (tbl text NOT NULL, k text NOT NULL);
             CREATE TRIGGER log_write_{tag} AFTER UPDATE ON {table} FOR EACH ROW
               WHEN OLD.email_verified IS NULL AND NEW.email_verified IS NOT NULL
               BEGIN INSERT INTO writes VALUES ('{tag}', {key}); END;"
        ),
        DialectKind::Mysql => format!(
            "CREATE TABLE IF NOT EXISTS writes (tbl varchar(100) NOT NULL, k varchar(200) NOT NULL);
             CREATE TRIGGER log_write_{tag} AFTER UPDATE ON {table} FOR EACH ROW
               IF OLD.email_verified IS NULL AND NEW.email_verified IS NOT NULL THEN
                 INSERT INTO writes VALUES ('{tag}', {}); END IF;",
            key.replace(" AS TEXT)", " AS CHAR)")
        ),
    });
}

/// A plan with only a backfill step filling `email_verified` of `table`; `extra` is TOML lines
/// added to the step (`key = [...]`, `pause = ...`).
pub(crate) fn backfill_plan(
    plans: &Plans,
    name: &str,
    table: &str,
    batch_size: u64,
    extra: &str,
) -> String {
    let path = plans.write(
        &format!("{name}.toml"),
        &format!(
            "[[backfill]]\ntable = \"{table}\"\nset = {{ email_verified = \"verified_at IS NOT NULL\" }}\n\
             where = \"email_verified IS NULL\"\nbatch_size = {batch_size}\n{extra}\n"
        ),
    );
    path.to_string_lossy().into_owned()
}

/// Every row of `table` holds `verified_at IS NOT NULL` in `email_verified`.
pub(crate) fn assert_every_row_correct(db: &dyn TestDb, table: &str) {
    let row = match db.dialect() {
        DialectKind::Postgres => "row_to_json(t)::text",
        DialectKind::Sqlite => "'rowid ' || t.rowid",
        DialectKind::Mysql => "CAST(t.id AS CHAR)",
    };
    let wrong = db.rows(&format!(
        "SELECT {row} FROM {table} t
          WHERE email_verified IS NULL OR email_verified <> (verified_at IS NOT NULL) LIMIT 5"
    ));
    assert!(
        wrong.is_empty(),
        "rows of {table} whose new value is not the expression of their old values: {wrong:?}"
    );
}

/// Each row of `table` was written exactly once, and there are `rows` of them.
pub(crate) fn assert_written_once(db: &dyn TestDb, table: &str, rows: i64) {
    let table = tag(table);
    let twice = db.rows(&format!(
        "SELECT k || ' x' || count(*) FROM writes WHERE tbl = '{table}' GROUP BY k HAVING count(*) > 1 LIMIT 5"
    ));
    assert!(twice.is_empty(), "rows written more than once: {twice:?}");
    assert_eq!(
        db.i64(&format!(
            "SELECT count(*) FROM writes WHERE tbl = '{table}'"
        )),
        rows,
        "one write per row of {table}"
    );
}

/// The backfill step is applied and its rows done are the table's row count.
fn assert_ledger_complete(db: &dyn TestDb, plan: &str, rows: i64) {
    assert_eq!(
        db.backfill_progress(plan),
        Some(("applied".to_string(), rows))
    );
}

// === keys ========================================================================================

#[test]
fn composite_text_and_uuid_keys_are_walked_to_the_end_row_by_row() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE accounts (tenant_id int, id int, verified_at timestamptz, email_verified boolean,
                                PRIMARY KEY (tenant_id, id));
         INSERT INTO accounts (tenant_id, id, verified_at)
              SELECT g % 13, g / 13, CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 5000) g;
         CREATE TABLE handles (name text PRIMARY KEY, verified_at timestamptz, email_verified boolean);
         INSERT INTO handles (name, verified_at)
              SELECT CASE g % 4 WHEN 0 THEN 'o''brien ' || g WHEN 1 THEN 'Zoë-' || g
                                WHEN 2 THEN md5(g::text) ELSE 'a \"quoted\" \\ ' || g END,
                     CASE WHEN g % 3 = 0 THEN now() END
                FROM generate_series(1, 3000) g;
         CREATE TABLE tokens (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), verified_at timestamptz,
                              email_verified boolean);
         INSERT INTO tokens (verified_at) SELECT CASE WHEN g % 5 = 0 THEN now() END
                                            FROM generate_series(1, 2000) g;",
    );
    log_writes(&db, "accounts", "NEW.tenant_id || '/' || NEW.id");
    log_writes(&db, "handles", "NEW.name");
    log_writes(&db, "tokens", "NEW.id::text");
    let plans = Plans::new();
    for (table, rows, batch) in [
        ("accounts", 5000, 97),
        ("handles", 3000, 64),
        ("tokens", 2000, 33),
    ] {
        let plan = backfill_plan(&plans, &format!("0001_{table}"), table, batch, "");
        Cli::apply(&db).yes().plan(&plan).run();
        assert_every_row_correct(&db, table);
        assert_written_once(&db, table, rows);
        assert_ledger_complete(&db, &format!("0001_{table}"), rows);
    }
    // The checkpoint of the composite key is its last key in order.
    assert_eq!(
        db.rows("SELECT checkpoint::text FROM bellows.steps WHERE plan = '0001_accounts'"),
        db.rows("SELECT json_build_array(tenant_id::text, id::text)::jsonb::text FROM accounts ORDER BY tenant_id DESC, id DESC LIMIT 1")
    );
}

#[test]
fn keys_of_every_common_type_and_quoted_names_round_trip_through_an_interrupted_checkpoint() {
    let db = PostgresDb::new();
    // Each key value goes to the checkpoint as text and comes back as a literal: timestamps
    // with microseconds, floats, numerics, bytea, dates and names that need quoting must all
    // compare exactly as the column does, also after the run is interrupted and resumed from the
    // checkpoint saved in the ledger.
    db.exec(
        "CREATE SCHEMA billing;
         CREATE TABLE billing.\"Order Items\" (
             \"Placed At\" timestamptz, weight float8, amount numeric, blob bytea, day date,
             verified_at timestamptz, email_verified boolean,
             PRIMARY KEY (\"Placed At\", weight, amount, blob, day));
         INSERT INTO billing.\"Order Items\"
              SELECT timestamptz '2024-01-01 00:00:00.123456+00' + (g % 17) * interval '1.000001 second',
                     (g % 5) / 3.0::float8, (g % 3) / 7.0, decode(lpad(to_hex(g % 11), 2, '0') || 'ff', 'hex'),
                     date '2024-02-28' + g, CASE WHEN g % 2 = 0 THEN now() END, NULL
                FROM generate_series(1, 30000) g;",
    );
    log_writes(
        &db,
        "billing.\"Order Items\"",
        "concat_ws('/', NEW.\"Placed At\", NEW.weight, NEW.amount, NEW.blob, NEW.day)",
    );
    let plans = Plans::new();
    let plan = backfill_plan(
        &plans,
        "0001_items",
        "billing.Order Items",
        77,
        "pause = \"5ms\"",
    );
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    let done = child.wait_for_rows(&db, "0001_items", 2_000);
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(130), "{text}");
    let (_, done_at_stop) = db.backfill_progress("0001_items").unwrap();
    assert!(
        done_at_stop >= done && done_at_stop < 30_000,
        "rows done {done_at_stop}"
    );
    assert_eq!(db.i64("SELECT count(*) FROM writes"), done_at_stop);
    Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .run();
    assert_every_row_correct(&db, "billing.\"Order Items\"");
    assert_written_once(&db, "billing.\"Order Items\"", 30_000);
    assert_ledger_complete(&db, "0001_items", 30_000);
}

#[test]
fn an_explicit_key_walks_a_table_without_a_primary_key() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE events (source text NOT NULL, seq int NOT NULL, verified_at timestamptz,
                              email_verified boolean);
         INSERT INTO events SELECT 's' || (g % 7), g, CASE WHEN g % 2 = 0 THEN now() END, NULL
                              FROM generate_series(1, 4000) g;
         CREATE UNIQUE INDEX events_source_seq ON events (source, seq);",
    );
    log_writes(&db, "events", "NEW.source || '/' || NEW.seq");
    let plans = Plans::new();
    let plan = backfill_plan(
        &plans,
        "0001_events",
        "events",
        150,
        "key = [\"source\", \"seq\"]",
    );
    Cli::apply(&db).yes().plan(&plan).run();
    assert_every_row_correct(&db, "events");
    assert_written_once(&db, "events", 4000);
    assert_ledger_complete(&db, "0001_events", 4000);
}

#[test]
fn keys_of_a_not_null_domain_and_an_icu_collation_are_walked_by_the_server_side_loop() {
    let db = PostgresDb::new();
    // No pause: after the first batch, batches run in the server-side loop, whose key variables
    // take the key column's type (a NOT NULL domain never holds NULL) and collation. 60 rows in
    // batches of 2 end on a full batch; 61 in batches of 1 visit every row alone.
    db.exec(
        "CREATE DOMAIN account_no AS int NOT NULL CHECK (VALUE > 0);
         CREATE TABLE accounts (id account_no PRIMARY KEY, verified_at timestamptz,
                                email_verified boolean);
         INSERT INTO accounts SELECT g, CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 60) g;
         CREATE SCHEMA \"Sales\";
         CREATE TABLE \"Sales\".\"Handles\" (\"Tenant\" text COLLATE \"en-x-icu\", \"Line No\" int,
                                verified_at timestamptz, email_verified boolean,
                                PRIMARY KEY (\"Tenant\", \"Line No\"));
         INSERT INTO \"Sales\".\"Handles\"
              SELECT (ARRAY['a', 'B', 'é', 'E', 'z', 'Z'])[g % 6 + 1], g / 6,
                     CASE WHEN g % 3 = 0 THEN now() END, NULL
                FROM generate_series(1, 61) g;",
    );
    log_writes(&db, "accounts", "CAST(NEW.id AS TEXT)");
    log_writes(
        &db,
        "\"Sales\".\"Handles\"",
        "NEW.\"Tenant\" || '/' || NEW.\"Line No\"",
    );
    let plans = Plans::new();
    for (name, table, sql, rows, batch) in [
        ("0001_accounts", "accounts", "accounts", 60, 2),
        (
            "0001_handles",
            "Sales.Handles",
            "\"Sales\".\"Handles\"",
            61,
            1,
        ),
    ] {
        let plan = backfill_plan(&plans, name, table, batch, "");
        Cli::apply(&db).yes().plan(&plan).run();
        assert_every_row_correct(&db, sql);
        assert_written_once(&db, sql, rows);
        assert_ledger_complete(&db, name, rows);
    }
}

#[test]
fn a_statement_timeout_shorter_than_the_server_side_loop_still_walks_every_row_once() {
    // The loop of batches is one statement: under a 200 ms statement_timeout it must stop well
    // before it, on one worker and on three. (Small batches: one batch alone must stay far
    // under the timeout on a loaded machine, with the logging trigger on every row.)
    for (parallel, name) in [(1, "0001_serial"), (3, "0002_parallel")] {
        const ROWS: i64 = 100_000;
        let db = PostgresDb::new();
        seed_users_to_backfill(&db, ROWS);
        db.exec("ANALYZE users");
        log_writes(&db, "users", "CAST(NEW.id AS TEXT)");
        let plans = Plans::new();
        let plan = backfill_plan(
            &plans,
            name,
            "users",
            100,
            &format!("parallel = {parallel}"),
        );
        let text = Cli::apply(&db)
            .yes()
            .args(["--statement-timeout", "200ms"])
            .plan(&plan)
            .run()
            .to_string();
        assert!(!text.contains("statement timeout"), "{text}");
        assert_every_row_correct(&db, "users");
        assert_written_once(&db, "users", ROWS);
        assert_ledger_complete(&db, name, ROWS);
    }
}

#[test]
fn an_explicit_key_holding_nulls_is_refused_instead_of_skipping_rows() {
    let db = PostgresDb::new();
    // Keyset batches never reach a NULL key (`NULL > x` is not true): 100 rows would be skipped
    // silently while the backfill reported success.
    db.exec(
        "CREATE TABLE nicks (nick text UNIQUE, verified_at timestamptz, email_verified boolean);
         INSERT INTO nicks SELECT CASE WHEN g % 10 <> 0 THEN 'n' || g END, now(), NULL
                             FROM generate_series(1, 1000) g;",
    );
    let plans = Plans::new();
    let plan = backfill_plan(&plans, "0001_nicks", "nicks", 50, "key = [\"nick\"]");
    let text = Cli::apply(&db).yes().plan(&plan).code(1).run().to_string();
    assert!(text.contains("nicks") && text.contains("NULL"), "{text}");
    assert!(text.contains("key = ["), "{text}");
    assert_eq!(
        db.i64("SELECT count(*) FROM nicks WHERE email_verified IS NOT NULL"),
        0
    );

    let lite = SqliteDb::new();
    lite.exec(
        "CREATE TABLE nicks (nick TEXT UNIQUE, verified_at TEXT, email_verified BOOLEAN);
         WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < 1000)
         INSERT INTO nicks SELECT CASE WHEN g % 10 <> 0 THEN 'n' || g END, '2024-01-01', NULL FROM seq;",
    );
    let text = Cli::apply(&lite)
        .yes()
        .plan(&plan)
        .code(1)
        .run()
        .to_string();
    assert!(text.contains("nicks") && text.contains("NULL"), "{text}");
}

#[test]
fn a_unique_not_null_key_is_walked_when_there_is_no_primary_key() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE members (email text NOT NULL UNIQUE, nickname text UNIQUE,
                               verified_at timestamptz, email_verified boolean);
         INSERT INTO members SELECT 'u' || g || '@example.com', NULL, CASE WHEN g % 2 = 0 THEN now() END
                               FROM generate_series(1, 1500) g;",
    );
    log_writes(&db, "members", "NEW.email");
    let plans = Plans::new();
    let plan = backfill_plan(&plans, "0001_members", "members", 100, "");
    Cli::apply(&db).yes().plan(&plan).run();
    assert_every_row_correct(&db, "members");
    assert_written_once(&db, "members", 1500);
    assert_ledger_complete(&db, "0001_members", 1500);
}

#[test]
fn a_table_without_a_usable_key_is_refused_naming_the_table_and_what_to_add() {
    let db = PostgresDb::new();
    // A unique index over a nullable column is no key: NULLs may repeat.
    db.exec(
        "CREATE TABLE heap (nickname text UNIQUE, verified_at timestamptz, email_verified boolean);
         INSERT INTO heap (verified_at) SELECT now() FROM generate_series(1, 10);",
    );
    let plans = Plans::new();
    let plan = backfill_plan(&plans, "0001_heap", "heap", 100, "");
    let text = Cli::apply(&db).yes().plan(&plan).code(1).run().to_string();
    assert!(text.contains("heap"), "names the table: {text}");
    assert!(text.contains("key = ["), "says what to add: {text}");
    assert!(text.contains("primary key"), "says what to add: {text}");
    assert!(
        text.contains("--allow-changed"),
        "says how to run the edited plan: {text}"
    );
    assert!(
        !text.contains("resume") && !text.contains("again to"),
        "does not suggest that running it again unchanged helps: {text}"
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM heap WHERE email_verified IS NOT NULL"),
        0
    );
}

#[test]
fn sqlite_composite_and_text_keys_are_walked_to_the_end_row_by_row() {
    let db = SqliteDb::new();
    db.exec(
        "CREATE TABLE accounts (tenant_id INTEGER, id INTEGER, verified_at TEXT, email_verified BOOLEAN,
                                PRIMARY KEY (tenant_id, id)) WITHOUT ROWID;
         CREATE TABLE handles (name TEXT PRIMARY KEY, verified_at TEXT, email_verified BOOLEAN);
         CREATE TABLE writes (tbl TEXT NOT NULL, k TEXT NOT NULL);
         CREATE TRIGGER accounts_log AFTER UPDATE OF email_verified ON accounts
           WHEN OLD.email_verified IS NULL AND NEW.email_verified IS NOT NULL
           BEGIN INSERT INTO writes VALUES ('accounts', NEW.tenant_id || '/' || NEW.id); END;
         CREATE TRIGGER handles_log AFTER UPDATE OF email_verified ON handles
           WHEN OLD.email_verified IS NULL AND NEW.email_verified IS NOT NULL
           BEGIN INSERT INTO writes VALUES ('handles', NEW.name); END;
         WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < 3000)
         INSERT INTO accounts (tenant_id, id, verified_at)
              SELECT g % 11, g / 11, CASE WHEN g % 2 = 0 THEN '2024-01-01' END FROM seq;
         WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < 2000)
         INSERT INTO handles (name, verified_at)
              SELECT CASE g % 3 WHEN 0 THEN 'o''brien ' || g WHEN 1 THEN 'Zoë-' || g ELSE 'x\"' || g END,
                     CASE WHEN g % 3 = 0 THEN '2024-01-01' END FROM seq;",
    );
    let plans = Plans::new();
    for (table, rows, batch) in [("accounts", 3000, 97), ("handles", 2000, 64)] {
        let plan = backfill_plan(&plans, &format!("0001_{table}"), table, batch, "");
        Cli::apply(&db).yes().plan(&plan).run();
        assert_eq!(
            db.rows(&format!(
                "SELECT count(*) FROM {table} WHERE email_verified IS NOT (verified_at IS NOT NULL)"
            )),
            ["0"],
            "{table}: every row's new value is the expression of its old values"
        );
        assert_eq!(
            db.rows(&format!(
                "SELECT count(*), count(DISTINCT k) FROM writes WHERE tbl = '{table}'"
            )),
            [format!("{rows}|{rows}")],
            "{table}: each row written once"
        );
        assert_eq!(
            db.rows(&format!(
                "SELECT state, rows_done FROM bellows_steps WHERE plan = '0001_{table}'"
            )),
            [format!("applied|{rows}")]
        );
    }
}

// === interruptions ===============================================================================

/// Rows of the kill -9 and Ctrl-C tables; the other interruptions use `MID`.
const BIG: i64 = 200_000;
const MID: i64 = 60_000;

/// A users table of `rows` rows with the write log, and a plan of batches of 1000 with a pause.
fn interrupted_setup(db: &dyn TestDb, plans: &Plans, rows: i64) -> String {
    seed_users_to_backfill(db, rows);
    db.exec(match db.dialect() {
        DialectKind::Mysql => "ANALYZE TABLE users",
        _ => "ANALYZE users",
    });
    log_writes(db, "users", "CAST(NEW.id AS TEXT)");
    backfill_plan(plans, "0001_fill", "users", 1000, "pause = \"15ms\"")
}

/// After an interruption: the step is not applied, rows done is between 0 and the table, and
/// exactly the rows up to the checkpoint were written, each once.
fn assert_checkpoint_consistent(db: &dyn TestDb, rows: i64) -> i64 {
    let (state, done) = db.backfill_progress("0001_fill").expect("a ledger row");
    assert_ne!(state, "applied");
    assert!(done > 0 && done < rows, "rows done {done}");
    assert_eq!(
        db.rows(&format!(
            "SELECT {} FROM {} WHERE plan = '0001_fill'",
            db.as_text("checkpoint"),
            db.steps_table()
        )),
        [format!("[\"{done}\"]")],
        "ids run 1..N, so the checkpoint is the rows done"
    );
    assert_eq!(db.i64("SELECT count(*) FROM writes"), done);
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT NULL"),
        done
    );
    done
}

/// Resumes (without the pause) to the end and checks every row and the ledger.
fn resume_and_verify(db: &dyn TestDb, plan: &str, rows: i64) {
    Cli::apply(db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(plan)
        .run();
    assert_every_row_correct(db, "users");
    assert_written_once(db, "users", rows);
    assert_ledger_complete(db, "0001_fill", rows);
}

#[test]
fn a_backfill_killed_with_sigkill_resumes_and_writes_every_row_exactly_once() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, BIG);
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", 10_000);
    child.kill(); // SIGKILL: no clean-up of any kind
                  // The server notices the dead client and rolls back its open batch; wait until it has.
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.i64("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'bellows%'") > 0 {
        assert!(Instant::now() < deadline, "the killed run's sessions never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_checkpoint_consistent(&db, BIG);
    resume_and_verify(&db, &plan, BIG);
}

backend_test! {
    fn a_backfill_interrupted_with_sigint_exits_130_with_its_checkpoint_and_resumes(db) {
        let plans = Plans::new();
        let plan = interrupted_setup(db, &plans, BIG);
        let mut child = Cli::apply(db).yes().plan(&plan).spawn();
        child.wait_for_rows(db, "0001_fill", 10_000);
        child.signal("INT");
        let (code, text) = child.wait().code_and_text();
        assert_eq!(code, Some(130), "{text}");
        assert!(text.contains("again to continue from row"), "says how to resume: {text}");
        let done = assert_checkpoint_consistent(db, BIG);
        // `status` shows the interrupted backfill's progress.
        let status = Cli::status(db)
            .args(["--format", "json"])
            .plan(&plan)
            .run()
            .json();
        let step = &status["plans"][0]["phases"][0]["steps"][0];
        assert_eq!(step["rows_done"], done, "{status}");
        assert_eq!(
            step["checkpoint"],
            serde_json::json!([done.to_string()]),
            "{status}"
        );
        resume_and_verify(db, &plan, BIG);
    }
}

/// Terminates the sessions of `bellows apply` whose last statement belongs to a backfill batch
/// (the work connection); returns how many.
fn terminate_work_connection(db: &PostgresDb) -> i64 {
    db.i64(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'bellows apply%'
            AND (query = 'COMMIT' OR query = 'BEGIN' OR query LIKE 'BEGIN;%' OR query LIKE 'SET LOCAL%'
                 OR query LIKE 'WITH batch%' OR query LIKE 'UPDATE \"users\"%'
                 OR query LIKE 'UPDATE bellows.steps SET checkpoint%')",
    )
}

#[test]
fn a_backfill_whose_connection_the_server_closes_reconnects_and_finishes_exactly_once() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    let mut child = Cli::apply(&db)
        .yes()
        .args(["--pause", "3ms"])
        .plan(&plan)
        .spawn();
    let mut terminated = 0;
    for at in [5_000, 20_000, 40_000] {
        let seen = child.wait_for_rows(&db, "0001_fill", at);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n = terminate_work_connection(&db);
            if n > 0 {
                terminated += n;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no work connection found to terminate"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(
            seen < MID,
            "the backfill finished before the connection was closed"
        );
    }
    assert_eq!(terminated, 3);
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "a dropped connection is retried: {text}");
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", MID);
    assert_ledger_complete(&db, "0001_fill", MID);
}

// === concurrent application writes ===============================================================

#[test]
fn application_writes_throughout_the_backfill_leave_every_row_correct_and_contract_passes() {
    const ROWS: i64 = 40_000;
    let db = PostgresDb::new();
    db.exec(&format!(
        "CREATE TABLE users (id bigserial PRIMARY KEY, email text, verified_at timestamptz);
         INSERT INTO users (email, verified_at)
              SELECT 'u' || g || '@example.com', CASE WHEN g % 3 = 0 THEN now() END
                FROM generate_series(1, {ROWS}) g;"
    ));
    let plans = Plans::new();
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plans/0001_users_email_verified.toml"),
    )
    .unwrap();
    let text = example
        .replace("batch_size = 1000 ", "batch_size = 400 ")
        .replace("pause = \"50ms\" ", "pause = \"5ms\" ");
    assert_ne!(
        text, example,
        "the example plan keeps its backfill settings"
    );
    let plan = plans.write("0001_users_email_verified.toml", &text);
    let plan = plan.to_string_lossy().into_owned();

    Cli::apply(&db)
        .yes()
        .args(["--to", "expand"])
        .plan(&plan)
        .run();

    // The old application: inserts without the new column, flips verified_at, deletes.
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let writer = {
        let (url, stop, ops) = (db.url.clone(), stop.clone(), ops.clone());
        std::thread::spawn(move || {
            crate::harness::runtime().block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                let mut n: i64 = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    // A cheap spread over the whole key range, old rows and new.
                    let id = (n * 7919) % (ROWS + n / 3) + 1;
                    let sql = match n % 4 {
                        0 => "INSERT INTO users (email, verified_at)
                              VALUES ('new' || $1::int8 || '@example.com', CASE WHEN $1::int8 % 2 = 0 THEN now() END)",
                        1 => "UPDATE users SET verified_at = now() WHERE id = $1::int8",
                        2 => "UPDATE users SET verified_at = NULL WHERE id = $1::int8",
                        _ => "DELETE FROM users WHERE id = $1::int8",
                    };
                    sqlx::query(sql)
                        .bind(if n % 4 == 0 { n } else { id })
                        .execute(&mut conn)
                        .await
                        .unwrap_or_else(|e| panic!("application write {sql}: {e}"));
                    ops.fetch_add(1, Ordering::SeqCst);
                }
                let _ = conn.close().await;
            })
        })
    };
    while ops.load(Ordering::SeqCst) < 50 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = ops.load(Ordering::SeqCst);
    let out = Cli::apply(&db)
        .yes()
        .args(["--to", "backfill"])
        .plan(&plan)
        .run_unchecked();
    let during = ops.load(Ordering::SeqCst) - before;
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("the application writer");
    out.expect_code(0);
    assert!(
        during > 20,
        "the application wrote throughout the backfill (only {during} writes)"
    );
    assert_every_row_correct(&db, "users");

    // switch and contract: drop_sync, then set_not_null with its null-count guard.
    Cli::apply(&db).yes().plan(&plan).run();
    assert_eq!(
        db.rows(
            "SELECT is_nullable || ' ' || column_default FROM information_schema.columns
              WHERE table_name = 'users' AND column_name = 'email_verified'"
        ),
        ["NO false"]
    );
    assert_every_row_correct(&db, "users");
    assert!(db.i64("SELECT count(*) FROM users") > ROWS / 2);
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
}

// === memory ======================================================================================

/// Runs `bellows apply` to the end, polling its peak RSS (VmHWM) meanwhile; returns it in kB.
fn peak_rss_kb(db: &dyn TestDb, plan: &str) -> u64 {
    let mut child = Cli::apply(db).yes().plan(plan).spawn();
    let status_file = format!("/proc/{}/status", child.pid());
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if child.has_exited() {
            break;
        }
        assert!(Instant::now() < deadline, "the backfill took too long");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "{text}");
    assert!(peak > 0, "read no VmHWM from {status_file}");
    peak
}

#[test]
fn peak_memory_does_not_grow_with_the_table() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE small (id bigserial PRIMARY KEY, verified_at timestamptz, email_verified boolean);
         INSERT INTO small (verified_at) SELECT CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 25000) g;
         CREATE TABLE big (id bigserial PRIMARY KEY, verified_at timestamptz, email_verified boolean);
         INSERT INTO big (verified_at) SELECT CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 250000) g;
         ANALYZE small; ANALYZE big;",
    );
    let plans = Plans::new();
    let small = backfill_plan(&plans, "0001_small", "small", 1000, "");
    let big = backfill_plan(&plans, "0002_big", "big", 1000, "");
    let small_kb = peak_rss_kb(&db, &small);
    let big_kb = peak_rss_kb(&db, &big);
    assert_every_row_correct(&db, "small");
    assert_every_row_correct(&db, "big");
    assert_ledger_complete(&db, "0002_big", 250_000);
    assert!(
        big_kb <= small_kb * 3 / 2 + 4096,
        "peak RSS {big_kb} kB over 250k rows against {small_kb} kB over 25k rows: memory grows with the table"
    );
}

/// A BEFORE UPDATE trigger that sleeps `seconds` when the backfill reaches row `id`, so a test
/// can act while a batch's UPDATE is running.
fn slow_row(db: &PostgresDb, id: i64, seconds: f64) {
    db.exec(&format!(
        "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN IF NEW.id = {id} THEN PERFORM pg_sleep({seconds}); END IF; RETURN NEW; END $$;
         CREATE TRIGGER slow_row BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION slow_row();"
    ));
}

#[test]
fn a_batch_whose_connection_is_closed_mid_update_is_rolled_back_and_retried() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    slow_row(&db, 30_500, 0.5);
    let mut child = Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .spawn();
    child.wait_for_rows(&db, "0001_fill", 30_000);
    // The batch of ids 30001..31000 is asleep inside its UPDATE: terminate it there.
    let deadline = Instant::now() + Duration::from_secs(10);
    let terminated = loop {
        let n = db.i64(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name LIKE 'bellows apply%'
                AND wait_event = 'PgSleep'",
        );
        if n > 0 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the batch never reached the slow row"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(terminated, 1);
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "a dropped connection is retried: {text}");
    assert!(text.contains("retrying"), "the retry is reported: {text}");
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", MID);
    assert_ledger_complete(&db, "0001_fill", MID);
}

#[test]
fn a_backfill_whose_every_session_the_server_closes_reconnects_and_finishes_exactly_once() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    let mut child = Cli::apply(&db)
        .yes()
        .args(["--pause", "3ms"])
        .plan(&plan)
        .spawn();
    let seen = child.wait_for_rows(&db, "0001_fill", 10_000);
    // Work, control and run-lock connections alike, as when the server restarts.
    let terminated = db.i64(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'bellows apply%'",
    );
    assert_eq!(terminated, 3, "the lock, ledger and work sessions");
    assert!(
        seen < MID,
        "the backfill finished before the server closed it"
    );
    let (code, text) = child.wait().code_and_text();
    assert_eq!(
        code,
        Some(0),
        "every dropped connection is reconnected and the run lock taken again: {text}"
    );
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", MID);
    assert_ledger_complete(&db, "0001_fill", MID);
}

/// Terminates the session of a running `bellows apply` that holds the run lock; returns its
/// pid once there is one.
fn terminate_lock_connection(db: &PostgresDb) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pid = db.i64(
            "SELECT coalesce(max(l.pid), 0)::int8 FROM pg_locks l
               JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted
                AND a.datname = current_database()
                AND a.application_name LIKE 'bellows apply%'",
        );
        if pid > 0 {
            assert_eq!(
                db.i64(&format!(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid = {pid}"
                )),
                1
            );
            return pid;
        }
        assert!(Instant::now() < deadline, "no session holds the run lock");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The session holding the run lock, if any.
fn lock_holder(db: &PostgresDb) -> i64 {
    db.i64(
        "SELECT coalesce(max(pid), 0)::int8 FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND database =
                (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
}

#[test]
fn a_backfill_whose_lock_connection_the_server_closes_takes_the_lock_again_and_finishes() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    let mut child = Cli::apply(&db)
        .yes()
        .args(["--pause", "3ms"])
        .plan(&plan)
        .spawn();
    let seen = child.wait_for_rows(&db, "0001_fill", 10_000);
    let old = terminate_lock_connection(&db);
    // The run notices before its next batch and holds the lock again on a new session.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(lock_holder(&db), pid if pid != 0 && pid != old) {
        assert!(
            Instant::now() < deadline,
            "the run never took the run lock again; ledger: {:?}",
            db.backfill_progress("0001_fill")
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(seen < MID, "the backfill finished before the lock was lost");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "the run lock is taken again: {text}");
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", MID);
    assert_ledger_complete(&db, "0001_fill", MID);
}

#[test]
fn a_backfill_whose_lock_another_run_takes_meanwhile_stops_with_exit_4_and_its_checkpoint() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    // Slow batches so the other session can take the lock between two of them.
    let mut child = Cli::apply(&db)
        .yes()
        .args(["--pause", "300ms"])
        .plan(&plan)
        .spawn();
    child.wait_for_rows(&db, "0001_fill", 3_000);
    // Another session grabs the run lock the moment the run's lock session is gone.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut other = rt.block_on(async {
        let options: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
        sqlx::PgConnection::connect_with(&options.application_name("bellows apply other"))
            .await
            .unwrap()
    });
    terminate_lock_connection(&db);
    let taken: bool = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                .bind(0x6265_6c6c_i32)
                .bind(0x6f77_7321_i32)
                .fetch_one(&mut other)
                .await
                .unwrap();
            if got || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let (code, text) = child.wait().code_and_text();
    if !taken {
        // The run took its lock back first: it must have finished.
        assert_eq!(code, Some(0), "{text}");
        assert_ledger_complete(&db, "0001_fill", MID);
        return;
    }
    assert_eq!(code, Some(4), "another run holds the lock: {text}");
    assert!(
        text.contains("another bellows run holds the lock"),
        "{text}"
    );
    assert!(
        text.contains("bellows apply other"),
        "names the holder: {text}"
    );
    // Nothing written after the lock was lost but the checkpoint it recorded.
    assert_checkpoint_consistent(&db, MID);
    rt.block_on(async { other.close().await.unwrap() });
    resume_and_verify(&db, &plan, MID);
}

/// A plan of batches of 1000 with a pause, whose row locks are waited for `lock_timeout`.
fn lock_plan(plans: &Plans, lock_retries: u32) -> String {
    let path = plans.write(
        "0001_fill.toml",
        &format!(
            "[settings]\nlock_timeout = \"100ms\"\nlock_retries = {lock_retries}\n\n\
             [[backfill]]\ntable = \"users\"\nset = {{ email_verified = \"verified_at IS NOT NULL\" }}\n\
             where = \"email_verified IS NULL\"\nbatch_size = 1000\npause = \"10ms\"\n"
        ),
    );
    path.to_string_lossy().into_owned()
}

#[test]
fn a_batch_that_cannot_lock_its_rows_is_retried_until_the_application_lets_go() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 50_000);
    db.exec("ANALYZE users");
    log_writes(&db, "users", "NEW.id::text");
    let plans = Plans::new();
    let plan = lock_plan(&plans, 20);
    // The application holds row 30500 in an open transaction.
    let mut holder = db.connect();
    db.block_on(
        sqlx::raw_sql("BEGIN; SELECT 1 FROM users WHERE id = 30500 FOR UPDATE")
            .execute(&mut holder),
    )
    .unwrap();
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", 30_000);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("running".to_string(), 30_000)),
        "the batch holding row 30500 waits"
    );
    db.block_on(sqlx::raw_sql("COMMIT").execute(&mut holder))
        .unwrap();
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "{text}");
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", 50_000);
    assert_ledger_complete(&db, "0001_fill", 50_000);
}

#[test]
fn a_batch_whose_lock_retries_run_out_exits_4_with_its_checkpoint_and_resumes() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 50_000);
    db.exec("ANALYZE users");
    log_writes(&db, "users", "NEW.id::text");
    let plans = Plans::new();
    let plan = lock_plan(&plans, 3);
    let mut holder = db.connect();
    db.block_on(
        sqlx::raw_sql("BEGIN; SELECT 1 FROM users WHERE id = 30500 FOR UPDATE")
            .execute(&mut holder),
    )
    .unwrap();
    let text = Cli::apply(&db).yes().plan(&plan).code(4).run().to_string();
    assert!(text.contains("resume"), "{text}");
    assert_eq!(
        db.backfill_progress("0001_fill").map(|(_, done)| done),
        Some(30_000)
    );
    assert_eq!(db.i64("SELECT count(*) FROM writes"), 30_000);
    db.block_on(sqlx::raw_sql("COMMIT").execute(&mut holder))
        .unwrap();
    Cli::apply(&db).yes().plan(&plan).run();
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", 50_000);
    assert_ledger_complete(&db, "0001_fill", 50_000);
}

/// Waits until a batch of `bellows apply` sleeps on the slow row.
fn wait_for_slow_batch(db: &PostgresDb) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.i64(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'bellows apply%'
            AND wait_event = 'PgSleep'",
    ) == 0
    {
        assert!(
            Instant::now() < deadline,
            "the batch never reached the slow row"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until no session of bellows is left (the server has rolled back what they held).
fn wait_for_no_sessions(db: &PostgresDb) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.i64(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'bellows%'",
    ) > 0
    {
        assert!(Instant::now() < deadline, "the run's sessions never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_during_a_batch_finishes_or_abandons_it_cleanly_and_exits_130() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    slow_row(&db, 30_500, 1.0);
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", 30_000);
    wait_for_slow_batch(&db);
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(130), "{text}");
    assert!(
        text.contains("again to continue from row"),
        "says how to resume: {text}"
    );
    wait_for_no_sessions(&db);
    // The batch asleep when Ctrl-C came either committed with its checkpoint or not at all.
    let done = assert_checkpoint_consistent(&db, MID);
    assert!(done == 30_000 || done == 31_000, "rows done {done}");
    resume_and_verify(&db, &plan, MID);
}

#[test]
fn a_second_sigint_exits_130_at_once_and_the_batch_in_flight_is_done_whole_or_not_at_all() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    slow_row(&db, 30_500, 3.0);
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", 30_000);
    wait_for_slow_batch(&db);
    let started = Instant::now();
    child.signal("INT");
    std::thread::sleep(Duration::from_millis(200));
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert!(
        started.elapsed() < Duration::from_millis(2_000),
        "the second Ctrl-C did not quit at once ({:?})",
        started.elapsed()
    );
    assert_eq!(code, Some(130), "{text}");
    // The batch in flight was sent to the server: it is rolled back, or (one message with its
    // checkpoint) runs to its commit after bellows is gone; either way data and ledger agree.
    wait_for_no_sessions(&db);
    let done = assert_checkpoint_consistent(&db, MID);
    assert!(done == 30_000 || done == 31_000, "rows done {done}");
    resume_and_verify(&db, &plan, MID);
}

#[test]
fn a_batch_chosen_as_a_deadlock_victim_is_retried() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 50_000);
    db.exec("ANALYZE users");
    log_writes(&db, "users", "NEW.id::text");
    let plans = Plans::new();
    // lock_timeout above deadlock_timeout (1s), so the batch waits long enough to be the
    // deadlock victim.
    let plan = plans.write(
        "0001_fill.toml",
        "[settings]\nlock_timeout = \"10s\"\n\n[[backfill]]\ntable = \"users\"\n\
         set = { email_verified = \"verified_at IS NOT NULL\" }\nwhere = \"email_verified IS NULL\"\n\
         batch_size = 1000\npause = \"10ms\"\n",
    );
    let plan = plan.to_string_lossy().into_owned();
    // The application locks row 30500; once the batch of 30001..31000 holds 30001..30499 and
    // waits for 30500, the application updates 30001: a cycle, found first by the batch's
    // backend, which waited longer.
    let mut app = db.connect();
    db.block_on(
        sqlx::raw_sql("BEGIN; SELECT 1 FROM users WHERE id = 30500 FOR UPDATE").execute(&mut app),
    )
    .unwrap();
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", 30_000);
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.i64(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'bellows apply%'
            AND wait_event_type = 'Lock'",
    ) == 0
    {
        assert!(
            Instant::now() < deadline,
            "the batch never waited for row 30500"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    db.block_on(
        sqlx::raw_sql("UPDATE users SET verified_at = now() WHERE id = 30001; COMMIT")
            .execute(&mut app),
    )
    .unwrap_or_else(|e| panic!("the application was chosen as the victim instead: {e}"));
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("deadlock"), "the retry says why: {text}");
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", 50_000);
    assert_ledger_complete(&db, "0001_fill", 50_000);
}

#[test]
fn a_batch_whose_connection_is_closed_while_it_commits_is_retried_exactly_once() {
    let db = PostgresDb::new();
    let plans = Plans::new();
    let plan = interrupted_setup(&db, &plans, MID);
    // A deferred trigger sleeps at commit time of the batch holding row 30500.
    db.exec(
        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN IF NEW.id = 30500 THEN PERFORM pg_sleep(0.5); END IF; RETURN NULL; END $$;
         CREATE CONSTRAINT TRIGGER slow_commit AFTER UPDATE ON users
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();",
    );
    let mut child = Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .spawn();
    child.wait_for_rows(&db, "0001_fill", 30_000);
    let deadline = Instant::now() + Duration::from_secs(10);
    let terminated = loop {
        let n = db.i64(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name LIKE 'bellows apply%'
                AND wait_event = 'PgSleep'",
        );
        if n > 0 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the batch never reached its commit"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(terminated, 1);
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "a dropped connection is retried: {text}");
    assert_every_row_correct(&db, "users");
    assert_written_once(&db, "users", MID);
    assert_ledger_complete(&db, "0001_fill", MID);
}

#[test]
fn a_batch_left_running_by_a_killed_run_is_not_written_again_by_the_next_run() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, MID);
    db.exec("ANALYZE users");
    // Counts every write of every row; the plan has no `where`, so a batch done twice would
    // write its rows twice.
    db.exec(
        "ALTER TABLE users ADD COLUMN touched int NOT NULL DEFAULT 0;
         CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$;
         CREATE TRIGGER touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION count_touch();",
    );
    slow_row(&db, 30_500, 1.0);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_fill.toml",
        "[settings]\nlock_timeout = \"5s\"\n\n[[backfill]]\ntable = \"users\"\n\
         set = { email_verified = \"verified_at IS NOT NULL\" }\nbatch_size = 1000\n",
    );
    let plan = plan.to_string_lossy().into_owned();
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", 30_000);
    wait_for_slow_batch(&db);
    child.kill(); // SIGKILL while the server still runs the batch it was sent
                  // The next run starts at once, while the killed run's batch may still be running.
    Cli::apply(&db).yes().plan(&plan).run();
    assert_every_row_correct(&db, "users");
    let twice = db.rows("SELECT id::text FROM users WHERE touched <> 1 ORDER BY id LIMIT 5");
    assert!(
        twice.is_empty(),
        "rows written {} times (ids {twice:?}): the killed run's batch and the next run's overlapped",
        db.i64("SELECT max(touched)::int8 FROM users")
    );
    assert_ledger_complete(&db, "0001_fill", MID);
}

// === the server-side loop ========================================================================

/// Waits until no session of `bellows` is left on the server (a killed run's loop block runs
/// on until its end).
fn wait_for_no_bellows_sessions(db: &PostgresDb) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.i64("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'bellows%'") > 0 {
        assert!(Instant::now() < deadline, "the killed run's sessions never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_walk_in_the_server_side_loop_killed_with_sigkill_resumes_exactly_once() {
    // No pause: batches of 7 in the server's loop blocks, on a composite key. The killed run's
    // block finishes on the server; every batch it committed has its checkpoint.
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE accounts (tenant int, id int, verified_at timestamptz, email_verified boolean,
                                PRIMARY KEY (tenant, id));
         INSERT INTO accounts SELECT g % 5, g, CASE WHEN g % 2 = 0 THEN now() END, NULL
                                FROM generate_series(1, 40000) g;
         ANALYZE accounts;",
    );
    log_writes(&db, "accounts", "NEW.tenant || '/' || NEW.id");
    let plans = Plans::new();
    let plan = backfill_plan(&plans, "0001_accounts", "accounts", 7, "");
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_accounts", 3_000);
    child.kill();
    wait_for_no_bellows_sessions(&db);
    let (_, done) = db.backfill_progress("0001_accounts").unwrap();
    assert!(done < 40_000, "killed before the end: {done}");
    // Exactly the rows up to the checkpoint are written.
    let up_to = "(tenant, id) <= (SELECT (checkpoint->>0)::int, (checkpoint->>1)::int
                                    FROM bellows.steps WHERE plan = '0001_accounts')";
    assert_eq!(
        db.i64(&format!("SELECT count(*) FROM accounts WHERE {up_to}")),
        done
    );
    assert_eq!(
        db.i64(&format!(
            "SELECT count(*) FROM accounts WHERE email_verified IS NOT NULL AND NOT {up_to}"
        )),
        0
    );
    assert_eq!(db.i64("SELECT count(*) FROM writes"), done);
    Cli::apply(&db).yes().plan(&plan).run();
    assert_every_row_correct(&db, "accounts");
    assert_written_once(&db, "accounts", 40_000);
    assert_ledger_complete(&db, "0001_accounts", 40_000);
}

#[test]
fn rows_appended_and_deleted_at_the_end_during_a_server_side_loop_are_each_walked_once() {
    // Batches of 2 in the server's loop while the application appends rows (already filled)
    // and deletes the last rows not yet filled: each row that stays is written exactly once.
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE users (id bigserial PRIMARY KEY, verified_at timestamptz,
                             email_verified boolean, appended boolean NOT NULL DEFAULT false);
         INSERT INTO users (verified_at) SELECT CASE WHEN g % 2 = 0 THEN now() END
                                           FROM generate_series(1, 6000) g;",
    );
    log_writes(&db, "users", "CAST(NEW.id AS TEXT)");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, stop) = (db.url.clone(), stop.clone());
        std::thread::spawn(move || {
            crate::harness::runtime().block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let sql = match n % 2 {
                        0 => "INSERT INTO users (verified_at, email_verified, appended) VALUES (now(), true, true)",
                        _ => "DELETE FROM users WHERE id = (SELECT max(id) FROM users WHERE NOT appended)",
                    };
                    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                }
                let _ = conn.close().await;
            })
        })
    };
    let plans = Plans::new();
    let plan = backfill_plan(&plans, "0001_users", "users", 2, "");
    Cli::apply(&db).yes().plan(&plan).run();
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let twice = db.rows("SELECT k FROM writes GROUP BY k HAVING count(*) > 1 LIMIT 5");
    assert!(twice.is_empty(), "rows written more than once: {twice:?}");
    assert_eq!(
        db.i64(
            "SELECT count(*) FROM users u WHERE NOT appended
                   AND NOT EXISTS (SELECT 1 FROM writes w WHERE w.k = u.id::text)"
        ),
        0,
        "every row that stays is written"
    );
    assert_every_row_correct(&db, "users");
}

#[test]
fn a_timestamptz_key_resumes_the_same_whatever_date_style_the_url_asks_for() {
    // The checkpoint of a timestamptz key is the key as text. The killed run's URL asks for
    // day-first dates in one time zone, the resuming run's for month-first ones in another: days
    // under 13 make day and month interchangeable, so a checkpoint read another way would skip
    // or repeat rows.
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE events (at timestamptz PRIMARY KEY, verified_at timestamptz, email_verified boolean);
         INSERT INTO events
           SELECT timestamptz '2024-01-02 03:04:05.123456+00' + g * interval '37 minutes 0.5 seconds',
                  CASE WHEN g % 2 = 0 THEN now() END, NULL
             FROM generate_series(1, 30000) g;
         ANALYZE events;",
    );
    log_writes(&db, "events", "CAST(NEW.at AS TEXT)");
    let plans = Plans::new();
    let plan = backfill_plan(&plans, "0001_events", "events", 5, "");
    let day_first = with_settings(&db.url, &["DateStyle=SQL,DMY", "TimeZone=Asia/Kolkata"]);
    let month_first = with_settings(&db.url, &["DateStyle=SQL,MDY", "TimeZone=America/New_York"]);
    let mut child = Cli::new(["apply", "-d", &day_first, "--yes"])
        .plan(&plan)
        .spawn();
    child.wait_for_rows(&db, "0001_events", 2_000);
    child.kill();
    wait_for_no_bellows_sessions(&db);
    let (_, done) = db.backfill_progress("0001_events").unwrap();
    assert!(done < 30_000, "killed before the end: {done}");
    // bellows' sessions write it as ISO in UTC whatever the URL asks.
    let checkpoint = db.rows("SELECT checkpoint->>0 FROM bellows.steps WHERE plan = '0001_events'");
    assert!(
        checkpoint[0].chars().nth(4) == Some('-') && checkpoint[0].ends_with("+00"),
        "{checkpoint:?}"
    );
    Cli::new(["apply", "-d", &month_first, "--yes"])
        .plan(&plan)
        .run();
    assert_every_row_correct(&db, "events");
    assert_written_once(&db, "events", 30_000);
    assert_ledger_complete(&db, "0001_events", 30_000);
}
