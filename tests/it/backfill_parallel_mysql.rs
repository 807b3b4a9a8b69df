//! A parallel backfill (`parallel = N`) through the real `bellows` binary on MariaDB: the key
//! split into ranges walked at once by three connections misses and doubles no row at the
//! ranges' edges (integer, composite (int, varchar) and text keys, with an application
//! inserting and deleting rows throughout); a walk killed with SIGKILL, or whose connections
//! the server kills, resumes every range exactly once; a row lock held past `lock_timeout` is
//! waited out; a batch waiting for a row lock holds no gap (READ COMMITTED) and, chosen as a
//! deadlock's victim, is retried; `status` shows every range's rows and `rollback` forgets the
//! ranges.
//!
//! Every backfill here is `set = { n = "n + 1" }` with no `where`: a row walked twice shows
//! `n = 2`, and a trigger logs each update's key and connection in `writes`.

use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnection;
use sqlx::Connection;

use crate::harness::running::Running;
use crate::harness::writer::{apply_beside, Application};
use crate::harness::{Cli, MysqlDb, Plans, TestDb};

/// Logs into `writes (k, conn)` every update of `table`, with the session that wrote it.
fn log_every_update(db: &MysqlDb, table: &str, key: &str) {
    db.exec(&format!(
        "CREATE TABLE IF NOT EXISTS writes (k VARCHAR(200) NOT NULL, conn BIGINT NOT NULL);
         CREATE TRIGGER log_write AFTER UPDATE ON {table} FOR EACH ROW
           INSERT INTO writes (k, conn) VALUES ({key}, CONNECTION_ID());"
    ));
}

/// `table` with `rows` rows `g = 1..rows` made by `values` (a select list over `g`), a counter
/// `n` and an `inserted` flag for rows the application adds.
fn seed(db: &MysqlDb, create: &str, table: &str, columns: &str, values: &str, rows: i64) {
    db.exec(&format!(
        "{create};
         SET SESSION max_recursive_iterations = 4294967295;
         INSERT INTO {table} ({columns})
              WITH RECURSIVE g(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM g WHERE g < {rows})
              SELECT {values} FROM g;
         ANALYZE TABLE {table};"
    ));
}

/// `items (id)` with ids 2, 4, … and every update logged.
fn items_to_walk(rows: i64) -> (MysqlDb, Plans) {
    let db = MysqlDb::new();
    seed(
        &db,
        "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, n INT NOT NULL DEFAULT 0,
                             inserted BOOLEAN NOT NULL DEFAULT FALSE) ENGINE=InnoDB",
        "items",
        "id",
        "2 * g",
        rows,
    );
    log_every_update(&db, "items", "CAST(NEW.id AS CHAR)");
    (db, Plans::new())
}

/// A plan with one backfill of `table` counting each walk of a row in `n`, in three workers;
/// `extra` is more TOML for the step.
fn parallel_plan(plans: &Plans, table: &str, batch_size: u64, extra: &str) -> String {
    let path = plans.write(
        "0001_fill.toml",
        &format!(
            "[[backfill]]\ntable = \"{table}\"\nset = {{ n = \"n + 1\" }}\n\
             batch_size = {batch_size}\nparallel = 3\n{extra}\n"
        ),
    );
    path.to_string_lossy().into_owned()
}

/// The rows the ranges of the running walk have done (0 before the ranges table exists).
fn walked(db: &MysqlDb) -> i64 {
    if !db.table_exists("bellows_backfill_ranges") {
        return 0;
    }
    db.i64("SELECT CAST(COALESCE(SUM(rows_done), 0) AS SIGNED) FROM bellows_backfill_ranges")
}

fn ranges(db: &MysqlDb) -> i64 {
    db.i64("SELECT count(*) FROM bellows_backfill_ranges WHERE plan = '0001_fill'")
}

