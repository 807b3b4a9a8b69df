//! The ledger: what bellows records in the target database about each plan and step.
//!
//! These are the records as the engine sees them; each backend stores them in its own tables
//! (PostgreSQL: schema `bellows`; SQLite: tables prefixed `bellows_`) and reads them back.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

use crate::dialect::DialectKind;
use crate::vocab::Phase;

/// The ledger's table of steps on each database, as SQL (one-statement backfill batches write
/// their checkpoint to it).
pub fn steps_table(kind: DialectKind) -> &'static str {
    match kind {
        DialectKind::Postgres => "bellows.steps",
        DialectKind::Sqlite | DialectKind::Mysql => "bellows_steps",
    }
}

/// The ledger's table of a parallel backfill's ranges on each database (SQLite has none).
pub fn ranges_table(kind: DialectKind) -> &'static str {
    match kind {
        DialectKind::Postgres => "bellows.backfill_ranges",
        DialectKind::Sqlite | DialectKind::Mysql => "bellows_backfill_ranges",
    }
}

/// The state of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Applied,
    Failed,
    RolledBack,
}

impl StepState {
    pub const ALL: [StepState; 5] = [
        StepState::Pending,
        StepState::Running,
        StepState::Applied,
        StepState::Failed,
        StepState::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Applied => "applied",
            StepState::Failed => "failed",
            StepState::RolledBack => "rolled_back",
        }
    }

    pub fn parse(text: &str) -> Option<StepState> {
        StepState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}

/// A plan as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanRecord {
    pub name: String,
    /// Hex SHA-256 of the plan file when it was (last) started.
    pub checksum: String,
    pub path: String,
    #[serde(with = "opt_time")]
    pub started_at: Option<SystemTime>,
    #[serde(with = "opt_time")]
    pub updated_at: Option<SystemTime>,
}

/// A step as the ledger knows it. Keyed by (plan, phase, index).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    pub phase: Phase,
    pub index: usize,
    pub op: String,
    pub target: String,
    pub state: StepState,
    #[serde(with = "opt_time")]
    pub started_at: Option<SystemTime>,
    #[serde(with = "opt_time")]
    pub finished_at: Option<SystemTime>,
    pub error: Option<String>,
    /// Values saved by the step's `Capture` actions, by name (for its undo).
    pub captures: BTreeMap<String, String>,
    /// Backfill: the last key done, as text, one value per key column.
    pub checkpoint: Option<Vec<String>>,
    /// Backfill: rows walked so far.
    pub rows_done: u64,
    /// How many of the step's actions have completed (an interrupted step resumes after them).
    pub actions_done: usize,
    /// While the step is being undone: how many of its undo actions have completed (an
    /// interrupted undo resumes after them). `None` when no undo is under way.
    pub undo_done: Option<usize>,
    /// What the step was when it was last run: the op as canonical JSON
    /// ([`crate::ops::Op::definition`]). `None` in ledgers written before it was recorded.
    pub definition: Option<String>,
}

impl StepRecord {
    pub fn pending(phase: Phase, index: usize, op: &str, target: &str) -> StepRecord {
        StepRecord {
            phase,
            index,
            op: op.to_string(),
            target: target.to_string(),
            state: StepState::Pending,
            started_at: None,
            finished_at: None,
            error: None,
            captures: BTreeMap::new(),
            checkpoint: None,
            rows_done: 0,
            actions_done: 0,
            undo_done: None,
            definition: None,
        }
    }

    /// Whether what the step did is in the database (applied, interrupted, or a backfill that
    /// failed after some batches): its definition may no longer change.
    pub fn is_settled(&self) -> bool {
        matches!(self.state, StepState::Applied | StepState::Running)
            || (self.state == StepState::Failed && self.checkpoint.is_some())
    }

