//! The validated plan: what a plan file means once it has been parsed and checked.
//!
//! Every type here is plain data. Loading (`plan::load`) builds it from TOML with spans;
//! planning (`ops`, `dialect`) turns it into SQL; the engine executes that SQL.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::ops::Op;
use crate::vocab::duration::opt_duration;
use crate::vocab::{Phase, Span};

/// `[settings]` of a plan. `None` means "not set in the plan"; the resolved
/// configuration (`crate::config`) fills in flags and defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Settings {
    #[serde(with = "opt_duration")]
    pub lock_timeout: Option<Duration>,
    pub lock_retries: Option<u32>,
    #[serde(with = "opt_duration")]
    pub statement_timeout: Option<Duration>,
    pub batch_size: Option<u64>,
    #[serde(with = "opt_duration")]
    pub pause: Option<Duration>,
    #[serde(with = "opt_duration")]
    pub target_batch_time: Option<Duration>,
    #[serde(with = "opt_duration")]
    pub max_lag: Option<Duration>,
}

/// One step of a plan: an operation in a phase.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub phase: Phase,
    /// Position within its phase, from 0.
    pub index: usize,
    pub op: Op,
    /// Where the step's table starts in the source (`[[expand]]` header or inline table).
    #[serde(skip)]
    pub span: Span,
}

/// A validated plan, ready for planning.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub path: PathBuf,
    /// Hex SHA-256 of the file contents, recorded in the ledger.
    pub checksum: String,
    pub settings: Settings,
    /// All steps, phase by phase, in file order within a phase.
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn steps_in(&self, phase: Phase) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.phase == phase)
    }
}
