//! `doctor`: compares what the ledger says with what the catalog holds, so drift is seen
//! without reading the ledger tables: an object an applied step made that is gone, one a step
//! not applied would make that exists, an INVALID index or unvalidated constraint, bellows
//! triggers, functions or helper checks no applied step accounts for, and steps an
//! interrupted run left running or half undone. Reads only.
//!
//! What each step should have left is decided from the plan file ([`expectations`], pure); the
//! catalog is read through [`Catalog`].

use serde::Serialize;

use super::backend::{Backend, Catalog, Leftover};
use super::error::EngineError;
use super::ledger::{PlanLedger, StepState};
use super::{session, PlanRun};
use crate::dialect::planned::{Action, PlannedStep};
use crate::dialect::recovery::{self, Found, Intent, ObjectKind, PlannedObject};
use crate::dialect::{plan_op, Dialect};
use crate::ops::{DropSync, Op, SyncColumn};
use crate::vocab::TableName;

/// Everything `doctor` found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DoctorReport {
    /// Whether the database has a ledger at all.
    pub ledger: bool,
    /// Objects of the given plan files compared with the catalog.
    pub checked: usize,
    pub findings: Vec<Finding>,
}

impl DoctorReport {
    /// Whether the ledger and the catalog disagree anywhere.
    pub fn drift(&self) -> bool {
        !self.findings.is_empty()
    }
}

/// One difference between the ledger and the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The plan it concerns (`None`: found in the catalog, no plan accounts for it).
    pub plan: Option<String>,
    pub problem: Problem,
    /// `index orders_customer_id_idx`, `step 2 of expand (add_index orders.customer_id)`, ….
    pub object: String,
    /// What the ledger says and what the catalog shows, in a sentence.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// An applied step made it; the catalog does not have it.
    Missing,
    /// No applied step made it (the step is pending or rolled back); the catalog has it.
    Unexpected,
    /// It exists but is INVALID (index) or NOT VALID (constraint).
    Invalid,
    /// A step an interrupted run left running, failed, or half undone.
    Interrupted,
    /// A leftover in the catalog no applied step accounts for.
    Leftover,
}

/// What one object should look like, according to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub plan: String,
    /// The step whose state decided it.
    pub step: String,
    pub state: StepState,
    pub object: PlannedObject,
    pub table: Option<TableName>,
    pub present: bool,
}

/// The objects the steps of `run` make or drop, each with whether it should exist given the
/// ledger: the last applied step that touches a name decides; an object only steps not applied
/// would make should not exist.
pub fn expectations(run: &PlanRun, ledger: &PlanLedger) -> Vec<Expected> {
    expectations_of(&run.plan.name, &run.steps, ledger)
}

/// [`expectations`] for the planned `steps` of the plan named `plan`.
fn expectations_of(plan: &str, steps: &[PlannedStep], ledger: &PlanLedger) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for planned in steps {
        let Some(record) = ledger.step(planned.phase, planned.index) else {
            continue;
        };
        let applied = record.state == StepState::Applied && !record.is_being_undone();
        for action in &planned.planned.actions {
            let Action::Execute(statement) = action else {
                continue;
            };
            let Some(object) = recovery::object_of(&statement.sql)
                .or_else(|| recovery::dropped_by(&statement.sql))
            else {
                continue;
            };
            let known = out
                .iter()
                .position(|e| e.object.kind == object.kind && e.object.name == object.name);
            if !applied && (known.is_some() || object.intent == Intent::Drop) {
                continue;
            }
            let expected = Expected {
                plan: plan.to_string(),
                step: format!(
                    "step {} of {} ({} {})",
                    planned.index + 1,
                    planned.phase,
                    planned.op,
                    planned.target
                ),
                state: record.state,
                present: applied && object.intent == Intent::Create,
                object,
                table: statement.table.clone(),
            };
            // NOTE: dropping a unique or primary key constraint drops its index, which
            // `add_unique` and `add_primary_key` built under the constraint's name.
            if applied && expected.object.kind == ObjectKind::Constraint && !expected.present {
                for index in out.iter_mut().filter(|e| {
                    e.object.kind == ObjectKind::Index && e.object.name == expected.object.name
                }) {
                    index.present = false;
                }
            }
            match known {
                Some(i) => out[i] = expected,
                None => out.push(expected),
            }
        }
    }
    out
}

/// The finding for one expected object, given what the catalog shows; `None` when they agree.
pub fn compare(expected: &Expected, found: &Found) -> Option<Finding> {
    let kind = expected.object.kind.as_str();
    let object = format!("{kind} {}", expected.object.name);
    let (problem, detail) = match (expected.present, found) {
        (true, Found::Absent) => (
            Problem::Missing,
            format!(
                "{} is applied, but the database has no such {kind}",
                expected.step
            ),
        ),
        (
            true,
            Found::Present {
                valid: false,
                definition,
            },
        ) => (
            Problem::Invalid,
            format!(
                "{} is applied, but the {kind} is {}: {definition}",
                expected.step,
                if expected.object.kind == ObjectKind::Index {
                    "INVALID"
                } else {
                    "NOT VALID"
                }
            ),
        ),
        (false, Found::Present { definition, .. }) if expected.object.intent == Intent::Create => (
            Problem::Unexpected,
            format!(
                "{} is {}, but the {kind} exists: {definition}",
                expected.step, expected.state
            ),
        ),
        (false, Found::Present { definition, .. }) => (
            Problem::Unexpected,
            format!(
                "{} dropped it, but the {kind} exists: {definition}",
                expected.step
            ),
        ),
        _ => return None,
    };
    Some(Finding {
        plan: Some(expected.plan.clone()),
        problem,
        object,
        detail,
    })
}

