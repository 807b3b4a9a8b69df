//! Operations: one file per `op`, one [`Operation`] trait, one registry ([`Op`] and [`OPS`]).
//!
//! The TOML name, the file name and the type name are the same words: `op = "set_not_null"`,
//! `ops/set_not_null.rs`, `SetNotNull`. Each file holds the operation's parameters and how they
//! are read. Operations are plain data: the SQL for each database lives in `crate::dialect`,
//! which turns an [`Op`] into statements with one `match` (`dialect::plan_op`).

pub mod add_check;
pub mod add_column;
pub mod add_foreign_key;
pub mod add_index;
pub mod add_primary_key;
pub mod add_unique;
pub mod backfill;
pub mod change_type;
pub mod create_table;
pub mod drop_column;
pub mod drop_constraint;
pub mod drop_default;
pub mod drop_index;
pub mod drop_not_null;
pub mod drop_sync;
pub mod drop_table;
pub mod guard;
pub mod rename_column;
pub mod rename_constraint;
pub mod rename_index;
pub mod rename_table;
pub mod set_comment;
pub mod set_default;
pub mod set_not_null;
pub mod set_replica_identity;

pub use set_replica_identity::ReplicaIdentity;
pub use sync_column::ReverseSync;
pub mod sql;
pub mod sync_column;
pub mod version;

use serde::Serialize;

use crate::vocab::reader::{KeyInfo, TableReader};
use crate::vocab::Phase;

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

    /// The plan's own SQL in this step (expressions, types, queries), each with its key, so an
    /// error the database finds in one can point at it.
    fn expressions(&self) -> Vec<Expression<'_>> {
        Vec::new()
    }
}

/// A piece of SQL written in the plan: the key it is the value of, and the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expression<'a> {
    /// `set`, `where`, `from`, `query`, `up`, `type`, `default`, `check`, ….
    pub key: &'static str,
    pub text: &'a str,
}

impl<'a> Expression<'a> {
    pub fn new(key: &'static str, text: &'a str) -> Expression<'a> {
        Expression { key, text }
    }
}

/// Static facts about an operation, for validation and the schema.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    pub name: &'static str,
    pub phases: &'static [Phase],
    pub doc: &'static str,
    /// Lists the keys the operation reads (see [`crate::vocab::reader::probe_keys`]).
    pub keys: fn() -> Vec<KeyInfo>,
    /// Reads the operation from a step table.
    pub read: fn(&mut TableReader<'_, '_>) -> Option<Op>,
}

/// Builds [`Op`] (one variant per operation type) and [`OPS`] (the registry) from one list, so
/// the two cannot disagree; the `derived` operations are steps bellows adds to a plan itself,
/// in [`Op`] but not in the registry. The modules themselves are declared above, as plain `mod` lines.
macro_rules! operations {
    ($($module:ident => $ty:ident),* $(,)? ; derived: $($dmodule:ident => $dty:ident),* $(,)?) => {
        $(pub use $module::$ty;)*
        $(pub use $dmodule::$dty;)*

        /// Any operation of a plan.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "op", rename_all = "snake_case")]
        pub enum Op {
            $($ty($ty),)*
            $($dty($dty),)*
        }

        /// Every operation, in the order the README's table of operations lists them.
        pub const OPS: &[OpSpec] = &[
            $(OpSpec {
                name: <$ty as Operation>::NAME,
                phases: <$ty as Operation>::PHASES,
                doc: <$ty as Operation>::DOC,
                keys: || crate::vocab::reader::probe_keys(<$ty as Operation>::read),
                read: |r| <$ty as Operation>::read(r).map(Op::$ty),
            },)*
        ];

        impl Op {
            pub fn name(&self) -> &'static str {
                match self { $(Op::$ty(_) => <$ty as Operation>::NAME,)* $(Op::$dty(_) => <$dty as Operation>::NAME,)* }
            }

            pub fn phases(&self) -> &'static [Phase] {
                match self { $(Op::$ty(_) => <$ty as Operation>::PHASES,)* $(Op::$dty(_) => <$dty as Operation>::PHASES,)* }
            }

            pub fn target(&self) -> String {
                match self { $(Op::$ty(op) => op.target(),)* $(Op::$dty(op) => op.target(),)* }
            }

            pub fn expressions(&self) -> Vec<Expression<'_>> {
                match self { $(Op::$ty(op) => op.expressions(),)* $(Op::$dty(op) => op.expressions(),)* }
            }

            /// What the step does, as canonical JSON (keys sorted), for the ledger to remember:
            /// an applied step whose definition is unchanged may be reformatted, commented or
            /// re-throttled freely. A backfill's pacing (`batch_size`, `pause`,
            /// `target_batch_time`, `max_lag`, `throttle_query`, `parallel`) is not part of it.
            pub fn definition(&self) -> String {
                let mut value = serde_json::to_value(self).unwrap_or_default();
                if let (Op::Backfill(_), Some(object)) = (self, value.as_object_mut()) {
                    for pacing in ["batch_size", "pause", "target_batch_time", "max_lag", "throttle_query", "parallel"] {
                        object.remove(pacing);
                    }
                }
                canonical(&value)
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
    add_unique => AddUnique,
    add_primary_key => AddPrimaryKey,
    sync_column => SyncColumn,
    backfill => Backfill,
    set_default => SetDefault,
    drop_default => DropDefault,
    drop_not_null => DropNotNull,
    set_comment => SetComment,
    rename_index => RenameIndex,
    rename_constraint => RenameConstraint,
    set_replica_identity => SetReplicaIdentity,
    guard => Guard,
    sql => Sql,
    set_not_null => SetNotNull,
    drop_sync => DropSync,
    drop_index => DropIndex,
    drop_constraint => DropConstraint,
    rename_column => RenameColumn,
    rename_table => RenameTable,
    change_type => ChangeType,
    drop_column => DropColumn,
    drop_table => DropTable,
    ;
    // Steps bellows adds to a plan (never written in one, so not in `OPS`).
    derived: version => Version,
}

/// JSON with every object's keys sorted.
fn canonical(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<_> = map.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for key in keys {
                    out.insert(key.clone(), sorted(&map[key]));
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    sorted(value).to_string()
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
