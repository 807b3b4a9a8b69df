//! Runs one command over every database of a fleet: the engine's ordinary single-database
//! `apply`, `rollback` or `status` per database (each with its own connection, run lock,
//! ledger, retries, backfill and checkpoint), `--parallel` of them at a time on the command's
//! runtime, started and stopped as [`schedule`](super::schedule) decides.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use super::schedule::{self, Next, Policy, Slot};
use super::{Database, Fleet};
use crate::dialect::DialectKind;
use crate::engine::status::{PhaseState, PlanStatus, Selection, StatusReport};
use crate::engine::{
    self, ApplyOptions, Confirm, EngineError, ErrorKind, Event, PlanRun, Reporter, RollbackOptions,
    StopSignal,
};
use crate::vocab::Phase;

/// Receives what happens across the fleet: each database's engine events, tagged with its
/// name, and when each database starts and ends.
pub trait FleetReporter {
    fn event(&self, database: &str, event: Event);
    fn started(&self, database: &str);
    fn finished(&self, outcome: &DatabaseOutcome);
}

/// How one database's run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed {
        #[serde(skip)]
        kind: ErrorKind,
        reason: String,
    },
    /// Stopped at a safe point because another database failed; the next run resumes it.
    Stopped,
    /// Stopped at a safe point by Ctrl-C; the next run resumes it.
    Interrupted,
    /// Not started: the run stopped first.
    NotStarted,
}

impl Outcome {
    /// The error this outcome adds to the fleet's exit.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        match self {
            Outcome::Failed { kind, .. } => Some(*kind),
            Outcome::Interrupted => Some(ErrorKind::Interrupted),
            _ => None,
        }
    }

    fn slot(&self) -> Slot {
        match self {
            Outcome::Succeeded => Slot::Succeeded,
            Outcome::Failed { .. } => Slot::Failed,
            Outcome::Stopped | Outcome::Interrupted => Slot::Stopped,
            Outcome::NotStarted => Slot::Waiting,
        }
    }
}

/// One row of the fleet's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseOutcome {
    pub database: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Where its plans are now ("contract", "0002_orders backfill interrupted"), when read.
    pub reached: Option<String>,
    /// Rows the backfills of this run wrote.
    pub rows_backfilled: u64,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

/// A whole fleet's run.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSummary {
    pub databases: Vec<DatabaseOutcome>,
    /// The worst error of any database (`None`: all succeeded).
    pub worst: Option<ErrorKind>,
}

/// The engine's reporter for one database: tags its events with the database's name and
/// counts the rows its backfills write.
struct Tagged<'a> {
    name: &'a str,
    fleet: &'a dyn FleetReporter,
    /// (plan, step) → (rows done when this run started it, rows done last reported).
    rows: RefCell<HashMap<(String, usize), (u64, u64)>>,
}

impl Tagged<'_> {
    fn rows_backfilled(&self) -> u64 {
        self.rows
            .borrow()
            .values()
            .map(|(from, to)| to.saturating_sub(*from))
            .sum()
    }
}

impl Reporter for Tagged<'_> {
    fn report(&self, event: Event) {
        match &event {
            Event::BackfillStarted {
                step, rows_done, ..
            } => {
                self.rows
                    .borrow_mut()
                    .insert((step.plan.clone(), step.index), (*rows_done, *rows_done));
            }
            Event::BackfillProgress {
                step, rows_done, ..
            } => {
                let mut rows = self.rows.borrow_mut();
                let entry = rows
                    .entry((step.plan.clone(), step.index))
                    .or_insert((0, 0));
                entry.1 = entry.1.max(*rows_done);
            }
            _ => {}
        }
        self.fleet.event(self.name, event);
    }
}

type Job<'a> = Pin<Box<dyn Future<Output = (usize, Result<(), EngineError>, Option<String>)> + 'a>>;

