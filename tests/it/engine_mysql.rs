//! MySQL/MariaDB through the real binary: every operation applied, checked in
//! `information_schema` and rolled back to the same `SHOW CREATE TABLE`; what cannot be done
//! online refused while planning; a DDL behind a long transaction (readers wait about
//! `lock_timeout` at most, exit 4 with the phase undone); a composite-key backfill killed with
//! SIGKILL and SIGINT that resumes writing every row exactly once; a backfill under concurrent
//! application writes with no failed application query.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnection;
use sqlx::Connection;

use crate::harness::{Cli, MysqlDb, Plans, TestDb};

const SCHEMA: &str = "
CREATE TABLE customers (
    id    BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name  VARCHAR(100) NOT NULL,
    email VARCHAR(200) NULL COMMENT 'login',
    score INT NULL DEFAULT 0,
    KEY customers_name_idx (name)
) ENGINE=InnoDB;
CREATE TABLE orders (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    total       INT NOT NULL,
    KEY orders_customer_idx (customer_id),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;
INSERT INTO customers (name, email) VALUES ('ann', 'ann@example.com'), ('bob', NULL), ('cid', 'cid@example.com');
INSERT INTO orders (customer_id, total) VALUES (1, 10), (1, 20), (2, 30);
";

/// `SHOW CREATE TABLE` of every table outside the ledger, without the AUTO_INCREMENT counter.
fn schema(db: &MysqlDb) -> String {
    let tables = db.rows(
        "SELECT TABLE_NAME FROM information_schema.TABLES
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'bellows\\_%' ORDER BY TABLE_NAME",
    );
    let triggers = db.rows(
        "SELECT CONCAT(TRIGGER_NAME, ' ', ACTION_STATEMENT) FROM information_schema.TRIGGERS
          WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME",
    );
    let mut out = tables
        .iter()
        .map(|t| {
            db.show_create(t)
                .split(' ')
                .filter(|w| !w.starts_with("AUTO_INCREMENT="))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>();
    out.extend(triggers);
    out.join("\n")
}

/// Applies `plan` (every phase), runs `check`, rolls back, and proves the schema is as it was.
fn round_trip(name: &str, plan: &str, check: impl Fn(&MysqlDb)) {
    let db = MysqlDb::new();
    db.exec(SCHEMA);
    let before = schema(&db);
    let plans = Plans::new();
    let file = plans.write(&format!("0001_{name}.toml"), plan);
    Cli::apply(&db).yes().plan(&file).run();
    check(&db);
    assert_ne!(schema(&db), before, "{name}: apply changed nothing");
    Cli::rollback(&db).yes().plan(&file).run();
    assert_eq!(
        schema(&db),
        before,
        "{name}: rollback did not restore the schema"
    );
    let states = db.ledger_states(&format!("0001_{name}"));
    assert!(
        states.iter().all(|s| s.ends_with("=rolled_back")),
        "{name}: {states:?}"
    );
}

fn column(db: &MysqlDb, table: &str, column: &str, what: &str) -> String {
    db.rows(&format!(
        "SELECT CAST(COALESCE({what}, 'NULL') AS CHAR) FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' AND COLUMN_NAME = '{column}'"
    ))
    .pop()
    .unwrap_or_else(|| panic!("no column {table}.{column}"))
}

#[test]
fn every_operation_applies_and_rolls_back_to_the_same_show_create_table() {
    round_trip(
        "add_column",
        "[[expand]]\nop = \"add_column\"\ntable = \"customers\"\ncolumn = \"tier\"\ntype = \"VARCHAR(20)\"\nnullable = false\ndefault = \"'basic'\"\n",
        |db| {
            assert_eq!(column(db, "customers", "tier", "IS_NULLABLE"), "NO");
            assert_eq!(db.i64("SELECT count(*) FROM customers WHERE tier = 'basic'"), 3);
        },
    );
    round_trip(
        "add_index",
        "[[expand]]\nop = \"add_index\"\ntable = \"customers\"\ncolumns = [\"email\"]\nunique = true\n",
        |db| assert!(db.index_exists("customers_email_key")),
    );
    round_trip(
        "add_unique",
        "[[expand]]\nop = \"add_unique\"\ntable = \"customers\"\ncolumns = [\"name\", \"email\"]\nname = \"customers_name_email_key\"\n",
        |db| {
            assert_eq!(
                db.rows("SELECT CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'customers' AND CONSTRAINT_NAME = 'customers_name_email_key'"),
                ["UNIQUE"]
            );
            let refused = db
                .session()
                .try_exec("INSERT INTO customers (name, email) VALUES ('ann', 'ann@example.com')");
            assert!(refused.is_err(), "a duplicate is refused");
        },
    );
    round_trip(
        "foreign_key",
        "[[expand]]\nop = \"add_column\"\ntable = \"customers\"\ncolumn = \"referrer_id\"\ntype = \"BIGINT\"\n\n[[expand]]\nop = \"add_foreign_key\"\ntable = \"customers\"\ncolumns = [\"referrer_id\"]\nreferences = { table = \"customers\", columns = [\"id\"] }\n",
        |db| {
            assert!(db.constraint_exists("customers", "customers_referrer_id_fkey"));
            let refused = db
                .session()
                .try_exec("UPDATE customers SET referrer_id = 999 WHERE id = 1");
            assert!(refused.is_err(), "new writes are checked");
        },
    );
    round_trip(
        "defaults",
        "[[switch]]\nop = \"set_default\"\ntable = \"customers\"\ncolumn = \"score\"\ndefault = \"7\"\n\n[[switch]]\nop = \"drop_default\"\ntable = \"customers\"\ncolumn = \"email\"\n\n[[switch]]\nop = \"set_default\"\ntable = \"customers\"\ncolumn = \"name\"\ndefault = \"'anon'\"\n",
        |db| {
            assert_eq!(column(db, "customers", "score", "COLUMN_DEFAULT"), "7");
            assert_eq!(column(db, "customers", "name", "COLUMN_DEFAULT"), "'anon'");
        },
    );
    round_trip(
        "set_not_null",
        "[[contract]]\nop = \"set_not_null\"\ntable = \"customers\"\ncolumn = \"score\"\n",
        |db| {
            assert_eq!(column(db, "customers", "score", "IS_NULLABLE"), "NO");
            assert_eq!(column(db, "customers", "score", "COLUMN_DEFAULT"), "0");
        },
    );
    round_trip(
        "drop_not_null",
        "[[expand]]\nop = \"drop_not_null\"\ntable = \"orders\"\ncolumn = \"total\"\n\n[[expand]]\nop = \"drop_not_null\"\ntable = \"customers\"\ncolumn = \"name\"\n",
        |db| {
            assert_eq!(column(db, "orders", "total", "IS_NULLABLE"), "YES");
            assert_eq!(column(db, "customers", "name", "IS_NULLABLE"), "YES");
            assert_eq!(column(db, "customers", "name", "COLUMN_TYPE"), "varchar(100)");
        },
    );
    round_trip(
        "set_comment",
        "[[expand]]\nop = \"set_comment\"\ntable = \"customers\"\ncomment = \"who buys, it's them\"\n\n[[expand]]\nop = \"set_comment\"\ntable = \"customers\"\ncolumn = \"email\"\ncomment = \"\"\n\n[[expand]]\nop = \"set_comment\"\ntable = \"customers\"\ncolumn = \"score\"\ncomment = \"points, 'so far'\"\n",
        |db| {
            assert_eq!(
                db.rows("SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'customers'"),
                ["who buys, it's them"]
            );
            assert_eq!(column(db, "customers", "email", "COLUMN_COMMENT"), "");
            assert_eq!(column(db, "customers", "score", "COLUMN_COMMENT"), "points, 'so far'");
            assert_eq!(column(db, "customers", "score", "COLUMN_DEFAULT"), "0");
            assert_eq!(column(db, "customers", "email", "IS_NULLABLE"), "YES");
        },
    );
    round_trip(
        "sync_column",
        "[[expand]]\nop = \"add_column\"\ntable = \"customers\"\ncolumn = \"email_lower\"\ntype = \"VARCHAR(200)\"\n\n[[expand]]\nop = \"sync_column\"\ntable = \"customers\"\ncolumn = \"email_lower\"\nfrom = \"lower(email)\"\n",
        |db| {
            db.exec("INSERT INTO customers (name, email) VALUES ('dee', 'Dee@Example.COM')");
            db.exec("UPDATE customers SET email = 'ANN@x.org' WHERE id = 1");
            assert_eq!(
                db.rows("SELECT email_lower FROM customers WHERE id = 1 OR name = 'dee' ORDER BY id"),
                ["ann@x.org", "dee@example.com"]
            );
            assert!(db.trigger_exists("bellows_sync_customers_email_lower"));
        },
    );
    round_trip(
        "drops",
        "[[contract]]\nop = \"drop_index\"\ntable = \"customers\"\nname = \"customers_name_idx\"\n\n[[contract]]\nop = \"drop_constraint\"\ntable = \"orders\"\nname = \"orders_customer_fk\"\n",
        |db| {
            assert!(!db.index_exists("customers_name_idx"));
            assert!(!db.constraint_exists("orders", "orders_customer_fk"));
        },
    );
}

#[test]
fn orphan_rows_fail_the_foreign_key_and_the_phase_is_undone() {
    let db = MysqlDb::new();
    db.exec(SCHEMA);
    db.exec("ALTER TABLE customers ADD COLUMN referrer_id BIGINT; UPDATE customers SET referrer_id = 42 WHERE id = 2");
    let before = schema(&db);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_fk.toml",
        "[[expand]]\nop = \"add_foreign_key\"\ntable = \"customers\"\ncolumns = [\"referrer_id\"]\nreferences = { table = \"customers\", columns = [\"id\"] }\n",
    );
    Cli::apply(&db)
        .yes()
        .plan(&plan)
        .code(1)
        .stderr_has("found orphan rows")
        .run();
    assert_eq!(
        schema(&db),
        before,
        "the constraint and its index are gone again"
    );
}

#[test]
fn a_duplicate_fails_add_unique_naming_the_key_and_leaves_nothing() {
    let db = MysqlDb::new();
    db.exec(SCHEMA);
    db.exec("INSERT INTO customers (name, email) VALUES ('ann', 'other@example.com')");
    let before = schema(&db);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_unique.toml",
        "[[expand]]\nop = \"add_unique\"\ntable = \"customers\"\ncolumns = [\"name\"]\n",
    );
    Cli::apply(&db)
        .yes()
        .plan(&plan)
        .code(1)
        .stderr_has("Duplicate entry 'ann'")
        .stderr_has("customers_name_key")
        .run();
    assert_eq!(schema(&db), before, "no unique key is left behind");
}

#[test]
fn what_cannot_be_done_online_is_refused_while_planning_with_the_alternative() {
    let plans = Plans::new();
    let check = plans.write(
        "0001_check.toml",
        "[[expand]]\nop = \"add_check\"\ntable = \"orders\"\nname = \"orders_total_positive\"\ncheck = \"total >= 0\"\n",
    );
    Cli::plan_cmd()
        .args(["--dialect", "mysql"])
        .plan(&check)
        .code(2)
        .stderr_has("ALGORITHM=COPY")
        .stderr_has("guard")
        .run();
    let partial = plans.write(
        "0002_partial.toml",
        "[[expand]]\nop = \"add_index\"\ntable = \"orders\"\ncolumns = [\"total\"]\nwhere = \"total > 0\"\n",
    );
    Cli::plan_cmd()
        .args(["--dialect", "mariadb"])
        .plan(&partial)
        .code(2)
        .stderr_has("no partial indexes")
        .run();
    let backslash = plans.write(
        "0003_comment.toml",
        "[[expand]]\nop = \"set_comment\"\ntable = \"orders\"\ncomment = 'C:\\\\orders'\n",
    );
    Cli::plan_cmd()
        .args(["--dialect", "mysql"])
        .plan(&backslash)
        .code(2)
        .stderr_has("backslash")
        .run();
}

// === locks =======================================================================================

/// Reads `SELECT count(*) FROM customers` in a loop on a connection of its own until `stop`;
/// returns the longest read and how many ran.
fn reader(url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(Duration, u64)> {
    std::thread::spawn(move || {
        crate::harness::runtime().block_on(async move {
            let mut conn = MySqlConnection::connect(&url).await.unwrap();
            let (mut longest, mut count) = (Duration::ZERO, 0);
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let _: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                longest = longest.max(started.elapsed());
                count += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (longest, count)
        })
    })
}

#[test]
fn a_ddl_behind_a_long_transaction_holds_up_readers_about_lock_timeout_then_exits_4_undone() {
    let db = MysqlDb::new();
    db.exec(SCHEMA);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_stuck.toml",
        "[[expand]]\nop = \"create_table\"\ntable = \"side\"\ncolumns = [{ name = \"id\", type = \"INT\", primary_key = true }]\n\n[[expand]]\nop = \"add_column\"\ntable = \"customers\"\ncolumn = \"nickname\"\ntype = \"VARCHAR(40)\"\n",
    );
    let mut holder = db.connect();
    db.block_on(async {
        sqlx::raw_sql("BEGIN; SELECT count(*) FROM customers;")
            .execute(&mut holder)
            .await
            .unwrap()
    });
    let holder_id: i64 = db.block_on(async {
        sqlx::query_scalar("SELECT CAST(CONNECTION_ID() AS SIGNED)")
            .fetch_one(&mut holder)
            .await
            .unwrap()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let reads = reader(db.url.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(100));
    let out = Cli::new([
        "apply",
        "--lock-timeout",
        "1s",
        "--lock-retries",
        "3",
        "-d",
        &db.url,
    ])
    .arg(&plan)
    .code(4)
    .run();
    stop.store(true, Ordering::SeqCst);
    let (longest_read, reads_done) = reads.join().unwrap();
    let stderr = &out.stderr;
    assert!(stderr.contains("in 3 attempts"), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {holder_id}")),
        "names the holder: {stderr}"
    );
    assert!(
        stderr.contains("the expand phase was rolled back"),
        "{stderr}"
    );
    assert!(!db.table_exists("side"), "compensated with the reverse DDL");
    assert!(!db.column_exists("customers", "nickname"));
    assert_eq!(
        db.ledger_states("0001_stuck"),
        ["expand/0=rolled_back", "expand/1=failed"]
    );
    assert_eq!(db.run_lock(), None, "the run lock was released");
    eprintln!("{reads_done} reads while the ALTER waited; the longest took {longest_read:?} (lock_timeout 1s)");
    assert!(
        reads_done > 10,
        "the reader ran throughout ({reads_done} reads)"
    );
    assert!(
        longest_read < Duration::from_millis(1000 + 600),
        "a read waited {longest_read:?}, longer than about lock_timeout (1s)"
    );
    db.block_on(async {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut holder)
            .await
            .unwrap()
    });
}

#[test]
fn a_second_run_exits_4_at_once_naming_the_holders_connection() {
    let db = MysqlDb::new();
    db.exec(SCHEMA);
    let mut lock = db.connect();
    let id: i64 = db.block_on(async {
        sqlx::query_scalar("SELECT CAST(CONNECTION_ID() AS SIGNED)")
            .fetch_one(&mut lock)
            .await
            .unwrap()
    });
    db.block_on(async {
        sqlx::raw_sql("SELECT GET_LOCK(LEFT(CONCAT('bellows run lock: ', DATABASE()), 64), 0)")
            .execute(&mut lock)
            .await
            .unwrap()
    });
    let plans = Plans::new();
    let plan = plans.write(
        "0001_x.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"customers\"\ncolumn = \"x\"\ntype = \"INT\"\n",
    );
    let started = Instant::now();
    Cli::apply(&db)
        .yes()
        .plan(&plan)
        .code(4)
        .stderr_has(&format!("connection {id} (root@"))
        .stderr_has(&format!("KILL {id}"))
        .run();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(!db.column_exists("customers", "x"));
}

// === backfill ====================================================================================

/// `events (tenant, seq)`: a composite key, `rows` rows over 7 tenants; a BEFORE UPDATE trigger
/// counts in `writes` every time `email_verified` goes from NULL to a value.
fn seed_events(db: &MysqlDb, rows: i64) {
    db.exec(&format!(
        "CREATE TABLE events (tenant INT NOT NULL, seq INT NOT NULL, verified_at DATETIME NULL,
                              email_verified BOOLEAN NULL, writes INT NOT NULL DEFAULT 0,
                              PRIMARY KEY (tenant, seq));
         SET SESSION max_recursive_iterations = 4294967295;
         INSERT INTO events (tenant, seq, verified_at)
              WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows})
              SELECT n % 7, n, CASE WHEN n % 3 = 0 THEN NOW() END FROM g;
         CREATE TRIGGER count_writes BEFORE UPDATE ON events FOR EACH ROW
           SET NEW.writes = OLD.writes + (OLD.email_verified IS NULL AND NEW.email_verified IS NOT NULL);"
    ));
}