/// Waits until the parallel walk of `child` has done at least `rows` rows; fails, with what
/// the run printed, when it ends first.
fn wait_for_walked(db: &MysqlDb, child: &mut Running, rows: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while walked(db) < rows {
        if child.has_exited() {
            let text = std::mem::replace(child, Running::start(&["--version"]))
                .wait()
                .code_and_text();
            panic!("the run ended before the walk reached {rows} rows: {text:?}");
        }
        assert!(
            Instant::now() < deadline,
            "the parallel walk never reached {rows} rows"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every row of `table` the application did not insert was walked exactly once (`n = 1`), no
/// row twice, and each logged write is a different row.
fn assert_walked_once(db: &MysqlDb, table: &str) {
    assert_eq!(
        db.i64(&format!(
            "SELECT count(*) FROM {table} WHERE n <> 1 AND NOT inserted"
        )),
        0,
        "{table}: a row of the table was missed or walked twice"
    );
    assert_eq!(
        db.i64(&format!("SELECT count(*) FROM {table} WHERE n > 1")),
        0,
        "{table}: a row inserted during the walk was walked twice"
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM writes"),
        db.i64("SELECT count(DISTINCT k) FROM writes"),
        "{table}: a key was written twice"
    );
}

/// The application writing beside the walk (see [`crate::harness::writer::application`]).
fn application(db: &MysqlDb, writes: &'static [&'static str]) -> Application {
    crate::harness::writer::application::<sqlx::MySql>(&db.url, writes)
}

type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Each table: its DDL, seeded columns and values, the key it is logged by, and the
/// application's writes (inserts land inside the ranges and at their edges: between existing
/// keys; deletes remove rows ahead of and behind the workers).
const CASES: [Case; 3] = [
    (
        "ints",
        "CREATE TABLE ints (id BIGINT NOT NULL PRIMARY KEY, n INT NOT NULL DEFAULT 0,
                            inserted BOOLEAN NOT NULL DEFAULT FALSE) ENGINE=InnoDB",
        "id",
        "2 * g",
        "CAST(NEW.id AS CHAR)",
        &[
            "INSERT IGNORE INTO ints (id, inserted) VALUES ((? * 7919 % 12000) * 2 + 1, TRUE)",
            "DELETE FROM ints WHERE id = (? * 104729 % 12000) * 2 AND NOT inserted",
        ],
    ),
    (
        "pairs",
        "CREATE TABLE pairs (tenant INT NOT NULL, code VARCHAR(20) NOT NULL,
                             n INT NOT NULL DEFAULT 0, inserted BOOLEAN NOT NULL DEFAULT FALSE,
                             PRIMARY KEY (tenant, code)) ENGINE=InnoDB",
        "tenant, code",
        "g % 7, CONCAT('c', LPAD(g, 6, '0'))",
        "CONCAT(NEW.tenant, '/', NEW.code)",
        &[
            "INSERT IGNORE INTO pairs (tenant, code, inserted)
                  SELECT m % 7, CONCAT('c', LPAD(m, 6, '0'), 'b'), TRUE FROM (SELECT ? * 7919 % 12000 AS m) x",
            "DELETE p FROM pairs p JOIN (SELECT ? * 104729 % 12000 AS m) x
                ON p.tenant = x.m % 7 AND p.code = CONCAT('c', LPAD(x.m, 6, '0'))
              WHERE NOT p.inserted",
        ],
    ),
    (
        "names",
        "CREATE TABLE names (name VARCHAR(64) NOT NULL PRIMARY KEY, n INT NOT NULL DEFAULT 0,
                             inserted BOOLEAN NOT NULL DEFAULT FALSE) ENGINE=InnoDB",
        "name",
        "CONCAT(MD5(g), 'a')",
        "NEW.name",
        &[
            "INSERT IGNORE INTO names (name, inserted) VALUES (CONCAT(MD5(? * 7919 % 12000), 'b'), TRUE)",
            "DELETE FROM names WHERE name = CONCAT(MD5(? * 104729 % 12000), 'a')",
        ],
    ),
];

#[test]
fn parallel_walks_of_integer_composite_and_text_keys_miss_and_double_no_row_at_range_edges() {
    for (table, create, columns, values, key, writes) in CASES {
        let db = MysqlDb::new();
        seed(&db, create, table, columns, values, 12_000);
        log_every_update(&db, table, key);
        let plans = Plans::new();
        let plan = parallel_plan(&plans, table, 200, "");
        apply_beside(&db, &plan, application(&db, writes), table);
        assert_eq!(
            db.i64("SELECT count(DISTINCT conn) FROM writes"),
            3,
            "{table}: three workers wrote"
        );
        assert_eq!(ranges(&db), 0, "{table}: the ranges end with the walk");
        assert_walked_once(&db, table);
        assert_eq!(
            db.backfill_progress("0001_fill").map(|(state, _)| state),
            Some("applied".to_string())
        );
    }
}

