//! MySQL indexes and constraints: `add_index`/`drop_index` (INPLACE, LOCK=NONE),
//! `add_foreign_key` (added without validating, then an orphan-count guard) and
//! `drop_constraint` (its definition saved for rollback).

use crate::dialect::common::column_list;
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::TableName;

use super::{Mysql, Online};

pub(super) fn add_index(my: &Mysql, op: &AddIndex) -> Result<PlannedOp, Unsupported> {
    if let Some(predicate) = &op.predicate {
        return Err(my.unsupported(
            "add_index",
            format!(
                "MySQL and MariaDB have no partial indexes (`where = \"{predicate}\"`); index the whole column, or a generated column that is NULL outside the condition"
            ),
        ));
    }
    let using = match op.method.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => String::new(),
        Some(method @ ("btree" | "hash")) => format!(" USING {}", method.to_ascii_uppercase()),
        Some(other) => {
            return Err(my.unsupported(
                "add_index",
                format!(
                    "index method `{other}` does not exist here: InnoDB indexes are BTREE (HASH is accepted and built as BTREE); for full-text search use a `sql` step with ADD FULLTEXT INDEX"
                ),
            ))
        }
    };
    let name = op.index_name();
    let add = my.online(
        &op.table,
        format!(
            "ADD {}INDEX {} ({}){using}",
            if op.unique { "UNIQUE " } else { "" },
            my.ident(&name),
            super::shapes::index_elements(my, op)?
        ),
        Online::Inplace,
    );
    let mut notes = vec![BUILD_NOTE.into()];
    if op.unique {
        notes.push(DUPLICATE_NOTE.into());
    }
    Ok(PlannedOp {
        actions: vec![Action::Execute(add)],
        undo: Undo::Actions(vec![Action::Execute(drop_built_index(
            my, &op.table, &name,
        ))]),
        notes,
    })
}

const BUILD_NOTE: &str = "ALGORITHM=INPLACE, LOCK=NONE: reads and writes continue while the index is built; the exclusive metadata lock is taken for an instant at the start and the end, each waited for at most lock_timeout";
const DUPLICATE_NOTE: &str = "a duplicate written during the build makes it fail (nothing is left behind); retry when writes are quieter";

/// The undo of an index (or unique key) this plan built: dropped online, metadata only.
fn drop_built_index(my: &Mysql, table: &TableName, name: &str) -> Statement {
    my.online(
        table,
        format!("DROP INDEX IF EXISTS {}", my.ident(name)),
        Online::Inplace,
    )
    .effect(TableEffect::None)
}

/// `add_unique`: a unique key (InnoDB's unique constraint is its unique index), built online.
pub(super) fn add_unique(my: &Mysql, op: &AddUnique) -> Result<PlannedOp, Unsupported> {
    if !op.include.is_empty() {
        return Err(my.unsupported(
            "add_unique",
            "MySQL and MariaDB indexes store no extra columns (`include`): add them to `columns` only if they belong to the unique key, or leave `include` out",
        ));
    }
    let name = op.constraint_name();
    let add = my.online(
        &op.table,
        format!(
            "ADD CONSTRAINT {} UNIQUE ({})",
            my.ident(&name),
            column_list(my, &op.columns)
        ),
        Online::Inplace,
    );
    Ok(PlannedOp {
        actions: vec![Action::Execute(add)],
        undo: Undo::Actions(vec![Action::Execute(drop_built_index(my, &op.table, &name))]),
        notes: vec![
            BUILD_NOTE.into(),
            "a duplicate among the existing rows fails the step with the server's message naming the key (`Duplicate entry … for key …`); nothing is left behind".into(),
            DUPLICATE_NOTE.into(),
        ],
    })
}

