//! What the engine tells the outside world while it works: a stream of [`Event`]s sent to a
//! [`Reporter`]. The engine never prints; the CLI turns events into lines, spinners or JSON.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::vocab::Phase;

/// Receives the engine's events. Called from the engine's task, in order; implementations use
/// interior mutability if they keep state (a spinner, counters).
pub trait Reporter {
    fn report(&self, event: Event);
}

/// A reporter that drops every event (tests, library use).
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Event) {}
}

/// Which step an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRef {
    pub plan: String,
    pub phase: Phase,
    /// Position within the phase, from 0.
    pub index: usize,
    pub op: String,
    /// "users.email_verified".
    pub target: String,
}

/// A session that holds (or waits for) a lock bellows needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocker {
    pub pid: i64,
    pub application_name: String,
    /// `active`, `idle in transaction`, …
    pub state: String,
    pub query: String,
    /// Age of the blocker's open transaction.
    #[serde(rename = "xact_age_ms", serialize_with = "opt_millis")]
    pub xact_age: Option<Duration>,
    /// `Some` when the blocker is an autovacuum worker.
    pub autovacuum: Option<AutovacuumKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutovacuumKind {
    /// An ordinary autovacuum/autoanalyze: PostgreSQL would cancel it for a waiting lock
    /// request after `deadlock_timeout`; bellows cancels it at once.
    Ordinary,
    /// `(to prevent wraparound)`: must not be cancelled; PostgreSQL does not cancel it either.
    Wraparound,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    Applied,
    /// Already applied by an earlier run; nothing was done.
    Skipped,
    Failed {
        error: String,
    },
    /// Stopped on request (Ctrl-C, SIGTERM) with its progress saved; the next `apply` resumes
    /// it. The run's error says how, once.
    Interrupted,
}

/// One thing that happened. Serialized as one JSON object per line by `--format json`
/// (`{"event": "step_started", …}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run lock is held and the ledger read; `phases` are the ones this run will execute.
    PlanStarted {
        plan: String,
        checksum: String,
        phases: Vec<Phase>,
    },
    /// Every phase of the plan up to `--to` is already applied.
    NothingToDo {
        plan: String,
    },
    /// The plan changed since it was started, and `--allow-changed` lets it run anyway.
    ChecksumChangedAllowed {
        plan: String,
        recorded: String,
        current: String,
    },
    PhaseStarted {
        plan: String,
        phase: Phase,
    },
    GuardChecked {
        step: StepRef,
        description: String,
        query: String,
        expected: String,
        found: String,
        passed: bool,
    },
    StepStarted {
        step: StepRef,
    },
    /// One statement is about to run (`-v`; the human printer may ignore it).
    StatementStarted {
        step: StepRef,
        sql: String,
    },
    /// A DDL statement is queued behind other sessions' locks.
    LockWaiting {
        step: StepRef,
        table: Option<String>,
        attempt: u32,
        attempts: u32,
        #[serde(rename = "waited_ms", serialize_with = "millis")]
        waited: Duration,
        blockers: Vec<Blocker>,
    },
    /// An attempt gave up at `lock_timeout`; the next starts after `backoff`.
    LockRetry {
        step: StepRef,
        table: Option<String>,
        attempt: u32,
        attempts: u32,
        #[serde(rename = "backoff_ms", serialize_with = "millis")]
        backoff: Duration,
        blockers: Vec<Blocker>,
    },
    /// A transient failure (deadlock, serialization failure, lost connection); the attempt is
    /// repeated after `backoff`, on a new connection if the old one broke.
    Retrying {
        step: StepRef,
        reason: String,
        attempt: u32,
        attempts: u32,
        #[serde(rename = "backoff_ms", serialize_with = "millis")]
        backoff: Duration,
    },
    /// An ordinary autovacuum blocked a step and was cancelled (as PostgreSQL itself would
    /// after `deadlock_timeout`).
    AutovacuumCancelled {
        step: StepRef,
        pid: i64,
        query: String,
    },
    /// An autovacuum blocks a step and bellows may not or must not cancel it. `wait` says how
    /// long the next attempt will wait (past `deadlock_timeout`, so PostgreSQL cancels an
    /// ordinary autovacuum itself), or `None` for an anti-wraparound one.
    AutovacuumBlocking {
        step: StepRef,
        pid: i64,
        query: String,
        kind: AutovacuumKind,
        #[serde(rename = "next_wait_ms", serialize_with = "opt_millis")]
        next_wait: Option<Duration>,
    },
    /// An INVALID index left by a failed `CREATE INDEX CONCURRENTLY` was dropped before retrying.
    InvalidIndexDropped {
        step: StepRef,
        index: String,
    },
    /// A value was saved in the ledger for the step's rollback (a definition, a default).
    CaptureSaved {
        step: StepRef,
        name: String,
        description: String,
    },
    BackfillStarted {
        step: StepRef,
        key: Vec<String>,
        /// The checkpoint resumed from, when an earlier run was interrupted.
        resumed_after: Option<Vec<String>>,
        rows_done: u64,
        /// Estimated rows to walk, when known.
        total: Option<u64>,
    },
    BackfillProgress {
        step: StepRef,
        rows_done: u64,
        total: Option<u64>,
        /// Rows the next batch takes (changes with `target_batch_time`).
        batch_size: u64,
        rows_per_second: f64,
        /// What paces the backfill now, when something does ("pause 50ms between batches",
        /// "target_batch_time 200ms", "held: pause file … exists").
        throttle: Option<String>,
    },
    /// The backfill waits. `kind` is `pause_file`, `throttle_query`, `replica_lag` (held until
    /// the condition clears, checked every `poll`) or `pause` (the pause between batches,
    /// reported once).
    BackfillThrottled {
        step: StepRef,
        kind: String,
        reason: String,
    },
    /// A hold (`pause_file`, `throttle_query`, `replica_lag`) cleared after `held`.
    BackfillReleased {
        step: StepRef,
        kind: String,
        #[serde(rename = "held_ms", serialize_with = "millis")]
        held: Duration,
    },
    StepFinished {
        step: StepRef,
        #[serde(flatten)]
        outcome: StepOutcome,
        #[serde(rename = "duration_ms", serialize_with = "millis")]
        duration: Duration,
    },
    /// A step failed: the phase's applied steps are undone, last first.
    CompensationStarted {
        plan: String,
        phase: Phase,
        steps: usize,
    },
    /// One step was undone (by compensation or by `rollback`).
    StepUndone {
        step: StepRef,
        #[serde(rename = "duration_ms", serialize_with = "millis")]
        duration: Duration,
    },
    /// Undoing a step failed: the database needs a hand. `hint` says what to do.
    UndoFailed {
        step: StepRef,
        error: String,
        hint: String,
    },
    PhaseDone {
        plan: String,
        phase: Phase,
        #[serde(rename = "duration_ms", serialize_with = "millis")]
        duration: Duration,
    },
    /// The run stopped before `phase` on purpose (declined confirmation, `--yes` missing).
    StoppedBefore {
        plan: String,
        phase: Phase,
        reason: String,
    },
    RollbackStarted {
        plan: String,
        steps: usize,
    },
    PlanDone {
        plan: String,
        #[serde(rename = "duration_ms", serialize_with = "millis")]
        duration: Duration,
        /// Phases left with steps to run (`apply --to`); empty when the plan is complete.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pending: Vec<Phase>,
    },
    /// A plan's version schema exists: what the new application sets to use it.
    VersionReady {
        plan: String,
        schema: String,
        /// `bellows_0004_users, public`: the value of `search_path`.
        search_path: String,
        /// `options=-c search_path=…`, for a connection string.
        connection_option: String,
    },
    /// Something worth saying that fits no other event.
    Notice {
        message: String,
    },
}

