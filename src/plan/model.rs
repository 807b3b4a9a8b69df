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
    pub max_lag: Option<crate::vocab::lag::MaxLag>,
    /// Default workers of a backfill (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel: Option<u64>,
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
    /// Every string value the step writes, with where it is in the file (see [`ValueSpan`]).
    #[serde(skip)]
    pub values: Vec<ValueSpan>,
}

/// One string value of a step as written in the file: `set.email_verified`, `columns[0].type`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSpan {
    /// The key path within the step.
    pub path: String,
    /// The value as TOML reads it (escapes resolved).
    pub text: String,
    /// The value as written, quotes included.
    pub span: Span,
}

impl Step {
    /// Where the plan's own SQL `text`, the value of `key` (as [`crate::ops::Expression`] names
    /// it), is written: the value of that key or of a key nested under it (`set.column`,
    /// `columns[0].type`, `reverse.from`) whose text is the same.
    pub fn value_span(&self, key: &str, text: &str) -> Option<&ValueSpan> {
        let nested = format!("{key}.");
        let last = format!(".{key}");
        self.values.iter().find(|v| {
            (v.path == key || v.path.starts_with(&nested) || v.path.ends_with(&last))
                && v.text == text
        })
    }
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
