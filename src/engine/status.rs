//! `status`: what the ledger says about each plan, merged with plan files not yet started.
//! Reads only; a database without a ledger has simply had nothing applied. A step the ledger
//! left running is "running" while a run holds the run lock and "interrupted" otherwise.

use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use super::backend::Backend;
use super::error::EngineError;
use super::ledger::{opt_time, PlanLedger, StepRecord, StepState};
use crate::plan::Plan;
use crate::vocab::Phase;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    /// Whether the database has a ledger at all.
    pub ledger: bool,
    pub plans: Vec<PlanStatus>,
    /// PostgreSQL: the version schemas of the database, each with its plan and what the new
    /// application sets to use it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<super::versions::VersionSchema>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStatus {
    pub name: String,
    pub path: Option<String>,
    /// Checksum recorded in the ledger (`None`: not started).
    pub recorded_checksum: Option<String>,
    /// Checksum of the plan file given on the command line.
    pub file_checksum: Option<String>,
    /// The file differs from what was started.
    pub changed: bool,
    /// Overall state: the state of its furthest phase that is not pending.
    pub state: PhaseState,
    #[serde(with = "opt_time")]
    pub started_at: Option<SystemTime>,
    pub phases: Vec<PhaseStatus>,
}

/// The state shown for a step, and for a phase (or a plan) summarised from its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    Pending,
    /// Left running in the ledger while a run holds the run lock.
    Running,
    /// Left running in the ledger with no run holding the lock: stopped (Ctrl-C, a crash),
    /// resumed by the next `apply`.
    Interrupted,
    /// Some steps applied, others not (a run stopped between phases or with `--to`).
    Partial,
    Applied,
    Failed,
    RolledBack,
}