/// "; blocked by pid 4242 (`app`): idle in transaction for 35s: UPDATE …".
pub fn describe_blockers(blockers: &[Blocker]) -> String {
    if blockers.is_empty() {
        return String::new();
    }
    let list = blockers
        .iter()
        .map(describe_blocker)
        .collect::<Vec<_>>()
        .join("; ");
    format!("; blocked by {list}")
}

pub fn describe_blocker(blocker: &Blocker) -> String {
    let mut text = format!("pid {}", blocker.pid);
    if let Some(kind) = blocker.autovacuum {
        text.push_str(match kind {
            AutovacuumKind::Ordinary => " (autovacuum)",
            AutovacuumKind::Wraparound => {
                " (anti-wraparound autovacuum: it must not be cancelled; wait for it to finish)"
            }
        });
    } else if !blocker.application_name.is_empty() {
        text.push_str(&format!(" ({})", blocker.application_name));
    }
    if !blocker.state.is_empty() {
        text.push_str(&format!(": {}", blocker.state));
    }
    if let Some(age) = blocker.xact_age {
        text.push_str(&format!(
            " for {}",
            humantime::format_duration(Duration::from_secs(age.as_secs()))
        ));
    }
    let query: String = blocker
        .query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if !query.is_empty() {
        let short: String = query.chars().take(60).collect();
        let ellipsis = if query.chars().count() > 60 {
            "…"
        } else {
            ""
        };
        text.push_str(&format!(" — {short}{ellipsis}"));
    }
    text
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn opt_millis<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blockers_are_described_for_people() {
        let blocker = Blocker {
            pid: 4242,
            application_name: "psql".into(),
            state: "idle in transaction".into(),
            query: "SELECT *\n  FROM users".into(),
            xact_age: Some(Duration::from_millis(35_400)),
            autovacuum: None,
        };
        assert_eq!(
            describe_blocker(&blocker),
            "pid 4242 (psql): idle in transaction for 35s — SELECT * FROM users"
        );
        let wrap = Blocker {
            autovacuum: Some(AutovacuumKind::Wraparound),
            ..blocker
        };
        assert!(describe_blocker(&wrap).contains("anti-wraparound"));
    }

    #[test]
    fn events_serialize_with_a_tag_and_milliseconds() {
        let step = StepRef {
            plan: "p".into(),
            phase: Phase::Expand,
            index: 0,
            op: "add_column".into(),
            target: "users.a".into(),
        };
        let json = serde_json::to_value(Event::StepFinished {
            step,
            outcome: StepOutcome::Applied,
            duration: Duration::from_millis(1500),
        })
        .unwrap();
        assert_eq!(json["event"], "step_finished");
        assert_eq!(json["outcome"], "applied");
        assert_eq!(json["duration_ms"], 1500);
        assert_eq!(json["step"]["phase"], "expand");
    }
}
