//! `sync-inexact` (warning): a `sync_column` whose trigger cannot tell every write apart. A
//! constant `from` overwrites, on every UPDATE that does not change the column, what the new
//! application wrote; a target whose default (given in this plan) calls a volatile function
//! cannot be told from a written value, so an INSERT that leaves it out keeps the default.

use super::At;
use crate::ops::add_column::volatile_call;
use crate::ops::{Op, SyncColumn};
use crate::vocab::diagnostic::{Code, Diagnostic};
use crate::vocab::Phase;

pub fn check(at: &At<'_>) -> Vec<Diagnostic> {
    let Op::SyncColumn(sync) = &at.step.op else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut sides = vec![(sync.column.as_str(), sync.from.as_str())];
    sides.extend(
        sync.reverse
            .as_ref()
            .map(|r| (r.column.as_str(), r.from.as_str())),
    );
    for (column, from) in sides {
        if is_constant(from) {
            found.push(at.warning(
                Code::SyncInexact,
                format!(
                    "sync_column {}.{column}: `from` is a constant, so every UPDATE that does not change {column} sets it to `{from}` again, overwriting what the new application wrote",
                    sync.table
                ),
                "`from` is recomputed on each write that leaves the column unchanged; derive it from the other columns, or fill a constant once with `default` or a backfill",
            ));
        }
    }
    if sync.reverse.is_none() {
        // A volatile default is never recognised: every INSERT that leaves the column out keeps
        // it, a real gap. A constant one is inexact only for a writer that writes exactly the
        // default and means it; `plan` says so in the step's notes and docs/plan-format.md
        // explains it, without a finding on every plan that syncs a column with a default.
        let volatile = planned_default(at, sync)
            .and_then(|default| volatile_call(&default).map(|call| (default, call)));
        if let Some((default, call)) = volatile {
            found.push(at.warning(
                Code::SyncInexact,
                format!(
                    "sync_column {}.{}: its default `{default}` calls {call}, which the trigger cannot compare with, so an INSERT that leaves {} out keeps the default instead of `from`",
                    sync.table, sync.column, sync.column
                ),
                "on INSERT a column that is NULL or equal to its default counts as not written (\"What counts as written\" under sync_column in docs/plan-format.md); add the column without a default (fill old rows in the backfill phase) and `set_default` it in contract",
            ));
        }
    }
    found
}

/// The default the plan gives the synced column, if any.
fn planned_default(at: &At<'_>, sync: &SyncColumn) -> Option<String> {
    at.plan.steps.iter().find_map(|step| match &step.op {
        Op::AddColumn(a) if a.table == sync.table && a.column == sync.column => a.default.clone(),
        Op::CreateTable(c) if c.table == sync.table => c
            .columns
            .iter()
            .find(|d| d.name == sync.column)
            .and_then(|d| d.default.clone()),
        // While the trigger is live: until contract, where drop_sync belongs.
        Op::SetDefault(s)
            if s.table == sync.table
                && s.column == sync.column
                && step.phase != Phase::Contract =>
        {
            Some(s.default.clone())
        }
        _ => None,
    })
}

/// Whether a SQL expression names no column: only literals, NULL/TRUE/FALSE, the current
/// date and time, function calls over those, casts and operators.
fn is_constant(expression: &str) -> bool {
    const CONSTANT_WORDS: &[&str] = &[
        "null",
        "true",
        "false",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "localtime",
        "current_user",
        "session_user",
        "interval",
        "as",
        "and",
        "or",
        "not",
        "is",
    ];
    let without_literals = strip_literals(expression);
    let chars: Vec<char> = without_literals.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    let mut after_cast = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            return false;
        }
        if is_word(c) {
            let start = i;
            while i < chars.len() && (is_word(chars[i]) || chars[i] == '.') {
                i += 1;
            }
            let word: String = chars[start..i]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let numeric = word.chars().next().is_some_and(|c| c.is_ascii_digit());
            let call = next == Some(&'(');
            let known = CONSTANT_WORDS.contains(&word.as_str());
            if !(numeric || call || known || after_cast) {
                return false;
            }
            after_cast = word == "as";
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            after_cast = true;
            i += 2;
            continue;
        }
        if !c.is_whitespace() {
            after_cast = false;
        }
        i += 1;
    }
    true
}

/// The expression with its string literals removed.
fn strip_literals(expression: &str) -> String {
    let mut out = String::new();
    let mut in_literal = false;
    for c in expression.chars() {
        match (c, in_literal) {
            ('\'', _) => in_literal = !in_literal,
            (c, false) => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::is_constant;

    #[test]
    fn constants_name_no_column() {
        for constant in [
            "'none'",
            "0",
            "NULL",
            "now()",
            "'x'::text",
            "CAST(0 AS integer)",
            "upper('a')",
        ] {
            assert!(is_constant(constant), "{constant}");
        }
        for expression in [
            "name",
            "upper(name)",
            "\"Name\"",
            "CAST(rating AS text)",
            "a || 'x'",
            "t.a",
        ] {
            assert!(!is_constant(expression), "{expression}");
        }
    }
}
