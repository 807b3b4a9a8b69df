//! SQL pieces both dialects write the same way: column lists, guards, `sql` steps and the
//! display form of a backfill.

use super::planned::{
    Action, BackfillPlan, BatchSettings, Expect, GuardQuery, Lock, LockPolicy, PlannedOp,
    Statement, TableEffect, Undo,
};
use super::{quote_literal, BatchCheckpoint, Dialect};
use crate::ops::add_foreign_key::ForeignKeyActions;
use crate::ops::add_index::{IndexElement, IndexTarget};
use crate::ops::guard::GuardCheck;
use crate::ops::{Backfill, Guard, Sql, SyncColumn};
use crate::vocab::{defaults, TableName};

/// The placeholder key column shown when the backfill walks the primary key, which is only
/// known once bellows is connected.
pub const PRIMARY_KEY_PLACEHOLDER: &str = "<primary key>";

/// `"a", "b"` for a list of identifiers.
pub fn column_list(dialect: &dyn Dialect, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| dialect.ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The clauses after a foreign key's `REFERENCES t (c)`, each with a leading space, in the order
/// PostgreSQL's `pg_get_constraintdef` prints them (so crash recovery and `doctor` recognise the
/// constraint): ` MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL DEFERRABLE INITIALLY
/// DEFERRED`. Defaults the server leaves out (`MATCH SIMPLE`, `INITIALLY IMMEDIATE`) are left out.
pub fn foreign_key_actions(actions: &ForeignKeyActions) -> String {
    let mut out = String::new();
    if actions.match_.as_deref() == Some("full") {
        out.push_str(" MATCH FULL");
    }
    for (clause, action) in [
        ("ON UPDATE", &actions.on_update),
        ("ON DELETE", &actions.on_delete),
    ] {
        if let Some(action) = action {
            out.push_str(&format!(" {clause} {}", action.to_ascii_uppercase()));
        }
    }
    if actions.deferrable {
        out.push_str(" DEFERRABLE");
        if actions.initially.as_deref() == Some("deferred") {
            out.push_str(" INITIALLY DEFERRED");
        }
    }
    out
}

/// One element of an index or exclusion constraint, in the shape `pg_get_indexdef` prints it
/// (so crash recovery and `doctor` recognise the index): `"email"`, `(lower(email))`, with
/// `COLLATE "C"`, the operator class, `DESC` and `NULLS FIRST|LAST` when they are not the
/// default (`ASC`, and NULLs last ascending, first descending, are left out).
pub fn index_element(dialect: &dyn Dialect, element: &IndexElement) -> String {
    let mut out = match &element.target {
        IndexTarget::Column(column) => dialect.ident(column),
        IndexTarget::Expression(expression) => format!("({expression})"),
    };
    if let Some(collate) = &element.collate {
        out.push_str(&format!(" COLLATE {}", dialect.ident(collate)));
    }
    if let Some(opclass) = &element.opclass {
        out.push_str(&format!(" {}", qualified(dialect, opclass)));
    }
    let descending = element.order.as_deref() == Some("desc");
    if descending {
        out.push_str(" DESC");
    }
    match (element.nulls.as_deref(), descending) {
        (Some("first"), false) => out.push_str(" NULLS FIRST"),
        (Some("last"), true) => out.push_str(" NULLS LAST"),
        _ => {}
    }
    out
}

/// `"a", (lower(b)) DESC` for the elements of an index.
pub fn index_elements(dialect: &dyn Dialect, elements: &[IndexElement]) -> String {
    elements
        .iter()
        .map(|e| index_element(dialect, e))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A possibly schema-qualified name (`public.gin_trgm_ops`), each part quoted.
pub fn qualified(dialect: &dyn Dialect, name: &str) -> String {
    name.split('.')
        .map(|part| dialect.ident(part))
        .collect::<Vec<_>>()
        .join(".")
}

/// A storage parameter's value as `pg_get_indexdef` prints it: bare when it is a plain
/// lower-case word that is not a reserved keyword (`off`, `auto`), otherwise a string literal
/// (`'70'`, `'on'`, `'true'`).
pub fn storage_parameter_value(value: &str) -> String {
    const RESERVED: &[&str] = &["on", "true", "false", "null", "default", "all"];
    let word = value.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if word && !RESERVED.contains(&value) {
        value.to_string()
    } else {
        quote_literal(value)
    }
}

/// A statement that takes no table lock worth bounding (functions, catalog reads).
pub fn plain(sql: impl Into<String>) -> Statement {
    Statement {
        sql: sql.into(),
        lock: Lock::None,
        table: None,
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Plain,
        special: None,
    }
}

/// The null-count check of `set_not_null` and of `guard null_count`.
pub fn null_count(dialect: &dyn Dialect, table: &TableName, column: &str) -> GuardQuery {
    GuardQuery {
        description: format!("no NULL left in {table}.{column}"),
        query: format!(
            "SELECT count(*) FROM {} WHERE {} IS NULL",
            dialect.table(table),
            dialect.ident(column)
        ),
        expect: Expect::Integer(0),
    }
}

pub fn guard(dialect: &dyn Dialect, op: &Guard) -> PlannedOp {
    let query = match &op.check {
        GuardCheck::NullCount { table, column } => null_count(dialect, table, column),
        GuardCheck::Query { query, expect } => GuardQuery {
            description: "the plan's query".into(),
            query: query.clone(),
            expect: *expect,
        },
    };
    PlannedOp {
        actions: vec![Action::Guard(query)],
        undo: Undo::Nothing("a guard changes nothing".into()),
        notes: vec!["runs before every other step of its phase; if it fails, nothing of the phase is applied (exit 3)".into()],
    }
}

/// SQL as the plan's author wrote it. bellows does not parse it, so it names no lock: the
/// statements take whatever they take, bounded by `lock_timeout` inside a transaction.
pub fn sql(op: &Sql) -> PlannedOp {
    let statement = |text: &str| Statement {
        sql: text.to_string(),
        lock: Lock::None,
        table: None,
        effect: TableEffect::None,
        transaction: op.transaction,
        // NOTE: outside a transaction the usual reason is `CREATE INDEX CONCURRENTLY` or
        // `VACUUM`, which must not be cancelled by the short lock timeout.
        policy: if op.transaction {
            LockPolicy::Short
        } else {
            LockPolicy::Long
        },
        special: None,
    };
    let undo = match &op.down {
        Some(down) => Undo::Actions(vec![Action::Execute(statement(down))]),
        None => Undo::Irreversible("the sql step has no `down`".into()),
    };
    let mut notes = vec![
        "hand-written SQL: bellows runs it as written and cannot tell which locks it takes".into(),
    ];
    if !op.transaction {
        notes.push("`transaction = false`: sent alone, outside any transaction, without the short lock timeout".into());
    }
    PlannedOp {
        actions: vec![Action::Execute(statement(&op.up))],
        undo,
        notes,
    }
}

/// The backfill as `bellows plan` shows it: the batch statements with placeholders for the
/// key and the batch bounds, and the count of rows to touch.
pub fn backfill(dialect: &dyn Dialect, op: &Backfill) -> PlannedOp {
    let key = op
        .key
        .clone()
        .unwrap_or_else(|| vec![PRIMARY_KEY_PLACEHOLDER.to_string()]);
    // Placeholders for the key values the engine fills in as literals.
    let placeholders = |what: &str| -> Vec<String> {
        match &op.key {
            None => vec![format!("<{what} key>")],
            Some(key) => key.iter().map(|k| format!("<{what} {k}>")).collect(),
        }
    };
    let last = placeholders("last");
    let end = placeholders("batch end");
    let limit = op.batch_size.unwrap_or(defaults::BATCH_SIZE);
    let checkpoint = BatchCheckpoint {
        ledger: "<ledger>".into(),
        plan: "<plan>".into(),
        phase: quote_literal("backfill"),
        step_index: "<step>".into(),
        rows_done: "<rows done>".into(),
        range: None,
    };
    let batch_sql = match dialect.backfill_batch_sql(op, &key, Some(&last), limit, &checkpoint) {
        Some(one) => format!(
            "-- each batch, one statement in its own short transaction: the next {limit} keys after the previous batch (the first batch starts at the beginning), their update and the checkpoint\n{one};"
        ),
        None => {
            let bounds = dialect.backfill_bounds_sql(op, &key, Some(&last), None, limit);
            let update = dialect.backfill_update_sql(op, &key, Some(&last), &end);
            format!(
                "-- 1. the next {limit} keys after the previous batch (the first batch starts at the beginning)\n{bounds};\n\n-- 2. the batch itself, one short transaction with the checkpoint\n{update};"
            )
        }
    };
    let mut batch_sql = batch_sql.replace(
        &dialect.ident(PRIMARY_KEY_PLACEHOLDER),
        PRIMARY_KEY_PLACEHOLDER,
    );
    for placeholder in last.iter().chain(&end) {
        batch_sql = batch_sql.replace(&quote_literal(placeholder), placeholder);
    }
    let mut notes = vec![
        "keyset pagination: each batch starts where the previous one ended (never OFFSET), so no row is read twice".into(),
        "each batch is its own short transaction that also saves the checkpoint; an interrupted backfill resumes after the last committed batch".into(),
    ];
    if dialect.kind() == super::DialectKind::Postgres {
        notes.push("each batch runs with `SET LOCAL synchronous_commit = off`: its commit does not wait for the WAL flush; a batch lost in a server crash is lost together with its checkpoint and simply redone".into());
    }
    if op.key.is_none() {
        notes.push("walks the table's primary key, read from the database when applied".into());
    }
    notes.extend(parallel_note(op, dialect.kind()));
    if op.max_lag.is_some() && dialect.kind() == super::DialectKind::Sqlite {
        notes.push(
            "`max_lag` watches PostgreSQL replicas; SQLite has none, so it is ignored".into(),
        );
    }
    if op.max_lag.is_some() && dialect.kind() == super::DialectKind::Mysql {
        notes.push(
            "`max_lag` reads Seconds_Behind_Master (whole seconds) on each replica (--replica-url, else those SHOW SLAVE HOSTS lists); a replica whose lag is NULL or unreachable holds the backfill"
                .into(),
        );
    }
    PlannedOp {
        actions: vec![Action::Backfill(BackfillPlan {
            table: op.table.clone(),
            key: op.key.clone(),
            set: op.set.clone(),
            filter: op.filter.clone(),
            batch_sql,
            count_sql: dialect.backfill_count_sql(op),
            settings: BatchSettings {
                batch_size: op.batch_size,
                pause: op.pause,
                target_batch_time: op.target_batch_time,
                max_lag: op.max_lag,
                throttle_query: op.throttle_query.clone(),
                parallel: op.parallel,
            },
        })],
        undo: Undo::Nothing("the expand rollback removes the column".into()),
        notes,
    }
}

/// `EXPLAIN UPDATE t SET column = (from) WHERE false`: compiles the sync expressions against
/// the table before the trigger is installed, and writes nothing.
// NOTE: neither database checks the body of a trigger (function) when it is created, so a typo
// in `from` would otherwise only surface as an error in every write of the application.
pub fn sync_expression_check(dialect: &dyn Dialect, op: &SyncColumn) -> String {
    sync_expression_check_as(dialect, op, None, &|expression| expression.to_string())
}

/// [`sync_expression_check`] with the table named `alias` in the statement and each
/// expression as `trigger` makes it: the check compiles what the trigger will run.
pub fn sync_expression_check_as(
    dialect: &dyn Dialect,
    op: &SyncColumn,
    alias: Option<&str>,
    trigger: &dyn Fn(&str) -> String,
) -> String {
    let mut set = vec![format!(
        "{} = ({})",
        dialect.ident(&op.column),
        trigger(&op.from)
    )];
    if let Some(reverse) = &op.reverse {
        set.push(format!(
            "{} = ({})",
            dialect.ident(&reverse.column),
            trigger(&reverse.from)
        ));
    }
    let alias = alias.map(|a| format!(" AS {a}")).unwrap_or_default();
    format!(
        "EXPLAIN UPDATE {}{alias} SET {} WHERE false",
        dialect.table(&op.table),
        set.join(", ")
    )
}

/// What `parallel = N` does on `kind`, when set above one.
fn parallel_note(op: &Backfill, kind: super::DialectKind) -> Option<String> {
    let workers = op.parallel.filter(|n| *n > 1)?;
    Some(match kind {
        super::DialectKind::Postgres => format!(
            "`parallel = {workers}`: the key is split into {workers} contiguous ranges (from the key index), walked at once by {workers} workers, each range with its own checkpoint; {} connections in all (one per worker, the ledger's and the run lock's; fewer workers when more would leave under a tenth of the server's connections, at least 3, free); a table under about 1,000 rows per worker is split into fewer",
            workers + 2
        ),
        super::DialectKind::Sqlite => format!(
            "`parallel = {workers}` is ignored on SQLite: it has one writer at a time, so the backfill walks with one worker"
        ),
        super::DialectKind::Mysql => format!(
            "`parallel = {workers}`: the key is split into {workers} contiguous ranges (from the key index), walked at once on {workers} connections, each range with its own checkpoint; the batches run under READ COMMITTED (REPEATABLE READ when the binary log is statement-based), so no gap lock reaches into the next range"
        ),
    })
}
