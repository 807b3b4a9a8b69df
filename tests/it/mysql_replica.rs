//! `max_lag` on MariaDB against a real replica: a primary and a replica of the test's own
//! ([`MariadbPair`]). While the replica's SQL thread is stopped its lag is unknown
//! (`Seconds_Behind_Master` NULL): the backfill holds and says why, writing nothing; once the
//! thread runs again the backfill finishes, and the replica holds every row written.

use std::time::{Duration, Instant};

use crate::harness::{Cli, MariadbPair, MysqlDb, Plans, TestDb};

const ROWS: i64 = 2_000;

/// Waits (up to 30 s) until `probe` is true.
fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn unknown_replica_lag_holds_the_backfill_until_the_replica_applies_again() {
    let pair = MariadbPair::start().unwrap_or_else(|e| {
        panic!("cannot start a MariaDB primary and replica of the test's own (mariadb-install-db, mariadbd from the mariadb-server package): {e}")
    });
    let db = MysqlDb::on(pair.primary_url());
    db.exec(&format!(
        "CREATE TABLE items (id INT NOT NULL PRIMARY KEY, price INT NOT NULL, doubled INT NULL);
         SET SESSION max_recursive_iterations = {ROWS};
         INSERT INTO items (id, price)
              WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ROWS})
              SELECT n, n FROM g;"
    ));
    let on_replica = |sql: &str| pair.replica_i64(&sql.replace("$db", &db.name));
    eventually("the replica to copy the table", || {
        on_replica("SELECT COUNT(*) FROM `$db`.items") == Some(ROWS)
    });
    pair.replica_sql("STOP SLAVE SQL_THREAD").unwrap();

    let plans = Plans::new();
    let plan = plans.write(
        "0001_double.toml",
        "[[backfill]]\ntable = \"items\"\nset = { doubled = \"price * 2\" }\nbatch_size = 500\nmax_lag = \"5s\"\n",
    );
    let mut run = Cli::apply(&db)
        .plan(&plan)
        .args(["--yes", "--format", "json"])
        .spawn();
    let held = run.wait_for("\"backfill_throttled\"");
    assert!(held.contains("\"kind\":\"replica_lag\""), "{held}");
    assert!(
        held.contains("replica lag unknown: replica 127.0.0.1:")
            && held.contains("its SQL thread is stopped, Seconds_Behind_Master is NULL"),
        "{held}"
    );
    // Held, not counted as no lag: nothing is written while the thread stays stopped.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!run.has_exited(), "{}", run.lines().join("\n"));
    assert_eq!(
        db.i64("SELECT COUNT(*) FROM items WHERE doubled IS NOT NULL"),
        0
    );

    pair.replica_sql("START SLAVE SQL_THREAD").unwrap();
    let (code, lines, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}\n{}", lines.join("\n"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"backfill_released\"") && l.contains("\"replica_lag\"")),
        "{}",
        lines.join("\n")
    );
    assert_eq!(
        db.i64("SELECT COUNT(*) FROM items WHERE doubled = price * 2"),
        ROWS
    );
    eventually("the replica to apply the backfill", || {
        on_replica("SELECT COUNT(*) FROM `$db`.items WHERE doubled = price * 2") == Some(ROWS)
    });
}