/// Waits until no session but ours is connected to the test database (a killed run's
/// sessions end, their open batches rolled back).
fn wait_for_sessions_to_end(db: &MysqlDb) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while db.i64(
        "SELECT count(*) FROM information_schema.PROCESSLIST
          WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
    ) > 0
    {
        assert!(
            Instant::now() < deadline,
            "the killed run's sessions never ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_parallel_backfill_killed_with_sigkill_resumes_every_range_exactly_once() {
    const ROWS: i64 = 60_000;
    let (db, plans) = items_to_walk(ROWS);
    let plan = parallel_plan(&plans, "items", 500, "pause = \"10ms\"");
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    wait_for_walked(&db, &mut child, 6_000);
    child.kill(); // SIGKILL: no clean-up of any kind
    wait_for_sessions_to_end(&db);
    // Each range's checkpoint covers exactly the rows written in it.
    let at_kill = walked(&db);
    assert!(at_kill < ROWS, "killed before the end ({at_kill})");
    assert_eq!(db.i64("SELECT count(*) FROM writes"), at_kill);
    assert_eq!(ranges(&db), 3);
    assert_eq!(
        db.i64("SELECT count(DISTINCT conn) FROM writes"),
        3,
        "the ranges were walked at once"
    );
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
    Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .run();
    assert_walked_once(&db, "items");
    assert_eq!(db.i64("SELECT count(*) FROM writes"), ROWS);
    assert_eq!(ranges(&db), 0);
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

#[test]
fn workers_whose_connections_are_killed_reconnect_and_write_every_row_once() {
    const ROWS: i64 = 40_000;
    let (db, plans) = items_to_walk(ROWS);
    let plan = parallel_plan(&plans, "items", 300, "pause = \"5ms\"");
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    let mut cut = 0;
    // Ten times, at any point of a batch: its update, its checkpoint or its commit (a
    // connection killed just after its batch is found dead at its next use).
    for at in (1..=10).map(|k| k * 2_000) {
        wait_for_walked(&db, &mut child, at);
        let deadline = Instant::now() + Duration::from_secs(10);
        // The sessions in the middle of a range's batch (one worker or several at once).
        loop {
            let ids = db.rows(
                "SELECT CAST(ID AS CHAR) FROM information_schema.PROCESSLIST
                  WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND = 'Query'
                    AND INFO LIKE '/* bellows batch */%'",
            );
            for id in &ids {
                // A session that ended meanwhile is no error here.
                let _ = db.session().try_exec(&format!("KILL {id}"));
            }
            if !ids.is_empty() {
                cut += ids.len();
                break;
            }
            assert!(Instant::now() < deadline, "no batch in flight to kill");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert!(cut >= 10, "{cut} batches killed");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(0), "a killed connection is retried: {text}");
    assert_walked_once(&db, "items");
    assert_eq!(db.i64("SELECT count(*) FROM writes"), ROWS);
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

#[test]
fn a_row_locked_past_lock_timeout_is_waited_out_and_every_row_walked_once() {
    const ROWS: i64 = 12_000;
    let (db, plans) = items_to_walk(ROWS);
    let plan = parallel_plan(&plans, "items", 200, "pause = \"5ms\"");
    // The application holds one row in the middle range for 3 s.
    let url = db.url.clone();
    let holder = std::thread::spawn(move || {
        crate::harness::runtime().block_on(async move {
            let mut conn = MySqlConnection::connect(&url).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("SELECT n FROM items WHERE id = 12000 FOR UPDATE")
                .execute(&mut *tx)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(3)).await;
            tx.commit().await.unwrap();
        })
    });
    std::thread::sleep(Duration::from_millis(200));
    let text = Cli::apply(&db)
        .yes()
        .args(["--lock-timeout", "1s", "--lock-retries", "20"])
        .plan(&plan)
        .run()
        .to_string();
    holder.join().unwrap();
    assert!(text.contains("retry"), "the lock wait was retried: {text}");
    assert_walked_once(&db, "items");
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

#[test]
fn a_rolled_back_parallel_walk_forgets_its_ranges_and_walks_the_whole_key_again() {
    const ROWS: i64 = 30_000;
    let (db, plans) = items_to_walk(ROWS);
    let plan = parallel_plan(&plans, "items", 300, "pause = \"10ms\"");
    let mut child = Cli::apply(&db).yes().plan(&plan).spawn();
    wait_for_walked(&db, &mut child, 2_000);
    child.signal("INT");
    let (code, text) = child.wait().code_and_text();
    assert_eq!(code, Some(130), "{text}");
    assert_eq!(ranges(&db), 3);
    Cli::rollback(&db).yes().plan(&plan).run();
    assert_eq!(ranges(&db), 0, "rollback forgets the ranges");
    // As if the expand rollback had dropped and re-added the column: nothing is filled.
    db.exec("UPDATE items SET n = 0; DELETE FROM writes;");
    Cli::apply(&db)
        .yes()
        .args(["--pause", "0ms"])
        .plan(&plan)
        .run();
    assert_walked_once(&db, "items");
    assert_eq!(db.i64("SELECT count(*) FROM writes"), ROWS);
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS))
    );
}

/// Whether a range's batch has been updating `items` for over 300 ms: waiting for a row lock.
async fn a_batch_waits(conn: &mut MySqlConnection) -> bool {
    // NOTE: MariaDB's PROCESSLIST has TIME_MS; INNODB_TRX did not list the waiting batch.
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.PROCESSLIST
          WHERE DB = DATABASE() AND COMMAND = 'Query' AND TIME_MS > 300
            AND INFO LIKE '/* bellows batch */ UPDATE `items`%'",
    )
    .fetch_one(conn)
    .await
    .unwrap();
    waiting > 0
}

