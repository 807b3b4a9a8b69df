//! `status`: what the ledger says about each plan, merged with plan files not yet started.
//! Reads only; a database without a ledger has simply had nothing applied.

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

/// The state of a phase (or a plan) summarised from its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    Pending,
    Running,
    /// Some steps applied, others not (an interrupted run).
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
            PhaseState::Partial => "partial",
            PhaseState::Applied => "applied",
            PhaseState::Failed => "failed",
            PhaseState::RolledBack => "rolled back",
        }
    }

    fn of(states: &[StepState]) -> PhaseState {
        let all = |s: StepState| states.iter().all(|x| *x == s);
        let any = |s: StepState| states.contains(&s);
        if states.is_empty() || all(StepState::Pending) {
            PhaseState::Pending
        } else if any(StepState::Running) {
            PhaseState::Running
        } else if any(StepState::Failed) {
            PhaseState::Failed
        } else if all(StepState::Applied) {
            PhaseState::Applied
        } else if states
            .iter()
            .all(|s| matches!(s, StepState::RolledBack | StepState::Pending))
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
    pub state: StepState,
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

/// Builds the report from what the ledger holds and the given plan files.
pub fn merge(ledger: Vec<PlanLedger>, files: &[Plan], has_ledger: bool) -> StatusReport {
    let mut plans: Vec<PlanStatus> = ledger
        .iter()
        .map(|entry| recorded_plan(entry, files.iter().find(|p| p.name == entry.plan.name)))
        .collect();
    for file in files {
        if !plans.iter().any(|p| p.name == file.name) {
            plans.push(unstarted_plan(file));
        }
    }
    plans.sort_by(|a, b| a.name.cmp(&b.name));
    StatusReport {
        ledger: has_ledger,
        plans,
    }
}

/// A plan the ledger knows, compared with its file when one was given.
fn recorded_plan(entry: &PlanLedger, file: Option<&Plan>) -> PlanStatus {
    let phases: Vec<PhaseStatus> = Phase::ALL
        .into_iter()
        .filter_map(|phase| {
            let steps: Vec<StepStatus> = entry
                .steps
                .iter()
                .filter(|s| s.phase == phase)
                .map(recorded_step)
                .collect();
            let states: Vec<StepState> = steps.iter().map(|s| s.state).collect();
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

fn recorded_step(s: &StepRecord) -> StepStatus {
    StepStatus {
        index: s.index,
        op: s.op.clone(),
        target: s.target.clone(),
        state: s.state,
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
                    state: StepState::Pending,
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
    if states.contains(&PhaseState::Failed) {
        PhaseState::Failed
    } else if states.contains(&PhaseState::Running) {
        PhaseState::Running
    } else if !states.is_empty() && states.iter().all(|s| *s == PhaseState::Applied) {
        PhaseState::Applied
    } else if states.iter().all(|s| *s == PhaseState::Pending) {
        PhaseState::Pending
    } else if states
        .iter()
        .all(|s| matches!(s, PhaseState::RolledBack | PhaseState::Pending))
    {
        PhaseState::RolledBack
    } else {
        PhaseState::Partial
    }
}

/// Reads the ledger of the database at `url` without creating it.
pub async fn read<B: Backend>(url: &str, files: &[Plan]) -> Result<StatusReport, EngineError> {
    let mut backend = B::connect(url, "bellows status").await?;
    let result = async {
        if !backend.ledger_exists().await? {
            return Ok(merge(Vec::new(), files, false));
        }
        let ledger = backend.read_ledger(None).await?;
        Ok(merge(ledger, files, true))
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
        use StepState::*;
        assert_eq!(PhaseState::of(&[Pending, Pending]), PhaseState::Pending);
        assert_eq!(PhaseState::of(&[Applied, Applied]), PhaseState::Applied);
        assert_eq!(PhaseState::of(&[Applied, Pending]), PhaseState::Partial);
        assert_eq!(PhaseState::of(&[Applied, Running]), PhaseState::Running);
        assert_eq!(PhaseState::of(&[RolledBack, Failed]), PhaseState::Failed);
        assert_eq!(
            PhaseState::of(&[RolledBack, Pending]),
            PhaseState::RolledBack
        );
    }
}
