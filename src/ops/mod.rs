//! Operations: one file per `op`, one [`Operation`] trait, one registry ([`Op`] and [`OPS`]).
//!
//! The TOML name, the file name and the type name are the same words: `op = "set_not_null"`,
//! `ops/set_not_null.rs`, `SetNotNull`. Each file holds the operation's parameters and how they
//! are read; the SQL for each database lives in `crate::dialect`.

pub mod planned;

use serde::Serialize;

use crate::dialect::{Dialect, Unsupported};
use crate::plan::model::Phase;
use crate::plan::reader::TableReader;
use planned::PlannedOp;

/// What every operation provides.
pub trait Operation: Sized {
    /// The `op = "…"` name.
    const NAME: &'static str;
    /// The phases the operation may appear in.
    const PHASES: &'static [Phase];
    /// One line for `bellows schema` and error hints.
    const DOC: &'static str;

    /// Reads the operation's keys; `None` when a required key is missing or invalid (the reader
    /// has recorded why).
    fn read(r: &mut TableReader<'_, '_>) -> Option<Self>;

    /// What the step acts on, for humans: `users.email_verified`.
    fn target(&self) -> String;

    /// The SQL the step runs on `dialect`, and its undo.
    fn plan(&self, dialect: &dyn Dialect) -> Result<PlannedOp, Unsupported>;
}

/// Static facts about an operation, for validation and the schema.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    pub name: &'static str,
    pub phases: &'static [Phase],
    pub doc: &'static str,
    /// Lists the keys the operation reads (see [`crate::plan::reader::probe_keys`]).
    pub keys: fn() -> Vec<crate::plan::reader::KeyInfo>,
    /// Reads the operation from a step table.
    pub read: fn(&mut TableReader<'_, '_>) -> Option<Op>,
}

macro_rules! operations {
    ($($module:ident => $ty:ident),* $(,)?) => {
        $(pub mod $module;)*
        $(pub use $module::$ty;)*

        /// Any operation of a plan.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "op", rename_all = "snake_case")]
        pub enum Op {
            $($ty($ty),)*
        }

        /// Every operation, in the order of the SPEC's table.
        pub const OPS: &[OpSpec] = &[
            $(OpSpec {
                name: <$ty as Operation>::NAME,
                phases: <$ty as Operation>::PHASES,
                doc: <$ty as Operation>::DOC,
                keys: || crate::plan::reader::probe_keys(<$ty as Operation>::read),
                read: |r| <$ty as Operation>::read(r).map(Op::$ty),
            },)*
        ];

        impl Op {
            pub fn name(&self) -> &'static str {
                match self { $(Op::$ty(_) => <$ty as Operation>::NAME,)* }
            }

            pub fn phases(&self) -> &'static [Phase] {
                match self { $(Op::$ty(_) => <$ty as Operation>::PHASES,)* }
            }

            pub fn target(&self) -> String {
                match self { $(Op::$ty(op) => op.target(),)* }
            }

            pub fn plan(&self, dialect: &dyn Dialect) -> Result<PlannedOp, Unsupported> {
                match self { $(Op::$ty(op) => op.plan(dialect),)* }
            }
        }
    };
}

operations! {
    create_table => CreateTable,
    add_column => AddColumn,
    add_index => AddIndex,
    add_foreign_key => AddForeignKey,
    add_check => AddCheck,
    sync_column => SyncColumn,
    backfill => Backfill,
    set_default => SetDefault,
    drop_default => DropDefault,
    guard => Guard,
    sql => Sql,
    set_not_null => SetNotNull,
    drop_sync => DropSync,
    drop_index => DropIndex,
    drop_constraint => DropConstraint,
    drop_column => DropColumn,
    drop_table => DropTable,
}

/// The registry entry for an op name.
pub fn find(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|spec| spec.name == name)
}

const ANY_PHASE: &[Phase] = &[
    Phase::Expand,
    Phase::Backfill,
    Phase::Switch,
    Phase::Contract,
];

/// Plans every step of `plan` for `dialect`, in execution order (phase by phase).
pub fn plan_steps(
    plan: &crate::plan::Plan,
    dialect: &dyn Dialect,
) -> Result<Vec<planned::PlannedStep>, Unsupported> {
    let mut steps: Vec<&crate::plan::Step> = plan.steps.iter().collect();
    steps.sort_by_key(|s| (s.phase, s.index));
    steps
        .into_iter()
        .map(|step| {
            Ok(planned::PlannedStep {
                phase: step.phase,
                index: step.index,
                op: step.op.name(),
                target: step.op.target(),
                planned: step.op.plan(dialect)?,
            })
        })
        .collect()
}
