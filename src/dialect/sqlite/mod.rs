//! SQLite (3.35+): SQL for every operation.
//!
//! SQLite has one write lock for the whole database and no `CONCURRENTLY`; it cannot alter a
//! column or a constraint in place, so those operations are a table rebuild in one
//! transaction ([`Action::Rebuild`]), which the engine performs and `bellows plan` says so.

mod indexes;
pub mod table;
mod tables;

use crate::dialect::common::{self, column_list, foreign_key_actions};
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, RebuildChange, Statement,
    TableEffect, TableRebuild, Undo,
};
use crate::dialect::{quote_literal, Dialect, DialectKind, Unsupported};
use crate::ops::add_foreign_key::ForeignKeyActions;
use crate::ops::*;
use crate::vocab::naming::sync_trigger_name;
use crate::vocab::TableName;

pub struct Sqlite;

const REBUILD_NOTE: &str = "emulated: SQLite cannot alter a column or constraint in place, so the table is rebuilt (copied) in one transaction holding the database write lock; writers wait for the whole copy, readers continue in WAL mode";

const WRITE_LOCK_NOTE: &str =
    "SQLite has one write lock per database: writers wait while it is held; readers continue in WAL mode";

/// Whether `expression` is a constant SQLite accepts as an `ADD COLUMN` default: a number, a
/// string or blob literal, NULL, TRUE or FALSE.
pub(crate) fn is_constant(expression: &str) -> bool {
    let text = expression.trim();
    let upper = text.to_ascii_uppercase();
    if matches!(upper.as_str(), "NULL" | "TRUE" | "FALSE") {
        return true;
    }
    let quoted = |body: &str| {
        body.len() >= 2
            && body.starts_with('\'')
            && body.ends_with('\'')
            && !body[1..body.len() - 1].replace("''", "").contains('\'')
    };
    if quoted(text) {
        return true;
    }
    if (upper.starts_with("X'") || upper.starts_with("x'")) && quoted(&text[1..]) {
        return true;
    }
    let number = text.strip_prefix(['-', '+']).unwrap_or(text);
    !number.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || "._eE+-".contains(c))
        && number.replace('_', "").parse::<f64>().is_ok()
}

fn unsupported(op: &'static str, why: &str) -> Unsupported {
    Unsupported {
        dialect: DialectKind::Sqlite,
        op,
        why: why.into(),
    }
}

/// SQLite parses `MATCH` but always checks as `MATCH SIMPLE`: `match = "full"` is refused.
pub(crate) fn sqlite_match(
    actions: &ForeignKeyActions,
    op: &'static str,
) -> Result<(), Unsupported> {
    match actions.match_.as_deref() {
        Some("full") => Err(Unsupported {
            dialect: DialectKind::Sqlite,
            op,
            why: "SQLite parses MATCH FULL but checks every foreign key as MATCH SIMPLE (a key with a NULL is not checked); leave `match` out, or add a CHECK that the key columns are all NULL or all set".into(),
        }),
        _ => Ok(()),
    }
}

impl Sqlite {
    /// `"schema"."name"` for an object in the database (schema) of `table`.
    // NOTE: SQLite qualifies the new object's name, never the table in `ON table`, and forbids
    // qualified names inside trigger bodies: the table is always written unqualified there.
    fn in_schema_of(&self, table: &TableName, name: &str) -> String {
        self.table(&TableName {
            schema: table.schema.clone(),
            name: name.to_string(),
        })
    }

    /// `sqlite_master` of the table's database.
    fn master(&self, schema: &Option<String>) -> String {
        match schema {
            Some(schema) => format!("{}.sqlite_master", self.ident(schema)),
            None => "sqlite_master".into(),
        }
    }

    fn write(&self, sql: impl Into<String>, table: &TableName) -> Statement {
        Statement::ddl(sql, Lock::SqliteWrite, table)
    }

    fn alter(&self, table: &TableName, action: impl AsRef<str>) -> String {
        format!("ALTER TABLE {} {}", self.table(table), action.as_ref())
    }

