//! PostgreSQL `set_replica_identity`, the previous identity saved for rollback.

use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;

use super::Postgres;

pub(super) fn set_replica_identity(
    pg: &Postgres,
    op: &SetReplicaIdentity,
) -> Result<PlannedOp, Unsupported> {
    let identity = match &op.identity {
        ReplicaIdentity::Default => "DEFAULT".to_string(),
        ReplicaIdentity::Full => "FULL".to_string(),
        ReplicaIdentity::Nothing => "NOTHING".to_string(),
        ReplicaIdentity::Index(index) => format!("USING INDEX {}", pg.ident(index)),
    };
    let prefix = pg.alter(&op.table, "REPLICA IDENTITY ");
    let capture = Capture {
        name: "previous_replica_identity",
        description: format!("the current replica identity of {}", op.table),
        query: format!(
            "SELECT {} || CASE c.relreplident\n    WHEN 'f' THEN 'FULL'\n    WHEN 'n' THEN 'NOTHING'\n    WHEN 'i' THEN 'USING INDEX ' || quote_ident((SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid\n                                                 WHERE i.indrelid = c.oid AND i.indisreplident))\n    ELSE 'DEFAULT' END\nFROM pg_class c\nWHERE c.oid = {}",
            quote_literal(&prefix),
            pg.regclass(&op.table)
        ),
        missing: None,
    };
    let restore = ExecuteSaved {
        name: "previous_replica_identity",
        description: format!("restore the previous replica identity of {}", op.table),
        lock: Lock::AccessExclusive,
        table: Some(op.table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    Ok(PlannedOp {
        actions: vec![
            Action::Capture(capture),
            Action::Execute(Statement::ddl(
                format!("{prefix}{identity}"),
                Lock::AccessExclusive,
                &op.table,
            )),
        ],
        undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
        notes: vec![
            "catalog-only: the lock is held only for an instant; it changes what logical replication logs of updated and deleted rows from the next write on".into(),
            "the previous identity is saved in the ledger; rollback restores it".into(),
        ],
    })
}
