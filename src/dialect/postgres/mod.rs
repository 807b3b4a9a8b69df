//! PostgreSQL: SQL for every operation, with the lock each statement takes.
//!
//! Lock modes were checked against `pg_locks` on PostgreSQL 15 (see `tests/it/dialect_sql.rs`).
//! Everything that would block reads or writes is a short statement under `lock_timeout`;
//! everything that scans a table either holds a lock that blocks neither (`CONCURRENTLY`,
//! `VALIDATE CONSTRAINT`) or is a guard that reads.

use crate::dialect::common::{self, column_list, on_delete, plain};
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Special, Statement, TableEffect,
    Undo,
};
use crate::dialect::{
    desc, quote_literal, row, row_literals, BatchCheckpoint, Dialect, DialectKind, Unsupported,
};
use crate::ops::*;
use crate::vocab::naming::not_null_check_name;
use crate::vocab::naming::sync_trigger_name;
use crate::vocab::TableName;

pub struct Postgres;

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

impl Postgres {
    fn alter(&self, table: &TableName, action: impl AsRef<str>) -> String {
        format!("ALTER TABLE {} {}", self.table(table), action.as_ref())
    }

    /// An object (function, index) named `name` in the schema of `table`, quoted.
    fn in_schema_of(&self, table: &TableName, name: &str) -> String {
        self.table(&TableName {
            schema: table.schema.clone(),
            name: name.to_string(),
        })
    }

    /// `'"billing"."invoices"'::regclass`: the table's oid, resolved as the statements resolve it.
    fn regclass(&self, table: &TableName) -> String {
        format!("{}::regclass", quote_literal(&self.table(table)))
    }

    /// `ALTER TABLE … VALIDATE CONSTRAINT …`: scans under SHARE UPDATE EXCLUSIVE, which blocks
    /// neither reads nor writes, so it runs alone (outside the transaction that added the
    /// constraint, whose stronger lock would otherwise be held for the whole scan).
    fn validate(&self, table: &TableName, name: &str) -> Statement {
        Statement::ddl(
            self.alter(table, format!("VALIDATE CONSTRAINT {}", self.ident(name))),
            Lock::ShareUpdateExclusive,
            table,
        )
        .effect(TableEffect::Scan)
        .outside_transaction()
        .policy(LockPolicy::Long)
    }