fn events_plan(plans: &Plans, pause: &str) -> String {
    plans
        .write(
            "0001_fill.toml",
            &format!(
                "[[backfill]]\ntable = \"events\"\nset = {{ email_verified = \"verified_at IS NOT NULL\" }}\nwhere = \"email_verified IS NULL\"\nbatch_size = 500\npause = \"{pause}\"\n"
            ),
        )
        .to_string_lossy()
        .into_owned()
}

/// Every row holds the right value and was written exactly once; the ledger is complete.
fn assert_exactly_once(db: &MysqlDb, rows: i64) {
    assert_eq!(
        db.rows("SELECT CONCAT(writes, ' writes: ', COUNT(*)) FROM events GROUP BY writes"),
        [format!("1 writes: {rows}")]
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM events WHERE email_verified <> (verified_at IS NOT NULL)"),
        0
    );
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), rows))
    );
}

#[test]
fn a_composite_key_backfill_killed_and_interrupted_resumes_writing_every_row_exactly_once() {
    const ROWS: i64 = 20_000;
    let db = MysqlDb::new();
    seed_events(&db, ROWS);
    let plans = Plans::new();
    let plan = events_plan(&plans, "10ms");

    // kill -9: no clean-up of any kind; the server rolls the open batch back.
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", 3_000);
    child.kill();
    let (_, done) = db.backfill_progress("0001_fill").expect("a ledger row");
    assert!(done > 0 && done < ROWS, "rows done {done}");

    // SIGINT: stops after the batch in flight, with its checkpoint.
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    child.wait_for_rows(&db, "0001_fill", done + 3_000);
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(130), "{text}");
    let (state, done) = db.backfill_progress("0001_fill").expect("a ledger row");
    assert_ne!(state, "applied");
    assert_eq!(
        db.i64("SELECT count(*) FROM events WHERE writes = 1"),
        db.i64("SELECT count(*) FROM events WHERE email_verified IS NOT NULL")
    );
    assert!(done < ROWS);

    Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .run();
    assert_exactly_once(&db, ROWS);
}