impl PhaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseState::Pending => "pending",
            PhaseState::Running => "running",
            PhaseState::Interrupted => "interrupted",
            PhaseState::Partial => "partial",
            PhaseState::Applied => "applied",
            PhaseState::Failed => "failed",
            PhaseState::RolledBack => "rolled back",
        }
    }

    /// How a step the ledger records as `state` is shown; `lock_held`: a run holds the lock.
    pub fn of_step(state: StepState, lock_held: bool) -> PhaseState {
        match state {
            StepState::Pending => PhaseState::Pending,
            StepState::Running if lock_held => PhaseState::Running,
            StepState::Running => PhaseState::Interrupted,
            StepState::Applied => PhaseState::Applied,
            StepState::Failed => PhaseState::Failed,
            StepState::RolledBack => PhaseState::RolledBack,
        }
    }

    /// The state of a phase from its steps' states, or of a plan from its phases' states.
    fn of(states: &[PhaseState]) -> PhaseState {
        let all = |s: PhaseState| states.iter().all(|x| *x == s);
        let any = |s: PhaseState| states.contains(&s);
        if states.is_empty() || all(PhaseState::Pending) {
            PhaseState::Pending
        } else if any(PhaseState::Failed) {
            PhaseState::Failed
        } else if any(PhaseState::Running) {
            PhaseState::Running
        } else if any(PhaseState::Interrupted) {
            PhaseState::Interrupted
        } else if all(PhaseState::Applied) {
            PhaseState::Applied
        } else if states
            .iter()
            .all(|s| matches!(s, PhaseState::RolledBack | PhaseState::Pending))
        {
            PhaseState::RolledBack
        } else {
            PhaseState::Partial
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseStatus {
    pub phase: Phase,
    pub state: PhaseState,
    pub steps: Vec<StepStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStatus {
    pub index: usize,
    pub op: String,
    pub target: String,
    pub state: PhaseState,
    #[serde(with = "opt_time")]
    pub started_at: Option<SystemTime>,
    #[serde(with = "opt_time")]
    pub finished_at: Option<SystemTime>,
    #[serde(rename = "duration_ms", serialize_with = "opt_millis")]
    pub duration: Option<Duration>,
    pub error: Option<String>,
    /// Backfill rows walked (0 for other steps).
    pub rows_done: u64,
    pub checkpoint: Option<Vec<String>>,
}

fn opt_millis<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

/// What `status` was asked about.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Every plan in the ledger.
    All,
    /// Exactly these plan files (a folder given on the command line: the plans in it).
    Files(&'a [Plan]),
    /// Exactly the ledger's plans of these names.
    Names(&'a [String]),
}

/// Builds the report from what the ledger holds and what was asked about, in file order
/// (`0002_…` after `0001_…`); `lock_held`: a run holds the run lock now.
pub fn merge(
    ledger: Vec<PlanLedger>,
    selection: Selection,
    has_ledger: bool,
    lock_held: bool,
) -> StatusReport {
    let files: &[Plan] = match selection {
        Selection::Files(files) => files,
        _ => &[],
    };
    let mut plans: Vec<PlanStatus> = ledger
        .iter()
        .filter(|entry| match selection {
            Selection::All => true,
            Selection::Files(files) => files.iter().any(|f| f.name == entry.plan.name),
            Selection::Names(names) => names.contains(&entry.plan.name),
        })
        .map(|entry| {
            let file = files.iter().find(|p| p.name == entry.plan.name);
            recorded_plan(entry, file, lock_held)
        })
        .collect();
    for file in files {
        if !plans.iter().any(|p| p.name == file.name) {
            plans.push(unstarted_plan(file));
        }
    }
    plans.sort_by_key(file_order);
    StatusReport {
        ledger: has_ledger,
        plans,
        versions: Vec::new(),
    }
}

/// Plans sort by their file's name (the number it starts with), then by name.
fn file_order(plan: &PlanStatus) -> (String, String) {
    let file = plan
        .path
        .as_deref()
        .map(|p| {
            std::path::Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    (file, plan.name.clone())
}

/// A plan the ledger knows, compared with its file when one was given.
fn recorded_plan(entry: &PlanLedger, file: Option<&Plan>, lock_held: bool) -> PlanStatus {
    let phases: Vec<PhaseStatus> = Phase::ALL
        .into_iter()
        .filter_map(|phase| {
            let steps: Vec<StepStatus> = entry
                .steps
                .iter()
                .filter(|s| s.phase == phase)
                .map(|step| recorded_step(step, lock_held))
                .collect();
            let states: Vec<PhaseState> = steps.iter().map(|s| s.state).collect();
            (!steps.is_empty()).then(|| PhaseStatus {
                phase,
                state: PhaseState::of(&states),
                steps,
            })
        })
        .collect();
    PlanStatus {
        name: entry.plan.name.clone(),
        path: Some(entry.plan.path.clone()),
        recorded_checksum: Some(entry.plan.checksum.clone()),
        file_checksum: file.map(|f| f.checksum.clone()),
        changed: file.is_some_and(|f| f.checksum != entry.plan.checksum),
        state: overall(&phases),
        started_at: entry.plan.started_at,
        phases,
    }
}

fn recorded_step(s: &StepRecord, lock_held: bool) -> StepStatus {
    StepStatus {
        index: s.index,
        op: s.op.clone(),
        target: s.target.clone(),
        state: PhaseState::of_step(s.state, lock_held),
        started_at: s.started_at,
        finished_at: s.finished_at,
        // A rolled-back step's times span the apply and the undo: no duration.
        duration: match (s.state, s.started_at, s.finished_at) {
            (StepState::Applied | StepState::Failed, Some(a), Some(b)) => b.duration_since(a).ok(),
            _ => None,
        },
        error: s.error.clone(),
        rows_done: s.rows_done,
        checkpoint: s.checkpoint.clone(),
    }
}

/// A plan file the ledger does not know: every step pending.
fn unstarted_plan(file: &Plan) -> PlanStatus {
    let phases = Phase::ALL
        .into_iter()
        .filter_map(|phase| {
            let steps: Vec<StepStatus> = file
                .steps_in(phase)
                .map(|s| StepStatus {
                    index: s.index,
                    op: s.op.name().to_string(),
                    target: s.op.target(),
                    state: PhaseState::Pending,
                    started_at: None,
                    finished_at: None,
                    duration: None,
                    error: None,
                    rows_done: 0,
                    checkpoint: None,
                })
                .collect();
            (!steps.is_empty()).then_some(PhaseStatus {
                phase,
                state: PhaseState::Pending,
                steps,
            })
        })
        .collect();
    PlanStatus {
        name: file.name.clone(),
        path: Some(file.path.display().to_string()),
        recorded_checksum: None,
        file_checksum: Some(file.checksum.clone()),
        changed: false,
        state: PhaseState::Pending,
        started_at: None,
        phases,
    }
}

fn overall(phases: &[PhaseStatus]) -> PhaseState {
    let states: Vec<PhaseState> = phases.iter().map(|p| p.state).collect();
    PhaseState::of(&states)
}

/// Reads the ledger of the database at `url` without creating it.
pub async fn read<B: Backend>(
    url: &str,
    selection: Selection<'_>,
) -> Result<StatusReport, EngineError> {
    let mut backend = B::connect(url, "bellows status").await?;
    let result = async {
        if !backend.ledger_exists().await? {
            return Ok(merge(Vec::new(), selection, false, false));
        }
        let ledger = backend.read_ledger(None).await?;
        let lock_held = backend.run_lock_held().await?;
        let mut report = merge(ledger, selection, true, lock_held);
        report.versions = super::versions::read(&mut backend, &[]).await?;
        Ok(report)
    }
    .await;
    let _ = backend.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_state_summarises_steps() {
        use PhaseState::*;
        let cases: &[(&[PhaseState], PhaseState)] = &[
            (&[Pending, Pending], Pending),
            (&[Applied, Applied], Applied),
            (&[Applied, Pending], Partial),
            (&[Applied, Running], Running),
            (&[Applied, Interrupted, Pending], Interrupted),
            (&[RolledBack, Failed], Failed),
            (&[RolledBack, Pending], RolledBack),
        ];
        for (states, want) in cases {
            assert_eq!(PhaseState::of(states), *want, "{states:?}");
        }
    }

    #[test]
    fn a_step_left_running_is_interrupted_unless_a_run_holds_the_lock() {
        assert_eq!(
            PhaseState::of_step(StepState::Running, true),
            PhaseState::Running
        );
        assert_eq!(
            PhaseState::of_step(StepState::Running, false),
            PhaseState::Interrupted
        );
        assert_eq!(
            PhaseState::of_step(StepState::Applied, false),
            PhaseState::Applied
        );
    }
}