    fn rebuild(&self, table: &TableName, change: RebuildChange, what: String) -> Action {
        let t = self.table(table);
        Action::Rebuild(TableRebuild {
            table: table.clone(),
            change,
            outline: vec![
                "PRAGMA foreign_keys = OFF on the connection for the rebuild (restored after), so dropping the old table cascades nothing".into(),
                "BEGIN IMMEDIATE: take the database write lock".into(),
                format!("read the CREATE TABLE statement of {t}, its indexes and its triggers from sqlite_master"),
                format!("CREATE TABLE a new table with the definition of {t}, {what}"),
                format!("INSERT INTO the new table every row of {t}, column by column"),
                format!("DROP TABLE {t}, then ALTER TABLE the new table RENAME TO {t}"),
                format!("recreate the indexes and triggers of {t} as they were"),
                format!("PRAGMA foreign_key_check({t}) must report nothing; then COMMIT (all or nothing)"),
            ],
        })
    }

    /// The saved `CREATE TABLE` of the table, for undoing a rebuild by rebuilding back.
    fn capture_table_definition(&self, table: &TableName) -> Action {
        Action::Capture(Capture {
            name: "table_definition",
            description: format!("the CREATE TABLE statement of {table}, as it is before the step"),
            query: format!(
                "SELECT sql FROM {}\nWHERE type = 'table' AND name = {}",
                self.master(&table.schema),
                quote_literal(&table.name)
            ),
            missing: None,
        })
    }

    fn restore_definition(&self, table: &TableName) -> Undo {
        Undo::Actions(vec![self.rebuild(
            table,
            RebuildChange::RestoreDefinition {
                saved: "table_definition",
            },
            "exactly as saved before the step".into(),
        )])
    }

    /// The stored `CREATE TRIGGER` text of a bellows trigger, with its database name put back.
    // NOTE: SQLite stores the statement without the database name, and an unqualified trigger
    // on a table of an attached database is refused; bellows wrote the name quoted, so the
    // stored text starts with exactly `CREATE TRIGGER "name"`.
    fn requalified_trigger(&self, schema: &Option<String>, trigger: &str) -> String {
        match schema {
            None => "sql".into(),
            Some(schema) => {
                let stored_prefix = format!("CREATE TRIGGER {}", self.ident(trigger));
                format!(
                    "{} || substr(sql, {})",
                    quote_literal(&format!(
                        "CREATE TRIGGER {}.{}",
                        self.ident(schema),
                        self.ident(trigger)
                    )),
                    stored_prefix.chars().count() + 1
                )
            }
        }
    }

    fn sync_trigger_names(&self, op_table: &TableName, column: &str) -> [String; 2] {
        let base = sync_trigger_name(op_table, column);
        [format!("{base}_insert"), format!("{base}_update")]
    }

    /// The two triggers of `sync_column`: AFTER INSERT and AFTER UPDATE, each an `UPDATE` of
    /// the written row by rowid.
    // NOTE: SQLite's recursive_triggers is off by default, so the trigger's own UPDATE does not
    // fire it again; the WHEN clauses and the `IS NOT` filters also make a nested firing a
    // no-op, so it cannot loop even with recursive_triggers on. Unlike PostgreSQL's BEFORE
    // trigger, that UPDATE is a real write: it fires the triggers of other synced columns of
    // the table, which then recompute their column from its source (as for any update that
    // does not write it).
    fn sync_triggers_sql(&self, op: &SyncColumn) -> [String; 2] {
        let [insert_name, update_name] = self.sync_trigger_names(&op.table, &op.column);
        let table = self.ident(&op.table.name);
        let column = self.ident(&op.column);
        let assign = |target: &str, expression: &str, condition: &str| {
            format!(
                "  UPDATE {table} SET {target} = ({expression})\n    WHERE rowid = NEW.rowid AND {condition} AND {target} IS NOT ({expression});\n"
            )
        };
        let wrote_column = self.wrote_on_insert(&op.table, &op.column);

        let mut insert_when = format!("NOT {wrote_column}");
        let mut insert_body = assign(&column, &op.from, &insert_when);
        let mut update_when = format!("NEW.{column} IS OLD.{column}");
        let mut update_body = assign(&column, &op.from, &format!("NEW.{column} IS OLD.{column}"));
        if let Some(reverse) = &op.reverse {
            let other = self.ident(&reverse.column);
            let wrote_other = self.wrote_on_insert(&op.table, &reverse.column);
            let fill_column =
                format!("NOT {wrote_column} AND ({wrote_other} OR NEW.{column} IS NULL)");
            let fill_other =
                format!("NOT {wrote_other} AND ({wrote_column} OR NEW.{other} IS NULL)");
            insert_when = format!("({fill_column}) OR ({fill_other})");
            insert_body = assign(&column, &op.from, &fill_column);
            insert_body.push_str(&assign(&other, &reverse.from, &fill_other));
            update_when.push_str(&format!(" OR NEW.{other} IS OLD.{other}"));
            update_body.push_str(&assign(
                &other,
                &reverse.from,
                &format!("NEW.{column} IS NOT OLD.{column} AND NEW.{other} IS OLD.{other}"),
            ));
        }
        [
            format!(
                "CREATE TRIGGER {} AFTER INSERT ON {table}\nFOR EACH ROW WHEN {insert_when}\nBEGIN\n{insert_body}END",
                self.in_schema_of(&op.table, &insert_name)
            ),
            format!(
                "CREATE TRIGGER {} AFTER UPDATE ON {table}\nFOR EACH ROW WHEN {update_when}\nBEGIN\n{update_body}END",
                self.in_schema_of(&op.table, &update_name)
            ),
        ]
    }

