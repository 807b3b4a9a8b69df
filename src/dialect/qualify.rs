//! Finding the bare column names of an expression (`upper(name)` → `name`), so a trigger can
//! read them from the row being written (`NEW.name`). Shared by the dialects: each says which
//! words are SQL and which it is unsure of; an unsure word makes the whole expression unsure.

use sqlparser::dialect::Dialect as ParserDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Word};

/// What a word of an expression is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordRole {
    /// A column of the row: qualify it.
    Column,
    /// SQL (a keyword, a function or type name): leave it.
    Sql,
    /// The dialect cannot tell: do not rewrite the expression.
    Unsure,
}

/// A word with its neighbours (the nearest tokens that are not whitespace).
pub struct WordAt<'a> {
    pub word: &'a Word,
    pub previous: Option<&'a Token>,
    pub next: Option<&'a Token>,
}

impl WordAt<'_> {
    /// Whether the word is quoted (`"Placed At"`, `` `e-mail` ``).
    pub fn quoted(&self) -> bool {
        self.word.quote_style.is_some()
    }

    /// The word in lower case when unquoted; `None` when quoted.
    pub fn plain(&self) -> Option<String> {
        (!self.quoted()).then(|| self.word.value.to_ascii_lowercase())
    }

    /// Whether the word is followed by `(`: a function (or a type with a modifier).
    pub fn called(&self) -> bool {
        matches!(self.next, Some(Token::LParen))
    }

    /// Whether the word is part of a qualified name (`t.x`, `x.y`).
    pub fn qualified(&self) -> bool {
        matches!(self.previous, Some(Token::Period)) || matches!(self.next, Some(Token::Period))
    }
}

/// Whether `token` is the unquoted word `word` (any case).
pub fn is_word(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// A column name found in an expression: its byte range in the text and the word.
pub struct ColumnAt {
    pub start: usize,
    pub end: usize,
    pub word: Word,
}

/// The column names of `expression` as `role` judges its words, in order; `None` when the
/// expression does not tokenize or `role` is unsure of a word.
pub fn columns(
    dialect: &dyn ParserDialect,
    expression: &str,
    role: impl Fn(&WordAt<'_>) -> WordRole,
) -> Option<Vec<ColumnAt>> {
    let tokens = Tokenizer::new(dialect, expression)
        .tokenize_with_location()
        .ok()?;
    let starts: Vec<usize> = tokens
        .iter()
        .map(|t| byte_offset(expression, t.span.start.line, t.span.start.column))
        .collect();
    let significant = |i: usize, forward: bool| -> Option<&Token> {
        let mut rest: Box<dyn Iterator<Item = &_>> = if forward {
            Box::new(tokens[i + 1..].iter())
        } else {
            Box::new(tokens[..i].iter().rev())
        };
        rest.find(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|t| &t.token)
    };
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Word(word) = &token.token else {
            continue;
        };
        let at = WordAt {
            word,
            previous: significant(i, false),
            next: significant(i, true),
        };
        match role(&at) {
            WordRole::Sql => {}
            WordRole::Unsure => return None,
            WordRole::Column => found.push(ColumnAt {
                start: starts[i],
                end: starts.get(i + 1).copied().unwrap_or(expression.len()),
                word: word.clone(),
            }),
        }
    }
    Some(found)
}

/// `expression` with each column name found replaced by what `render` makes of it (the
/// original text of the name and the word); the rest of the text is kept as written.
pub fn rewrite(
    expression: &str,
    columns: &[ColumnAt],
    render: impl Fn(&str, &Word) -> String,
) -> String {
    let mut out = String::new();
    let mut at = 0;
    for column in columns {
        out.push_str(&expression[at..column.start]);
        out.push_str(&render(&expression[column.start..column.end], &column.word));
        at = column.end;
    }
    out.push_str(&expression[at..]);
    out
}

/// The byte offset of a 1-based line and (character) column in `text`.
fn byte_offset(text: &str, line: u64, column: u64) -> usize {
    let mut offset = 0;
    for (number, content) in text.split_inclusive('\n').enumerate() {
        if number as u64 + 1 == line {
            return offset
                + content
                    .char_indices()
                    .nth(column.saturating_sub(1) as usize)
                    .map_or(content.len(), |(i, _)| i);
        }
        offset += content.len();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;

    #[test]
    fn byte_offsets_count_characters_on_their_line() {
        let text = "ab\nZoë x";
        assert_eq!(byte_offset(text, 1, 1), 0);
        assert_eq!(byte_offset(text, 2, 1), 3);
        assert_eq!(&text[byte_offset(text, 2, 5)..], "x");
    }

    #[test]
    fn words_are_rewritten_in_place_keeping_the_rest_of_the_text() {
        let role = |w: &WordAt<'_>| {
            if w.called() || is_word(Some(&Token::Word(w.word.clone())), "and") {
                WordRole::Sql
            } else {
                WordRole::Column
            }
        };
        let text = "upper(\"Zoë x\")  and\n  E'a''b' = b";
        let found = columns(&PostgreSqlDialect {}, text, role).unwrap();
        let out = rewrite(text, &found, |original, _| format!("NEW.{original}"));
        assert_eq!(out, "upper(NEW.\"Zoë x\")  and\n  E'a''b' = NEW.b");
        let unsure = |_: &WordAt<'_>| WordRole::Unsure;
        assert!(columns(&PostgreSqlDialect {}, text, unsure).is_none());
    }
}