#[test]
fn a_waiting_batch_blocks_no_insert_among_its_rows_and_as_a_deadlock_victim_is_retried() {
    const ROWS: i64 = 12_000;
    let (db, plans) = items_to_walk(ROWS);
    // The application's transaction is made heavy (5,000 rows changed elsewhere), so InnoDB
    // rolls back the batch, the lighter side of the deadlock.
    seed(
        &db,
        "CREATE TABLE side (id INT NOT NULL PRIMARY KEY, v INT NOT NULL DEFAULT 0)",
        "side",
        "id",
        "g",
        5_000,
    );
    let plan = parallel_plan(&plans, "items", 200, "pause = \"5ms\"");
    let url = db.url.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    // The application locks a row in the middle range; once a batch waits for it, it asks for
    // a row that batch holds: a deadlock.
    let app = std::thread::spawn(move || {
        crate::harness::runtime().block_on(async move {
            let mut conn = MySqlConnection::connect(&url).await.unwrap();
            let mut watch = MySqlConnection::connect(&url).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("UPDATE side SET v = v + 1")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query("SELECT n FROM items WHERE id = 12000 FOR UPDATE")
                .execute(&mut *tx)
                .await
                .unwrap();
            locked_tx.send(()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !a_batch_waits(&mut watch).await {
                assert!(Instant::now() < deadline, "no batch reached the locked row");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // The waiting batch holds the rows after its range's checkpoint.
            let held: i64 = sqlx::query_scalar(
                "SELECT CAST(JSON_UNQUOTE(JSON_EXTRACT(checkpoint, '$[0]')) AS SIGNED) + 2
                   FROM bellows_backfill_ranges WHERE checkpoint IS NOT NULL
                    AND CAST(JSON_UNQUOTE(JSON_EXTRACT(checkpoint, '$[0]')) AS SIGNED) < 12000
                  ORDER BY 1 DESC LIMIT 1",
            )
            .fetch_one(&mut watch)
            .await
            .unwrap();
            assert!(held < 12000, "the batch holds a row before the locked one");
            // READ COMMITTED: the waiting batch holds its rows but no gap between them, so
            // a row inserted among them does not wait (REPEATABLE READ would: 1205).
            sqlx::raw_sql(&format!(
                "SET SESSION innodb_lock_wait_timeout = 1;
                 INSERT INTO items (id, inserted) VALUES ({}, TRUE)",
                held + 1
            ))
            .execute(&mut watch)
            .await
            .expect("an insert among the rows of a waiting batch is not blocked");
            sqlx::query("SELECT n FROM items WHERE id = ? FOR UPDATE")
                .bind(held)
                .execute(&mut *tx)
                .await
                .expect("the application is not the deadlock's victim");
            tx.commit().await.unwrap();
        })
    });
    locked_rx.recv().unwrap();
    let text = Cli::apply(&db)
        .yes()
        .args(["--lock-timeout", "30s"])
        .plan(&plan)
        .run()
        .to_string();
    app.join().expect("the application");
    assert!(
        text.contains("Deadlock found"),
        "the deadlock was retried: {text}"
    );
    assert_walked_once(&db, "items");
    // The row inserted among the waiting batch's rows is walked by its retry.
    assert_eq!(
        db.backfill_progress("0001_fill"),
        Some(("applied".to_string(), ROWS + 1))
    );
}