pub(super) fn drop_index(my: &Mysql, op: &DropIndex) -> Result<PlannedOp, Unsupported> {
    let Some(table) = &op.table else {
        return Err(my.unsupported(
            "drop_index",
            format!(
                "an index name belongs to its table on MySQL and MariaDB: give `table` for index {}",
                op.name
            ),
        ));
    };
    let name = &op.name.name;
    let capture = Capture {
        missing: None,
        name: "index_definition",
        description: format!("the definition of index {name} on {table}"),
        query: format!(
            "SELECT CONCAT({}, IF(MIN(NON_UNIQUE) = 0, 'UNIQUE ', ''), IF(MIN(INDEX_TYPE) = 'FULLTEXT', 'FULLTEXT ', ''), 'INDEX ', {}, ' (',\n       GROUP_CONCAT(CONCAT('`', REPLACE(COLUMN_NAME, '`', '``'), '`', IF(SUB_PART IS NULL, '', CONCAT('(', SUB_PART, ')'))) ORDER BY SEQ_IN_INDEX SEPARATOR ', '),\n       '), ALGORITHM=INPLACE, LOCK=NONE')\nFROM information_schema.STATISTICS\nWHERE {} AND INDEX_NAME = {}\nHAVING COUNT(*) > 0",
            quote_literal(&format!("ALTER TABLE {} ADD ", my.table(table))),
            quote_literal(&my.ident(name)),
            my.where_table(table),
            quote_literal(name)
        ),
    };
    let drop = my
        .online(
            table,
            format!("DROP INDEX {}", my.ident(name)),
            Online::Inplace,
        )
        .effect(TableEffect::None);
    let restore = ExecuteSaved {
        name: "index_definition",
        description: format!("build index {name} again online from its saved definition"),
        lock: Lock::Metadata,
        table: Some(table.clone()),
        effect: TableEffect::Scan,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    Ok(PlannedOp {
        actions: vec![Action::Capture(capture), Action::Execute(drop)],
        undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
        notes: vec![
            "ALGORITHM=INPLACE, LOCK=NONE: metadata only; the exclusive metadata lock is held for an instant".into(),
            "an index a foreign key needs cannot be dropped: drop the foreign key first".into(),
        ],
    })
}

pub(super) fn add_foreign_key(my: &Mysql, op: &AddForeignKey) -> Result<PlannedOp, Unsupported> {
    let name = op.constraint_name();
    // NOTE: InnoDB adds a foreign key in place (no table copy) only with foreign_key_checks
    // off; it then does not check existing rows. New writes are checked from the moment the
    // constraint exists, and the guard after it counts the rows written before.
    let add = my.online(
        &op.table,
        format!(
            "ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){}",
            my.ident(&name),
            column_list(my, &op.columns),
            my.table(&op.references.table),
            column_list(my, &op.references.columns),
            super::shapes::foreign_key_clauses(my, "add_foreign_key", &op.actions)?
        ),
        Online::Inplace,
    );
    let add = crate::dialect::planned::Statement {
        sql: format!("SET STATEMENT foreign_key_checks = 0 FOR {}", add.sql),
        // NOTE: reads every row only when InnoDB must build an index for the columns.
        effect: TableEffect::Scan,
        ..add
    };
    let orphans = orphan_check(my, op);
    // NOTE: InnoDB creates an index named after the constraint when no index starts with its
    // columns; rollback drops it too, so the table is as it was.
    let drop = my
        .online(
            &op.table,
            format!("DROP FOREIGN KEY IF EXISTS {}", my.ident(&name)),
            Online::Inplace,
        )
        .effect(TableEffect::None);
    let drop_index = my
        .online(
            &op.table,
            format!("DROP INDEX IF EXISTS {}", my.ident(&name)),
            Online::Inplace,
        )
        .effect(TableEffect::None);
    Ok(PlannedOp {
        actions: vec![Action::Execute(add), Action::Capture(orphans)],
        undo: Undo::Actions(vec![Action::Execute(drop), Action::Execute(drop_index)]),
        notes: vec![
            "added with foreign_key_checks = 0 for that one statement (SET STATEMENT, MariaDB 10.1.2+): ALGORITHM=INPLACE, LOCK=NONE, no table copy and no scan under a lock; writes are checked from then on".into(),
            "then a check looks for existing rows without their parent row; any orphan fails the step, and the phase is compensated (the constraint dropped)".into(),
            "InnoDB adds an index on the columns if none starts with them (built online); rollback drops it again".into(),
        ],
    })
}

/// The check after `add_foreign_key` that no existing row lacks its parent row.
// NOTE: a capture, not a guard: the guards of a phase run before its steps, when the
// columns may not exist yet; this check must run after the constraint is in place (so no
// orphan can be written after it). NULL (orphans found) fails the step.
fn orphan_check(my: &Mysql, op: &AddForeignKey) -> Capture {
    let joins = op
        .columns
        .iter()
        .zip(&op.references.columns)
        .map(|(c, r)| format!("p.{} = c.{}", my.ident(r), my.ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let not_null = op
        .columns
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", my.ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    Capture {
        missing: None,
        name: "orphan_check",
        description: format!(
            "the check that every row of {} has its {} row (it found orphan rows: list them with SELECT {} FROM {} c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {joins}))",
            op.table,
            op.references.table,
            column_list(my, &op.columns),
            my.table(&op.table),
            my.table(&op.references.table),
        ),
        query: format!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM {} c\n                          WHERE {not_null}\n                            AND NOT EXISTS (SELECT 1 FROM {} p WHERE {joins}))\n            THEN NULL ELSE 'no orphan rows' END",
            my.table(&op.table),
            my.table(&op.references.table)
        ),
    }
}

