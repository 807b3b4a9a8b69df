//! SQLite table rebuilds: rewriting a `CREATE TABLE` statement and the statements that move a
//! table to its new definition in one transaction.
//!
//! SQLite cannot add a constraint, change a default or a column's nullability in place. The
//! documented way is a rebuild: create the new shape under a temporary name, copy the rows, drop
//! the old table, rename the new one, recreate its indexes and triggers. This module is pure:
//! it rewrites SQL text; the engine reads the definitions from `sqlite_master` and runs the
//! statements.

use std::ops::Range;

use crate::dialect::quote_ident;

/// Why a `CREATE TABLE` statement could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("the table definition could not be read: {0}")]
    Unreadable(String),
    #[error("column `{0}` is not in the table definition")]
    NoSuchColumn(String),
    #[error("constraint `{0}` is not a named table constraint of the table definition")]
    NoSuchConstraint(String),
    #[error("a constraint named `{0}` already exists in the table definition")]
    DuplicateConstraint(String),
}

/// A lexical token of SQLite SQL, with its byte range in the source.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: TokenKind,
    range: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    /// A keyword or bare identifier.
    Word,
    /// `"x"`, `` `x` `` or `[x]`.
    QuotedIdent,
    /// `'text'`, `x'0A'`.
    String,
    Number,
    Open,
    Close,
    Comma,
    /// Any other punctuation or operator.
    Other,
}

fn tokenize(sql: &str) -> Result<Vec<Token>, RewriteError> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i = (i + 2).min(bytes.len());
                continue;
            }
            b'\'' | b'"' | b'`' => {
                i = skip_quoted(bytes, i, c)?;
                if c == b'\'' {
                    TokenKind::String
                } else {
                    TokenKind::QuotedIdent
                }
            }
            b'[' => {
                while i < bytes.len() && bytes[i] != b']' {
                    i += 1;
                }
                if i == bytes.len() {
                    return Err(RewriteError::Unreadable("unterminated [identifier]".into()));
                }
                i += 1;
                TokenKind::QuotedIdent
            }
            b'(' => {
                i += 1;
                TokenKind::Open
            }
            b')' => {
                i += 1;
                TokenKind::Close
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            c if c.is_ascii_digit()
                || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                TokenKind::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                // x'..' blob literals are strings.
                if (c == b'x' || c == b'X') && bytes.get(i + 1) == Some(&b'\'') {
                    i = skip_quoted(bytes, i + 1, b'\'')?;
                    TokenKind::String
                } else {
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric()
                            || bytes[i] == b'_'
                            || bytes[i] == b'$'
                            || bytes[i] >= 0x80)
                    {
                        i += 1;
                    }
                    TokenKind::Word
                }
            }
            _ => {
                i += 1;
                TokenKind::Other
            }
        };
        tokens.push(Token {
            kind,
            range: start..i,
        });
    }
    Ok(tokens)
}

/// Index just past the closing quote of a quoted token starting at `start`.
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> Result<usize, RewriteError> {
    let mut i = start + 1;
    loop {
        match bytes.get(i) {
            None => return Err(RewriteError::Unreadable("unterminated quoted text".into())),
            Some(&b) if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Ok(i + 1);
                }
            }
            Some(_) => i += 1,
        }
    }
}

/// The text of an identifier token, unquoted.
fn ident_text(sql: &str, token: &Token) -> String {
    let text = &sql[token.range.clone()];
    match token.kind {
        TokenKind::QuotedIdent => {
            let inner = &text[1..text.len() - 1];
            match text.as_bytes()[0] {
                b'"' => inner.replace("\"\"", "\""),
                b'`' => inner.replace("``", "`"),
                _ => inner.to_string(),
            }
        }
        _ => text.to_string(),
    }
}

fn is_word(sql: &str, token: &Token, word: &str) -> bool {
    token.kind == TokenKind::Word && sql[token.range.clone()].eq_ignore_ascii_case(word)
}

/// A `CREATE TABLE name (…)` statement split into its parts.
struct Definition<'a> {
    sql: &'a str,
    tokens: Vec<Token>,
    /// Token index of the table name (the last part, after any `schema.`).
    name: usize,
    /// Token index of the opening parenthesis of the body.
    open: usize,
    /// Token index of the closing parenthesis of the body.
    close: usize,
    /// Top-level items of the body, as token index ranges.
    items: Vec<Range<usize>>,
}