    /// Whether an INSERT wrote `column`: not NULL and not its default. An AFTER trigger sees the
    /// default already filled in, so equal to it is read as "left out".
    // NOTE: SQLite keeps a default as SQL text (`pragma_table_info.dflt_value`); `quote()` of
    // the value spells a literal default the same way (`'none'`, `0`), so literal defaults are
    // recognised and an expression default (`CURRENT_TIMESTAMP`, `(upper('x'))`) never is.
    fn wrote_on_insert(&self, table: &TableName, column: &str) -> String {
        let info = match &table.schema {
            Some(schema) => format!(
                "pragma_table_info({}, {})",
                quote_literal(&table.name),
                quote_literal(schema)
            ),
            None => format!("pragma_table_info({})", quote_literal(&table.name)),
        };
        let quoted = self.ident(column);
        format!(
            "(NEW.{quoted} IS NOT NULL AND quote(NEW.{quoted}) IS NOT (SELECT dflt_value FROM {info} WHERE name = {}))",
            quote_literal(column)
        )
    }

    fn drop_sync_triggers(&self, table: &TableName, column: &str, if_exists: bool) -> Vec<Action> {
        self.sync_trigger_names(table, column)
            .iter()
            .map(|name| {
                Action::Execute(self.write(
                    format!(
                        "DROP TRIGGER {}{}",
                        if if_exists { "IF EXISTS " } else { "" },
                        self.in_schema_of(table, name)
                    ),
                    table,
                ))
            })
            .collect()
    }
}

impl Dialect for Sqlite {
    fn kind(&self) -> DialectKind {
        DialectKind::Sqlite
    }

    fn create_table(&self, op: &CreateTable) -> Result<PlannedOp, Unsupported> {
        tables::create_table(self, op)
    }

    fn add_column(&self, op: &AddColumn) -> Result<PlannedOp, Unsupported> {
        if op.comment.is_some() {
            return Err(unsupported(
                "add_column",
                "SQLite has no comments on columns; leave `comment` out for SQLite",
            ));
        }
        if let Some(default) = &op.default {
            if !is_constant(default) {
                return Err(Unsupported {
                    dialect: DialectKind::Sqlite,
                    op: "add_column",
                    why: format!(
                        "SQLite's ALTER TABLE ADD COLUMN accepts only a constant default (a number, a string, NULL, TRUE or FALSE), not `{default}`; add the column without a default, fill it in the backfill phase and set the default with set_default in switch"
                    ),
                });
            }
        }
        let mut definition = format!("{} {}", self.ident(&op.column), op.type_);
        if !op.nullable {
            definition.push_str(" NOT NULL");
        }
        if let Some(default) = &op.default {
            definition.push_str(&format!(" DEFAULT {default}"));
        }
        Ok(PlannedOp {
            actions: vec![Action::Execute(self.write(
                self.alter(&op.table, format!("ADD COLUMN {definition}")),
                &op.table,
            ))],
            undo: Undo::Actions(vec![Action::Execute(
                self.write(
                    self.alter(&op.table, format!("DROP COLUMN {}", self.ident(&op.column))),
                    &op.table,
                )
                .effect(TableEffect::Rewrite),
            )]),
            notes: vec![
                "schema-only change: existing rows are not rewritten".into(),
                "SQLite allows only a constant default here, and NOT NULL only with a non-NULL default".into(),
                WRITE_LOCK_NOTE.into(),
            ],
        })
    }

