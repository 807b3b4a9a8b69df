//! `set_replica_identity`: what logical replication logs of a row's old version.

use serde::Serialize;

use super::{Operation, ANY_PHASE};
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaIdentity {
    Default,
    Full,
    Nothing,
    /// A unique, non-partial index on NOT NULL columns.
    Index(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetReplicaIdentity {
    pub table: TableName,
    pub identity: ReplicaIdentity,
}

fn read_index(r: &mut TableReader<'_, '_>) -> Option<String> {
    r.req_str(
        "index",
        KeyKind::Identifier,
        "a unique, non-partial index on NOT NULL columns",
    )
}

impl Operation for SetReplicaIdentity {
    const NAME: &'static str = "set_replica_identity";
    const PHASES: &'static [Phase] = ANY_PHASE;
    const DOC: &'static str = "Set the replica identity (default, full, nothing or { index = \"…\" }); rollback restores the previous one.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table");
        let identity = r.one_of_or_table(
            "identity",
            &["default", "full", "nothing"],
            "`default`, `full`, `nothing`, or `{ index = \"…\" }`",
            read_index,
        );
        let identity = match identity? {
            Ok("full") => ReplicaIdentity::Full,
            Ok("nothing") => ReplicaIdentity::Nothing,
            Ok(_) => ReplicaIdentity::Default,
            Err(index) => ReplicaIdentity::Index(index),
        };
        Some(SetReplicaIdentity {
            table: table?,
            identity,
        })
    }

    fn target(&self) -> String {
        format!("replica identity of {}", self.table)
    }
}