impl<'a> Definition<'a> {
    fn parse(sql: &'a str) -> Result<Self, RewriteError> {
        let tokens = tokenize(sql)?;
        let unreadable = || RewriteError::Unreadable("expected `CREATE TABLE name (…)`".into());
        let mut i = 0;
        let expect = |i: usize, word: &str| tokens.get(i).is_some_and(|t| is_word(sql, t, word));
        if !expect(i, "CREATE") {
            return Err(unreadable());
        }
        i += 1;
        if expect(i, "TEMP") || expect(i, "TEMPORARY") {
            i += 1;
        }
        if !expect(i, "TABLE") {
            return Err(unreadable());
        }
        i += 1;
        if expect(i, "IF") {
            i += 3; // IF NOT EXISTS
        }
        let mut name = i;
        if tokens
            .get(i + 1)
            .is_some_and(|t| &sql[t.range.clone()] == ".")
        {
            name = i + 2;
        }
        let open = name + 1;
        if tokens.get(open).map(|t| t.kind) != Some(TokenKind::Open) {
            return Err(RewriteError::Unreadable(
                "`CREATE TABLE … AS SELECT` cannot be rebuilt".into(),
            ));
        }
        let mut depth = 0usize;
        let mut items = Vec::new();
        let mut item_start = open + 1;
        let mut close = None;
        for (j, token) in tokens.iter().enumerate().skip(open) {
            match token.kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => {
                    depth -= 1;
                    if depth == 0 {
                        items.push(item_start..j);
                        close = Some(j);
                        break;
                    }
                }
                TokenKind::Comma if depth == 1 => {
                    items.push(item_start..j);
                    item_start = j + 1;
                }
                _ => {}
            }
        }
        let close =
            close.ok_or_else(|| RewriteError::Unreadable("unbalanced parentheses".into()))?;
        Ok(Definition {
            sql,
            tokens,
            name,
            open,
            close,
            items,
        })
    }

    fn is_table_constraint(&self, item: &Range<usize>) -> bool {
        let first = &self.tokens[item.start];
        ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|w| is_word(self.sql, first, w))
    }

    fn column_item(&self, column: &str) -> Result<Range<usize>, RewriteError> {
        self.items
            .iter()
            .find(|item| {
                !item.is_empty()
                    && !self.is_table_constraint(item)
                    && ident_text(self.sql, &self.tokens[item.start]).eq_ignore_ascii_case(column)
            })
            .cloned()
            .ok_or_else(|| RewriteError::NoSuchColumn(column.to_string()))
    }

    /// The names of the columns, in order.
    fn columns(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|item| !item.is_empty() && !self.is_table_constraint(item))
            .map(|item| ident_text(self.sql, &self.tokens[item.start]))
            .collect()
    }

    /// The columns whose values are stored as written: every column but the generated ones
    /// (`GENERATED ALWAYS AS (…)`, or just `AS (…)`), into which nothing can be inserted.
    fn stored_columns(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|item| !item.is_empty() && !self.is_table_constraint(item))
            .filter(|item| !self.is_generated(item))
            .map(|item| ident_text(self.sql, &self.tokens[item.start]))
            .collect()
    }

    fn is_generated(&self, item: &Range<usize>) -> bool {
        let mut depth = 0usize;
        for j in item.clone() {
            let token = &self.tokens[j];
            match token.kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => depth = depth.saturating_sub(1),
                _ if depth == 0
                    && is_word(self.sql, token, "AS")
                    && self
                        .tokens
                        .get(j + 1)
                        .is_some_and(|t| t.kind == TokenKind::Open) =>
                {
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    fn text(&self, tokens: Range<usize>) -> &'a str {
        if tokens.is_empty() {
            return "";
        }
        let start = self.tokens[tokens.start].range.start;
        let end = self.tokens[tokens.end - 1].range.end;
        &self.sql[start..end]
    }

    /// Byte range of the whole body between the parentheses.
    fn body_range(&self) -> Range<usize> {
        self.tokens[self.open].range.end..self.tokens[self.close].range.start
    }

    fn item_texts(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|item| self.text(item.clone()).to_string())
            .collect()
    }

    /// The statement with its body replaced by `items`.
    fn with_items(&self, items: &[String]) -> String {
        let body = self.body_range();
        let joined = items
            .iter()
            .map(|i| format!("\n  {i}"))
            .collect::<Vec<_>>()
            .join(",");
        format!(
            "{}({joined}\n){}",
            &self.sql[..body.start - 1],
            &self.sql[body.end + 1..]
        )
    }
}