/// Runs `job` for each database as `policy` schedules it. `job` gets the database and the
/// reporter to give the engine, and returns the engine's result and where the database now is.
/// `stop` is shared by every database: Ctrl-C sets it (stop at the next safe point), and the
/// run itself asks every running database to stop after its current step when a failure halts
/// it (those databases then end `Stopped`, not `Interrupted`).
pub async fn run_each<F>(
    fleet: &Fleet,
    policy: &Policy,
    stop: &StopSignal,
    reporter: &dyn FleetReporter,
    job: F,
) -> FleetSummary
where
    F: AsyncFn(&Database, &dyn Reporter) -> (Result<(), EngineError>, Option<String>),
{
    let count = fleet.databases.len();
    let tagged: Vec<Tagged<'_>> = fleet
        .databases
        .iter()
        .map(|database| Tagged {
            name: &database.name,
            fleet: reporter,
            rows: RefCell::default(),
        })
        .collect();
    let mut slots = vec![Slot::Waiting; count];
    let mut started_at = vec![None; count];
    let mut outcomes: Vec<Option<DatabaseOutcome>> = vec![None; count];
    let mut halted_by_failure = false;
    let mut running: Vec<Job<'_>> = Vec::new();
    loop {
        let interrupted = stop.is_stopped() && !halted_by_failure;
        match schedule::next(policy, &slots, interrupted) {
            Next::Start(i) => {
                slots[i] = Slot::Running;
                started_at[i] = Some(Instant::now());
                let database = &fleet.databases[i];
                reporter.started(&database.name);
                let tagged = &tagged[i];
                let job = &job;
                running.push(Box::pin(async move {
                    let (result, reached) = job(database, tagged).await;
                    (i, result, reached)
                }));
                continue;
            }
            Next::Done => break,
            Next::Wait => {}
        }
        let Some((i, result, reached)) = first_done(&mut running).await else {
            break;
        };
        let outcome = outcome_of(result, halted_by_failure);
        slots[i] = outcome.slot();
        let row = DatabaseOutcome {
            database: fleet.databases[i].name.clone(),
            outcome,
            reached,
            rows_backfilled: tagged[i].rows_backfilled(),
            duration: started_at[i].map(|t| t.elapsed()).unwrap_or_default(),
        };
        reporter.finished(&row);
        outcomes[i] = Some(row);
        if schedule::halted(policy, &slots) && !stop.is_stopped() && !halted_by_failure {
            // NOTE: the databases still running finish the step they are in (a backfill
            // walks to its end), then stop before the next one; Ctrl-C stops them sooner.
            halted_by_failure = true;
            stop.stop_after_step();
        }
    }
    let databases: Vec<DatabaseOutcome> = outcomes
        .into_iter()
        .zip(&fleet.databases)
        .map(|(row, database)| row.unwrap_or_else(|| not_started(database)))
        .collect();
    let worst = schedule::worst(databases.iter().map(|d| d.outcome.error_kind()));
    FleetSummary { databases, worst }
}

/// How a database's run ended: stopped by Ctrl-C, or (`halted_by_failure`) because another
/// database failed.
fn outcome_of(result: Result<(), EngineError>, halted_by_failure: bool) -> Outcome {
    match result {
        Ok(()) => Outcome::Succeeded,
        Err(error) if error.kind() == ErrorKind::Interrupted && halted_by_failure => {
            Outcome::Stopped
        }
        Err(error) if error.kind() == ErrorKind::Interrupted => Outcome::Interrupted,
        Err(error) => Outcome::Failed {
            kind: error.kind(),
            reason: first_line(&error.to_string()),
        },
    }
}

fn not_started(database: &Database) -> DatabaseOutcome {
    DatabaseOutcome {
        database: database.name.clone(),
        outcome: Outcome::NotStarted,
        reached: None,
        rows_backfilled: 0,
        duration: Duration::ZERO,
    }
}

/// Waits for the first of `running` to finish and removes it; `None` when none runs. Every
/// future is polled with the same waker, so any of them waking polls them all again (there
/// are `--parallel` of them at most).
async fn first_done<T>(running: &mut Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Option<T> {
    if running.is_empty() {
        return None;
    }
    let done = std::future::poll_fn(|cx| {
        for i in 0..running.len() {
            if let Poll::Ready(value) = running[i].as_mut().poll(cx) {
                drop(running.swap_remove(i));
                return Poll::Ready(value);
            }
        }
        Poll::Pending
    })
    .await;
    Some(done)
}

/// The plans prepared for each dialect the fleet holds.
pub type RunsByDialect = Vec<(DialectKind, Vec<PlanRun>)>;

fn runs_for<'a>(runs: &'a RunsByDialect, url: &str) -> Result<&'a [PlanRun], EngineError> {
    let kind = engine::dialect_of(url)?;
    runs.iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, runs)| runs.as_slice())
        .ok_or_else(|| {
            EngineError::refused(
                ErrorKind::Invalid,
                format!("no plans were prepared for {kind:?}"),
            )
        })
}