#[test]
fn a_backfill_under_concurrent_application_writes_fails_no_application_query() {
    const ROWS: i64 = 10_000;
    let db = MysqlDb::new();
    seed_events(&db, ROWS);
    let plans = Plans::new();
    let plan = events_plan(&plans, "0ms");
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let writer = {
        let (url, stop, failures) = (db.url.clone(), stop.clone(), failures.clone());
        std::thread::spawn(move || {
            crate::harness::runtime().block_on(async move {
                let mut conn = MySqlConnection::connect(&url).await.unwrap();
                let (mut worst, mut count, mut n) = (Duration::ZERO, 0u64, 0i64);
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let started = Instant::now();
                    // The application touches a column the backfill does not write.
                    let result = sqlx::query(
                        "UPDATE events SET verified_at = verified_at WHERE tenant = ? AND seq = ?",
                    )
                    .bind(n % 7)
                    .bind((n * 37) % ROWS + 1)
                    .execute(&mut conn)
                    .await;
                    if result.is_err() {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                    worst = worst.max(started.elapsed());
                    count += 1;
                }
                (worst, count)
            })
        })
    };
    Cli::apply(&db).yes().plan(&plan).run();
    stop.store(true, Ordering::SeqCst);
    let (worst, count) = writer.join().unwrap();
    eprintln!("{count} application updates during the backfill, the slowest took {worst:?}");
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "failed application queries"
    );
    assert!(count > 50, "the application wrote throughout ({count})");
    assert_exactly_once(&db, ROWS);
}

