//! From a line and column inside a fragment of SQL to a span in the plan file.
//!
//! A TOML string written without escapes holds the fragment byte for byte, so a place in the
//! fragment is a place in the file. A string with escapes (`\"`, `\n`) does not: there the span
//! falls back to the start of the value.

use crate::plan::ValueSpan;
use crate::vocab::Span;

/// Where the fragment's first byte is in `source`, when the value is written without escapes.
pub fn fragment_offset(source: &str, value: &ValueSpan) -> Option<usize> {
    let raw = source.get(value.span.clone())?;
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| raw.starts_with(q) && raw.ends_with(q) && raw.len() >= 2 * q.len())?;
    let mut start = quote.len();
    if quote.len() == 3 {
        // TOML trims a newline right after the opening delimiter of a multi-line string.
        let rest = &raw[start..];
        start += [("\r\n", 2), ("\n", 1)]
            .into_iter()
            .find(|(newline, _)| rest.starts_with(newline))
            .map_or(0, |(_, n)| n);
    }
    let content = raw.get(start..raw.len() - quote.len())?;
    (content == value.text).then_some(value.span.start + start)
}

/// The span of the token at 1-based `line` and `column` (in characters) of the fragment, or of
/// its last character when `at` is `None` (the end); the value's start when it has escapes.
pub fn span_at(source: &str, value: &ValueSpan, at: Option<(usize, usize)>) -> Span {
    let Some(base) = fragment_offset(source, value) else {
        return value.span.start..value.span.start + 1;
    };
    let text = &value.text;
    let offset = match at {
        Some((line, column)) => byte_offset(text, line, column),
        None => text.trim_end().char_indices().last().map_or(0, |(i, _)| i),
    };
    let offset = offset.min(text.len().saturating_sub(1));
    let word = text[offset..]
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(text.len() - offset, |(i, _)| i);
    let len = match word {
        0 => text[offset..].chars().next().map_or(1, char::len_utf8),
        n => n,
    };
    base + offset..base + offset + len
}

/// Where the fragment's first byte is in the file, told from the value's span alone: a string
/// without escapes is exactly its quotes longer than its text (an escape always makes the
/// written form longer than the text it stands for).
pub fn fragment_offset_unescaped(value: &ValueSpan) -> Option<usize> {
    let extra = value.span.len().checked_sub(value.text.len())?;
    let opening = match extra {
        2 => 1,
        6 => 3,
        7 => 4,
        8 => 5,
        _ => return None,
    };
    Some(value.span.start + opening)
}

/// The span in the file of the word at 1-based `line` and `column` of the value's text, when
/// the value is written without escapes.
pub fn word_span(value: &ValueSpan, line: usize, column: usize) -> Option<Span> {
    let base = fragment_offset_unescaped(value)?;
    let text = &value.text;
    let offset = byte_offset(text, line, column).min(text.len());
    let rest = &text[offset..];
    let len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    let len = if len == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        len
    };
    Some(base + offset..base + offset + len)
}

/// The byte offset of 1-based `line` and `column` (characters) in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    text[line_start..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| line_start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(source: &str, text: &str) -> ValueSpan {
        let start = source.find('=').unwrap() + 2;
        ValueSpan {
            path: "from".into(),
            text: text.into(),
            span: start..source.trim_end().len(),
        }
    }

    #[test]
    fn a_place_in_a_plain_string_is_a_place_in_the_file() {
        let source = "from = \"length(kind\"\n";
        let v = value(source, "length(kind");
        let span = span_at(source, &v, Some((1, 8)));
        assert_eq!(&source[span], "kind");
        let end = span_at(source, &v, None);
        assert_eq!(&source[end], "d");
    }

    #[test]
    fn multi_line_literal_strings_keep_their_lines() {
        let source = "up = '''\nSELECT 1;\nSELEC 2'''\n";
        let v = value(source, "SELECT 1;\nSELEC 2");
        let span = span_at(source, &v, Some((2, 1)));
        assert_eq!(&source[span], "SELEC");
    }

    #[test]
    fn an_escaped_string_falls_back_to_its_start() {
        let source = "from = \"\\\"a\\\" +\"\n";
        let v = value(source, "\"a\" +");
        assert_eq!(span_at(source, &v, Some((1, 5))), 7..8);
    }
}