/// The steps of a plan whose file was not given, as far as the ledger's definitions of its
/// steps tell: its syncs (`sync_column`, `drop_sync`), whose triggers and functions outlive
/// their step, are read back and planned, so a sync the ledger says is applied is not taken
/// for a leftover. No other operation leaves an object that [`Catalog::leftovers`] lists
/// once its step is applied.
pub fn remembered_steps(ledger: &PlanLedger, dialect: &dyn Dialect) -> Vec<PlannedStep> {
    ledger
        .steps
        .iter()
        .filter_map(|step| {
            let op = remembered_op(step.definition.as_deref()?)?;
            Some(PlannedStep {
                phase: step.phase,
                index: step.index,
                op: op.name(),
                target: op.target(),
                planned: plan_op(&op, dialect).ok()?,
            })
        })
        .collect()
}

/// A sync step read back from its definition ([`Op::definition`]); `None` for other steps.
fn remembered_op(definition: &str) -> Option<Op> {
    let value: serde_json::Value = serde_json::from_str(definition).ok()?;
    match value.get("op")?.as_str()? {
        "sync_column" => serde_json::from_value::<SyncColumn>(value)
            .ok()
            .map(Op::SyncColumn),
        "drop_sync" => serde_json::from_value::<DropSync>(value)
            .ok()
            .map(Op::DropSync),
        _ => None,
    }
}

/// Steps an interrupted run left running, failed or half undone.
pub fn interrupted(ledger: &PlanLedger) -> Vec<Finding> {
    ledger
        .steps
        .iter()
        .filter(|s| {
            s.is_being_undone() || matches!(s.state, StepState::Running | StepState::Failed)
        })
        .map(|s| Finding {
            plan: Some(ledger.plan.name.clone()),
            problem: Problem::Interrupted,
            object: format!("step {} of {} ({} {})", s.index + 1, s.phase, s.op, s.target),
            detail: match s.undo_done {
                Some(done) => format!(
                    "its undo stopped after {done} statement(s); run `bellows rollback` or `bellows apply` again to finish it"
                ),
                None => format!(
                    "it is {}{}; run `bellows apply` again to finish it, or `bellows rollback`",
                    s.state,
                    s.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
                ),
            },
        })
        .collect()
}

/// The leftovers no object expected present accounts for (a sync trigger and its function
/// while the sync step is applied are not leftovers; an INVALID index always is).
pub fn unaccounted(leftovers: Vec<Leftover>, expected: &[Expected]) -> Vec<Finding> {
    let present: Vec<&str> = expected
        .iter()
        .filter(|e| e.present)
        .map(|e| e.object.name.as_str())
        .collect();
    leftovers
        .into_iter()
        .filter(|l| l.detail == "INVALID" || !present.contains(&base_name(&l.name).as_str()))
        .map(|l| Finding {
            plan: None,
            problem: if l.detail == "INVALID" || l.detail == "NOT VALID" {
                Problem::Invalid
            } else {
                Problem::Leftover
            },
            object: format!("{} {}", l.kind, l.name),
            detail: format!(
                "{} left in the database; no applied step accounts for it",
                l.detail
            ),
        })
        .collect()
}

/// `public."orders".bellows_x(integer)` → `bellows_x`.
fn base_name(name: &str) -> String {
    let without_args = name.split('(').next().unwrap_or(name);
    let last = without_args.rsplit('.').next().unwrap_or(without_args);
    last.trim_matches('"').to_string()
}

