//! Parsing one fragment of SQL according to what its key holds: a type, an expression or
//! statements.

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// What a key's SQL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentKind {
    /// A column type: `type`.
    Type,
    /// An expression over a row: `set`, `from`, `where`, `default`, `check`.
    Expression,
    /// One or more statements: `query`, `throttle_query`, `up`, `down`.
    Statements,
}

impl FragmentKind {
    /// The kind of SQL the key `key` (as [`crate::ops::Expression`] names it) holds.
    pub fn of(key: &str) -> FragmentKind {
        match key {
            "type" => FragmentKind::Type,
            "query" | "throttle_query" | "up" | "down" => FragmentKind::Statements,
            _ => FragmentKind::Expression,
        }
    }
}

/// What the offline parser made of a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// It parses.
    Parsed,
    /// A syntax error, with the parser's message and its 1-based line and column in the
    /// fragment (`None`: at the end).
    Error {
        message: String,
        at: Option<(usize, usize)>,
    },
    /// The parser does not cover this kind of SQL; the database will judge it.
    Unchecked { why: &'static str },
}

/// Reads `text` as SQL of `kind`, with the PostgreSQL grammar and then SQLite's.
pub fn read(kind: FragmentKind, text: &str) -> Reading {
    let postgres = parse(&PostgreSqlDialect {}, kind, text);
    let Err(error) = postgres else {
        return Reading::Parsed;
    };
    if parse(&SQLiteDialect {}, kind, text).is_ok() {
        return Reading::Parsed;
    }
    if let Some(why) = beyond_the_parser(kind, text) {
        return Reading::Unchecked { why };
    }
    let text = error.to_string();
    let (message, at) = split_location(text.trim_start_matches("sql parser error: "));
    Reading::Error { message, at }
}

/// The statements of `text` as PostgreSQL (then SQLite) reads them, when one of them does.
pub fn parse_statements(text: &str) -> Option<Vec<Statement>> {
    Parser::parse_sql(&PostgreSqlDialect {}, text)
        .or_else(|_| Parser::parse_sql(&SQLiteDialect {}, text))
        .ok()
}

fn parse(dialect: &dyn Dialect, kind: FragmentKind, text: &str) -> Result<(), ParserError> {
    if kind == FragmentKind::Statements {
        return Parser::parse_sql(dialect, text).map(drop);
    }
    let mut parser = Parser::new(dialect).try_with_sql(text)?;
    match kind {
        FragmentKind::Type => parser.parse_data_type().map(drop)?,
        _ => parser.parse_expr().map(drop)?,
    }
    parser.expect_token(&Token::EOF).map(drop)
}

/// Why a fragment the parser refuses may still be valid PostgreSQL: SQL the parser is known not
/// to cover. Such a fragment gets a note, never an error.
fn beyond_the_parser(kind: FragmentKind, text: &str) -> Option<&'static str> {
    let upper = text.to_uppercase();
    if upper.contains("$$") || upper.contains("LANGUAGE ") {
        return Some("function bodies and dollar-quoted strings are not parsed offline");
    }
    if upper.contains("OPERATOR(") {
        return Some("schema-qualified operators, OPERATOR(…), are not parsed offline");
    }
    let first_words: Vec<&str> = upper.split_whitespace().take(3).collect();
    let starts = |words: &[&str]| first_words.starts_with(words);
    let uncovered = [
        &["DO"][..],
        &["CREATE", "OR", "REPLACE"],
        &["CREATE", "FUNCTION"],
        &["CREATE", "PROCEDURE"],
        &["CREATE", "TRIGGER"],
        &["CREATE", "CONSTRAINT", "TRIGGER"],
        &["CREATE", "RULE"],
        &["CREATE", "AGGREGATE"],
        &["CREATE", "STATISTICS"],
        &["ALTER", "TYPE"],
        &["ALTER", "STATISTICS"],
        &["DROP", "INDEX", "CONCURRENTLY"],
        &["REINDEX"],
        &["CLUSTER"],
        &["COMMENT"],
        &["SECURITY"],
    ];
    (kind == FragmentKind::Statements && uncovered.iter().any(|words| starts(words)))
        .then_some("this kind of statement is not parsed offline")
}

/// `Expected: …, found: x at Line: 1, Column: 8` → the message and (1, 8).
fn split_location(message: &str) -> (String, Option<(usize, usize)>) {
    let Some(at) = message.rfind(" at Line: ") else {
        return (message.to_string(), None);
    };
    let rest = &message[at + " at Line: ".len()..];
    let location = rest
        .split_once(", Column: ")
        .and_then(|(line, column)| Some((line.trim().parse().ok()?, column.trim().parse().ok()?)));
    match location {
        Some(found) => (message[..at].to_string(), Some(found)),
        None => (message.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_parses_and_what_does_not() {
        use FragmentKind::*;
        let cases = [
            (Type, "numeric(12,2)", true),
            (Type, "timestamp with time zone", true),
            (Type, "varchar(32", false),
            (Expression, "verified_at IS NOT NULL", true),
            (Expression, "length(kind", false),
            (Expression, "a b", false),
            (Statements, "SELECT count(*) FROM users", true),
            (Statements, "SELEC 1", false),
        ];
        for (kind, text, parses) in cases {
            let reading = read(kind, text);
            assert_eq!(reading == Reading::Parsed, parses, "{text}: {reading:?}");
        }
    }

    #[test]
    fn the_location_is_split_from_the_message() {
        assert_eq!(
            split_location("Expected: ), found: EOF"),
            ("Expected: ), found: EOF".to_string(), None)
        );
        assert_eq!(
            split_location("Expected: an expression, found: & at Line: 2, Column: 8"),
            (
                "Expected: an expression, found: &".to_string(),
                Some((2, 8))
            )
        );
    }

    #[test]
    fn drop_index_concurrently_is_left_to_the_database() {
        // NOTE: valid PostgreSQL that sqlparser 0.64 refuses.
        let reading = read(
            FragmentKind::Statements,
            "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx",
        );
        assert!(matches!(reading, Reading::Unchecked { .. }), "{reading:?}");
    }

    #[test]
    fn a_do_block_is_left_to_the_database() {
        let reading = read(
            FragmentKind::Statements,
            "DO $$ BEGIN PERFORM 1; END $$ LANGUAGE plpgsql",
        );
        assert!(matches!(
            reading,
            Reading::Parsed | Reading::Unchecked { .. }
        ));
    }
}