/// Removes the token ranges (`NOT NULL`, `DEFAULT x`) found by `find` from a column item.
fn column_without(def: &Definition<'_>, item: Range<usize>, clause: Clause) -> String {
    let tokens = &def.tokens;
    let sql = def.sql;
    let mut keep: Vec<Range<usize>> = Vec::new();
    let mut j = item.start;
    while j < item.end {
        let t = &tokens[j];
        let skip_to = match clause {
            Clause::NotNull
                if is_word(sql, t, "NOT")
                    && tokens.get(j + 1).is_some_and(|n| is_word(sql, n, "NULL")) =>
            {
                let mut end = j + 2;
                // ON CONFLICT <algorithm> belongs to the NOT NULL constraint.
                if tokens.get(end).is_some_and(|n| is_word(sql, n, "ON")) && end + 2 < item.end + 1
                {
                    end = (end + 3).min(item.end);
                }
                Some(end)
            }
            Clause::Default if is_word(sql, t, "DEFAULT") => {
                let mut end = j + 1;
                match tokens.get(end).map(|n| n.kind) {
                    Some(TokenKind::Open) => {
                        let mut depth = 0;
                        while end < item.end {
                            match tokens[end].kind {
                                TokenKind::Open => depth += 1,
                                TokenKind::Close => {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                _ => {}
                            }
                            end += 1;
                        }
                        end += 1;
                    }
                    Some(TokenKind::Other) => end += 2, // signed number: -1, +1
                    Some(_) => end += 1,
                    None => {}
                }
                Some(end.min(item.end))
            }
            _ => None,
        };
        match skip_to {
            Some(end) => j = end,
            None => {
                keep.push(j..j + 1);
                j += 1;
            }
        }
    }
    // Re-join kept tokens with the original spacing between consecutive ones.
    let mut out = String::new();
    let mut previous: Option<usize> = None;
    for range in keep {
        let token = &tokens[range.start];
        if let Some(p) = previous {
            if p + 1 == range.start {
                out.push_str(&sql[tokens[p].range.end..token.range.start]);
            } else {
                out.push(' ');
            }
        }
        out.push_str(&sql[token.range.clone()]);
        previous = Some(range.start);
    }
    out
}

#[derive(Clone, Copy)]
enum Clause {
    NotNull,
    Default,
}

fn find_named_constraint(def: &Definition<'_>, name: &str) -> Option<usize> {
    def.items.iter().position(|item| {
        item.len() >= 2
            && is_word(def.sql, &def.tokens[item.start], "CONSTRAINT")
            && ident_text(def.sql, &def.tokens[item.start + 1]).eq_ignore_ascii_case(name)
    })
}

/// One change to a table definition.
#[derive(Debug, Clone, PartialEq)]
pub enum DefinitionChange<'a> {
    SetNotNull(&'a str),
    DropNotNull(&'a str),
    SetDefault(&'a str, &'a str),
    DropDefault(&'a str),
    /// `CONSTRAINT name <definition>`: `CHECK (…)` or `FOREIGN KEY (…) REFERENCES …`.
    AddConstraint(&'a str, &'a str),
    DropConstraint(&'a str),
}

/// Applies a change to a `CREATE TABLE` statement.
pub fn rewrite(sql: &str, change: &DefinitionChange<'_>) -> Result<String, RewriteError> {
    let def = Definition::parse(sql)?;
    let mut items = def.item_texts();
    match change {
        DefinitionChange::SetNotNull(column) => {
            let item = def.column_item(column)?;
            let index = def
                .items
                .iter()
                .position(|i| *i == item)
                .unwrap_or_default();
            let cleaned = column_without(&def, item, Clause::NotNull);
            items[index] = format!("{cleaned} NOT NULL");
        }
        DefinitionChange::DropNotNull(column) => {
            let item = def.column_item(column)?;
            let index = def
                .items
                .iter()
                .position(|i| *i == item)
                .unwrap_or_default();
            items[index] = column_without(&def, item, Clause::NotNull);
        }
        DefinitionChange::SetDefault(column, default) => {
            let item = def.column_item(column)?;
            let index = def
                .items
                .iter()
                .position(|i| *i == item)
                .unwrap_or_default();
            let cleaned = column_without(&def, item, Clause::Default);
            items[index] = format!("{cleaned} DEFAULT ({default})");
        }
        DefinitionChange::DropDefault(column) => {
            let item = def.column_item(column)?;
            let index = def
                .items
                .iter()
                .position(|i| *i == item)
                .unwrap_or_default();
            items[index] = column_without(&def, item, Clause::Default);
        }
        DefinitionChange::AddConstraint(name, definition) => {
            if find_named_constraint(&def, name).is_some() {
                return Err(RewriteError::DuplicateConstraint(name.to_string()));
            }
            items.push(format!("CONSTRAINT {} {definition}", quote_ident(name)));
        }
        DefinitionChange::DropConstraint(name) => {
            let index = find_named_constraint(&def, name)
                .ok_or_else(|| RewriteError::NoSuchConstraint(name.to_string()))?;
            items.remove(index);
        }
    }
    Ok(def.with_items(&items))
}

/// The table's columns, in order, from its `CREATE TABLE` statement.
pub fn columns(sql: &str) -> Result<Vec<String>, RewriteError> {
    Ok(Definition::parse(sql)?.columns())
}

/// The statement with the table renamed to `name` (schema dropped: the rebuild is in the same
/// database).
pub fn renamed(sql: &str, name: &str) -> Result<String, RewriteError> {
    let def = Definition::parse(sql)?;
    let create_end = def.tokens[def.name].range.end;
    // Start of the (possibly schema-qualified) name.
    let start_token = if def.name >= 2 && &sql[def.tokens[def.name - 1].range.clone()] == "." {
        def.name - 2
    } else {
        def.name
    };
    let start = def.tokens[start_token].range.start;
    Ok(format!(
        "{}{}{}",
        &sql[..start],
        quote_ident(name),
        &sql[create_end..]
    ))
}

/// The statements that rebuild `table` (whose current definition is `old_sql`) to `new_sql`,
/// keeping its rows and recreating `dependents` (the `sql` of its indexes and triggers from
/// `sqlite_master`). Run them in one transaction with `PRAGMA foreign_keys = OFF` and
/// `PRAGMA legacy_alter_table = ON` set before it (see the engine).
pub fn rebuild_statements(
    table: &str,
    old_sql: &str,
    new_sql: &str,
    dependents: &[String],
) -> Result<Vec<String>, RewriteError> {
    let temporary = format!("__bellows_rebuild_{table}");
    // NOTE: a generated column is computed again by the new table; inserting it would fail.
    let old_columns = columns(old_sql)?;
    let new_columns = Definition::parse(new_sql)?.stored_columns();
    let copied: Vec<String> = new_columns
        .iter()
        .filter(|c| old_columns.iter().any(|o| o.eq_ignore_ascii_case(c)))
        .map(|c| quote_ident(c))
        .collect();
    let list = copied.join(", ");
    let mut statements = vec![
        renamed(new_sql, &temporary)?,
        format!(
            "INSERT INTO {} ({list}) SELECT {list} FROM {}",
            quote_ident(&temporary),
            quote_ident(table)
        ),
        format!("DROP TABLE {}", quote_ident(table)),
        format!(
            "ALTER TABLE {} RENAME TO {}",
            quote_ident(&temporary),
            quote_ident(table)
        ),
    ];
    statements.extend(dependents.iter().cloned());
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = "CREATE TABLE \"users\" (\n  id INTEGER PRIMARY KEY,\n  \"full name\" TEXT NOT NULL DEFAULT 'x, y',\n  email_verified BOOLEAN DEFAULT (0),\n  score INT DEFAULT -1 CHECK (score > -10),\n  CONSTRAINT \"users_score_check\" CHECK (score < 100)\n)";

    #[test]
    fn a_rebuild_does_not_copy_generated_columns() {
        let sql = "CREATE TABLE \"t\" (\n  \"a\" integer CHECK (CAST(a AS integer) > 0),\n  \"b\" integer GENERATED ALWAYS AS (a * 2) STORED,\n  \"c\" integer AS (a + 1)\n)";
        let statements = rebuild_statements("t", sql, sql, &[]).unwrap();
        assert_eq!(
            statements[1],
            "INSERT INTO \"__bellows_rebuild_t\" (\"a\") SELECT \"a\" FROM \"t\""
        );
    }

    #[test]
    fn lists_columns_with_quoted_names() {
        assert_eq!(
            columns(USERS).unwrap(),
            vec!["id", "full name", "email_verified", "score"]
        );
    }

    #[test]
    fn sets_and_drops_not_null() {
        let set = rewrite(USERS, &DefinitionChange::SetNotNull("email_verified")).unwrap();
        assert!(
            set.contains("email_verified BOOLEAN DEFAULT (0) NOT NULL"),
            "{set}"
        );
        let dropped = rewrite(&set, &DefinitionChange::DropNotNull("email_verified")).unwrap();
        assert!(
            dropped.contains("email_verified BOOLEAN DEFAULT (0),"),
            "{dropped}"
        );
        let other = rewrite(USERS, &DefinitionChange::DropNotNull("full name")).unwrap();
        assert!(
            other.contains("\"full name\" TEXT DEFAULT 'x, y'"),
            "{other}"
        );
    }

    #[test]
    fn setting_not_null_twice_keeps_one() {
        let once = rewrite(USERS, &DefinitionChange::SetNotNull("full name")).unwrap();
        assert_eq!(once.matches("NOT NULL").count(), 1, "{once}");
    }

    #[test]
    fn replaces_and_drops_defaults_of_every_form() {
        let s = rewrite(USERS, &DefinitionChange::SetDefault("score", "0")).unwrap();
        assert!(
            s.contains("score INT CHECK (score > -10) DEFAULT (0)"),
            "{s}"
        );
        let s = rewrite(USERS, &DefinitionChange::DropDefault("email_verified")).unwrap();
        assert!(s.contains("email_verified BOOLEAN,"), "{s}");
        let s = rewrite(USERS, &DefinitionChange::DropDefault("full name")).unwrap();
        assert!(s.contains("\"full name\" TEXT NOT NULL,"), "{s}");
    }

    #[test]
    fn adds_and_drops_named_constraints() {
        let s = rewrite(
            USERS,
            &DefinitionChange::AddConstraint("positive", "CHECK (id > 0)"),
        )
        .unwrap();
        assert!(
            s.contains("CONSTRAINT \"positive\" CHECK (id > 0)\n)"),
            "{s}"
        );
        let s = rewrite(&s, &DefinitionChange::DropConstraint("users_score_check")).unwrap();
        assert!(!s.contains("score < 100"), "{s}");
        assert_eq!(
            rewrite(USERS, &DefinitionChange::DropConstraint("nope")),
            Err(RewriteError::NoSuchConstraint("nope".into()))
        );
        assert_eq!(
            rewrite(
                USERS,
                &DefinitionChange::AddConstraint("users_score_check", "CHECK (1)")
            ),
            Err(RewriteError::DuplicateConstraint(
                "users_score_check".into()
            ))
        );
    }

    #[test]
    fn unknown_column_is_an_error() {
        assert_eq!(
            rewrite(USERS, &DefinitionChange::SetNotNull("nope")),
            Err(RewriteError::NoSuchColumn("nope".into()))
        );
    }

    #[test]
    fn renames_plain_and_qualified_tables() {
        assert!(renamed(USERS, "tmp")
            .unwrap()
            .starts_with("CREATE TABLE \"tmp\" ("));
        let q = "create table main.[Order Items](a int)";
        assert_eq!(renamed(q, "t").unwrap(), "create table \"t\"(a int)");
        let r = "CREATE TABLE IF NOT EXISTS `weird\"name` (a)";
        assert_eq!(
            renamed(r, "t").unwrap(),
            "CREATE TABLE IF NOT EXISTS \"t\" (a)"
        );
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(Definition::parse("CREATE TABLE t AS SELECT 1").is_err());
        assert!(Definition::parse("CREATE TABLE t (a int").is_err());
        assert!(Definition::parse("CREATE TABLE t (a 'x)").is_err());
        assert!(Definition::parse("").is_err());
    }

    #[test]
    fn rebuild_copies_common_columns_and_recreates_dependents() {
        let new_sql = rewrite(USERS, &DefinitionChange::SetNotNull("email_verified")).unwrap();
        let statements = rebuild_statements(
            "users",
            USERS,
            &new_sql,
            &["CREATE INDEX users_score ON users (score)".to_string()],
        )
        .unwrap();
        assert!(statements[0].starts_with("CREATE TABLE \"__bellows_rebuild_users\""));
        assert_eq!(
            statements[1],
            "INSERT INTO \"__bellows_rebuild_users\" (\"id\", \"full name\", \"email_verified\", \"score\") SELECT \"id\", \"full name\", \"email_verified\", \"score\" FROM \"users\""
        );
        assert_eq!(statements[2], "DROP TABLE \"users\"");
        assert_eq!(
            statements[3],
            "ALTER TABLE \"__bellows_rebuild_users\" RENAME TO \"users\""
        );
        assert_eq!(statements[4], "CREATE INDEX users_score ON users (score)");
    }
}
