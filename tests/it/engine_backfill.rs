//! The simple keyset backfill, driven through the engine's library API with a hand-built
//! `Action::Backfill` (the dialect's `backfill` planning lands separately): every row written
//! once, the checkpoint committed with each batch, an interrupted backfill resumed after it.

use std::cell::Cell;
use std::path::Path;

use bellows::config::{Config, Overrides};
use bellows::dialect::planned::{
    Action, BackfillPlan, BatchSettings, PlannedOp, PlannedStep, Undo,
};
use bellows::engine::reporter::{Event, Reporter};
use bellows::engine::{self, Answer, ApplyOptions, Confirmation, ErrorKind, PlanRun, StopSignal};
use bellows::vocab::{Phase, TableName};

use crate::harness::{seed_users_to_backfill, PostgresDb, Recorder, TestDb};

/// Terminates bellows' work connection (the one whose last statement was a batch's COMMIT)
/// from another connection; returns its pid.
fn kill_work_connection(url: &str) -> i32 {
    let url = url.to_string();
    std::thread::spawn(move || {
        crate::harness::runtime().block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let pid: i32 = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity
                  WHERE application_name = 'bellows test'
                    AND (query = 'COMMIT' OR query LIKE 'BEGIN;%COMMIT')
                    AND datname = current_database()",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            let _: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            pid
        })
    })
    .join()
    .unwrap()
}

fn backfill_run(table: &str, key: Option<Vec<String>>, batch_size: u64) -> PlanRun {
    let text = format!(
        "name = \"0001_fill\"\n[[backfill]]\ntable = \"{table}\"\nset = {{ email_verified = \"verified_at IS NOT NULL\" }}\nwhere = \"email_verified IS NULL\"\nbatch_size = {batch_size}\n"
    );
    let loaded = bellows::plan::load::load_str(Path::new("0001_fill.toml"), &text);
    let plan = loaded
        .plan
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let step = PlannedStep {
        phase: Phase::Backfill,
        index: 0,
        op: "backfill",
        target: format!("{table}.email_verified"),
        planned: PlannedOp {
            actions: vec![Action::Backfill(BackfillPlan {
                table: TableName::parse(table),
                key,
                set: vec![(
                    "email_verified".to_string(),
                    "verified_at IS NOT NULL".to_string(),
                )],
                filter: Some("email_verified IS NULL".to_string()),
                batch_sql: String::new(),
                count_sql: String::new(),
                settings: BatchSettings {
                    batch_size: Some(batch_size),
                    ..BatchSettings::default()
                },
            })],
            undo: Undo::Nothing("the expand rollback removes the column".into()),
            notes: Vec::new(),
        },
    };
    let config = Config::resolve(&Overrides::default(), &|_| None, &plan.settings).unwrap();
    PlanRun {
        plan,
        steps: vec![step],
        config,
    }
}

fn apply(
    db: &PostgresDb,
    run: &PlanRun,
    reporter: &dyn Reporter,
    stop: StopSignal,
) -> Result<(), engine::EngineError> {
    let options = ApplyOptions {
        application_name: "bellows test".into(),
        stop,
        ..ApplyOptions::default()
    };
    db.block_on(engine::apply(
        &db.url,
        std::slice::from_ref(run),
        &options,
        reporter,
        &Answer(Confirmation::No),
    ))
    .map(|_| ())
}

fn assert_every_row_correct(db: &PostgresDb) {
    assert_eq!(
        db.i64(
            "SELECT count(*) FROM users WHERE email_verified IS DISTINCT FROM (verified_at IS NOT NULL)"
        ),
        0,
        "every row's new value equals the expression of its old values"
    );
}

#[test]
fn a_backfill_walks_the_primary_key_in_batches_and_records_its_checkpoint() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 2_345);
    let run = backfill_run("users", None, 100);
    let reporter = Recorder::new();
    apply(&db, &run, &reporter, StopSignal::new()).unwrap();
    assert_every_row_correct(&db);
    assert_eq!(
        db.rows("SELECT state || ' ' || rows_done || ' ' || checkpoint::text FROM bellows.steps"),
        ["applied 2345 [\"2345\"]"]
    );
    let events = reporter.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::BackfillStarted { key, resumed_after: None, .. } if key == &["id".to_string()]
    )));
}

