//! PostgreSQL columns: `add_column` (and when its default rewrites the table), `set_default`,
//! `drop_default`, `set_not_null` through a validated check, and `drop_column`.

use crate::dialect::common;
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::naming::not_null_check_name;
use crate::vocab::TableName;

use super::{sync_probe, Postgres};

pub(super) fn add_column(pg: &Postgres, op: &AddColumn) -> Result<PlannedOp, Unsupported> {
    let mut definition = format!("{} {}", pg.ident(&op.column), op.type_);
    if !op.nullable {
        definition.push_str(" NOT NULL");
    }
    if let Some(default) = &op.default {
        definition.push_str(&format!(" DEFAULT {default}"));
    }
    let mut add = Statement::ddl(
        pg.alter(&op.table, format!("ADD COLUMN {definition}")),
        Lock::AccessExclusive,
        &op.table,
    );
    let mut notes = Vec::new();
    match op.volatile_default() {
        Some(why) => {
            add = add.effect(TableEffect::Rewrite);
            notes.push(format!(
                "{why}: PostgreSQL rewrites the whole table while holding ACCESS EXCLUSIVE, blocking reads and writes until it is done; add the column without it and fill it in the backfill phase instead"
            ));
        }
        None if op.default.is_some() => notes.push(
            "PostgreSQL 11+ stores a non-volatile default in the catalog: no rewrite, the lock is held only for an instant".into(),
        ),
        None => notes.push("catalog-only change: the lock is held only for an instant".into()),
    }
    let mut actions = vec![Action::Execute(add)];
    if let Some(comment) = &op.comment {
        actions.push(Action::Execute(pg.comment(
            &op.table,
            Some(&op.column),
            comment,
        )));
    }
    Ok(PlannedOp {
        actions,
        undo: Undo::Actions(vec![Action::Execute(Statement::ddl(
            pg.alter(
                &op.table,
                format!("DROP COLUMN IF EXISTS {}", pg.ident(&op.column)),
            ),
            Lock::AccessExclusive,
            &op.table,
        ))]),
        notes,
    })
}

pub(super) fn set_default(pg: &Postgres, op: &SetDefault) -> Result<PlannedOp, Unsupported> {
    Ok(pg.change_default(&op.table, &op.column, format!("SET DEFAULT {}", op.default)))
}

pub(super) fn drop_default(pg: &Postgres, op: &DropDefault) -> Result<PlannedOp, Unsupported> {
    Ok(pg.change_default(&op.table, &op.column, "DROP DEFAULT".into()))
}

