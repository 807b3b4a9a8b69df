//! Execution: the only code that talks to a database.
//!
//! The flow of a run: connect ([`backend::Backend::connect`]) → take the run lock → read (and on
//! `apply`, create) the ledger → for each plan, each pending phase: guards first, then each step's
//! actions ([`step`]), statements retried under their lock policy ([`retry`]), backfills batch by
//! batch ([`backfill`]) → on failure, compensate the phase → report every event through a
//! [`reporter::Reporter`]. The same code drives every database through the `Backend` trait;
//! [`postgres`], [`sqlite`] and [`mysql`] implement it.

pub mod apply;
pub mod backend;
pub mod backfill;
mod batch_steps;
mod context;
pub mod doctor;
pub mod error;
pub mod failure;
pub mod ledger;
pub mod mysql;
pub mod online_check;
pub mod postgres;
pub mod preview;
pub mod reporter;
mod retry;
pub mod retry_policy;
pub mod rollback;
mod session;
pub mod sqlite;
pub mod status;
mod step;
pub mod step_row;
pub mod throttle;
pub mod transient;
pub mod versions;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use apply::{ApplyOptions, ApplySummary};
pub use error::{EngineError, ErrorKind};
pub use reporter::{Event, Reporter};
pub use rollback::{RollbackOptions, RollbackSummary};
pub use status::{PhaseStatus, PlanStatus, StatusReport, StepStatus};

use crate::config::Config;
use crate::dialect::planned::PlannedStep;
use crate::dialect::DialectKind;
use crate::plan::Plan;

/// A plan ready to run: validated, planned for the target database's dialect, configured.
#[derive(Debug, Clone)]
pub struct PlanRun {
    pub plan: Plan,
    /// `dialect::plan_steps(&plan, dialect)`, in execution order.
    pub steps: Vec<PlannedStep>,
    pub config: Config,
}

/// The answer to a confirmation question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Yes,
    No,
    /// Nobody can be asked (not a terminal); the caller must pass `--yes`.
    NoTerminal,
}

/// Asks the person running bellows. The CLI implements it with dialoguer (default No).
pub trait Confirm {
    fn confirm(&self, question: &str) -> Confirmation;
}

/// Never asks; answers as configured (tests, `--yes`).
pub struct Answer(pub Confirmation);

impl Confirm for Answer {
    fn confirm(&self, _question: &str) -> Confirmation {
        self.0
    }
}

/// Set (by a Ctrl-C handler) to ask the run to stop at the next safe point: between steps,
/// or after the current backfill batch has committed with its checkpoint.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    now: Arc<AtomicBool>,
    after_step: Arc<AtomicBool>,
}

impl StopSignal {
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    /// Stop at the next safe point (Ctrl-C): between steps, after a backfill batch, between a
    /// step's actions.
    pub fn stop(&self) {
        self.now.store(true, Ordering::SeqCst);
    }

    /// Let the step in progress finish, then stop before the next one (a fleet whose other
    /// database failed).
    pub fn stop_after_step(&self) {
        self.after_step.store(true, Ordering::SeqCst);
    }

    /// Whether to stop at the next safe point inside a step.
    pub fn is_stopped(&self) -> bool {
        self.now.load(Ordering::SeqCst)
    }

    /// Whether to stop before starting another step.
    pub fn stops_between_steps(&self) -> bool {
        self.is_stopped() || self.after_step.load(Ordering::SeqCst)
    }
}

/// The dialect a database URL speaks, or an error saying which URLs are accepted.
pub fn dialect_of(url: &str) -> Result<DialectKind, EngineError> {
    DialectKind::from_url(url).ok_or_else(|| {
        EngineError::refused(
            ErrorKind::Invalid,
            format!(
                "unsupported database URL `{}`: use postgres://…, sqlite:path.db or mysql://… (mariadb://…)",
                redact_url(url)
            ),
        )
    })
}

/// The URL with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Evaluates `$body` with `$backend` naming the [`backend::Backend`] of the database `$url`
/// points at: the one place where a new database adds its arm.
macro_rules! with_backend {
    ($url:expr, $backend:ident => $body:expr) => {
        match dialect_of($url)? {
            DialectKind::Postgres => {
                type $backend = postgres::PgBackend;
                $body
            }
            DialectKind::Sqlite => {
                type $backend = sqlite::SqliteBackend;
                $body
            }
            DialectKind::Mysql => {
                type $backend = mysql::MysqlBackend;
                $body
            }
        }
    };
}

/// Runs `apply` against the database at `url`.
pub async fn apply(
    url: &str,
    plans: &[PlanRun],
    options: &ApplyOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<ApplySummary, EngineError> {
    with_backend!(url, B => apply::run::<B>(url, plans, options, reporter, confirm).await)
}

/// Runs `rollback` of one plan against the database at `url`.
pub async fn rollback(
    url: &str,
    plan: &PlanRun,
    options: &RollbackOptions,
    reporter: &dyn Reporter,
    confirm: &dyn Confirm,
) -> Result<RollbackSummary, EngineError> {
    with_backend!(url, B => rollback::run::<B>(url, plan, options, reporter, confirm).await)
}

/// What `bellows plan -d URL` shows: the plan's ledger state and each backfill's row count,
/// read without taking the run lock or creating anything.
pub async fn preview(
    url: &str,
    plan: &Plan,
    backfills: &[crate::dialect::planned::BackfillPlan],
) -> Result<preview::Preview, EngineError> {
    with_backend!(url, B => preview::read::<B>(url, plan, backfills).await)
}

/// The online check of one plan (`check -d`, `plan -d`): each step's SQL compiled against the
/// database as the plan will have shaped it by then, in a transaction that is rolled back.
pub async fn online_check(
    url: &str,
    plan: &Plan,
) -> Result<Vec<online_check::Finding>, EngineError> {
    with_backend!(url, B => online_check::run::<B>(url, plan).await)
}

/// Compares the ledger with the catalog for the given plans (and every plan in the ledger for
/// interrupted steps), without creating or changing anything.
pub async fn doctor(url: &str, runs: &[PlanRun]) -> Result<doctor::DoctorReport, EngineError> {
    with_backend!(url, B => doctor::examine::<B>(url, runs).await)
}

/// Drops the version schemas nothing needs (`bellows versions --remove`), after asking.
pub async fn remove_versions(
    url: &str,
    confirm: &dyn Confirm,
    lock_timeout: std::time::Duration,
) -> Result<versions::Removal, EngineError> {
    let limits = backend::Limits {
        lock_timeout: Some(lock_timeout),
        statement_timeout: None,
    };
    with_backend!(url, B => versions::remove::<B>(url, confirm, limits).await)
}

/// Reads the ledger (without creating it) for the selected plans.
pub async fn status(
    url: &str,
    selection: status::Selection<'_>,
) -> Result<StatusReport, EngineError> {
    with_backend!(url, B => status::read::<B>(url, selection).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://me:secret@db:5432/app"),
            "postgres://me:***@db:5432/app"
        );
        assert_eq!(redact_url("postgres://me@db/app"), "postgres://me@db/app");
        assert_eq!(redact_url("sqlite:app.db"), "sqlite:app.db");
    }

    #[test]
    fn unknown_url_schemes_are_refused_as_invalid() {
        let error = dialect_of("oracle://localhost/app").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Invalid);
        assert!(dialect_of("postgresql://x/y").is_ok());
        assert!(dialect_of("sqlite:x.db").is_ok());
        assert_eq!(
            dialect_of("mariadb://root@localhost/app").unwrap(),
            DialectKind::Mysql
        );
    }
}