pub(super) fn drop_constraint(my: &Mysql, op: &DropConstraint) -> Result<PlannedOp, Unsupported> {
    let table = my.table(&op.table);
    let name = quote_literal(&op.name);
    let where_tc = my.where_table_in("tc.", &op.table);
    let where_k = my.where_table_in("k.", &op.table);
    let where_s = my.where_table_in("s.", &op.table);
    // NOTE: a foreign key comes back without checking the rows (as add_foreign_key adds it);
    // a CHECK constraint can only come back by copying the table, so only foreign keys and
    // unique constraints are dropped by this step.
    let capture = Capture {
        missing: None,
        name: "constraint_definition",
        description: format!("the definition of constraint {} on {}", op.name, op.table),
        query: format!(
            "SELECT CASE tc.CONSTRAINT_TYPE
         WHEN 'FOREIGN KEY' THEN CONCAT('SET STATEMENT foreign_key_checks = 0 FOR ALTER TABLE {table} ADD CONSTRAINT ', {ident}, ' FOREIGN KEY (',
              (SELECT GROUP_CONCAT(CONCAT('`', k.COLUMN_NAME, '`') ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') FROM information_schema.KEY_COLUMN_USAGE k WHERE {where_k} AND k.CONSTRAINT_NAME = {name}),
              ') REFERENCES `', rc.REFERENCED_TABLE_NAME, '` (',
              (SELECT GROUP_CONCAT(CONCAT('`', k.REFERENCED_COLUMN_NAME, '`') ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') FROM information_schema.KEY_COLUMN_USAGE k WHERE {where_k} AND k.CONSTRAINT_NAME = {name}),
              ')', IF(rc.DELETE_RULE = 'RESTRICT', '', CONCAT(' ON DELETE ', rc.DELETE_RULE)), IF(rc.UPDATE_RULE = 'RESTRICT', '', CONCAT(' ON UPDATE ', rc.UPDATE_RULE)), ', ALGORITHM=INPLACE, LOCK=NONE')
         WHEN 'UNIQUE' THEN CONCAT('ALTER TABLE {table} ADD CONSTRAINT ', {ident}, ' UNIQUE (',
              (SELECT GROUP_CONCAT(CONCAT('`', s.COLUMN_NAME, '`') ORDER BY s.SEQ_IN_INDEX SEPARATOR ', ') FROM information_schema.STATISTICS s WHERE {where_s} AND s.INDEX_NAME = {name}),
              '), ALGORITHM=INPLACE, LOCK=NONE')
       END
FROM information_schema.TABLE_CONSTRAINTS tc
LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc
  ON rc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND rc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND rc.TABLE_NAME = tc.TABLE_NAME
WHERE {where_tc} AND tc.CONSTRAINT_NAME = {name}",
            ident = quote_literal(&my.ident(&op.name)),
        ),
    };
    let capture_drop = Capture {
        missing: None,
        name: "constraint_drop",
        description: format!("how constraint {} on {} is dropped", op.name, op.table),
        query: format!(
            "SELECT CONCAT('ALTER TABLE {table} DROP ', CASE tc.CONSTRAINT_TYPE WHEN 'FOREIGN KEY' THEN 'FOREIGN KEY ' WHEN 'UNIQUE' THEN 'INDEX ' END, {ident}, ', ALGORITHM=INPLACE, LOCK=NONE')\nFROM information_schema.TABLE_CONSTRAINTS tc\nWHERE {where_tc} AND tc.CONSTRAINT_NAME = {name} AND tc.CONSTRAINT_TYPE IN ('FOREIGN KEY', 'UNIQUE')",
            ident = quote_literal(&my.ident(&op.name)),
        ),
    };
    let saved = |name: &'static str, description: String, effect: TableEffect| ExecuteSaved {
        name,
        description,
        lock: Lock::Metadata,
        table: Some(op.table.clone()),
        effect,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    Ok(PlannedOp {
        actions: vec![
            Action::Capture(capture),
            Action::Capture(capture_drop),
            Action::ExecuteSaved(saved(
                "constraint_drop",
                format!("DROP FOREIGN KEY or DROP INDEX {} (whichever it is), ALGORITHM=INPLACE, LOCK=NONE", op.name),
                TableEffect::None,
            )),
        ],
        undo: Undo::Actions(vec![Action::ExecuteSaved(saved(
            "constraint_definition",
            format!("add constraint {} again from its saved definition, online", op.name),
            TableEffect::Scan,
        ))]),
        notes: vec![
            "foreign keys and unique constraints only: a CHECK constraint could only come back by copying the table, so the step fails on one without changing anything".into(),
            "the definition is saved in the ledger; rollback adds a foreign key back without checking the rows (foreign_key_checks = 0 for that statement) and a unique constraint as an online index build".into(),
        ],
    })
}