pub(super) fn set_not_null(pg: &Postgres, op: &SetNotNull) -> Result<PlannedOp, Unsupported> {
    let column = pg.ident(&op.column);
    let check = not_null_check_name(&op.table, &op.column);
    let add_check = Statement::ddl(
        pg.alter(
            &op.table,
            format!(
                "ADD CONSTRAINT {} CHECK ({column} IS NOT NULL) NOT VALID",
                pg.ident(&check)
            ),
        ),
        Lock::AccessExclusive,
        &op.table,
    );
    let set = Statement::ddl(
        pg.alter(&op.table, format!("ALTER COLUMN {column} SET NOT NULL")),
        Lock::AccessExclusive,
        &op.table,
    );
    let drop_check = Statement::ddl(
        pg.alter(&op.table, format!("DROP CONSTRAINT {}", pg.ident(&check))),
        Lock::AccessExclusive,
        &op.table,
    );
    let capture = pg.previous_nullability(op, &check);
    let undo = ExecuteSaved {
        name: "previous_nullability",
        description: format!(
            "drop NOT NULL on {}.{} unless it was NOT NULL before, and the helper check",
            op.table, op.column
        ),
        lock: Lock::AccessExclusive,
        table: Some(op.table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    Ok(PlannedOp {
        actions: vec![
            Action::Guard(common::null_count(pg, &op.table, &op.column)),
            Action::Capture(capture),
            Action::Execute(add_check),
            Action::Execute(pg.validate(&op.table, &check)),
            Action::Execute(set),
            Action::Execute(drop_check),
        ],
        undo: Undo::Actions(vec![Action::ExecuteSaved(undo)]),
        notes: vec![
            "the full-table scan happens in VALIDATE, which blocks neither reads nor writes".into(),
            "PostgreSQL 12+ sees the valid CHECK (… IS NOT NULL) and skips the scan in SET NOT NULL: the ACCESS EXCLUSIVE lock is held only for an instant".into(),
        ],
    })
}

pub(super) fn drop_not_null(pg: &Postgres, op: &DropNotNull) -> Result<PlannedOp, Unsupported> {
    let drop = Statement::ddl(
        pg.alter(
            &op.table,
            format!("ALTER COLUMN {} DROP NOT NULL", pg.ident(&op.column)),
        ),
        Lock::AccessExclusive,
        &op.table,
    );
    let mut actions = previous_not_null(pg, op);
    actions.push(Action::Execute(drop));
    Ok(PlannedOp {
        actions,
        undo: Undo::Actions(restore_not_null(op)),
        notes: vec![
            "catalog-only: the lock is held only for an instant".into(),
            "rollback makes the column NOT NULL again as set_not_null does (a validated check, then SET NOT NULL without a scan), and only if it was NOT NULL before; it refuses while NULLs are in the column".into(),
        ],
    })
}

/// `drop_not_null`'s captures: set_not_null's three statements for the column, each saved as
/// SQL that does nothing unless the column is NOT NULL before the step.
fn previous_not_null(pg: &Postgres, op: &DropNotNull) -> Vec<Action> {
    let column = pg.ident(&op.column);
    let check = not_null_check_name(&op.table, &op.column);
    // NOTE: the undo is set_not_null's path, but only for a column that was NOT NULL before the
    // step: each of its three statements is saved as SQL that does nothing otherwise.
    let nothing = quote_literal("SELECT 'nothing to restore'");
    let when_not_null = |name: &'static str, description: String, sql: String| {
        Capture {
        name,
        description,
        query: format!(
            "SELECT CASE WHEN a.attnotnull THEN {} ELSE {nothing} END\nFROM pg_attribute a\nWHERE a.attrelid = {} AND a.attname = {} AND NOT a.attisdropped",
            quote_literal(&sql),
            pg.regclass(&op.table),
            quote_literal(&op.column)
        ),
        missing: None,
    }
    };
    let captures = [
        when_not_null(
            "not_null_check",
            format!(
                "whether {}.{} is NOT NULL: the helper check that restores it",
                op.table, op.column
            ),
            pg.alter(
                &op.table,
                format!(
                    "ADD CONSTRAINT {} CHECK ({column} IS NOT NULL) NOT VALID",
                    pg.ident(&check)
                ),
            ),
        ),
        when_not_null(
            "not_null_validate",
            format!(
                "how to validate the helper check on {}.{}",
                op.table, op.column
            ),
            pg.alter(
                &op.table,
                format!("VALIDATE CONSTRAINT {}", pg.ident(&check)),
            ),
        ),
        when_not_null(
            "not_null_set",
            format!("how to set {}.{} NOT NULL again", op.table, op.column),
            pg.alter(
                &op.table,
                format!(
                    "ALTER COLUMN {column} SET NOT NULL, DROP CONSTRAINT {}",
                    pg.ident(&check)
                ),
            ),
        ),
    ];
    captures.into_iter().map(Action::Capture).collect()
}

/// `drop_not_null`'s undo: the statements [`previous_not_null`] saved, in order.
fn restore_not_null(op: &DropNotNull) -> Vec<Action> {
    let check = not_null_check_name(&op.table, &op.column);
    let saved = |name: &'static str, description: String, lock: Lock, validate: bool| {
        Action::ExecuteSaved(ExecuteSaved {
            name,
            description,
            lock,
            table: Some(op.table.clone()),
            effect: if validate {
                TableEffect::Scan
            } else {
                TableEffect::None
            },
            transaction: !validate,
            policy: if validate {
                LockPolicy::Long
            } else {
                LockPolicy::Short
            },
            special: None,
        })
    };
    vec![
        saved(
            "not_null_check",
            format!(
                "ADD CONSTRAINT {check} CHECK ({} IS NOT NULL) NOT VALID (when it was NOT NULL)",
                op.column
            ),
            Lock::AccessExclusive,
            false,
        ),
        saved(
            "not_null_validate",
            format!("VALIDATE CONSTRAINT {check} (when it was NOT NULL)"),
            Lock::ShareUpdateExclusive,
            true,
        ),
        saved(
            "not_null_set",
            format!(
                "SET NOT NULL on {}, then DROP CONSTRAINT {check} (when it was NOT NULL)",
                op.column
            ),
            Lock::AccessExclusive,
            false,
        ),
    ]
}