    /// Starts the step, or resumes a running one after its completed actions. A fresh start
    /// forgets the last attempt's progress; a backfill (`keeps_checkpoint`) keeps its
    /// checkpoint unless it was rolled back.
    pub fn start(&mut self, keeps_checkpoint: bool) {
        if self.state != StepState::Running {
            self.actions_done = 0;
            self.captures.clear();
            if !keeps_checkpoint || self.state == StepState::RolledBack {
                self.checkpoint = None;
                self.rows_done = 0;
            }
        }
        self.state = StepState::Running;
        self.started_at = now();
        self.finished_at = None;
        self.error = None;
        self.undo_done = None;
    }

    /// Action `done` (1-based) of the step completed.
    pub fn action_done(&mut self, done: usize) {
        self.actions_done = done;
    }

    /// Its undo begins, or resumes after the undo actions an interrupted run completed.
    pub fn undo_started(&mut self) {
        self.undo_done.get_or_insert(0);
    }

    /// Undo action `done` (1-based) of the step completed.
    pub fn undo_action_done(&mut self, done: usize) {
        self.undo_done = Some(done);
    }

    /// Whether an undo of the step began and did not finish.
    pub fn is_being_undone(&self) -> bool {
        self.undo_done.is_some()
    }

    /// The best-effort cleanup of a failed step ended, done or given up; the step stays failed.
    pub fn cleaned_up(&mut self) {
        self.undo_done = None;
    }

    /// A backfill batch walked `scanned` rows, up to `last_key`.
    pub fn batch_done(&mut self, scanned: u64, last_key: Option<Vec<String>>) {
        self.rows_done += scanned;
        self.checkpoint = last_key;
    }

    /// Takes the checkpoint the ledger holds (after a batch whose outcome is unknown).
    pub fn resume_from(&mut self, saved: &StepRecord) {
        self.checkpoint = saved.checkpoint.clone();
        self.rows_done = saved.rows_done;
    }

    /// Every action ran.
    pub fn applied(&mut self) {
        self.state = StepState::Applied;
        self.finished_at = now();
    }

    /// A step of only guards, whose `actions` guards passed: applied without running anything.
    pub fn applied_at_once(&mut self, actions: usize) {
        self.state = StepState::Applied;
        self.started_at = now();
        self.finished_at = now();
        self.error = None;
        self.actions_done = actions;
    }

    /// The step failed with `message`; an interrupted one stays running, so the next `apply`
    /// resumes it where it stopped.
    pub fn failed(&mut self, message: &str, interrupted: bool) {
        self.state = if interrupted {
            StepState::Running
        } else {
            StepState::Failed
        };
        self.error = Some(message.to_string());
        self.finished_at = now();
    }

    /// Undone by the compensation of a failed phase.
    pub fn compensated(&mut self) {
        self.state = StepState::RolledBack;
        self.finished_at = now();
        self.actions_done = 0;
        self.undo_done = None;
    }

    /// Undone by `rollback`: nothing of the apply is kept.
    pub fn rolled_back(&mut self) {
        self.state = StepState::RolledBack;
        self.finished_at = now();
        self.error = None;
        self.actions_done = 0;
        self.checkpoint = None;
        self.rows_done = 0;
        self.captures.clear();
        self.undo_done = None;
    }

    /// Its undo failed (`what`: "compensation" or "rollback"); the step stays as it was.
    pub fn undo_failed(&mut self, what: &str, message: &str) {
        self.error = Some(format!("{what} failed: {message}"));
    }
}

fn now() -> Option<SystemTime> {
    Some(SystemTime::now())
}

/// Everything the ledger holds about one plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanLedger {
    pub plan: PlanRecord,
    /// Ordered by phase, then index.
    pub steps: Vec<StepRecord>,
}

impl PlanLedger {
    pub fn step(&self, phase: Phase, index: usize) -> Option<&StepRecord> {
        self.steps
            .iter()
            .find(|s| s.phase == phase && s.index == index)
    }

    /// Whether anything of the plan is in the database now (applied, or possibly so).
    pub fn is_started(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.state, StepState::Applied | StepState::Running))
            || self
                .steps
                .iter()
                .any(|s| s.state == StepState::Failed && s.checkpoint.is_some())
    }
}

