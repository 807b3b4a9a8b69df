//! The validated plan: what a plan file means once it has been parsed and checked.
//!
//! Every type here is plain data. Loading (`plan::load`) builds it from TOML with spans;
//! planning (`ops`, `dialect`) turns it into SQL; the engine executes that SQL.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::ops::Op;

/// The four phases of an expand/contract change, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Expand,
    Backfill,
    Switch,
    Contract,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Expand,
        Phase::Backfill,
        Phase::Switch,
        Phase::Contract,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Backfill => "backfill",
            Phase::Switch => "switch",
            Phase::Contract => "contract",
        }
    }

    /// One line on what the phase is for (schema descriptions, help).
    pub fn doc(self) -> &'static str {
        match self {
            Phase::Expand => "Additive, backward-compatible changes: new tables and nullable columns, indexes built concurrently, constraints NOT VALID, sync triggers. The old application keeps running.",
            Phase::Backfill => "Existing rows brought to the new shape in small keyset batches, each its own short transaction. A step needs no `op`.",
            Phase::Switch => "The new shape becomes the one in use: defaults, validated constraints, guards that the data is ready.",
            Phase::Contract => "Destructive, guarded clean-up: SET NOT NULL, dropping old columns, triggers and indexes. Only the new application runs.",
        }
    }

    pub fn parse(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A byte range in the plan source, for diagnostics.
pub type Span = std::ops::Range<usize>;

/// A table name, optionally schema-qualified (`"billing.invoices"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    /// Splits `schema.table` on the first dot; a name without a dot has no schema.
    pub fn parse(text: &str) -> TableName {
        match text.split_once('.') {
            Some((schema, name)) => TableName {
                schema: Some(schema.to_string()),
                name: name.to_string(),
            },
            None => TableName {
                schema: None,
                name: text.to_string(),
            },
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

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

/// Serde helper: durations as humantime strings (`"500ms"`).
pub mod opt_duration {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}
