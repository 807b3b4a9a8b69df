//! PostgreSQL sync triggers: `sync_column` (a PL/pgSQL BEFORE trigger) and `drop_sync`.

use crate::dialect::common::{self, plain};
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::add_column::VOLATILE_FUNCTIONS;
use crate::ops::*;
use crate::vocab::naming::{shorten_identifier, sync_trigger_name};
use crate::vocab::TableName;

use super::{new_row, sync_names, Postgres};

/// The triggers of a sync: `[update, insert]`. The UPDATE trigger keeps the name of the
/// one trigger (and function) a sync had before; the INSERT trigger is `<name>$insert`.
// NOTE: BEFORE triggers of one event fire in name order. `$` sorts before every other
// character of an unquoted name, so the triggers of several syncs on one table still fire in
// the order of their column names, as the single trigger of each did.
fn trigger_names(table: &TableName, column: &str) -> [String; 2] {
    let name = sync_trigger_name(table, column);
    [name.clone(), shorten_identifier(&format!("{name}$insert"))]
}

/// What a trigger function evaluates for `expression` over a row of `table`: the expression
/// over `NEW` when it can be rewritten safely (assigned directly), else `None` (selected from
/// the row as written, named as the table, so `to_jsonb(users)` reads the whole row).
fn over_new(expression: &str, table: &TableName) -> Option<String> {
    new_row::over_row(expression, "NEW", &table.name)
}

/// The UPDATE trigger's `WHEN`: false for a write that sets every synced column (the
/// function would do nothing), so such a write, like a backfill's, never calls the function.
// NOTE: `NOT (a IS DISTINCT FROM b)` is how the server prints `a IS NOT DISTINCT FROM b`
// (pg_get_triggerdef), so recovery recognises the trigger it made.
fn update_when(pg: &Postgres, op: &SyncColumn) -> String {
    let unchanged = |column: &str| {
        let column = pg.ident(column);
        format!("NOT (NEW.{column} IS DISTINCT FROM OLD.{column})")
    };
    let mut when = unchanged(&op.column);
    if let Some(reverse) = &op.reverse {
        when.push_str(&format!(" OR {}", unchanged(&reverse.column)));
    }
    when
}

pub(super) fn sync_column(pg: &Postgres, op: &SyncColumn) -> Result<PlannedOp, Unsupported> {
    let [update_name, insert_name] = trigger_names(&op.table, &op.column);
    let function = pg.in_schema_of(&op.table, &sync_trigger_name(&op.table, &op.column));
    let trigger = |name: &str, event: &str| {
        Statement::ddl(
            format!(
                "CREATE TRIGGER {} BEFORE {event} ON {} FOR EACH ROW{} EXECUTE FUNCTION {function}()",
                pg.ident(name),
                pg.table(&op.table),
                if event == "UPDATE" {
                    format!(" WHEN ({})", update_when(pg, op))
                } else {
                    String::new()
                }
            ),
            Lock::ShareRowExclusive,
            &op.table,
        )
    };
    // The check compiles the expressions as the function evaluates them: over the row named
    // `new` where they are rewritten, else selected from that row named as the table.
    let row = pg.ident(&op.table.name);
    let check = Statement::ddl(
        common::sync_expression_check_as(pg, op, Some("new"), &|expression| {
            over_new(expression, &op.table)
                .unwrap_or_else(|| format!("SELECT ({expression}) FROM (SELECT new.*) AS {row}"))
        }),
        Lock::RowExclusive,
        &op.table,
    );
    Ok(PlannedOp {
        actions: vec![
            Action::Execute(check),
            Action::Execute(Statement::ddl(
                generated_reads_sql(pg, op),
                Lock::AccessShare,
                &op.table,
            )),
            Action::Execute(plain(pg.sync_function_sql(op))),
            Action::Execute(trigger(&insert_name, "INSERT")),
            Action::Execute(trigger(&update_name, "UPDATE")),
            Action::Execute(Statement::ddl(
                sync_names::reset_search_path_sql(pg, op, &function),
                Lock::AccessShare,
                &op.table,
            )),
        ],
        undo: Undo::Actions(pg.drop_sync_statements(&op.table, &op.column)),
        notes: sync_notes(op),
    })
}