/// How a plan file compares with what the ledger remembers of its steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Edits {
    /// Every step already in the database is as it was: the file may run.
    Allowed,
    /// These steps already in the database are no longer the same.
    Changed(Vec<ChangedStep>),
    /// The ledger does not remember a step's definition (written by an older bellows): only
    /// the file's checksum can tell.
    Unknown,
}

/// A step already in the database whose definition the file changed (or removed).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedStep {
    pub phase: Phase,
    pub index: usize,
    /// `add_column users.age`.
    pub what: String,
    /// Each key that differs: (key, recorded value, value in the file now); `None` is absent.
    pub keys: Vec<(String, Option<String>, Option<String>)>,
}

impl PlanLedger {
    /// Compares the steps already in the database with `current` (each step's
    /// `(phase, index, definition)` in the file now).
    pub fn edits(&self, current: &[(Phase, usize, String)]) -> Edits {
        let mut changed = Vec::new();
        for step in self.steps.iter().filter(|s| s.is_settled()) {
            let Some(recorded) = &step.definition else {
                return Edits::Unknown;
            };
            let now = current
                .iter()
                .find(|(phase, index, _)| *phase == step.phase && *index == step.index)
                .map(|(_, _, d)| d);
            if now == Some(recorded) {
                continue;
            }
            changed.push(ChangedStep {
                phase: step.phase,
                index: step.index,
                what: format!("{} {}", step.op, step.target),
                keys: differing_keys(recorded, now.map(String::as_str)),
            });
        }
        if changed.is_empty() {
            Edits::Allowed
        } else {
            Edits::Changed(changed)
        }
    }
}

/// Refuses to run `plan` when it changed a step already in the database (a diff of each such
/// step), or — for a ledger that does not remember its steps — when the file changed at all,
/// unless `allow_changed`. `Ok(true)`: it changed and `allow_changed` lets it run (to report).
pub fn refuse_edits(
    ledger: &PlanLedger,
    plan: &crate::plan::Plan,
    allow_changed: bool,
) -> Result<bool, super::EngineError> {
    if ledger.plan.checksum == plan.checksum || !ledger.is_started() {
        return Ok(false);
    }
    let current: Vec<(Phase, usize, String)> = plan
        .steps
        .iter()
        .map(|s| (s.phase, s.index, s.op.definition()))
        .collect();
    match ledger.edits(&current) {
        Edits::Allowed => Ok(false),
        _ if allow_changed => Ok(true),
        Edits::Changed(steps) => Err(super::EngineError::StepsChanged {
            plan: plan.name.clone(),
            steps,
        }),
        Edits::Unknown => Err(super::EngineError::ChecksumChanged {
            plan: plan.name.clone(),
            recorded: ledger.plan.checksum.clone(),
            current: plan.checksum.clone(),
        }),
    }
}

/// The top-level keys whose values differ between two definitions (JSON objects).
fn differing_keys(
    recorded: &str,
    now: Option<&str>,
) -> Vec<(String, Option<String>, Option<String>)> {
    let parse = |text: &str| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).unwrap_or_default()
    };
    let old = parse(recorded);
    let new = now.map(parse).unwrap_or_default();
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let show =
                |v: Option<&serde_json::Value>| v.filter(|v| !v.is_null()).map(|v| v.to_string());
            (k.clone(), show(old.get(k)), show(new.get(k)))
        })
        .filter(|(_, a, b)| a != b)
        .collect()
}

/// The ledger key of a step, for writes that travel with a statement or a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepKey<'a> {
    pub plan: &'a str,
    pub phase: Phase,
    pub index: usize,
}

/// Which of a step's counters a statement's own transaction advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// `actions_done`: the step's actions, applying it.
    Actions,
    /// `undo_done`: its undo actions, undoing it.
    Undo,
}

impl Progress {
    /// The ledger column that holds the counter.
    pub fn column(self) -> &'static str {
        match self {
            Progress::Actions => "actions_done",
            Progress::Undo => "undo_done",
        }
    }
}

/// A ledger write that travels inside a statement's own transaction: `done` actions (or undo
/// actions) of `step` have completed once it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark<'a> {
    pub step: StepKey<'a>,
    pub progress: Progress,
    pub done: usize,
}