#[test]
fn an_interrupted_backfill_resumes_after_its_checkpoint_without_rewalking() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 3_000);
    let run = backfill_run("users", None, 250);
    let stop = StopSignal::new();
    let first_batch = stop.clone();
    let reporter = Recorder::with(move |event| {
        if matches!(event, Event::BackfillProgress { .. }) {
            first_batch.stop();
        }
    });
    let error = apply(&db, &run, &reporter, stop).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Interrupted, "{error}");
    assert!(
        error.to_string().contains("again to continue from row"),
        "{error}"
    );
    // One batch committed with its checkpoint; the step is still running.
    assert_eq!(
        db.rows("SELECT state || ' ' || rows_done || ' ' || checkpoint::text FROM bellows.steps"),
        ["running 250 [\"250\"]"]
    );
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE email_verified IS NOT NULL"),
        250
    );

    // Mark the rows already done so a re-walk would be visible: it must not touch them again.
    db.exec("ALTER TABLE users ADD COLUMN touched int NOT NULL DEFAULT 0;
             CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$;
             CREATE TRIGGER touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION count_touch();");
    let reporter = Recorder::new();
    apply(&db, &run, &reporter, StopSignal::new()).unwrap();
    assert_every_row_correct(&db);
    assert_eq!(
        db.i64("SELECT count(*) FROM users WHERE id <= 250 AND touched > 0"),
        0
    );
    assert_eq!(db.i64("SELECT max(touched)::int8 FROM users"), 1);
    assert_eq!(
        db.rows("SELECT state || ' ' || rows_done FROM bellows.steps"),
        ["applied 3000"]
    );
    let events = reporter.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::BackfillStarted { resumed_after: Some(after), rows_done: 250, .. } if after == &["250".to_string()]
    )));
}

#[test]
fn composite_primary_keys_are_walked_in_key_order() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE memberships (org int, member text, verified_at timestamptz, email_verified boolean,
                                   PRIMARY KEY (org, member));
         INSERT INTO memberships (org, member, verified_at)
              SELECT g % 7, 'm' || g, CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 1000) g;",
    );
    let run = backfill_run("memberships", None, 64);
    let reporter = Recorder::new();
    apply(&db, &run, &reporter, StopSignal::new()).unwrap();
    assert_eq!(
        db.i64("SELECT count(*) FROM memberships WHERE email_verified IS DISTINCT FROM (verified_at IS NOT NULL)"),
        0
    );
    assert_eq!(
        db.rows("SELECT rows_done::text FROM bellows.steps"),
        ["1000"]
    );
    let last = db.rows("SELECT checkpoint::text FROM bellows.steps");
    let expected = db.rows(
        "SELECT json_build_array(org::text, member)::jsonb::text FROM memberships ORDER BY org DESC, member DESC LIMIT 1",
    );
    assert_eq!(last, expected);
}

#[test]
fn a_table_without_a_primary_key_gets_a_clear_error() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE heap (verified_at timestamptz, email_verified boolean);
         INSERT INTO heap (verified_at) SELECT now() FROM generate_series(1, 10);",
    );
    let run = backfill_run("heap", None, 100);
    let reporter = Recorder::new();
    let error = apply(&db, &run, &reporter, StopSignal::new()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Failed);
    let text = error.to_string();
    assert!(text.contains("table heap has no primary key"), "{text}");
    assert!(text.contains("key = ["), "{text}");
    assert!(text.contains("--allow-changed"), "{text}");
    assert!(text.contains("or add a primary key"), "{text}");
    assert!(
        !text.contains("resume") && !text.contains("checkpoint is saved"),
        "a re-run cannot help, so it is not suggested: {text}"
    );
}

#[test]
fn a_backfill_whose_connection_is_killed_reconnects_and_finishes_exactly_once() {
    let db = PostgresDb::new();
    seed_users_to_backfill(&db, 2_000);
    db.exec("ALTER TABLE users ADD COLUMN touched int NOT NULL DEFAULT 0;
             CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$;
             CREATE TRIGGER touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION count_touch();");
    let run = backfill_run("users", None, 100);
    let killed = Cell::new(None);
    let reporter = Recorder::with(|event| {
        if matches!(event, Event::BackfillProgress { .. }) && killed.get().is_none() {
            killed.set(Some(kill_work_connection(&db.url)));
        }
    });
    apply(&db, &run, &reporter, StopSignal::new()).unwrap();
    assert!(killed.get().is_some(), "the work connection was killed");
    assert_every_row_correct(&db);
    assert_eq!(
        db.i64("SELECT max(touched)::int8 FROM users"),
        1,
        "no row written twice"
    );
    assert_eq!(
        db.rows("SELECT state || ' ' || rows_done FROM bellows.steps"),
        ["applied 2000"]
    );
}

#[test]
fn progress_has_a_total_even_for_a_table_never_analyzed() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE fresh (id bigint PRIMARY KEY, a int, b int) WITH (autovacuum_enabled = false);
         INSERT INTO fresh SELECT i, i, NULL FROM generate_series(1, 20000) i;",
    );
    assert!(
        db.i64("SELECT reltuples::bigint FROM pg_class WHERE relname = 'fresh'") < 0,
        "the table must not have statistics for this test"
    );
    let plans = crate::harness::Plans::new();
    let plan = plans.write(
        "0001_fresh.toml",
        "[[backfill]]\ntable = \"fresh\"\nset = { b = \"a\" }\n",
    );
    let out = crate::harness::Cli::apply(&db)
        .args(["--format", "json"])
        .plan(&plan)
        .run();
    let progress: serde_json::Value = out
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["event"] == "backfill_progress")
        .expect("a progress event");
    let total = progress["total"].as_u64().expect("an estimated total");
    assert!(
        (16_000..=24_000).contains(&total),
        "estimated {total} rows of 20000"
    );
}