/// `apply` on every database of the fleet; each one's phase reached is read after its run.
pub async fn apply(
    fleet: &Fleet,
    policy: &Policy,
    runs: &RunsByDialect,
    options: &ApplyOptions,
    reporter: &dyn FleetReporter,
    confirm: &dyn Confirm,
) -> FleetSummary {
    run_each(
        fleet,
        policy,
        &options.stop,
        reporter,
        async |database: &Database, tagged: &dyn Reporter| {
            let runs = match runs_for(runs, &database.url) {
                Ok(runs) => runs,
                Err(error) => return (Err(error), None),
            };
            let result = engine::apply(&database.url, runs, options, tagged, confirm).await;
            let reached = reached(&database.url, runs).await;
            (result.map(|_| ()), reached)
        },
    )
    .await
}

/// `rollback` of one plan on every database of the fleet.
pub async fn rollback(
    fleet: &Fleet,
    policy: &Policy,
    runs: &RunsByDialect,
    options: &RollbackOptions,
    reporter: &dyn FleetReporter,
    confirm: &dyn Confirm,
) -> FleetSummary {
    run_each(
        fleet,
        policy,
        &options.stop,
        reporter,
        async |database: &Database, tagged: &dyn Reporter| {
            let runs = match runs_for(runs, &database.url) {
                Ok(runs) => runs,
                Err(error) => return (Err(error), None),
            };
            let result = engine::rollback(&database.url, &runs[0], options, tagged, confirm).await;
            let reached = reached(&database.url, runs).await;
            (result.map(|_| ()), reached)
        },
    )
    .await
}

/// Where the database's plans are, read from its ledger (`None` when it cannot be read).
async fn reached(url: &str, runs: &[PlanRun]) -> Option<String> {
    let plans: Vec<_> = runs.iter().map(|r| r.plan.clone()).collect();
    let report = engine::status(url, Selection::Files(&plans)).await.ok()?;
    Some(phase_reached(&report))
}

/// One database's status, or why it could not be read.
#[derive(Debug, Serialize)]
pub struct DatabaseStatus {
    pub database: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub error_kind: Option<ErrorKind>,
}

/// `status` of every database, `parallel` at a time, in the fleet's order.
pub async fn status(
    fleet: &Fleet,
    parallel: usize,
    selection: Selection<'_>,
) -> Vec<DatabaseStatus> {
    type Read<'a> = Pin<Box<dyn Future<Output = (usize, DatabaseStatus)> + 'a>>;
    let mut results: Vec<Option<DatabaseStatus>> = Vec::new();
    results.resize_with(fleet.databases.len(), || None);
    let mut running: Vec<Read<'_>> = Vec::new();
    let mut waiting = fleet.databases.iter().enumerate();
    loop {
        while running.len() < parallel.max(1) {
            let Some((i, database)) = waiting.next() else {
                break;
            };
            running.push(Box::pin(async move {
                let read = engine::status(&database.url, selection).await;
                let status = DatabaseStatus {
                    database: database.name.clone(),
                    error_kind: read.as_ref().err().map(EngineError::kind),
                    error: read.as_ref().err().map(|e| first_line(&e.to_string())),
                    status: read.ok(),
                };
                (i, status)
            }));
        }
        match first_done(&mut running).await {
            Some((i, status)) => results[i] = Some(status),
            None => break,
        }
    }
    results.into_iter().flatten().collect()
}

/// Where one plan is: `contract` (the last phase, all applied), `backfill interrupted`,
/// `switch failed`, `rolled back`, or `—` (not started).
pub fn plan_reached(plan: &PlanStatus) -> String {
    match plan.state {
        PhaseState::Pending => return "—".to_string(),
        PhaseState::RolledBack => return PhaseState::RolledBack.as_str().to_string(),
        _ => {}
    }
    let furthest = plan
        .phases
        .iter()
        .rev()
        .find(|p| p.state != PhaseState::Pending);
    match furthest {
        Some(p) if p.state == PhaseState::Applied => p.phase.as_str().to_string(),
        Some(p) => format!("{} {}", p.phase.as_str(), p.state.as_str()),
        None => "—".to_string(),
    }
}

/// Where a database's plans are: the last phase when every plan is complete, else the first
/// incomplete plan's (named when there are several).
pub fn phase_reached(report: &StatusReport) -> String {
    let incomplete = report.plans.iter().find(|p| p.state != PhaseState::Applied);
    match (incomplete, report.plans.last()) {
        (Some(plan), _) if report.plans.len() == 1 => plan_reached(plan),
        (Some(plan), _) => format!("{} {}", plan.name, plan_reached(plan)),
        (None, Some(last)) => last
            .phases
            .last()
            .map_or(Phase::Contract, |p| p.phase)
            .as_str()
            .to_string(),
        (None, None) => "—".to_string(),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