/// Reads the ledger and the catalog of the database at `url` and compares them for `runs`
/// (every plan in the ledger is checked for interrupted steps).
pub async fn examine<B: Backend>(url: &str, runs: &[PlanRun]) -> Result<DoctorReport, EngineError> {
    session::connected(url, "bellows doctor", async |backend: &mut B| {
        let mut report = DoctorReport {
            ledger: backend.ledger_exists().await?,
            ..DoctorReport::default()
        };
        let ledgers = match report.ledger {
            true => backend.read_ledger(None).await?,
            false => Vec::new(),
        };
        let mut expected_all = Vec::new();
        for ledger in &ledgers {
            report.findings.extend(interrupted(ledger));
            let Some(run) = runs.iter().find(|r| r.plan.name == ledger.plan.name) else {
                // Without its file, what the plan's syncs left only accounts for leftovers.
                let steps = remembered_steps(ledger, B::KIND.dialect());
                expected_all.extend(expectations_of(&ledger.plan.name, &steps, ledger));
                continue;
            };
            for expected in expectations(run, ledger) {
                let found = backend
                    .find_object(&expected.object, expected.table.as_ref())
                    .await?;
                report.checked += 1;
                report.findings.extend(compare(&expected, &found));
                expected_all.push(expected);
            }
        }
        let leftovers = Catalog::leftovers(backend).await?;
        report
            .findings
            .extend(unaccounted(leftovers, &expected_all));
        Ok(report)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::dialect::DialectKind;
    use crate::engine::ledger::{PlanRecord, StepRecord};

    /// Expand: an index; contract: its drop (a `sql` step: a plan cannot build and drop_index
    /// the same index).
    const PLAN: &str = r#"
[[expand]]
op = "add_index"
table = "orders"
columns = ["note"]
name = "orders_note_idx"

[[contract]]
op = "sql"
up = "DROP INDEX orders_note_idx"
down = "CREATE INDEX orders_note_idx ON orders (note)"
"#;

    fn run() -> PlanRun {
        let plan = crate::plan::load::load_str(std::path::Path::new("p.toml"), PLAN)
            .plan
            .unwrap();
        let steps = crate::dialect::plan_steps(&plan, DialectKind::Postgres.dialect()).unwrap();
        PlanRun {
            plan,
            steps,
            config: Config::defaults(),
        }
    }

    fn ledger(run: &PlanRun, states: [StepState; 2]) -> PlanLedger {
        PlanLedger {
            plan: PlanRecord {
                name: "p".into(),
                checksum: String::new(),
                path: "p.toml".into(),
                started_at: None,
                updated_at: None,
            },
            steps: run
                .steps
                .iter()
                .zip(states)
                .map(|(s, state)| StepRecord {
                    state,
                    ..StepRecord::pending(s.phase, s.index, s.op, &s.target)
                })
                .collect(),
        }
    }

    /// Whether the index should exist, for each pair of step states.
    #[test]
    fn the_last_applied_step_decides_whether_an_object_exists() {
        use StepState::*;
        let run = run();
        let cases = [
            ([Pending, Pending], false),
            ([Applied, Pending], true),
            ([Applied, Applied], false),
            ([RolledBack, Pending], false),
        ];
        for (states, present) in cases {
            let expected = expectations(&run, &ledger(&run, states));
            assert_eq!(expected.len(), 1, "{states:?}");
            assert_eq!(expected[0].present, present, "{states:?}");
        }
    }

    #[test]
    fn findings_for_what_the_catalog_shows() {
        let run = run();
        let applied = expectations(
            &run,
            &ledger(&run, [StepState::Applied, StepState::Pending]),
        );
        let present = |valid| Found::Present {
            definition: "CREATE INDEX orders_note_idx ON public.orders USING btree (note)".into(),
            valid,
        };
        assert_eq!(compare(&applied[0], &present(true)), None);
        let problem = |found: &Found| compare(&applied[0], found).map(|f| f.problem);
        assert_eq!(problem(&Found::Absent), Some(Problem::Missing));
        assert_eq!(problem(&present(false)), Some(Problem::Invalid));
        let pending = expectations(
            &run,
            &ledger(&run, [StepState::Pending, StepState::Pending]),
        );
        assert_eq!(compare(&pending[0], &Found::Absent), None);
        assert_eq!(
            compare(&pending[0], &present(true)).map(|f| f.problem),
            Some(Problem::Unexpected)
        );
    }

    #[test]
    fn leftovers_an_applied_step_accounts_for_are_not_reported() {
        let run = run();
        let applied = expectations(
            &run,
            &ledger(&run, [StepState::Applied, StepState::Pending]),
        );
        let leftover = |kind: &str, name: &str, detail: &str| Leftover {
            kind: kind.into(),
            name: name.into(),
            detail: detail.into(),
        };
        let found = unaccounted(
            vec![
                leftover("index", "orders_note_idx", "INVALID"),
                leftover("trigger", "orders.\"orders_note_idx\"", "bellows trigger"),
                leftover("function", "public.bellows_stray()", "bellows function"),
            ],
            &applied,
        );
        let objects: Vec<&str> = found.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(
            objects,
            ["index orders_note_idx", "function public.bellows_stray()"]
        );
    }

    /// A sync step's ledger definition reads back as the step; other steps do not.
    #[test]
    fn sync_steps_read_back_from_their_definitions() {
        let plan = crate::plan::load::load_str(
            std::path::Path::new("p.toml"),
            r#"
[[expand]]
op = "sync_column"
table = "app.users"
column = "display"
from = "name"
reverse = { column = "name", from = "display" }

[[contract]]
op = "drop_sync"
table = "app.users"
column = "display"
"#,
        )
        .plan
        .unwrap();
        for step in &plan.steps {
            assert_eq!(
                remembered_op(&step.op.definition()).as_ref(),
                Some(&step.op)
            );
        }
        let index = run().plan.steps[0].op.definition();
        assert_eq!(remembered_op(&index), None);
    }
}
