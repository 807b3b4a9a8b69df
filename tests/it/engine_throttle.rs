//! Backfill throttling and interruption through the real binary: the pause file and a
//! `throttle_query` hold the backfill (no row moves) until they clear, `target_batch_time` moves
//! the batch size the expected way, and Ctrl-C / SIGTERM stop it with a checkpoint and exit 130
//! so that the next `apply` finishes it.

use std::time::Duration;

use crate::harness::{seed_users_to_backfill, Cli, Plans, PostgresDb, SqliteDb, TestDb};

/// A plan with one backfill of `users.email_verified`; `extra` adds keys to the step.
fn plan(plans: &Plans, extra: &str) -> String {
    plans
        .write(
            "0001_fill.toml",
            &format!(
                "[[backfill]]\ntable = \"users\"\nset = {{ email_verified = \"verified_at IS NOT NULL\" }}\nwhere = \"email_verified IS NULL\"\n{extra}\n"
            ),
        )
        .display()
        .to_string()
}

fn assert_all_correct(db: &dyn TestDb, rows: i64) {
    assert_eq!(
        db.i64(
            "SELECT count(*) FROM users WHERE email_verified IS NULL OR email_verified <> (verified_at IS NOT NULL)"
        ),
        0,
        "every row backfilled from its own values"
    );
    assert_eq!(db.i64("SELECT count(*) FROM users"), rows);
    assert_eq!(
        db.rows(&format!(
            "SELECT state || ' ' || rows_done FROM {}",
            db.steps_table()
        )),
        [format!("applied {rows}")]
    );
}

fn rows_done(db: &dyn TestDb) -> i64 {
    db.i64(&format!(
        "SELECT coalesce(max(rows_done), 0) FROM {}",
        db.steps_table()
    ))
}

fn written(db: &dyn TestDb) -> i64 {
    db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT NULL")
}

/// Waits, showing that nothing moves for a while: ledger rows done and rows written stay put.
fn assert_held(db: &dyn TestDb) -> (i64, i64) {
    let before = (rows_done(db), written(db));
    std::thread::sleep(Duration::from_millis(1500));
    let after = (rows_done(db), written(db));
    assert_eq!(before, after, "(rows_done, rows written) moved while held");
    after
}

/// The `batch_size` of every `backfill_progress` event.
fn batch_sizes(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "backfill_progress")
        .map(|v| v["batch_size"].as_u64().expect("batch_size"))
        .collect()
}

backend_test! {
    fn the_pause_file_holds_the_backfill_until_it_is_removed(db) {
        seed_users_to_backfill(db, 3000);
        let plans = Plans::new();
        let plan = plan(&plans, "batch_size = 200");
        let pause = plans.path().join("pause");
        std::fs::write(&pause, "").unwrap();
        let mut run = Cli::apply(db)
            .plan(&plan)
            .args(["--yes", "--format", "json", "--pause-file"])
            .arg(&pause)
            .spawn();
        let held = run.wait_for("\"backfill_throttled\"");
        assert!(held.contains("\"kind\":\"pause_file\""), "{held}");
        assert_eq!(assert_held(db), (0, 0), "nothing done while the file exists");
        std::fs::remove_file(&pause).unwrap();
        let (code, lines, stderr) = run.finish();
        assert_eq!(code, Some(0), "{stderr}\n{}", lines.join("\n"));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("\"backfill_released\"") && l.contains("\"pause_file\"")),
            "{}",
            lines.join("\n")
        );
        assert_all_correct(db, 3000);
    }
}

backend_test! {
    fn a_pause_file_created_mid_way_holds_the_backfill_where_it_is(db) {
        seed_users_to_backfill(db, 20_000);
        let plans = Plans::new();
        let plan = plan(&plans, "batch_size = 100\npause = \"20ms\"");
        let pause = plans.path().join("pause");
        let mut run = Cli::apply(db)
            .plan(&plan)
            .args(["--yes", "--format", "json", "--pause-file"])
            .arg(&pause)
            .spawn();
        run.wait_for("\"backfill_progress\"");
        std::fs::write(&pause, "").unwrap();
        run.wait_for("\"pause_file\"");
        let (done, _) = assert_held(db);
        assert!(done > 0 && done < 20_000, "held mid-way: {done}");
        std::fs::remove_file(&pause).unwrap();
        let (code, lines, stderr) = run.finish();
        assert_eq!(code, Some(0), "{stderr}\n{}", lines.join("\n"));
        assert_all_correct(db, 20_000);
    }
}

backend_test! {
    fn a_throttle_query_returning_true_holds_the_backfill_until_it_returns_false(db) {
        seed_users_to_backfill(db, 3000);
        db.exec("CREATE TABLE throttle_flag (reason text); INSERT INTO throttle_flag VALUES ('busy')");
        let plans = Plans::new();
        let plan = plan(
            &plans,
            "batch_size = 200\nthrottle_query = \"SELECT EXISTS (SELECT 1 FROM throttle_flag)\"",
        );
        let mut run = Cli::apply(db).plan(&plan).args(["--yes", "--format", "json"]).spawn();
        let held = run.wait_for("\"backfill_throttled\"");
        assert!(held.contains("\"kind\":\"throttle_query\""), "{held}");
        assert_eq!(assert_held(db), (0, 0), "nothing done while it returns true");
        db.exec("DELETE FROM throttle_flag");
        let (code, lines, stderr) = run.finish();
        assert_eq!(code, Some(0), "{stderr}\n{}", lines.join("\n"));
        assert!(
            lines.iter().any(|l| l.contains("\"backfill_released\"")),
            "{}",
            lines.join("\n")
        );
        assert_all_correct(db, 3000);
    }
}