    fn add_index(&self, op: &AddIndex) -> Result<PlannedOp, Unsupported> {
        indexes::add_index(self, op)
    }

    fn add_foreign_key(&self, op: &AddForeignKey) -> Result<PlannedOp, Unsupported> {
        if op.references.table.schema.is_some() && op.references.table.schema != op.table.schema {
            return Err(Unsupported {
                dialect: DialectKind::Sqlite,
                op: "add_foreign_key",
                why: format!(
                    "a SQLite foreign key can only reference a table in the same database file, and {} is not in the database of {}",
                    op.references.table, op.table
                ),
            });
        }
        sqlite_match(&op.actions, "add_foreign_key")?;
        let name = op.constraint_name();
        let definition = format!(
            "FOREIGN KEY ({}) REFERENCES {} ({}){}",
            column_list(self, &op.columns),
            self.ident(&op.references.table.name),
            column_list(self, &op.references.columns),
            foreign_key_actions(&op.actions)
        );
        Ok(PlannedOp {
            actions: vec![self.rebuild(
                &op.table,
                RebuildChange::AddForeignKey {
                    name: name.clone(),
                    definition: definition.clone(),
                },
                format!("plus CONSTRAINT {} {definition}", self.ident(&name)),
            )],
            undo: Undo::Actions(vec![self.rebuild(
                &op.table,
                RebuildChange::DropConstraint { name: name.clone() },
                format!("without CONSTRAINT {}", self.ident(&name)),
            )]),
            notes: vec![
                REBUILD_NOTE.into(),
                "SQLite has no NOT VALID / VALIDATE: existing rows are checked by PRAGMA foreign_key_check inside the rebuild".into(),
                "SQLite enforces foreign keys only on connections that set PRAGMA foreign_keys = ON".into(),
            ],
        })
    }