/// A `DO` block that refuses a sync whose expressions read a stored generated column of the
/// row being written.
// NOTE: PostgreSQL computes generated columns after the BEFORE triggers, which see them as
// NULL: `from = "total"` would fill the column from NULL on every write. A temporary view of
// the expressions over a temporary copy of the table (`LIKE … INCLUDING GENERATED`) records
// which of the copy's columns they read (a subquery naming the table reads the table
// itself: stored values, which are right). A role that may not make temporary objects
// cannot run the check; the step then goes on without it.
fn generated_reads_sql(pg: &Postgres, op: &SyncColumn) -> String {
    let mut expressions = vec![op.from.as_str()];
    expressions.extend(op.reverse.as_ref().map(|r| r.from.as_str()));
    let expressions = expressions
        .iter()
        .enumerate()
        .map(|(i, e)| format!("({e}) AS bellows_{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    // `%` is RAISE's placeholder: one in a name is doubled.
    let step = format!("{}.{}", op.table, op.column).replace('%', "%%");
    let message = quote_literal(&format!(
        "sync_column {step}: the expression reads the generated column %, which a BEFORE trigger sees as NULL (PostgreSQL computes generated columns after BEFORE triggers); write its expression instead"
    ));
    format!(
        "DO $bellows$
DECLARE
  bellows_generated text;
BEGIN
  BEGIN
    DROP VIEW IF EXISTS pg_temp.bellows_sync_reads;
    DROP TABLE IF EXISTS pg_temp.bellows_sync_generated;
    CREATE TEMPORARY TABLE bellows_sync_generated (LIKE {table} INCLUDING GENERATED);
  EXCEPTION WHEN insufficient_privilege THEN
    RETURN;
  END;
  CREATE TEMPORARY VIEW bellows_sync_reads AS
    SELECT {expressions} FROM pg_temp.bellows_sync_generated AS {row};
  SELECT pg_catalog.string_agg(DISTINCT a.attname, ', ') INTO bellows_generated
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
   WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
     AND r.ev_class = 'pg_temp.bellows_sync_reads'::pg_catalog.regclass
     AND d.refobjid = 'pg_temp.bellows_sync_generated'::pg_catalog.regclass
     AND a.attgenerated <> '';
  DROP VIEW pg_temp.bellows_sync_reads;
  DROP TABLE pg_temp.bellows_sync_generated;
  IF bellows_generated IS NOT NULL THEN
    RAISE EXCEPTION {message}, bellows_generated;
  END IF;
END
$bellows$",
        table = pg.table(&op.table),
        row = pg.ident(&op.table.name),
    )
}

fn sync_notes(op: &SyncColumn) -> Vec<String> {
    // With `reverse`, an insert that writes neither column leaves one at its default as it is.
    let when_insert = match &op.reverse {
        Some(reverse) => format!(
            " when it writes {} or {} is NULL",
            reverse.column, op.column
        ),
        None => String::new(),
    };
    let mut notes = vec![
        format!(
            "an insert that leaves {col} out (NULL, or equal to its default){when_insert}, or an update that does not change it, sets {col} from `{}`",
            one_line(&op.from),
            col = op.column
        ),
        "a BEFORE trigger only assigns NEW: it writes no row itself and cannot loop".into(),
        "the function keeps the search_path of this apply (SET search_path FROM CURRENT) unless the expressions name no relation and every function, operator and type they use, and the synced columns' equality, is built into PostgreSQL (checked on the server when the step runs): then the setting, which each write would pay for, is removed".into(),
        "a default fills a column before the trigger sees the row: on an insert, a value equal to the column's current default (read from the catalog) counts as not written; a default that calls a volatile function is not compared".into(),
    ];
    let when = match &op.reverse {
        Some(reverse) => {
            notes.push(format!(
                "reverse: an insert that writes {col} but leaves {other} out (NULL, or equal to its default), or an update that changes {col} but not {other}, sets {other} from `{}`",
                one_line(&reverse.from),
                col = op.column,
                other = reverse.column
            ));
            format!(
                "the UPDATE trigger's WHEN clause skips the function for an update that changes both {} and {}: it would do nothing",
                op.column, reverse.column
            )
        }
        None => format!(
            "the UPDATE trigger's WHEN clause skips the function for an update that changes {}: it would do nothing, so a backfill's own writes never call it",
            op.column
        ),
    };
    notes.push(when);
    notes.push(
        "EXPLAIN first checks the expressions against the table (columns and types), so a mistake fails here instead of in the application's writes".into(),
    );
    notes.push(
        "an expression that reads a stored generated column is refused: a BEFORE trigger sees it as NULL".into(),
    );
    notes
}

pub(super) fn drop_sync(pg: &Postgres, op: &DropSync) -> Result<PlannedOp, Unsupported> {
    let name = sync_trigger_name(&op.table, &op.column);
    let function = pg.in_schema_of(&op.table, &name);
    let capture_function = Capture {
        name: "sync_function",
        description: format!("the definition of the trigger function {name}()"),
        query: format!(
            "SELECT pg_get_functiondef({}::regprocedure)",
            quote_literal(&format!("{function}()"))
        ),
        missing: None,
    };
    let [update_name, insert_name] = trigger_names(&op.table, &op.column);
    let capture_trigger = Capture {
        name: "sync_trigger",
        description: format!(
            "the definitions of the triggers {update_name} and {insert_name} on {}",
            op.table
        ),
        query: format!(
            "SELECT string_agg(pg_get_triggerdef(t.oid), E';\\n' ORDER BY t.tgname)\nFROM pg_trigger t\nWHERE t.tgrelid = {} AND t.tgname IN ({}, {})",
            pg.regclass(&op.table),
            quote_literal(&update_name),
            quote_literal(&insert_name)
        ),
        missing: None,
    };
    let drop_triggers = pg.drop_trigger_statements(&op.table, &op.column, false);
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
        description: format!("recreate the triggers {name} on {} as saved", op.table),
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
        ]
        .into_iter()
        .chain(drop_triggers)
        .chain([Action::Execute(drop_function)])
        .collect(),
        undo: Undo::Actions(vec![
            Action::ExecuteSaved(restore_function),
            Action::ExecuteSaved(restore_trigger),
        ]),
        notes: vec![
            "the function and trigger definitions are saved in the ledger so rollback can recreate them".into(),
        ],
    })
}

