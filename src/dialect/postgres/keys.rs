//! PostgreSQL keys on existing tables: `add_unique` and `add_primary_key`, each a unique index
//! built concurrently and then attached as the constraint (`ADD CONSTRAINT … USING INDEX`).

use crate::dialect::common::{self, column_list};
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Special, Statement, TableEffect,
    Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::naming::not_null_check_name;
use crate::vocab::TableName;

use super::Postgres;

pub(super) fn add_unique(pg: &Postgres, op: &AddUnique) -> Result<PlannedOp, Unsupported> {
    let name = op.constraint_name();
    let mut actions = vec![Action::Execute(pg.unique_index(
        &op.table,
        &name,
        &op.columns,
        &op.include,
    ))];
    actions.push(Action::Execute(pg.attach_index(&op.table, &name, "UNIQUE")));
    Ok(PlannedOp {
        actions,
        undo: Undo::Actions(pg.drop_key(&op.table, &name)),
        notes: vec![
            "CONCURRENTLY: reads and writes continue during the build; a duplicate fails the step, naming the duplicated key, and the INVALID index it leaves is dropped".into(),
            "USING INDEX attaches the built index as the constraint: catalog-only, the lock is held only for an instant".into(),
        ],
    })
}

pub(super) fn add_primary_key(pg: &Postgres, op: &AddPrimaryKey) -> Result<PlannedOp, Unsupported> {
    let name = op.constraint_name();
    let mut actions: Vec<Action> = op
        .columns
        .iter()
        .map(|c| Action::Guard(common::null_count(pg, &op.table, c)))
        .collect();
    actions.push(Action::Capture(
        pg.previous_nullabilities(&op.table, &op.columns),
    ));
    for column in &op.columns {
        actions.extend(pg.not_null_path(&op.table, column));
    }
    actions.push(Action::Execute(pg.unique_index(
        &op.table,
        &name,
        &op.columns,
        &[],
    )));
    actions.push(Action::Execute(pg.attach_index(
        &op.table,
        &name,
        "PRIMARY KEY",
    )));
    let mut undo = pg.drop_key(&op.table, &name);
    undo.push(Action::ExecuteSaved(ExecuteSaved {
        name: "previous_nullability",
        description: format!(
            "drop NOT NULL on the key columns of {} that were nullable before, and the helper checks",
            op.table
        ),
        lock: Lock::AccessExclusive,
        table: Some(op.table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    }));
    Ok(PlannedOp {
        actions,
        undo: Undo::Actions(undo),
        notes: vec![
            "each key column is made NOT NULL as set_not_null does: a CHECK (… IS NOT NULL) NOT VALID, VALIDATE without blocking writes, then SET NOT NULL without a scan".into(),
            "CONCURRENTLY: reads and writes continue during the build; a duplicate fails the step, naming the duplicated key, and the INVALID index it leaves is dropped".into(),
            "USING INDEX attaches the built index as the primary key: catalog-only, the lock is held only for an instant".into(),
        ],
    })
}

impl Postgres {
    /// `CREATE UNIQUE INDEX CONCURRENTLY name ON table (columns) [INCLUDE (…)]`.
    fn unique_index(
        &self,
        table: &TableName,
        name: &str,
        columns: &[String],
        include: &[String],
    ) -> Statement {
        let mut sql = format!(
            "CREATE UNIQUE INDEX CONCURRENTLY {} ON {} ({})",
            self.ident(name),
            self.table(table),
            column_list(self, columns)
        );
        if !include.is_empty() {
            sql.push_str(&format!(" INCLUDE ({})", column_list(self, include)));
        }
        Statement::ddl(sql, Lock::ShareUpdateExclusive, table)
            .effect(TableEffect::Scan)
            .outside_transaction()
            .policy(LockPolicy::Long)
            .special(Special::CreateIndexConcurrently {
                index: self.in_schema_of(table, name),
            })
    }

    /// `ALTER TABLE … ADD CONSTRAINT name UNIQUE|PRIMARY KEY USING INDEX name`.
    fn attach_index(&self, table: &TableName, name: &str, kind: &str) -> Statement {
        Statement::ddl(
            self.alter(
                table,
                format!(
                    "ADD CONSTRAINT {} {kind} USING INDEX {}",
                    self.ident(name),
                    self.ident(name)
                ),
            ),
            Lock::AccessExclusive,
            table,
        )
    }

    /// Undo of a key: the constraint (and with it its index), then the index alone in case the
    /// step stopped before attaching it.
    fn drop_key(&self, table: &TableName, name: &str) -> Vec<Action> {
        vec![
            Action::Execute(self.drop_constraint_if_exists(table, name)),
            Action::Execute(
                Statement::ddl(
                    format!(
                        "DROP INDEX CONCURRENTLY IF EXISTS {}",
                        self.in_schema_of(table, name)
                    ),
                    Lock::ShareUpdateExclusive,
                    table,
                )
                .outside_transaction()
                .policy(LockPolicy::Long)
                .special(Special::Concurrently),
            ),
        ]
    }

    /// `set_not_null`'s path for one column: a CHECK (… IS NOT NULL) NOT VALID, VALIDATE
    /// (blocks neither reads nor writes), SET NOT NULL (no scan on PostgreSQL 12+), and the
    /// helper check dropped.
    pub(super) fn not_null_path(&self, table: &TableName, column: &str) -> Vec<Action> {
        let quoted = self.ident(column);
        let check = not_null_check_name(table, column);
        let ddl = |action: String| {
            Statement::ddl(self.alter(table, action), Lock::AccessExclusive, table)
        };
        vec![
            Action::Execute(ddl(format!(
                "ADD CONSTRAINT {} CHECK ({quoted} IS NOT NULL) NOT VALID",
                self.ident(&check)
            ))),
            Action::Execute(self.validate(table, &check)),
            Action::Execute(ddl(format!("ALTER COLUMN {quoted} SET NOT NULL"))),
            Action::Execute(ddl(format!("DROP CONSTRAINT {}", self.ident(&check)))),
        ]
    }

    /// The one statement that restores the nullability of `columns` (dropping NOT NULL on those
    /// that were nullable) and drops their helper checks, saved as `previous_nullability`.
    fn previous_nullabilities(&self, table: &TableName, columns: &[String]) -> Capture {
        let mut parts: Vec<String> = columns
            .iter()
            .map(|column| {
                format!(
                    "(SELECT CASE WHEN a.attnotnull THEN NULL ELSE {} END\n    FROM pg_attribute a WHERE a.attrelid = {} AND a.attname = {} AND NOT a.attisdropped)",
                    quote_literal(&format!("ALTER COLUMN {} DROP NOT NULL", self.ident(column))),
                    self.regclass(table),
                    quote_literal(column)
                )
            })
            .collect();
        parts.extend(columns.iter().map(|column| {
            quote_literal(&format!(
                "DROP CONSTRAINT IF EXISTS {}",
                self.ident(&not_null_check_name(table, column))
            ))
        }));
        Capture {
            name: "previous_nullability",
            description: format!(
                "which key columns of {table} were nullable, as the SQL that restores them"
            ),
            query: format!(
                "SELECT {} || concat_ws(', ',\n  {})",
                quote_literal(&format!("ALTER TABLE {} ", self.table(table))),
                parts.join(",\n  ")
            ),
            missing: None,
        }
    }
}
