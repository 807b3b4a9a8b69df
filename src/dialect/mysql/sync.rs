//! MySQL sync triggers: `sync_column` as two BEFORE triggers (MySQL gives a trigger one event:
//! one for INSERT, one for UPDATE) and `drop_sync`.

use sqlparser::dialect::MySqlDialect;

use crate::dialect::common;
use crate::dialect::planned::{
    Action, Capture, ExecuteSaved, Lock, LockPolicy, PlannedOp, Statement, TableEffect, Undo,
};
use crate::dialect::qualify::{self, is_word, WordAt, WordRole};
use crate::dialect::{quote_literal, Dialect, Unsupported};
use crate::ops::*;
use crate::vocab::naming::{shorten_identifier, sync_trigger_name};
use crate::vocab::TableName;

use super::{short, Mysql};

/// Words of an expression that are SQL, not column names.
const SQL_WORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "NULL",
    "TRUE",
    "FALSE",
    "IS",
    "IN",
    "LIKE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "BETWEEN",
    "INTERVAL",
    "AS",
    "COLLATE",
    "BINARY",
    "DIV",
    "MOD",
    "XOR",
    "REGEXP",
    "RLIKE",
    "ESCAPE",
    "DISTINCT",
    "UNKNOWN",
    "EXISTS",
    "SELECT",
    "FROM",
    "WHERE",
    "CURRENT_TIMESTAMP",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_USER",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "UTC_TIMESTAMP",
    "UTC_DATE",
    "SEPARATOR",
    "USING",
    "YEAR",
    "QUARTER",
    "MONTH",
    "WEEK",
    "DAY",
    "HOUR",
    "MINUTE",
    "SECOND",
    "MICROSECOND",
];

/// `from` (an expression over the table's bare column names) with each column name qualified
/// as `NEW.column`, for a trigger body. Function names, SQL words, words after `AS` (types)
/// and already qualified names are left alone.
// NOTE: MySQL has no `SELECT NEW.*` to evaluate an expression against the row being written,
// as PostgreSQL's trigger function does; the column references are rewritten instead.
pub(crate) fn qualify_new(expression: &str) -> String {
    let role = |at: &WordAt<'_>| {
        let sql_word = at
            .plain()
            .is_some_and(|w| SQL_WORDS.iter().any(|s| s.eq_ignore_ascii_case(&w)));
        let column = at.quoted() || !(at.called() || sql_word);
        if column && !at.qualified() && !is_word(at.previous, "as") {
            WordRole::Column
        } else {
            WordRole::Sql
        }
    };
    match qualify::columns(&MySqlDialect {}, expression, role) {
        Some(columns) => qualify::rewrite(expression, &columns, |_, word| {
            format!("NEW.`{}`", word.value.replace('`', "``"))
        }),
        None => expression.to_string(),
    }
}

/// The two trigger names of a sync: `<name>_ins` and `<name>_upd`.
fn trigger_names(table: &TableName, column: &str) -> [String; 2] {
    let base = sync_trigger_name(table, column);
    [
        shorten_identifier(&format!("{base}_ins")),
        shorten_identifier(&format!("{base}_upd")),
    ]
}

pub(super) fn sync_column(my: &Mysql, op: &SyncColumn) -> Result<PlannedOp, Unsupported> {
    let [insert_name, update_name] = trigger_names(&op.table, &op.column);
    let column = my.ident(&op.column);
    let from = qualify_new(&op.from);
    let insert_body = insert_body(my, op);
    let update_body = match &op.reverse {
        None => {
            format!("IF NEW.{column} <=> OLD.{column} THEN SET NEW.{column} = ({from}); END IF")
        }
        Some(reverse) => {
            let other = my.ident(&reverse.column);
            let back = qualify_new(&reverse.from);
            format!(
                "IF NOT (NEW.{column} <=> OLD.{column}) AND NEW.{other} <=> OLD.{other} THEN SET NEW.{other} = ({back});\n  ELSEIF NEW.{column} <=> OLD.{column} THEN SET NEW.{column} = ({from}); END IF"
            )
        }
    };
    let trigger = |name: &str, event: &str, body: &str| {
        short(
            format!(
                "CREATE TRIGGER {} BEFORE {event} ON {} FOR EACH ROW\nBEGIN\n  {body};\nEND",
                my.ident(name),
                my.table(&op.table)
            ),
            &op.table,
        )
    };
    let check = Statement::ddl(common::sync_expression_check(my, op), Lock::None, &op.table);
    let mut notes = vec![
        format!(
            "two BEFORE triggers (INSERT, UPDATE): an insert that leaves {col} out (NULL, or equal to its default), or an update that does not change it, sets {col} from `{}`",
            op.from.split_whitespace().collect::<Vec<_>>().join(" "),
            col = op.column
        ),
        "the expression's column names are read as the new row's (NEW.column)".into(),
        "a default fills a column before the trigger sees the row: on an insert, a value equal to the column's literal default (information_schema.COLUMNS, read when the row is written) counts as not written; an expression default is never recognised".into(),
        "a BEFORE trigger only assigns NEW: it writes no row itself and cannot loop".into(),
        "CREATE TRIGGER takes the table's exclusive metadata lock for an instant".into(),
    ];
    if let Some(reverse) = &op.reverse {
        notes.push(format!(
            "reverse: an insert that writes {col} but leaves {other} out (NULL, or equal to its default), or an update that changes {col} but not {other}, sets {other} from `{}`",
            reverse
                .from
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            col = op.column,
            other = reverse.column
        ));
    }
    Ok(PlannedOp {
        actions: vec![
            Action::Execute(check),
            Action::Execute(trigger(&insert_name, "INSERT", &insert_body)),
            Action::Execute(trigger(&update_name, "UPDATE", &update_body)),
        ],
        undo: Undo::Actions(drop_triggers(my, &op.table, &op.column)),
        notes,
    })
}