impl Postgres {
    pub(super) fn drop_sync_statements(&self, table: &TableName, column: &str) -> Vec<Action> {
        let name = sync_trigger_name(table, column);
        let mut actions = self.drop_trigger_statements(table, column, true);
        actions.push(Action::Execute(plain(format!(
            "DROP FUNCTION IF EXISTS {}()",
            self.in_schema_of(table, &name)
        ))));
        actions
    }

    /// Drops the triggers of a sync: the UPDATE trigger (`IF EXISTS` when `if_exists`) and the
    /// INSERT trigger, always `IF EXISTS` (a sync made before it existed has one trigger, for
    /// both events, under the UPDATE trigger's name).
    fn drop_trigger_statements(
        &self,
        table: &TableName,
        column: &str,
        if_exists: bool,
    ) -> Vec<Action> {
        let [update_name, insert_name] = trigger_names(table, column);
        [(update_name, if_exists), (insert_name, true)]
            .into_iter()
            .map(|(name, if_exists)| {
                Action::Execute(Statement::ddl(
                    format!(
                        "DROP TRIGGER {}{} ON {}",
                        if if_exists { "IF EXISTS " } else { "" },
                        self.ident(&name),
                        self.table(table)
                    ),
                    Lock::AccessExclusive,
                    table,
                ))
            })
            .collect()
    }

