//! PostgreSQL constraints: `add_foreign_key` and `add_check` as NOT VALID then VALIDATE, and
//! `drop_constraint` with its definition saved for rollback.

use crate::dialect::common::{column_list, foreign_key_actions};
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

use super::Postgres;

pub(super) fn add_foreign_key(pg: &Postgres, op: &AddForeignKey) -> Result<PlannedOp, Unsupported> {
    let name = op.constraint_name();
    let add = Statement::ddl(
        pg.alter(
            &op.table,
            format!(
                "ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){} NOT VALID",
                pg.ident(&name),
                column_list(pg, &op.columns),
                pg.table(&op.references.table),
                column_list(pg, &op.references.columns),
                foreign_key_actions(&op.actions)
            ),
        ),
        Lock::ShareRowExclusive,
        &op.table,
    );
    Ok(PlannedOp {
        actions: vec![
            Action::Execute(add),
            Action::Execute(pg.validate(&op.table, &name)),
        ],
        undo: Undo::Actions(vec![Action::Execute(
            pg.drop_constraint_if_exists(&op.table, &name),
        )]),
        notes: vec![
            format!(
                "NOT VALID: new writes are checked at once, existing rows only by VALIDATE; adding it also takes SHARE ROW EXCLUSIVE on {} (blocks its writes for an instant)",
                op.references.table
            ),
            format!(
                "VALIDATE also takes ROW SHARE on {}, which blocks neither reads nor writes",
                op.references.table
            ),
            format!(
                "rollback's DROP CONSTRAINT also takes ACCESS EXCLUSIVE on {}",
                op.references.table
            ),
        ],
    })
}

pub(super) fn add_check(pg: &Postgres, op: &AddCheck) -> Result<PlannedOp, Unsupported> {
    let add = Statement::ddl(
        pg.alter(
            &op.table,
            format!(
                "ADD CONSTRAINT {} CHECK ({}) NOT VALID",
                pg.ident(&op.name),
                op.check
            ),
        ),
        Lock::AccessExclusive,
        &op.table,
    );
    Ok(PlannedOp {
        actions: vec![
            Action::Execute(add),
            Action::Execute(pg.validate(&op.table, &op.name)),
        ],
        undo: Undo::Actions(vec![Action::Execute(
            pg.drop_constraint_if_exists(&op.table, &op.name),
        )]),
        notes: vec![
            "NOT VALID: new writes are checked at once, existing rows only by VALIDATE, which blocks neither reads nor writes".into(),
        ],
    })
}

pub(super) fn drop_constraint(
    pg: &Postgres,
    op: &DropConstraint,
) -> Result<PlannedOp, Unsupported> {
    let lookup = format!(
        "FROM pg_constraint c\nWHERE c.conrelid = {} AND c.conname = {}",
        pg.regclass(&op.table),
        quote_literal(&op.name)
    );
    let add_prefix = pg.alter(&op.table, format!("ADD CONSTRAINT {} ", pg.ident(&op.name)));
    let validate_sql = pg.alter(
        &op.table,
        format!("VALIDATE CONSTRAINT {}", pg.ident(&op.name)),
    );
    // NOTE: only CHECK and FOREIGN KEY constraints can be added NOT VALID; one that was
    // already NOT VALID keeps it (pg_get_constraintdef says so) and is not validated.
    let capture_definition = Capture {
        name: "constraint_definition",
        description: format!("the definition of constraint {} on {}", op.name, op.table),
        query: format!(
            "SELECT {}\n       || pg_get_constraintdef(c.oid)\n       || CASE WHEN c.contype IN ('c', 'f') AND c.convalidated THEN ' NOT VALID' ELSE '' END\n{lookup}",
            quote_literal(&add_prefix)
        ),
        missing: Some(format!(
            "SELECT CASE WHEN to_regclass({}) IS NOT NULL\n            THEN {}\n            ELSE {} END",
            quote_literal(&pg.in_schema_of(&op.table, &op.name)),
            quote_literal(&format!(
                "{} is an index, not a constraint: use drop_index to drop it",
                op.name
            )),
            quote_literal(&format!("{} has no constraint named {}", op.table, op.name))
        )),
    };
    let capture_validate = Capture {
        name: "constraint_validate",
        description: format!("how to validate constraint {} again", op.name),
        query: format!(
            "SELECT CASE WHEN c.contype IN ('c', 'f') AND c.convalidated\n            THEN {}\n            ELSE {} END\n{lookup}",
            quote_literal(&validate_sql),
            quote_literal("SELECT 'nothing to validate'")
        ),
        missing: None,
    };
    let drop = Statement::ddl(
        pg.alter(&op.table, format!("DROP CONSTRAINT {}", pg.ident(&op.name))),
        Lock::AccessExclusive,
        &op.table,
    );
    let restore = ExecuteSaved {
        name: "constraint_definition",
        description: format!("add constraint {} again from its saved definition (NOT VALID for a check or foreign key)", op.name),
        lock: Lock::AccessExclusive,
        table: Some(op.table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    let revalidate = ExecuteSaved {
        name: "constraint_validate",
        description: format!("VALIDATE CONSTRAINT {} (when it was valid)", op.name),
        lock: Lock::ShareUpdateExclusive,
        table: Some(op.table.clone()),
        effect: TableEffect::Scan,
        transaction: false,
        policy: LockPolicy::Long,
        special: None,
    };
    Ok(PlannedOp {
        actions: vec![
            Action::Capture(capture_definition),
            Action::Capture(capture_validate),
            Action::Execute(drop),
        ],
        undo: Undo::Actions(vec![
            Action::ExecuteSaved(restore),
            Action::ExecuteSaved(revalidate),
        ]),
        notes: vec![
            "the definition is saved in the ledger; rollback adds it NOT VALID, then validates it without blocking writes".into(),
            "dropping a foreign key also takes ACCESS EXCLUSIVE on the referenced table".into(),
            "a unique, primary key or exclusion constraint is restored with its index built under the lock".into(),
        ],
    })
}

impl Postgres {
    /// `ALTER TABLE … VALIDATE CONSTRAINT …`: scans under SHARE UPDATE EXCLUSIVE, which blocks
    /// neither reads nor writes, so it runs alone (outside the transaction that added the
    /// constraint, whose stronger lock would otherwise be held for the whole scan).
    pub(super) fn validate(&self, table: &TableName, name: &str) -> Statement {
        Statement::ddl(
            self.alter(table, format!("VALIDATE CONSTRAINT {}", self.ident(name))),
            Lock::ShareUpdateExclusive,
            table,
        )
        .effect(TableEffect::Scan)
        .outside_transaction()
        .policy(LockPolicy::Long)
    }

    pub(super) fn drop_constraint_if_exists(&self, table: &TableName, name: &str) -> Statement {
        Statement::ddl(
            self.alter(
                table,
                format!("DROP CONSTRAINT IF EXISTS {}", self.ident(name)),
            ),
            Lock::AccessExclusive,
            table,
        )
    }
}