backend_test! {
    fn a_throttle_query_that_is_not_a_boolean_stops_the_backfill_with_a_message(db) {
        seed_users_to_backfill(db, 100);
        let plans = Plans::new();
        let plan = plan(&plans, "throttle_query = \"SELECT 'soon'\"");
        Cli::apply(db)
            .yes()
            .plan(&plan)
            .code(1)
            .stderr_has("throttle_query returned \"soon\"")
            .stderr_has("must return a boolean")
            .run();
    }
}

#[test]
fn sqlite_warns_that_max_lag_is_ignored() {
    let db = SqliteDb::new();
    seed_users_to_backfill(&db, 100);
    let plans = Plans::new();
    let plan = plan(&plans, "max_lag = \"1s\"");
    Cli::apply(&db)
        .yes()
        .plan(&plan)
        .args(["--format", "json"])
        .stdout_has("max_lag is ignored on SQLite: it has no replicas")
        .run();
    assert_all_correct(&db, 100);
}

#[test]
fn target_batch_time_shrinks_slow_batches_and_grows_fast_ones() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 20_000);
    let plans = Plans::new();
    let plan = plan(&plans, "");
    // 5000 rows cannot be written in 1ms: the size shrinks.
    let (code, lines, stderr) = Cli::apply(&db)
        .plan(&plan)
        .args(["--yes", "--format", "json", "--batch-size", "5000"])
        .args(["--target-batch-time", "1ms"])
        .spawn()
        .finish();
    assert_eq!(code, Some(0), "{stderr}");
    let sizes = batch_sizes(&lines);
    let last = *sizes.last().expect("progress events");
    assert!(last < 5000, "shrank from 5000: {sizes:?}");
    assert_all_correct(&db, 20_000);

    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 5000);
    // 10 rows take far less than 2s: the size grows (by at most 1.5× a batch).
    let (code, lines, stderr) = Cli::apply(&db)
        .plan(&plan)
        .args(["--yes", "--format", "json", "--batch-size", "10"])
        .args(["--target-batch-time", "2s"])
        .spawn()
        .finish();
    assert_eq!(code, Some(0), "{stderr}");
    let sizes = batch_sizes(&lines);
    let last = *sizes.last().expect("progress events");
    assert!(last > 10, "grew from 10: {sizes:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"throttle\":\"target_batch_time 2s\"")),
        "progress says what paces it: {}",
        lines.join("\n")
    );
    assert_all_correct(&db, 5000);
}

/// Interrupts a running backfill with `signal`, checks exit 130, the resume hint and the
/// checkpoint, then lets a second `apply` finish it.
fn interrupt_then_resume(db: &dyn TestDb, signal: &str) {
    seed_users_to_backfill(db, 30_000);
    let plans = Plans::new();
    let plan = plan(&plans, "batch_size = 100\npause = \"10ms\"");
    let mut run = Cli::apply(db)
        .plan(&plan)
        .args(["--yes", "--format", "json"])
        .spawn();
    run.wait_for("\"backfill_progress\"");
    run.signal(signal);
    let (code, lines, stderr) = run.finish();
    assert_eq!(code, Some(130), "{stderr}\n{}", lines.join("\n"));
    assert!(
        stderr.contains("run the same `bellows apply` again to continue from row"),
        "{stderr}"
    );
    let done = rows_done(db);
    assert!(done > 0 && done < 30_000, "stopped mid-way: {done}");
    assert_eq!(done % 100, 0, "whole batches only: {done}");
    assert_eq!(
        db.rows(&format!(
            "SELECT state || ' ' || {} FROM {}",
            db.as_text("checkpoint"),
            db.steps_table()
        )),
        [format!("running [\"{done}\"]")],
        "the checkpoint is the last key of the last committed batch"
    );
    assert_eq!(
        written(db),
        done,
        "exactly the rows of the committed batches are written"
    );
    Cli::status(db)
        .plan(&plan)
        .stdout_has(&format!("{done} rows done"))
        .run();
    let (code, lines, stderr) = Cli::apply(db)
        .plan(&plan)
        .args(["--yes", "--format", "json", "--pause", "0ms"])
        .spawn()
        .finish();
    assert_eq!(code, Some(0), "{stderr}\n{}", lines.join("\n"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"backfill_started\"")
                && l.contains(&format!("\"rows_done\":{done}"))),
        "resumed from the checkpoint: {}",
        lines.join("\n")
    );
    assert_all_correct(db, 30_000);
}

backend_test! {
    fn ctrl_c_stops_a_backfill_with_its_checkpoint_and_the_next_apply_finishes_it(db) {
        interrupt_then_resume(db, "INT");
    }
}

backend_test! {
    fn sigterm_stops_a_backfill_like_ctrl_c(db) {
        interrupt_then_resume(db, "TERM");
    }
}