    /// For `set_not_null`'s undo: captures the SQL that restores the column's nullability.
    // NOTE: the undo also drops the helper check, in case the step stopped between adding
    // and dropping it; it drops NOT NULL only if the column was nullable before the step
    // (the capture records which), so undoing a no-op leaves the column as it was.
    fn previous_nullability(&self, op: &SetNotNull, check: &str) -> Capture {
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

    fn drop_constraint_if_exists(&self, table: &TableName, name: &str) -> Statement {
        Statement::ddl(
            self.alter(
                table,
                format!("DROP CONSTRAINT IF EXISTS {}", self.ident(name)),
            ),
            Lock::AccessExclusive,
            table,
        )
    }

    fn drop_sync_statements(&self, table: &TableName, column: &str) -> Vec<Action> {
        let name = sync_trigger_name(table, column);
        vec![
            Action::Execute(Statement::ddl(
                format!(
                    "DROP TRIGGER IF EXISTS {} ON {}",
                    self.ident(&name),
                    self.table(table)
                ),
                Lock::AccessExclusive,
                table,
            )),
            Action::Execute(plain(format!(
                "DROP FUNCTION IF EXISTS {}()",
                self.in_schema_of(table, &name)
            ))),
        ]
    }

    /// The PL/pgSQL function behind `sync_column`: a BEFORE trigger only assigns `NEW`, so it
    /// writes nothing itself and cannot fire again (no loop).
    fn sync_function_sql(&self, op: &SyncColumn) -> String {
        let function = self.in_schema_of(&op.table, &sync_trigger_name(&op.table, &op.column));
        let column = self.ident(&op.column);
        // NOTE: `from` is an expression over bare column names. Selecting it from the one-row
        // derived table `(SELECT NEW.*)` evaluates it against the row being written;
        // `#variable_conflict use_column` lets a column share a name with a PL/pgSQL variable.
        let assign = |target: &str, expression: &str| {
            format!("SELECT ({expression}) INTO NEW.{target} FROM (SELECT NEW.*) AS bellows_row;")
        };
        let mut body = String::new();
        body.push_str(&format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger\nLANGUAGE plpgsql AS $bellows$\n#variable_conflict use_column\n"
        ));
        match &op.reverse {
            None => {
                body.push_str("BEGIN\n");
                body.push_str(&format!(
                    "  -- an insert or update that does not write {column} fills it from: {}\n",
                    one_line(&op.from)
                ));
                body.push_str(&format!(
                    "  IF (TG_OP = 'INSERT' AND NEW.{column} IS NULL)\n     OR (TG_OP = 'UPDATE' AND NEW.{column} IS NOT DISTINCT FROM OLD.{column}) THEN\n    {}\n  END IF;\n",
                    assign(&column, &op.from)
                ));
            }
            Some(reverse) => {
                let other = self.ident(&reverse.column);
                // NOTE: which columns the statement wrote is decided before either assignment
                // changes NEW.
                body.push_str(&format!(
                    "DECLARE\n  bellows_wrote_column boolean := TG_OP = 'UPDATE' AND NEW.{column} IS DISTINCT FROM OLD.{column};\n  bellows_wrote_other boolean := TG_OP = 'UPDATE' AND NEW.{other} IS DISTINCT FROM OLD.{other};\nBEGIN\n"
                ));
                body.push_str(&format!(
                    "  -- a write that does not set {column} fills it from: {}\n",
                    one_line(&op.from)
                ));
                body.push_str(&format!(
                    "  IF (TG_OP = 'INSERT' AND NEW.{column} IS NULL)\n     OR (TG_OP = 'UPDATE' AND NOT bellows_wrote_column) THEN\n    {}\n  END IF;\n",
                    assign(&column, &op.from)
                ));
                body.push_str(&format!(
                    "  -- a write that sets {column} but not {other} fills {other} from: {}\n",
                    one_line(&reverse.from)
                ));
                body.push_str(&format!(
                    "  IF (TG_OP = 'INSERT' AND NEW.{other} IS NULL)\n     OR (TG_OP = 'UPDATE' AND bellows_wrote_column AND NOT bellows_wrote_other) THEN\n    {}\n  END IF;\n",
                    assign(&other, &reverse.from)
                ));
            }
        }
        body.push_str("  RETURN NEW;\nEND\n$bellows$");
        body
    }
}

