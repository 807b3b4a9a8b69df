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

use super::Postgres;

/// Functions PostgreSQL marks VOLATILE that people put in defaults. A volatile default makes
/// `ADD COLUMN` rewrite the table; a non-volatile one is stored in the catalog (PG 11+).
const VOLATILE_FUNCTIONS: &[&str] = &[
    "random(",
    "gen_random_uuid(",
    "uuid_generate_v1(",
    "uuid_generate_v1mc(",
    "uuid_generate_v4(",
    "uuidv4(",
    "uuidv7(",
    "clock_timestamp(",
    "timeofday(",
    "nextval(",
    "setseed(",
];

/// Column types that bring a volatile default or a computed value with them.
const REWRITING_TYPES: &[&str] = &[
    "serial",
    "bigserial",
    "smallserial",
    "serial4",
    "serial8",
    "serial2",
];

fn volatile_default(op: &AddColumn) -> Option<String> {
    let type_ = op.type_.trim().to_ascii_lowercase();
    if REWRITING_TYPES.contains(&type_.as_str()) {
        return Some(format!(
            "the type `{}` brings a `nextval()` default, which is volatile",
            op.type_
        ));
    }
    if type_.contains("generated") {
        return Some(format!(
            "`{}` is a generated or identity column, computed for every existing row",
            op.type_
        ));
    }
    let default = op.default.as_ref()?.to_ascii_lowercase().replace(' ', "");
    VOLATILE_FUNCTIONS
        .iter()
        .find(|f| default.contains(*f))
        .map(|f| format!("the default calls `{})`, which is volatile", f))
}

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
    match volatile_default(op) {
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
    Ok(PlannedOp {
        actions: vec![Action::Execute(add)],
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

pub(super) fn drop_column(pg: &Postgres, op: &DropColumn) -> Result<PlannedOp, Unsupported> {
    Ok(PlannedOp {
        actions: vec![Action::Execute(Statement::ddl(
            pg.alter(&op.table, format!("DROP COLUMN {}", pg.ident(&op.column))),
            Lock::AccessExclusive,
            &op.table,
        ))],
        undo: Undo::Irreversible(format!(
            "dropping {}.{} destroys its data",
            op.table, op.column
        )),
        notes: vec![
            "catalog-only: PostgreSQL marks the column dropped and reclaims the space on later writes; the lock is held only for an instant".into(),
            "indexes, constraints and views that use the column must be gone first (no CASCADE)".into(),
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
        }
    }

    /// `set_default` / `drop_default`: the previous default is saved first, as the SQL that
    /// restores it.
    pub(super) fn change_default(
        &self,
        table: &TableName,
        column: &str,
        change: String,
    ) -> PlannedOp {
        let alter_column = self.alter(table, format!("ALTER COLUMN {} ", self.ident(column)));
        let capture = Capture {
            name: "previous_default",
            description: format!("the current default of {table}.{column}, as the SQL that restores it"),
            query: format!(
                "SELECT COALESCE({} || pg_get_expr(d.adbin, d.adrelid),\n                {})\nFROM pg_attribute a\nLEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum\nWHERE a.attrelid = {} AND a.attname = {} AND NOT a.attisdropped",
                quote_literal(&format!("{alter_column}SET DEFAULT ")),
                quote_literal(&format!("{alter_column}DROP DEFAULT")),
                self.regclass(table),
                quote_literal(column)
            ),
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