pub(super) fn drop_column(pg: &Postgres, op: &DropColumn) -> Result<PlannedOp, Unsupported> {
    let change = format!("DROP COLUMN {}", pg.ident(&op.column));
    let probe = sync_probe::syncs_still_resolve_sql(
        pg,
        &op.table,
        &change,
        &format!("drop_column {}.{}", op.table, op.column),
    );
    Ok(PlannedOp {
        actions: vec![
            Action::Execute(Statement::ddl(probe, Lock::AccessShare, &op.table)),
            Action::Execute(Statement::ddl(
                pg.alter(&op.table, change),
                Lock::AccessExclusive,
                &op.table,
            )),
        ],
        undo: Undo::Irreversible(format!(
            "dropping {}.{} destroys its data",
            op.table, op.column
        )),
        notes: vec![
            "catalog-only: PostgreSQL marks the column dropped and reclaims the space on later writes; the lock is held only for an instant".into(),
            "indexes, constraints and views that use the column must be gone first (no CASCADE)".into(),
            "a sync trigger that still names the column (one an earlier plan made, say) fails the step before the drop: each sync function of the table is run once on a row of NULLs in a temporary copy of the table without the column, and must find every column it names".into(),
        ],
    })
}

impl Postgres {
    /// For `set_not_null`'s undo: captures the SQL that restores the column's nullability.
    // NOTE: the undo also drops the helper check, in case the step stopped between adding
    // and dropping it; it drops NOT NULL only if the column was nullable before the step
    // (the capture records which), so undoing a no-op leaves the column as it was.
    pub(super) fn previous_nullability(&self, op: &SetNotNull, check: &str) -> Capture {
        let column = self.ident(&op.column);
        let drop_only_check = self.alter(
            &op.table,
            format!("DROP CONSTRAINT IF EXISTS {}", self.ident(check)),
        );
        let drop_both = self.alter(
            &op.table,
            format!(
                "ALTER COLUMN {column} DROP NOT NULL, DROP CONSTRAINT IF EXISTS {}",
                self.ident(check)
            ),
        );
        Capture {
            name: "previous_nullability",
            description: format!(
                "whether {}.{} was already NOT NULL, as the SQL that restores it",
                op.table, op.column
            ),
            query: format!(
                "SELECT CASE WHEN a.attnotnull THEN {} ELSE {} END\nFROM pg_attribute a\nWHERE a.attrelid = {} AND a.attname = {} AND NOT a.attisdropped",
                quote_literal(&drop_only_check),
                quote_literal(&drop_both),
                self.regclass(&op.table),
                quote_literal(&op.column)
            ),
            missing: None,
        }
    }

    /// `set_default` / `drop_default`: the previous default is saved first, as the SQL that
    /// restores it.
    /// A query whose one row is the SQL that gives `table.column` back the default it has now
    /// (`… SET DEFAULT <expression>`, or `… DROP DEFAULT`).
    pub(super) fn previous_default_query(&self, table: &TableName, column: &str) -> String {
        let alter_column = self.alter(table, format!("ALTER COLUMN {} ", self.ident(column)));
        format!(
            "SELECT COALESCE({} || pg_get_expr(d.adbin, d.adrelid),\n                {})\nFROM pg_attribute a\nLEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum\nWHERE a.attrelid = {} AND a.attname = {} AND NOT a.attisdropped",
            quote_literal(&format!("{alter_column}SET DEFAULT ")),
            quote_literal(&format!("{alter_column}DROP DEFAULT")),
            self.regclass(table),
            quote_literal(column)
        )
    }

    pub(super) fn change_default(
        &self,
        table: &TableName,
        column: &str,
        change: String,
    ) -> PlannedOp {
        let alter_column = self.alter(table, format!("ALTER COLUMN {} ", self.ident(column)));
        let capture = Capture {
            name: "previous_default",
            description: format!(
                "the current default of {table}.{column}, as the SQL that restores it"
            ),
            query: self.previous_default_query(table, column),
            missing: None,
        };
        let execute = Statement::ddl(
            format!("{alter_column}{change}"),
            Lock::AccessExclusive,
            table,
        );
        let restore = ExecuteSaved {
            name: "previous_default",
            description: format!("restore the previous default of {table}.{column}"),
            lock: Lock::AccessExclusive,
            table: Some(table.clone()),
            effect: TableEffect::None,
            transaction: true,
            policy: LockPolicy::Short,
            special: None,
        };
        PlannedOp {
            actions: vec![Action::Capture(capture), Action::Execute(execute)],
            undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
            notes: vec![
                "catalog-only: affects rows inserted from now on; the lock is held only for an instant".into(),
            ],
        }
    }
}