    fn add_check(&self, op: &AddCheck) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![self.rebuild(
                &op.table,
                RebuildChange::AddCheck {
                    name: op.name.clone(),
                    check: op.check.clone(),
                },
                format!(
                    "plus CONSTRAINT {} CHECK ({}); copying the rows checks them all",
                    self.ident(&op.name),
                    op.check
                ),
            )],
            undo: Undo::Actions(vec![self.rebuild(
                &op.table,
                RebuildChange::DropConstraint {
                    name: op.name.clone(),
                },
                format!("without CONSTRAINT {}", self.ident(&op.name)),
            )]),
            notes: vec![
                REBUILD_NOTE.into(),
                "SQLite has no NOT VALID / VALIDATE: every existing row is checked while it is copied".into(),
            ],
        })
    }

    fn sync_column(&self, op: &SyncColumn) -> Result<PlannedOp, Unsupported> {
        let [insert, update] = self.sync_triggers_sql(op);
        let mut notes = vec![
            format!(
                "an insert that leaves {col} out (NULL, or equal to its default), or an update that does not change it, sets {col} from `{}`",
                op.from.split_whitespace().collect::<Vec<_>>().join(" "),
                col = op.column
            ),
            "a default fills a column before the trigger sees the row: on an insert, a value equal to the column's literal default (pragma_table_info) counts as not written; an expression default is never recognised".into(),
            "AFTER triggers that update the written row by rowid (the table must not be WITHOUT ROWID); they never loop: recursive_triggers is off by default, and their WHEN and IS NOT conditions make a nested firing a no-op".into(),
        ];
        if let Some(reverse) = &op.reverse {
            notes.push(format!(
                "reverse: an insert that writes {col} but leaves {other} out (NULL, or equal to its default), or an update that changes {col} but not {other}, sets {other} from `{}`",
                reverse.from.split_whitespace().collect::<Vec<_>>().join(" "),
                col = op.column,
                other = reverse.column
            ));
        }
        notes.push(
            "EXPLAIN first checks the expressions against the table, so a mistake fails here instead of in the application's writes".into(),
        );
        let check = Statement {
            table: Some(op.table.clone()),
            ..common::plain(common::sync_expression_check(self, op))
        };
        Ok(PlannedOp {
            actions: vec![
                Action::Execute(check),
                Action::Execute(self.write(insert, &op.table)),
                Action::Execute(self.write(update, &op.table)),
            ],
            undo: Undo::Actions(self.drop_sync_triggers(&op.table, &op.column, true)),
            notes,
        })
    }

    fn backfill(&self, op: &Backfill) -> Result<PlannedOp, Unsupported> {
        let mut planned = common::backfill(self, op);
        planned.notes.push(
            "each batch holds the database write lock for its short transaction; other writers wait only that long".into(),
        );
        Ok(planned)
    }

    fn set_default(&self, op: &SetDefault) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![
                self.capture_table_definition(&op.table),
                self.rebuild(
                    &op.table,
                    RebuildChange::SetDefault {
                        column: op.column.clone(),
                        default: op.default.clone(),
                    },
                    format!(
                        "with {} DEFAULT ({})",
                        self.ident(&op.column),
                        op.default
                    ),
                ),
            ],
            undo: self.restore_definition(&op.table),
            notes: vec![
                REBUILD_NOTE.into(),
                "the table definition is saved in the ledger; rollback rebuilds the table back to it".into(),
            ],
        })
    }

    fn drop_default(&self, op: &DropDefault) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![
                self.capture_table_definition(&op.table),
                self.rebuild(
                    &op.table,
                    RebuildChange::DropDefault {
                        column: op.column.clone(),
                    },
                    format!("with no DEFAULT on {}", self.ident(&op.column)),
                ),
            ],
            undo: self.restore_definition(&op.table),
            notes: vec![
                REBUILD_NOTE.into(),
                "the table definition is saved in the ledger; rollback rebuilds the table back to it".into(),
            ],
        })
    }

    fn guard(&self, op: &Guard) -> Result<PlannedOp, Unsupported> {
        Ok(common::guard(self, op))
    }

    fn sql(&self, op: &Sql) -> Result<PlannedOp, Unsupported> {
        Ok(common::sql(op))
    }

    fn set_not_null(&self, op: &SetNotNull) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![
                Action::Guard(common::null_count(self, &op.table, &op.column)),
                self.rebuild(
                    &op.table,
                    RebuildChange::SetNotNull {
                        column: op.column.clone(),
                    },
                    format!(
                        "with {} NOT NULL (the copy fails if a NULL remains)",
                        self.ident(&op.column)
                    ),
                ),
            ],
            undo: Undo::Actions(vec![self.rebuild(
                &op.table,
                RebuildChange::DropNotNull {
                    column: op.column.clone(),
                },
                format!("with {} nullable", self.ident(&op.column)),
            )]),
            notes: vec![REBUILD_NOTE.into()],
        })
    }

    fn drop_sync(&self, op: &DropSync) -> Result<PlannedOp, Unsupported> {
        let [insert_name, update_name] = self.sync_trigger_names(&op.table, &op.column);
        let capture = |name: &'static str, trigger: &str| {
            Action::Capture(Capture {
                name,
                description: format!("the definition of the trigger {trigger}"),
                query: format!(
                    "SELECT {} FROM {}\nWHERE type = 'trigger' AND name = {}",
                    self.requalified_trigger(&op.table.schema, trigger),
                    self.master(&op.table.schema),
                    quote_literal(trigger)
                ),
                missing: None,
            })
        };
        let restore = |name: &'static str, trigger: &str| {
            Action::ExecuteSaved(ExecuteSaved {
                name,
                description: format!("recreate the trigger {trigger} as saved"),
                lock: Lock::SqliteWrite,
                table: Some(op.table.clone()),
                effect: TableEffect::None,
                transaction: true,
                policy: LockPolicy::Short,
                special: None,
            })
        };
        let mut actions = vec![
            capture("sync_insert_trigger", &insert_name),
            capture("sync_update_trigger", &update_name),
        ];
        actions.extend(self.drop_sync_triggers(&op.table, &op.column, false));
        Ok(PlannedOp {
            actions,
            undo: Undo::Actions(vec![
                restore("sync_insert_trigger", &insert_name),
                restore("sync_update_trigger", &update_name),
            ]),
            notes: vec![
                "the trigger definitions are saved in the ledger so rollback can recreate them"
                    .into(),
            ],
        })
    }

    fn drop_index(&self, op: &DropIndex) -> Result<PlannedOp, Unsupported> {
        // NOTE: an index lives in its table's database; an unqualified name takes the table's.
        let index_name = TableName {
            schema: op
                .name
                .schema
                .clone()
                .or_else(|| op.table.as_ref().and_then(|t| t.schema.clone())),
            name: op.name.name.clone(),
        };
        let index = self.table(&index_name);
        let definition = match &index_name.schema {
            None => "sql".to_string(),
            // NOTE: SQLite stores `CREATE INDEX` without the database name, and an unqualified
            // CREATE INDEX lands in `main`: the saved statement gets the name back, qualified
            // (everything from the first ` ON ` on is kept as stored).
            Some(_) => format!(
                "'CREATE ' || CASE WHEN upper(sql) LIKE 'CREATE UNIQUE %' THEN 'UNIQUE ' ELSE '' END\n       || {} || substr(sql, instr(upper(sql), ' ON '))",
                quote_literal(&format!("INDEX {index}"))
            ),
        };
        let capture = Capture {
            name: "index_definition",
            description: format!("the definition of index {index_name}"),
            query: format!(
                "SELECT {definition} FROM {}\nWHERE type = 'index' AND name = {}",
                self.master(&index_name.schema),
                quote_literal(&index_name.name)
            ),
            missing: None,
        };
        let drop = Statement {
            sql: format!("DROP INDEX {index}"),
            lock: Lock::SqliteWrite,
            table: op.table.clone(),
            effect: TableEffect::None,
            transaction: true,
            policy: LockPolicy::Short,
            special: None,
        };
        let restore = ExecuteSaved {
            name: "index_definition",
            description: format!("rebuild index {index_name} from its saved definition"),
            lock: Lock::SqliteWrite,
            table: op.table.clone(),
            effect: TableEffect::Scan,
            transaction: true,
            policy: LockPolicy::Short,
            special: None,
        };
        Ok(PlannedOp {
            actions: vec![Action::Capture(capture), Action::Execute(drop)],
            undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
            notes: vec![
                "SQLite has no DROP INDEX CONCURRENTLY: the drop is quick but takes the database write lock".into(),
                "rollback rebuilds the index in one transaction holding the write lock".into(),
            ],
        })
    }

    fn drop_constraint(&self, op: &DropConstraint) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![
                self.capture_table_definition(&op.table),
                self.rebuild(
                    &op.table,
                    RebuildChange::DropConstraint {
                        name: op.name.clone(),
                    },
                    format!("without CONSTRAINT {}", self.ident(&op.name)),
                ),
            ],
            undo: self.restore_definition(&op.table),
            notes: vec![
                REBUILD_NOTE.into(),
                "only a named table constraint (CONSTRAINT name …) can be dropped".into(),
                "the table definition is saved in the ledger; rollback rebuilds the table back to it".into(),
            ],
        })
    }

    fn drop_column(&self, op: &DropColumn) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![Action::Execute(
                self.write(
                    self.alter(&op.table, format!("DROP COLUMN {}", self.ident(&op.column))),
                    &op.table,
                )
                .effect(TableEffect::Rewrite),
            )],
            undo: Undo::Irreversible(format!(
                "dropping {}.{} destroys its data",
                op.table, op.column
            )),
            notes: vec![
                "SQLite 3.35+ rewrites every row without the column, holding the database write lock".into(),
                "SQLite refuses when the column is indexed, part of a key or UNIQUE, or used by a view, trigger, CHECK or foreign key".into(),
            ],
        })
    }

    fn drop_table(&self, op: &DropTable) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![Action::Execute(
                self.write(format!("DROP TABLE {}", self.table(&op.table)), &op.table),
            )],
            undo: Undo::Irreversible(format!("dropping {} destroys its data", op.table)),
            notes: vec![WRITE_LOCK_NOTE.into()],
        })
    }

    fn add_unique(&self, op: &AddUnique) -> Result<PlannedOp, Unsupported> {
        if !op.include.is_empty() {
            return Err(unsupported(
                "add_unique",
                "SQLite indexes have no INCLUDE columns (leave `include` out)",
            ));
        }
        let name = op.constraint_name();
        let definition = format!("UNIQUE ({})", column_list(self, &op.columns));
        Ok(PlannedOp {
            actions: vec![
                self.capture_table_definition(&op.table),
                self.rebuild(
                    &op.table,
                    RebuildChange::AddUnique {
                        name: name.clone(),
                        definition: definition.clone(),
                    },
                    format!(
                        "plus CONSTRAINT {} {definition}; copying the rows fails on a duplicate",
                        self.ident(&name)
                    ),
                ),
            ],
            undo: self.restore_definition(&op.table),
            notes: vec![
                REBUILD_NOTE.into(),
                "the table definition is saved in the ledger; rollback rebuilds the table back to it".into(),
            ],
        })
    }

    fn add_primary_key(&self, _op: &AddPrimaryKey) -> Result<PlannedOp, Unsupported> {
        Err(unsupported(
            "add_primary_key",
            "a SQLite table's primary key is part of how its rows are stored and is given in CREATE TABLE; create a new table with `create_table` and copy the rows instead",
        ))
    }

    fn drop_not_null(&self, op: &DropNotNull) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![
                self.capture_table_definition(&op.table),
                self.rebuild(
                    &op.table,
                    RebuildChange::DropNotNull {
                        column: op.column.clone(),
                    },
                    format!("with {} nullable", self.ident(&op.column)),
                ),
            ],
            undo: self.restore_definition(&op.table),
            notes: vec![
                REBUILD_NOTE.into(),
                "the table definition is saved in the ledger; rollback rebuilds the table back to it (the copy fails if a NULL was written meanwhile)".into(),
            ],
        })
    }

    fn set_comment(&self, _op: &SetComment) -> Result<PlannedOp, Unsupported> {
        Err(unsupported(
            "set_comment",
            "SQLite has no comments on tables or columns (a comment inside the CREATE TABLE text is not kept as one); leave the step out for SQLite",
        ))
    }

    fn rename_index(&self, _op: &RenameIndex) -> Result<PlannedOp, Unsupported> {
        Err(unsupported(
            "rename_index",
            "SQLite cannot rename an index; drop it with `drop_index` and build it again with `add_index` under the new name",
        ))
    }

    fn rename_constraint(&self, _op: &RenameConstraint) -> Result<PlannedOp, Unsupported> {
        Err(unsupported(
            "rename_constraint",
            "SQLite cannot rename a constraint in place; drop it with `drop_constraint` and add it again under the new name",
        ))
    }

    fn set_replica_identity(&self, _op: &SetReplicaIdentity) -> Result<PlannedOp, Unsupported> {
        Err(unsupported(
            "set_replica_identity",
            "replica identity is a PostgreSQL logical-replication setting; SQLite has no logical replication",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::is_constant;

    #[test]
    fn constants_are_literals_only() {
        for constant in [
            "0",
            "1e3",
            "-1.5",
            "+3",
            "'pending'",
            "'it''s'",
            "NULL",
            "false",
            "X'00ff'",
        ] {
            assert!(is_constant(constant), "{constant} is a constant");
        }
        for expression in [
            "random()",
            "CURRENT_TIMESTAMP",
            "'a' || 'b'",
            "1 + 1",
            "'a', 'b'",
            "inf",
            "NaN",
        ] {
            assert!(!is_constant(expression), "{expression} is not a constant");
        }
    }
}