/// An expression on one line, for a comment.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Dialect for Postgres {
    fn kind(&self) -> DialectKind {
        DialectKind::Postgres
    }

    fn create_table(&self, op: &CreateTable) -> Result<PlannedOp, Unsupported> {
        let mut lines: Vec<String> = op
            .columns
            .iter()
            .map(|c| {
                let mut line = format!("{} {}", self.ident(&c.name), c.type_);
                if let Some(default) = &c.default {
                    line.push_str(&format!(" DEFAULT {default}"));
                }
                if !c.nullable {
                    line.push_str(" NOT NULL");
                }
                line
            })
            .collect();
        let key = op.key_columns();
        if !key.is_empty() {
            lines.push(format!("PRIMARY KEY ({})", column_list(self, &key)));
        }
        let sql = format!(
            "CREATE TABLE {} (\n  {}\n)",
            self.table(&op.table),
            lines.join(",\n  ")
        );
        // NOTE: a new table is invisible to other sessions until commit: nothing waits on it.
        let create = Statement {
            table: Some(op.table.clone()),
            policy: LockPolicy::Plain,
            ..plain(sql)
        };
        Ok(PlannedOp {
            actions: vec![Action::Execute(create)],
            undo: Undo::Actions(vec![Action::Execute(Statement::ddl(
                format!("DROP TABLE IF EXISTS {}", self.table(&op.table)),
                Lock::AccessExclusive,
                &op.table,
            ))]),
            notes: vec!["a new table: no other session uses it yet, so nothing waits".into()],
        })
    }

    fn add_column(&self, op: &AddColumn) -> Result<PlannedOp, Unsupported> {
        let mut definition = format!("{} {}", self.ident(&op.column), op.type_);
        if !op.nullable {
            definition.push_str(" NOT NULL");
        }
        if let Some(default) = &op.default {
            definition.push_str(&format!(" DEFAULT {default}"));
        }
        let mut add = Statement::ddl(
            self.alter(&op.table, format!("ADD COLUMN {definition}")),
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
                self.alter(
                    &op.table,
                    format!("DROP COLUMN IF EXISTS {}", self.ident(&op.column)),
                ),
                Lock::AccessExclusive,
                &op.table,
            ))]),
            notes,
        })
    }

    fn add_index(&self, op: &AddIndex) -> Result<PlannedOp, Unsupported> {
        let name = op.index_name();
        let index = self.in_schema_of(&op.table, &name);
        let mut sql = format!(
            "CREATE {}INDEX CONCURRENTLY {} ON {}",
            if op.unique { "UNIQUE " } else { "" },
            self.ident(&name),
            self.table(&op.table)
        );
        if let Some(method) = &op.method {
            sql.push_str(&format!(" USING {method}"));
        }
        sql.push_str(&format!(" ({})", column_list(self, &op.columns)));
        if let Some(predicate) = &op.predicate {
            sql.push_str(&format!(" WHERE {predicate}"));
        }
        let create = Statement::ddl(sql, Lock::ShareUpdateExclusive, &op.table)
            .effect(TableEffect::Scan)
            .outside_transaction()
            .policy(LockPolicy::Long)
            .special(Special::CreateIndexConcurrently {
                index: index.clone(),
            });
        let drop = Statement::ddl(
            format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"),
            Lock::ShareUpdateExclusive,
            &op.table,
        )
        .outside_transaction()
        .policy(LockPolicy::Long)
        .special(Special::Concurrently);
        Ok(PlannedOp {
            actions: vec![Action::Execute(create)],
            undo: Undo::Actions(vec![Action::Execute(drop)]),
            notes: vec![
                "CONCURRENTLY: reads and writes continue during the build; it waits for transactions older than itself to finish".into(),
                "an INVALID index left by a failed attempt is dropped before retrying".into(),
            ],
        })
    }

    fn add_foreign_key(&self, op: &AddForeignKey) -> Result<PlannedOp, Unsupported> {
        let name = op.constraint_name();
        let add = Statement::ddl(
            self.alter(
                &op.table,
                format!(
                    "ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){} NOT VALID",
                    self.ident(&name),
                    column_list(self, &op.columns),
                    self.table(&op.references.table),
                    column_list(self, &op.references.columns),
                    on_delete(&op.on_delete)
                ),
            ),
            Lock::ShareRowExclusive,
            &op.table,
        );
        Ok(PlannedOp {
            actions: vec![
                Action::Execute(add),
                Action::Execute(self.validate(&op.table, &name)),
            ],
            undo: Undo::Actions(vec![Action::Execute(
                self.drop_constraint_if_exists(&op.table, &name),
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

    fn add_check(&self, op: &AddCheck) -> Result<PlannedOp, Unsupported> {
        let add = Statement::ddl(
            self.alter(
                &op.table,
                format!(
                    "ADD CONSTRAINT {} CHECK ({}) NOT VALID",
                    self.ident(&op.name),
                    op.check
                ),
            ),
            Lock::AccessExclusive,
            &op.table,
        );
        Ok(PlannedOp {
            actions: vec![
                Action::Execute(add),
                Action::Execute(self.validate(&op.table, &op.name)),
            ],
            undo: Undo::Actions(vec![Action::Execute(
                self.drop_constraint_if_exists(&op.table, &op.name),
            )]),
            notes: vec![
                "NOT VALID: new writes are checked at once, existing rows only by VALIDATE, which blocks neither reads nor writes".into(),
            ],
        })
    }

    fn sync_column(&self, op: &SyncColumn) -> Result<PlannedOp, Unsupported> {
        let name = sync_trigger_name(&op.table, &op.column);
        let trigger = Statement::ddl(
            format!(
                "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()",
                self.ident(&name),
                self.table(&op.table),
                self.in_schema_of(&op.table, &name)
            ),
            Lock::ShareRowExclusive,
            &op.table,
        );
        let mut notes = vec![
            format!(
                "an insert that leaves {col} NULL, or an update that does not change it, sets {col} from `{}`",
                one_line(&op.from),
                col = op.column
            ),
            "a BEFORE trigger only assigns NEW: it writes no row itself and cannot loop".into(),
        ];
        if let Some(reverse) = &op.reverse {
            notes.push(format!(
                "reverse: an insert that leaves {other} NULL, or an update that changes {col} but not {other}, sets {other} from `{}`",
                one_line(&reverse.from),
                col = op.column,
                other = reverse.column
            ));
        }
        notes.push(
            "EXPLAIN first checks the expressions against the table (columns and types), so a mistake fails here instead of in the application's writes".into(),
        );
        let check = Statement::ddl(
            common::sync_expression_check(self, op),
            Lock::RowExclusive,
            &op.table,
        );
        Ok(PlannedOp {
            actions: vec![
                Action::Execute(check),
                Action::Execute(plain(self.sync_function_sql(op))),
                Action::Execute(trigger),
            ],
            undo: Undo::Actions(self.drop_sync_statements(&op.table, &op.column)),
            notes,
        })
    }

    fn backfill(&self, op: &Backfill) -> Result<PlannedOp, Unsupported> {
        Ok(common::backfill(self, op))
    }

    // NOTE: one statement (data-modifying CTEs) instead of bounds query + UPDATE + checkpoint:
    // one round trip per batch, and the checkpoint still commits with the rows it covers.
    // Every CTE runs exactly once, on the same snapshot; `last` is ONE row, so the update's
    // range and the checkpoint name the same key.
    fn backfill_batch_sql(
        &self,
        op: &Backfill,
        key: &[String],
        after: Option<&[String]>,
        limit: u64,
        checkpoint: &BatchCheckpoint,
    ) -> Option<String> {
        let table = self.table(&op.table);
        let cols = key.iter().map(|k| self.ident(k)).collect::<Vec<_>>();
        let aliases = (0..key.len()).map(|i| format!("k{i}")).collect::<Vec<_>>();
        let select = cols
            .iter()
            .zip(&aliases)
            .map(|(c, a)| format!("{c} AS {a}"))
            .collect::<Vec<_>>()
            .join(", ");
        let after_condition =
            after.map(|values| format!("{} > {}", row(&cols), row_literals(values)));
        let after_clause = after_condition
            .as_ref()
            .map(|c| format!("\n  WHERE {c}"))
            .unwrap_or_default();
        let set = op
            .set
            .iter()
            .map(|(column, expr)| format!("{} = ({expr})", self.ident(column)))
            .collect::<Vec<_>>()
            .join(",\n      ");
        let mut conditions = Vec::new();
        conditions.extend(after_condition);
        conditions.push(format!(
            "{} <= (SELECT {} FROM last)",
            row(&cols),
            aliases.join(", ")
        ));
        if let Some(filter) = &op.filter {
            conditions.push(format!("({filter})"));
        }
        let last_text = aliases
            .iter()
            .map(|a| format!("CAST({a} AS TEXT)"))
            .collect::<Vec<_>>();
        let outputs = aliases
            .iter()
            .enumerate()
            .map(|(i, a)| format!("(SELECT CAST({a} AS TEXT) FROM last) AS last_{i}"))
            .collect::<Vec<_>>()
            .join(",\n       ");
        Some(format!(
            "WITH batch AS (\n  SELECT {select} FROM {table}{after_clause}\n  ORDER BY {order}\n  LIMIT {limit}\n), last AS (\n  SELECT {aliases} FROM batch ORDER BY {desc} LIMIT 1\n), done AS (\n  UPDATE {table}\n  SET {set}\n  WHERE {conditions}\n  RETURNING 1\n), saved AS (\n  UPDATE {ledger}\n  SET checkpoint = (SELECT jsonb_build_array({last_text}) FROM last),\n      rows_done = {rows_done} + (SELECT count(*) FROM batch)\n  WHERE plan = {plan} AND phase = {phase} AND step_index = {index}\n    AND EXISTS (SELECT 1 FROM last)\n)\nSELECT (SELECT count(*) FROM batch) AS scanned,\n       (SELECT count(*) FROM done) AS updated,\n       {outputs}",
            order = cols.join(", "),
            aliases = aliases.join(", "),
            desc = desc(&aliases),
            conditions = conditions.join("\n    AND "),
            last_text = last_text.join(", "),
            ledger = checkpoint.ledger,
            rows_done = checkpoint.rows_done,
            plan = checkpoint.plan,
            phase = checkpoint.phase,
            index = checkpoint.step_index,
        ))
    }

    fn set_default(&self, op: &SetDefault) -> Result<PlannedOp, Unsupported> {
        Ok(self.change_default(&op.table, &op.column, format!("SET DEFAULT {}", op.default)))
    }

    fn drop_default(&self, op: &DropDefault) -> Result<PlannedOp, Unsupported> {
        Ok(self.change_default(&op.table, &op.column, "DROP DEFAULT".into()))
    }

    fn guard(&self, op: &Guard) -> Result<PlannedOp, Unsupported> {
        Ok(common::guard(self, op))
    }

    fn sql(&self, op: &Sql) -> Result<PlannedOp, Unsupported> {
        Ok(common::sql(op))
    }

    fn set_not_null(&self, op: &SetNotNull) -> Result<PlannedOp, Unsupported> {
        let column = self.ident(&op.column);
        let check = not_null_check_name(&op.table, &op.column);
        let add_check = Statement::ddl(
            self.alter(
                &op.table,
                format!(
                    "ADD CONSTRAINT {} CHECK ({column} IS NOT NULL) NOT VALID",
                    self.ident(&check)
                ),
            ),
            Lock::AccessExclusive,
            &op.table,
        );
        let set = Statement::ddl(
            self.alter(&op.table, format!("ALTER COLUMN {column} SET NOT NULL")),
            Lock::AccessExclusive,
            &op.table,
        );
        let drop_check = Statement::ddl(
            self.alter(&op.table, format!("DROP CONSTRAINT {}", self.ident(&check))),
            Lock::AccessExclusive,
            &op.table,
        );
        let capture = self.previous_nullability(op, &check);
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
                Action::Guard(common::null_count(self, &op.table, &op.column)),
                Action::Capture(capture),
                Action::Execute(add_check),
                Action::Execute(self.validate(&op.table, &check)),
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

    fn drop_sync(&self, op: &DropSync) -> Result<PlannedOp, Unsupported> {
        let name = sync_trigger_name(&op.table, &op.column);
        let function = self.in_schema_of(&op.table, &name);
        let capture_function = Capture {
            name: "sync_function",
            description: format!("the definition of the trigger function {name}()"),
            query: format!(
                "SELECT pg_get_functiondef({}::regprocedure)",
                quote_literal(&format!("{function}()"))
            ),
        };
        let capture_trigger = Capture {
            name: "sync_trigger",
            description: format!("the definition of the trigger {name} on {}", op.table),
            query: format!(
                "SELECT pg_get_triggerdef(t.oid)\nFROM pg_trigger t\nWHERE t.tgrelid = {} AND t.tgname = {}",
                self.regclass(&op.table),
                quote_literal(&name)
            ),
        };
        let drop_trigger = Statement::ddl(
            format!(
                "DROP TRIGGER {} ON {}",
                self.ident(&name),
                self.table(&op.table)
            ),
            Lock::AccessExclusive,
            &op.table,
        );
        let drop_function = plain(format!("DROP FUNCTION {function}()"));
        let restore_function = ExecuteSaved {
            name: "sync_function",
            description: format!("recreate the trigger function {name}() as saved"),
            lock: Lock::None,
            table: None,
            effect: TableEffect::None,
            transaction: true,
            policy: LockPolicy::Plain,
            special: None,
        };
        let restore_trigger = ExecuteSaved {
            name: "sync_trigger",
            description: format!("recreate the trigger {name} on {} as saved", op.table),
            lock: Lock::ShareRowExclusive,
            table: Some(op.table.clone()),
            effect: TableEffect::None,
            transaction: true,
            policy: LockPolicy::Short,
            special: None,
        };
        Ok(PlannedOp {
            actions: vec![
                Action::Capture(capture_function),
                Action::Capture(capture_trigger),
                Action::Execute(drop_trigger),
                Action::Execute(drop_function),
            ],
            undo: Undo::Actions(vec![
                Action::ExecuteSaved(restore_function),
                Action::ExecuteSaved(restore_trigger),
            ]),
            notes: vec![
                "the function and trigger definitions are saved in the ledger so rollback can recreate them".into(),
            ],
        })
    }

    fn drop_index(&self, op: &DropIndex) -> Result<PlannedOp, Unsupported> {
        // NOTE: an index lives in its table's schema; an unqualified name takes the table's.
        let index_name = TableName {
            schema: op
                .name
                .schema
                .clone()
                .or_else(|| op.table.as_ref().and_then(|t| t.schema.clone())),
            name: op.name.name.clone(),
        };
        let index = self.table(&index_name);
        let capture = Capture {
            name: "index_definition",
            description: format!("the definition of index {index_name}, as CREATE INDEX CONCURRENTLY"),
            query: format!(
                "SELECT regexp_replace(pg_get_indexdef(i.indexrelid),\n         '^CREATE (UNIQUE )?INDEX ', 'CREATE \\1INDEX CONCURRENTLY ')\nFROM pg_index i\nWHERE i.indexrelid = {}::regclass",
                quote_literal(&index)
            ),
        };
        let drop = Statement {
            sql: format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"),
            lock: Lock::ShareUpdateExclusive,
            table: op.table.clone(),
            effect: TableEffect::None,
            transaction: false,
            policy: LockPolicy::Long,
            special: Some(Special::Concurrently),
        };
        let restore = ExecuteSaved {
            name: "index_definition",
            description: format!(
                "rebuild index {index_name} concurrently from its saved definition"
            ),
            lock: Lock::ShareUpdateExclusive,
            table: op.table.clone(),
            effect: TableEffect::Scan,
            transaction: false,
            policy: LockPolicy::Long,
            special: Some(Special::CreateIndexConcurrently { index }),
        };
        Ok(PlannedOp {
            actions: vec![Action::Capture(capture), Action::Execute(drop)],
            undo: Undo::Actions(vec![Action::ExecuteSaved(restore)]),
            notes: vec![
                "CONCURRENTLY: reads and writes continue; it waits for transactions that use the index to finish".into(),
                "an index that backs a constraint (primary key, unique constraint) cannot be dropped this way: use drop_constraint".into(),
            ],
        })
    }

    fn drop_constraint(&self, op: &DropConstraint) -> Result<PlannedOp, Unsupported> {
        let lookup = format!(
            "FROM pg_constraint c\nWHERE c.conrelid = {} AND c.conname = {}",
            self.regclass(&op.table),
            quote_literal(&op.name)
        );
        let add_prefix = self.alter(
            &op.table,
            format!("ADD CONSTRAINT {} ", self.ident(&op.name)),
        );
        let validate_sql = self.alter(
            &op.table,
            format!("VALIDATE CONSTRAINT {}", self.ident(&op.name)),
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
        };
        let capture_validate = Capture {
            name: "constraint_validate",
            description: format!("how to validate constraint {} again", op.name),
            query: format!(
                "SELECT CASE WHEN c.contype IN ('c', 'f') AND c.convalidated\n            THEN {}\n            ELSE {} END\n{lookup}",
                quote_literal(&validate_sql),
                quote_literal("SELECT 'nothing to validate'")
            ),
        };
        let drop = Statement::ddl(
            self.alter(
                &op.table,
                format!("DROP CONSTRAINT {}", self.ident(&op.name)),
            ),
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

    fn drop_column(&self, op: &DropColumn) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![Action::Execute(Statement::ddl(
                self.alter(&op.table, format!("DROP COLUMN {}", self.ident(&op.column))),
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

    fn drop_table(&self, op: &DropTable) -> Result<PlannedOp, Unsupported> {
        Ok(PlannedOp {
            actions: vec![Action::Execute(Statement::ddl(
                format!("DROP TABLE {}", self.table(&op.table)),
                Lock::AccessExclusive,
                &op.table,
            ))],
            undo: Undo::Irreversible(format!("dropping {} destroys its data", op.table)),
            notes: vec![
                "views and foreign keys that use the table must be gone first (no CASCADE)".into(),
            ],
        })
    }
}

impl Postgres {
    /// `set_default` / `drop_default`: the previous default is saved first, as the SQL that
    /// restores it.
    fn change_default(&self, table: &TableName, column: &str, change: String) -> PlannedOp {
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