#[test]
fn status_and_json_read_the_mysql_ledger() {
    let db = MysqlDb::new();
    db.exec(SCHEMA);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_tier.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"customers\"\ncolumn = \"tier\"\ntype = \"INT\"\n",
    );
    Cli::status(&db).plan(&plan).stdout_has("0001_tier").run();
    Cli::apply(&db).yes().plan(&plan).run();
    let status = Cli::status(&db)
        .args(["--format", "json"])
        .plan(&plan)
        .run()
        .json();
    assert_eq!(
        status["plans"][0]["phases"][0]["steps"][0]["state"], "applied",
        "{status}"
    );
}

#[test]
fn the_table_index_and_foreign_key_shapes_mariadb_has_apply_and_roll_back() {
    round_trip(
        "shapes",
        r#"
[[expand]]
op = "create_table"
table = "invoices"
columns = [
  { name = "id", type = "BIGINT" },
  { name = "customer_id", type = "BIGINT", nullable = false, references = { table = "customers", column = "id", on_delete = "cascade" } },
  { name = "number", type = "VARCHAR(32)", nullable = false, unique = true },
  { name = "cents", type = "BIGINT", nullable = false, check = "cents >= 0" },
  { name = "euros", type = "DECIMAL(12,2)", generated = "cents / 100" },
]
constraints = [
  { type = "primary_key", name = "invoices_pk", columns = ["id"] },
  { type = "unique", name = "invoices_customer_number", columns = ["customer_id", "number"] },
  { type = "check", name = "invoices_positive", check = "id > 0" },
]

[[expand]]
op = "add_index"
table = "orders"
columns = ["customer_id", { column = "total", order = "desc" }]

[[expand]]
op = "add_column"
table = "customers"
column = "referrer_id"
type = "BIGINT"

[[expand]]
op = "add_foreign_key"
table = "customers"
columns = ["referrer_id"]
references = { table = "customers", columns = ["id"] }
on_delete = "set null"
on_update = "cascade"
"#,
        |db| {
            let create = db.show_create("invoices");
            for part in [
                "PRIMARY KEY (\"id\")",
                "UNIQUE KEY \"invoices_customer_number\" (\"customer_id\",\"number\")",
                "FOREIGN KEY (\"customer_id\") REFERENCES \"customers\" (\"id\") ON DELETE CASCADE",
                "CONSTRAINT \"invoices_positive\" CHECK (\"id\" > 0)",
                "GENERATED ALWAYS AS (\"cents\" / 100) STORED",
            ] {
                assert!(create.contains(part), "{part} missing from {create}");
            }
            db.exec(
                "INSERT INTO invoices (id, customer_id, number, cents) VALUES (1, 1, 'A-1', 1250)",
            );
            assert_eq!(
                db.rows("SELECT CAST(euros AS CHAR) FROM invoices"),
                ["12.50"]
            );
            let refused = db.session().try_exec(
                "INSERT INTO invoices (id, customer_id, number, cents) VALUES (2, 1, 'A-2', -1)",
            );
            assert!(refused.is_err(), "the column check holds");
            db.exec("DELETE FROM invoices");
            assert!(db
                .show_create("orders")
                .contains("(\"customer_id\",\"total\" DESC)"));
            assert!(db
                .show_create("customers")
                .contains("ON DELETE SET NULL ON UPDATE CASCADE"));
        },
    );
}