/// Serde helper: times as RFC 3339 (`2026-05-01T10:00:00Z`).
pub mod opt_time {
    use serde::Serializer;
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(value: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(t) => s.serialize_str(&humantime::format_rfc3339_millis(*t).to_string()),
            None => s.serialize_none(),
        }
    }
}

/// Seconds since the Unix epoch (as stored by the backends) to a time, and back.
/// Puts each plan's steps (read as `(plan name, step)`) under its plan, in (phase, index)
/// order; steps of a plan that was not read are dropped. Shared by every backend.
pub fn group_steps(plans: Vec<PlanRecord>, steps: Vec<(String, StepRecord)>) -> Vec<PlanLedger> {
    let mut out: Vec<PlanLedger> = plans
        .into_iter()
        .map(|plan| PlanLedger {
            plan,
            steps: Vec::new(),
        })
        .collect();
    for (name, record) in steps {
        if let Some(entry) = out.iter_mut().find(|p| p.plan.name == name) {
            entry.steps.push(record);
        }
    }
    for entry in &mut out {
        entry.steps.sort_by_key(|s| (s.phase, s.index));
    }
    out
}

pub fn from_epoch(seconds: f64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(seconds.max(0.0))
}

pub fn to_epoch(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_text() {
        for state in StepState::ALL {
            assert_eq!(StepState::parse(state.as_str()), Some(state));
        }
        assert_eq!(StepState::parse("done"), None);
        assert_eq!(StepState::RolledBack.to_string(), "rolled back");
    }

    #[test]
    fn a_fresh_start_forgets_progress_a_backfill_keeps_its_checkpoint() {
        let mut record = StepRecord::pending(Phase::Backfill, 0, "backfill", "users");
        record.failed("boom", false);
        record.batch_done(10, Some(vec!["10".into()]));
        record.action_done(1);
        record.start(true);
        assert_eq!(record.state, StepState::Running);
        assert_eq!((record.rows_done, record.actions_done), (10, 0));
        assert_eq!(record.error, None);
        record.start(false);
        assert_eq!(
            record.rows_done, 10,
            "a running step resumes: nothing forgotten"
        );
        record.failed("again", false);
        record.start(false);
        assert_eq!((record.rows_done, record.checkpoint.clone()), (0, None));
    }

    #[test]
    fn an_interrupted_step_stays_running_and_rollback_forgets_everything() {
        let mut record = StepRecord::pending(Phase::Expand, 1, "add_column", "users.x");
        record.start(false);
        record.failed("stopped", true);
        assert_eq!(record.state, StepState::Running);
        assert_eq!(record.error.as_deref(), Some("stopped"));
        record.captures.insert("old".into(), "x".into());
        record.rolled_back();
        assert_eq!(record.state, StepState::RolledBack);
        assert!(record.captures.is_empty() && record.error.is_none());
        record.undo_failed("rollback", "no");
        assert_eq!(record.error.as_deref(), Some("rollback failed: no"));
    }

    #[test]
    fn an_undo_resumes_after_its_completed_actions_and_ends_with_the_step() {
        let mut record = StepRecord::pending(Phase::Contract, 0, "drop_index", "orders_idx");
        record.start(false);
        record.applied();
        assert!(!record.is_being_undone());
        record.undo_started();
        assert_eq!(record.undo_done, Some(0));
        record.undo_action_done(2);
        record.undo_started();
        assert_eq!(
            record.undo_done,
            Some(2),
            "a resumed undo keeps its progress"
        );
        record.rolled_back();
        assert_eq!(record.undo_done, None);
        record.undo_started();
        record.compensated();
        assert_eq!(record.undo_done, None);
        record.undo_started();
        record.start(false);
        assert_eq!(record.undo_done, None, "a fresh start forgets an old undo");
    }

    #[test]
    fn epoch_round_trips_to_the_millisecond() {
        let now = SystemTime::now();
        let back = from_epoch(to_epoch(now));
        let diff = match back.duration_since(now) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        assert!(diff.as_millis() < 1);
    }
}
