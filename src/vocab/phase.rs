//! The four phases of an expand/contract change.

use std::fmt;

use serde::Serialize;

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
