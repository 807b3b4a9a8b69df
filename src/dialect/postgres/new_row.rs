//! A sync's `from` (an expression over bare column names) rewritten over the row being written
//! (`upper(name)` → `upper(NEW.name)`), so the trigger function can assign it directly; only
//! when every word is surely a column or surely SQL, else the caller keeps the general form.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::Token;

use crate::dialect::qualify::{self, is_word, WordAt, WordRole};

/// Words of an expression that are SQL wherever they stand (keywords, and the SQL functions
/// PostgreSQL calls without parentheses).
const SQL_WORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "asymmetric",
    "between",
    "case",
    "cast",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "distinct",
    "else",
    "end",
    "escape",
    "false",
    "ilike",
    "in",
    "is",
    "isnull",
    "like",
    "localtime",
    "localtimestamp",
    "not",
    "notnull",
    "null",
    "or",
    "row",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "then",
    "true",
    "unknown",
    "user",
    "when",
];

/// Words that are special syntax wherever they stand (subqueries, `SUBSTRING(x FROM 2)`,
/// `COLLATE`, window clauses, the normal form of `normalize(x, NFC)`) or PL/pgSQL's own names.
const UNSURE_WORDS: &[&str] = &[
    "at",
    "both",
    "by",
    "collate",
    "default",
    "exists",
    "filter",
    "for",
    "found",
    "from",
    "leading",
    "new",
    "nfc",
    "nfd",
    "nfkc",
    "nfkd",
    "old",
    "operator",
    "order",
    "over",
    "overlaps",
    "partition",
    "placing",
    "select",
    "to",
    "trailing",
    "values",
    "variadic",
    "where",
    "within",
];

/// Words that continue a type name or `AT TIME ZONE`: SQL after another word only.
const TAIL_WORDS: &[&str] = &["precision", "varying", "with", "without", "time", "zone"];

/// Words after which an operand (a column) may follow.
const BEFORE_OPERAND: &[&str] = &[
    "and",
    "asymmetric",
    "between",
    "case",
    "else",
    "escape",
    "from",
    "ilike",
    "like",
    "not",
    "or",
    "symmetric",
    "then",
    "to",
    "when",
    "zone",
];

/// Words that may follow an operand (a column).
const AFTER_OPERAND: &[&str] = &[
    "and", "as", "at", "between", "else", "end", "escape", "ilike", "in", "is", "isnull", "like",
    "not", "notnull", "or", "similar", "then", "when",
];

/// `expression` with its column names read from `row` (`NEW`), or `None` when a word could be
/// read more than one way (a subquery, `EXTRACT(day FROM …)`, `COLLATE`, a qualified name, a
/// PL/pgSQL variable, the name of `table`, which may be the whole row as in `to_jsonb(users)`):
/// the caller then evaluates the expression against the row as written, named as the table.
pub fn over_row(expression: &str, row: &str, table: &str) -> Option<String> {
    let columns = qualify::columns(&PostgreSqlDialect {}, expression, role)?;
    // NOTE: a bare name is folded to lower case, a quoted one is not, as PostgreSQL reads them.
    let names_table = |word: &sqlparser::tokenizer::Word| match word.quote_style {
        Some(_) => word.value == table,
        None => word.value.to_lowercase() == table,
    };
    if columns.iter().any(|c| names_table(&c.word)) {
        return None;
    }
    Some(qualify::rewrite(expression, &columns, |original, _| {
        format!("{row}.{original}")
    }))
}

/// What a word of a PostgreSQL expression is, erring on the side of unsure.
fn role(at: &WordAt<'_>) -> WordRole {
    if at.qualified() {
        return WordRole::Unsure;
    }
    // A function name (or a type with a modifier), a type after `::` or `AS`.
    if at.called() || matches!(at.previous, Some(Token::DoubleColon)) || is_word(at.previous, "as")
    {
        return WordRole::Sql;
    }
    let Some(word) = at.plain() else {
        return operand(at);
    };
    let word = word.as_str();
    let previous_is_word = matches!(at.previous, Some(Token::Word(_)));
    match word {
        "from" if is_word(at.previous, "distinct") => WordRole::Sql,
        "to" if is_word(at.previous, "similar") => WordRole::Sql,
        "at" if is_word(at.next, "time") => WordRole::Sql,
        // Special syntax, and PL/pgSQL's own names (the general form resolves them as before).
        _ if UNSURE_WORDS.contains(&word) => WordRole::Unsure,
        _ if word.starts_with("tg_") || word.starts_with("bellows_") => WordRole::Unsure,
        _ if TAIL_WORDS.contains(&word) && previous_is_word => WordRole::Sql,
        _ if TAIL_WORDS.contains(&word) => WordRole::Unsure,
        _ if SQL_WORDS.contains(&word) => WordRole::Sql,
        // A typed literal: `date '2024-01-01'`.
        _ if matches!(
            at.next,
            Some(Token::SingleQuotedString(_) | Token::EscapedStringLiteral(_))
        ) =>
        {
            WordRole::Sql
        }
        _ => operand(at),
    }
}