    /// The PL/pgSQL function behind `sync_column`: a BEFORE trigger only assigns `NEW`, so it
    /// writes nothing itself and cannot fire again (no loop).
    ///
    /// On INSERT a column counts as written when it is not NULL and not equal to its default:
    /// a default fills a column the writer left out before the trigger runs, so equal to the
    /// default is read as "left out" (see docs/plan-format.md, "sync_column and defaults").
    pub(super) fn sync_function_sql(&self, op: &SyncColumn) -> String {
        let function = self.in_schema_of(&op.table, &sync_trigger_name(&op.table, &op.column));
        let column = self.ident(&op.column);
        // NOTE: `from` is an expression over bare column names. Rewritten over NEW
        // (`upper(NEW.name)`) it is assigned directly: PL/pgSQL evaluates a simple expression
        // without a query. Otherwise selecting it from the one-row derived table
        // `(SELECT NEW.*)` evaluates it against the row being written; the derived table is
        // named as the table, so a column qualified with the table's name (`users.name`, as a
        // backfill's `set` may write it) reads the row too;
        // `#variable_conflict use_column` lets a column share a name with a PL/pgSQL variable.
        let row = self.ident(&op.table.name);
        let assign = |target: &str, expression: &str| match over_new(expression, &op.table) {
            Some(direct) => format!("NEW.{target} := ({direct});"),
            None => {
                format!("SELECT ({expression}) INTO NEW.{target} FROM (SELECT NEW.*) AS {row};")
            }
        };
        // NOTE: `SET search_path FROM CURRENT`: the names in `from` resolve as they did when the
        // step checked them, not through the search_path of whoever writes the row (a new
        // application's version schema would otherwise come first).
        let mut body = String::new();
        body.push_str(&format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger\nLANGUAGE plpgsql SET search_path FROM CURRENT AS $bellows$\n#variable_conflict use_column\n"
        ));
        let mut declare = vec![
            "bellows_default text;".to_string(),
            "bellows_equal boolean;".to_string(),
            "bellows_wrote_column boolean;".to_string(),
        ];
        if op.reverse.is_some() {
            declare.push("bellows_wrote_other boolean;".into());
        }
        body.push_str("DECLARE\n");
        for line in &declare {
            body.push_str(&format!("  {line}\n"));
        }
        body.push_str("BEGIN\n");
        // NOTE: which columns the statement wrote is decided before either assignment changes NEW.
        body.push_str("  IF TG_OP = 'INSERT' THEN\n");
        body.push_str(&self.wrote_on_insert(&op.column, "bellows_wrote_column"));
        if let Some(reverse) = &op.reverse {
            body.push_str(&self.wrote_on_insert(&reverse.column, "bellows_wrote_other"));
        }
        body.push_str("  ELSE\n");
        body.push_str(&format!(
            "    bellows_wrote_column := NEW.{column} IS DISTINCT FROM OLD.{column};\n"
        ));
        if let Some(reverse) = &op.reverse {
            let other = self.ident(&reverse.column);
            body.push_str(&format!(
                "    bellows_wrote_other := NEW.{other} IS DISTINCT FROM OLD.{other};\n"
            ));
        }
        body.push_str("  END IF;\n");
        match &op.reverse {
            None => {
                body.push_str(&format!(
                    "  -- an insert or update that does not write {column} fills it from: {}\n",
                    one_line(&op.from)
                ));
                body.push_str(&format!(
                    "  IF NOT bellows_wrote_column THEN\n    {}\n  END IF;\n",
                    assign(&column, &op.from)
                ));
            }
            Some(reverse) => {
                let other = self.ident(&reverse.column);
                body.push_str(&format!(
                    "  -- a write that does not set {column} fills it from: {}\n",
                    one_line(&op.from)
                ));
                body.push_str(&format!(
                    "  IF NOT bellows_wrote_column AND (TG_OP = 'UPDATE' OR bellows_wrote_other OR NEW.{column} IS NULL) THEN\n    {}\n  END IF;\n",
                    assign(&column, &op.from)
                ));
                body.push_str(&format!(
                    "  -- a write that sets {column} but not {other} fills {other} from: {}\n",
                    one_line(&reverse.from)
                ));
                body.push_str(&format!(
                    "  IF NOT bellows_wrote_other AND (bellows_wrote_column OR (TG_OP = 'INSERT' AND NEW.{other} IS NULL)) THEN\n    {}\n  END IF;\n",
                    assign(&other, &reverse.from)
                ));
            }
        }
        body.push_str("  RETURN NEW;\nEND\n$bellows$");
        body
    }

    /// PL/pgSQL that sets `flag` to whether an INSERT wrote `column`: not NULL, and not equal to
    /// the column's default as the catalog has it now (so a later `set_default` is followed).
    // NOTE: the default is evaluated again to compare; one that calls a volatile function
    // (`nextval`, `random`, …) is not (it would consume a sequence value, and could not be
    // equal anyway): such a column counts as written whenever it is not NULL.
    fn wrote_on_insert(&self, column: &str, flag: &str) -> String {
        let quoted = self.ident(column);
        let volatile = VOLATILE_FUNCTIONS
            .iter()
            .map(|f| f.trim_end_matches('('))
            .collect::<Vec<_>>()
            .join("|");
        format!(
            "    {flag} := NEW.{quoted} IS NOT NULL;
    IF {flag} THEN
      SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO bellows_default
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = TG_RELID AND a.attname = {};
      IF bellows_default IS NOT NULL AND bellows_default !~* {} THEN
        EXECUTE 'SELECT $1 IS NOT DISTINCT FROM (' || bellows_default || ')' INTO bellows_equal USING NEW.{quoted};
        {flag} := NOT bellows_equal;
      END IF;
    END IF;
",
            quote_literal(column),
            quote_literal(&format!("({volatile})\\s*\\("))
        )
    }
}

/// An expression on one line, for a comment.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
