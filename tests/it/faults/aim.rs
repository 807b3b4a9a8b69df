//! Faults aimed at one statement rather than at a random instant: `kill -9` while a
//! `CREATE INDEX` runs (the concurrent build of `add_index` in apply, the re-creation of the
//! dropped index in rollback), and the gap between a statement's effect and its ledger write,
//! widened by the test holding the step's ledger row locked (no hook in bellows): the index is
//! built, bellows waits to record it, and is killed there.

use std::time::{Duration, Instant};

use super::db::{Db, HeldLock};
use super::rng::Rng;
use super::{Command, Run};

/// How long an aimed fault waits for its statement before striking anyway.
const AIM_LIMIT: Duration = Duration::from_secs(30);

/// How long a gap trial waits for the index build once it holds the ledger row. The build can
/// wait for the test's own transaction when the two met at the wrong instant; the trial then
/// strikes anyway and does not count as a hit.
const BUILD_LIMIT: Duration = Duration::from_secs(3);

/// The step an aimed fault is about, per command: its ledger row, the ledger condition that
/// says its statement is about to run, and the index that statement makes.
struct Target {
    row: &'static str,
    ready: &'static str,
    /// The counter that stays at 0 until bellows records the statement.
    counter: &'static str,
    index: &'static str,
}

fn target(command: Command) -> Target {
    match command {
        // add_index: step 2 of expand.
        Command::Apply => Target {
            row: "plan = 'faults' AND phase = 'expand' AND step_index = 1",
            ready: "state = 'running'",
            counter: "actions_done",
            index: "c.relname LIKE '%customer_id%'",
        },
        // drop_index: step 3 of contract; its undo re-creates orders_note_idx.
        Command::Rollback => Target {
            row: "plan = 'faults' AND phase = 'contract' AND step_index = 2",
            ready: "undo_done IS NOT NULL",
            counter: "undo_done",
            index: "c.relname = 'orders_note_idx'",
        },
    }
}

fn index_is_valid(db: &Db, index: &str) -> bool {
    db.i64(&format!(
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = 'orders'::regclass AND i.indisvalid AND {index}"
    )) > 0
}

/// Holds a snapshot (a repeatable-read transaction that has read something): a concurrent
/// index build waits for it before marking its index valid.
pub fn hold_snapshot(db: &Db) -> HeldLock {
    HeldLock::take(db, "BEGIN ISOLATION LEVEL REPEATABLE READ", "SELECT 1").expect("a snapshot")
}

/// Polls `ready` every few milliseconds until it holds, the run ends, or [`AIM_LIMIT`] passes.
fn wait(run: &mut Run, ready: impl FnMut() -> bool) -> bool {
    wait_at_most(run, AIM_LIMIT, ready)
}

fn wait_at_most(run: &mut Run, limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return true;
        }
        if !run.wait_until(run.elapsed() + Duration::from_millis(3)) {
            return false;
        }
    }
    false
}

/// `kill -9` a few milliseconds after a `CREATE INDEX` starts. Returns what was done.
pub fn kill_during_index_build(db: &Db, run: &mut Run, rng: &mut Rng) -> String {
    let seen = wait(run, || {
        db.i64(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND state = 'active'
                AND query ILIKE 'CREATE%INDEX%'",
        ) > 0
    });
    if !seen {
        return "nothing: no CREATE INDEX seen".into();
    }
    let delay = rng.between(Duration::ZERO, Duration::from_millis(20));
    if !run.wait_until(run.elapsed() + delay) {
        return "nothing: the run ended first".into();
    }
    run.kill();
    format!("kill -9 aimed at CREATE INDEX (+{delay:?})")
}

/// Holds the target step's ledger row once its statement is about to run, waits until the
/// index is built, and kills bellows while it waits to record that. Returns what was done and
/// whether the gap was hit (the index valid, the ledger not saying so).
pub fn kill_in_ledger_gap(
    db: &Db,
    run: &mut Run,
    command: Command,
    snapshot: HeldLock,
) -> (String, bool) {
    let target = target(command);
    let ledger_ready = || {
        db.i64(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'bellows' AND tablename = 'steps'",
        ) > 0
            && db.i64(&format!(
                "SELECT count(*) FROM bellows.steps WHERE {} AND {}",
                target.row, target.ready
            )) > 0
    };
    let ready = wait(run, ledger_ready);
    let lock = HeldLock::take(
        db,
        "BEGIN",
        &format!(
            "SELECT 1 FROM bellows.steps WHERE {} FOR UPDATE",
            target.row
        ),
    );
    snapshot.release();
    let (true, Some(mut lock)) = (ready, lock) else {
        return ("nothing: the step never started".into(), false);
    };
    let built = wait_at_most(run, BUILD_LIMIT, || index_is_valid(db, target.index));
    let counter = lock.text(&format!(
        "SELECT {}::text FROM bellows.steps WHERE {}",
        target.counter, target.row
    ));
    run.kill();
    // NOTE: the ledger write bellows sent waits on the server for the row lock and would still
    // commit once the lock goes, dead client or not; ending its session first keeps the gap.
    db.i64(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'bellows%'",
    );
    lock.release();
    let hit = built && counter.as_deref() == Some("0");
    (
        format!(
            "kill -9 in the ledger gap (index built: {built}, {}: {counter:?})",
            target.counter
        ),
        hit,
    )
}