/// A word that is not SQL is a column when it stands where an operand can: between operators,
/// parentheses, commas or the keywords around an operand. Anywhere else (`interval '1' day`,
/// `EXTRACT(year FROM …)`, `x COLLATE "C"`) it is special syntax: unsure.
fn operand(at: &WordAt<'_>) -> WordRole {
    let before = match at.previous {
        None => true,
        Some(Token::Word(w)) => is_listed(w, BEFORE_OPERAND),
        Some(token) => opens_operand(token),
    };
    let after = match at.next {
        None => true,
        Some(Token::Word(w)) => is_listed(w, AFTER_OPERAND),
        Some(Token::RParen | Token::RBracket | Token::LBracket | Token::DoubleColon) => true,
        Some(Token::LParen) => false,
        Some(token) => opens_operand(token),
    };
    if before && after {
        WordRole::Column
    } else {
        WordRole::Unsure
    }
}

fn is_listed(word: &sqlparser::tokenizer::Word, list: &[&str]) -> bool {
    word.quote_style.is_none() && list.contains(&word.value.to_ascii_lowercase().as_str())
}

/// Whether an operand may follow `token`: `(`, `,`, `[` or an operator.
fn opens_operand(token: &Token) -> bool {
    let text = token.to_string();
    matches!(text.as_str(), "(" | "," | "[")
        || (!text.is_empty() && text.chars().all(|c| "+-*/<>=~!@#%^&|?".contains(c)))
}

#[cfg(test)]
mod tests {
    use super::over_row;

    fn new(expression: &str) -> Option<String> {
        over_row(expression, "NEW", "users")
    }

    #[test]
    fn columns_are_read_from_the_row_and_sql_is_left_alone() {
        let cases = [
            ("verified_at IS NOT NULL", "NEW.verified_at IS NOT NULL"),
            ("upper(name)", "upper(NEW.name)"),
            ("CAST(rating AS integer)", "CAST(NEW.rating AS integer)"),
            (
                "\"Placed At\"::timestamp with time zone + interval '1 day'",
                "NEW.\"Placed At\"::timestamp with time zone + interval '1 day'",
            ),
            (
                "CASE WHEN a IS NOT DISTINCT FROM b THEN 'x' || c ELSE NULL END",
                "CASE WHEN NEW.a IS NOT DISTINCT FROM NEW.b THEN 'x' || NEW.c ELSE NULL END",
            ),
            (
                "coalesce(payload->>'k', current_user) = ANY (tags)",
                "coalesce(NEW.payload->>'k', current_user) = ANY (NEW.tags)",
            ),
            (
                "amount::numeric(10, 2) * -1",
                "NEW.amount::numeric(10, 2) * -1",
            ),
            ("x BETWEEN lo AND hi", "NEW.x BETWEEN NEW.lo AND NEW.hi"),
            (
                "ts AT TIME ZONE zone_name",
                "NEW.ts AT TIME ZONE NEW.zone_name",
            ),
            ("date '2024-01-01' + days", "date '2024-01-01' + NEW.days"),
            ("x[1] + y", "NEW.x[1] + NEW.y"),
            ("true", "true"),
        ];
        for (from, expected) in cases {
            assert_eq!(new(from).as_deref(), Some(expected), "{from}");
        }
    }

    #[test]
    fn anything_that_could_be_read_two_ways_is_not_rewritten() {
        for from in [
            "EXTRACT(year FROM placed_at)",
            "interval '1' day * n",
            "name COLLATE \"C\"",
            "t.name",
            "pg_catalog.upper(name)",
            "(SELECT max(id) FROM other)",
            "EXISTS (SELECT 1)",
            "substring(name FROM 2)",
            "tg_op",
            "found",
            "bellows_default",
            "name zone",
            "time",
            "a OVERLAPS b",
            "normalize(name, NFC)",
            "normalize(name, nfkd) || x",
            // The table's name: the whole row.
            "to_jsonb(users)",
            "row_to_json(USERS)",
            "to_jsonb(\"users\") - 'snap'",
        ] {
            assert_eq!(new(from), None, "{from}");
        }
    }
}