/// The INSERT trigger's body: what the insert wrote is decided first (not NULL and not the
/// column's default), then the column(s) it left out are filled, as on PostgreSQL.
fn insert_body(my: &Mysql, op: &SyncColumn) -> String {
    let column = my.ident(&op.column);
    let from = qualify_new(&op.from);
    let wrote_column = wrote_on_insert(my, &op.table, &op.column);
    let Some(reverse) = &op.reverse else {
        return format!("IF NOT {wrote_column} THEN SET NEW.{column} = ({from}); END IF");
    };
    let other = my.ident(&reverse.column);
    let back = qualify_new(&reverse.from);
    let wrote_other = wrote_on_insert(my, &op.table, &reverse.column);
    format!(
        "DECLARE bellows_wrote_column BOOLEAN DEFAULT {wrote_column};\n  \
         DECLARE bellows_wrote_other BOOLEAN DEFAULT {wrote_other};\n  \
         IF NOT bellows_wrote_column AND (bellows_wrote_other OR NEW.{column} IS NULL) THEN SET NEW.{column} = ({from}); END IF;\n  \
         IF NOT bellows_wrote_other AND (bellows_wrote_column OR NEW.{other} IS NULL) THEN SET NEW.{other} = ({back}); END IF"
    )
}

/// Whether an INSERT wrote `column`: not NULL, and not equal to the column's default as
/// `information_schema.COLUMNS` has it when the row is written (so a later `set_default` is
/// followed). A BEFORE INSERT trigger sees the default already filled in.
// NOTE: MariaDB keeps a literal default quoted (`'none'`, `0`), MySQL 8 unquoted (`none`): the
// value is compared both ways, byte for byte (not under the catalog's case-blind collation). An
// expression default (`current_timestamp()`) never equals a value's text, so such a column counts
// as written whenever it is not NULL; MariaDB spells "no default given" `NULL`.
fn wrote_on_insert(my: &Mysql, table: &TableName, column: &str) -> String {
    let value = format!("NEW.{}", my.ident(column));
    let schema = match &table.schema {
        Some(schema) => quote_literal(schema),
        None => "DATABASE()".into(),
    };
    format!(
        "({value} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = {} AND COLUMN_NAME = {} \
         AND COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL' \
         AND CAST(COLUMN_DEFAULT AS BINARY) IN (CAST(QUOTE({value}) AS BINARY), CAST(CAST({value} AS CHAR) AS BINARY))))",
        quote_literal(&table.name),
        quote_literal(column)
    )
}

fn drop_triggers(my: &Mysql, table: &TableName, column: &str) -> Vec<Action> {
    trigger_names(table, column)
        .iter()
        .map(|name| {
            Action::Execute(short(
                format!("DROP TRIGGER IF EXISTS {}", my.in_schema_of(table, name)),
                table,
            ))
        })
        .collect()
}

pub(super) fn drop_sync(my: &Mysql, op: &DropSync) -> Result<PlannedOp, Unsupported> {
    let names = trigger_names(&op.table, &op.column);
    let schema = match &op.table.schema {
        Some(schema) => quote_literal(schema),
        None => "DATABASE()".into(),
    };
    let capture = |saved: &'static str, name: &str| {
        Capture {
        missing: None,
        name: saved,
        description: format!("the definition of the trigger {name} on {}", op.table),
        query: format!(
            "SELECT CONCAT('CREATE TRIGGER ', {}, ' ', ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ON ', {}, ' FOR EACH ROW\\n', ACTION_STATEMENT)\nFROM information_schema.TRIGGERS\nWHERE TRIGGER_SCHEMA = {schema} AND TRIGGER_NAME = {}",
            quote_literal(&my.ident(name)),
            quote_literal(&my.table(&op.table)),
            quote_literal(name)
        ),
    }
    };
    let restore = |saved: &'static str, name: &str| ExecuteSaved {
        name: saved,
        description: format!("recreate the trigger {name} on {} as saved", op.table),
        lock: Lock::Metadata,
        table: Some(op.table.clone()),
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    };
    let mut actions = vec![
        Action::Capture(capture("sync_insert_trigger", &names[0])),
        Action::Capture(capture("sync_update_trigger", &names[1])),
    ];
    actions.extend(drop_triggers(my, &op.table, &op.column));
    Ok(PlannedOp {
        actions,
        undo: Undo::Actions(vec![
            Action::ExecuteSaved(restore("sync_insert_trigger", &names[0])),
            Action::ExecuteSaved(restore("sync_update_trigger", &names[1])),
        ]),
        notes: vec![
            "the trigger definitions are saved in the ledger so rollback can recreate them".into(),
        ],
    })
}

impl Mysql {
    /// An object (trigger) named `name` in the database of `table`, quoted.
    pub(super) fn in_schema_of(&self, table: &TableName, name: &str) -> String {
        self.table(&TableName {
            schema: table.schema.clone(),
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::qualify_new;

    #[test]
    fn column_names_become_new_columns() {
        assert_eq!(
            qualify_new("email_verified_at IS NOT NULL"),
            "NEW.`email_verified_at` IS NOT NULL"
        );
        assert_eq!(
            qualify_new("COALESCE(lower(`e-mail`), 'x') = 'a b'"),
            "COALESCE(lower(NEW.`e-mail`), 'x') = 'a b'"
        );
        assert_eq!(
            qualify_new("CAST(price AS CHAR(10))"),
            "CAST(NEW.`price` AS CHAR(10))"
        );
        assert_eq!(qualify_new("other.x + 1"), "other.x + 1");
    }
}
