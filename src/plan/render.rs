//! Rendering diagnostics for people (source line with a caret) and for machines (JSON).

use console::Style;
use serde::Serialize;

use super::load::Source;
use crate::vocab::diagnostic::{Diagnostic, Severity};
use crate::vocab::Span;

/// The largest char boundary of `text` at or before `offset` (spans may come from a parser error
/// in the middle of a multi-byte character; slicing there would panic).
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_boundary(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

/// A diagnostic located in its file, as `check --format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
}

pub fn locate(source: &Source, diagnostic: &Diagnostic) -> Located {
    let (line, column) = diagnostic
        .span
        .as_ref()
        .map(|span| line_col(&source.text, span.start))
        .unwrap_or((1, 1));
    Located {
        file: source.path.display().to_string(),
        line,
        column,
        severity: diagnostic.severity,
        code: diagnostic.code.as_str(),
        message: diagnostic.message.clone(),
        help: diagnostic.help.clone(),
    }
}

/// Renders a diagnostic for a person, coloured when stdout is a colour terminal (see
/// [`render_with`] to decide the colour yourself, e.g. for stderr).
pub fn render(source: &Source, diagnostic: &Diagnostic) -> String {
    render_with(source, diagnostic, console::colors_enabled())
}

/// Renders a diagnostic for a person; `color` says whether to use ANSI styles (the caller knows
/// which stream it prints to, and whether that is a colour terminal honouring `NO_COLOR`).
///
/// ```text
/// error[unknown-op]: unknown op `add_colum` in step 1 of [[expand]]
///  --> plans/0001_users.toml:3:6
///   |
/// 3 | op = "add_colum"
///   |      ^^^^^^^^^^^
///   = help: did you mean `add_column`?
/// ```
pub fn render_with(source: &Source, diagnostic: &Diagnostic, color: bool) -> String {
    let paint = |style: Style| style.force_styling(color);
    let accent = match diagnostic.severity {
        Severity::Error => paint(Style::new().red().bold()),
        Severity::Warning => paint(Style::new().yellow().bold()),
        Severity::Note => paint(Style::new().cyan().bold()),
    };
    let mut out = format!(
        "{}: {}\n",
        accent.apply_to(format!(
            "{}[{}]",
            diagnostic.severity.label(),
            diagnostic.code
        )),
        paint(Style::new().bold()).apply_to(&diagnostic.message)
    );
    let notes: Vec<_> = diagnostic
        .help
        .iter()
        .map(|h| format!("help: {h}"))
        .collect();
    out.push_str(&snippet(
        source,
        diagnostic.span.as_ref(),
        &Snippet {
            accent,
            label: None,
            notes: &notes,
            color,
        },
    ));
    out
}

/// How a [`snippet`] is drawn: the caret's style, a label after the carets, `= …` notes.
pub struct Snippet<'a> {
    pub accent: Style,
    pub label: Option<&'a str>,
    pub notes: &'a [String],
    pub color: bool,
}

/// The location of `span` in `source`, its line with carets under the span, then the notes:
///
/// ```text
///  --> plans/0001_users.toml:3:6
///   |
/// 3 | op = "add_colum"
///   |      ^^^^^^^^^^^ label
///   = help: did you mean `add_column`?
/// ```
pub fn snippet(source: &Source, span: Option<&Span>, style: &Snippet<'_>) -> String {
    let blue = Style::new().blue().force_styling(style.color);
    let accent = style.accent.clone().force_styling(style.color);
    let (line, column) = span
        .map(|span| line_col(&source.text, span.start))
        .unwrap_or((1, 1));
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    let mut out = format!(
        "{pad}{} {}:{line}:{column}\n",
        blue.apply_to("-->"),
        source.path.display(),
    );
    if let Some(span) = span {
        let text = &source.text;
        let start = floor_boundary(text, span.start);
        let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line_end = text[start..]
            .find('\n')
            .map(|i| start + i)
            .unwrap_or(text.len());
        let line_text = text[line_start..line_end].trim_end_matches('\r');
        let end = floor_boundary(text, span.end.clamp(start, line_end));
        let width = text[start..end].chars().count().max(1);
        let (shown, caret_at) = excerpt(line_text, column - 1);
        let width = width.min(shown.chars().count().saturating_sub(caret_at).max(1));
        let bar = blue.apply_to("|");
        let label = style.label.map(|l| format!(" {l}")).unwrap_or_default();
        out.push_str(&format!("{pad} {bar}\n"));
        out.push_str(&format!("{} {bar} {shown}\n", blue.apply_to(line)));
        out.push_str(&format!(
            "{pad} {bar} {}{}\n",
            " ".repeat(caret_at),
            accent.apply_to(format!("{}{label}", "^".repeat(width)))
        ));
    }
    for note in style.notes {
        out.push_str(&format!("{pad} {} {note}\n", blue.apply_to("=")));
    }
    out
}

/// The source line as shown (tabs as one space each, so carets line up) and the caret's
/// column in it; a long line is cut to a window around the caret, marked with `…`.
fn excerpt(line: &str, caret: usize) -> (String, usize) {
    const SHOWN: usize = 120;
    const BEFORE: usize = 40;
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    if chars.len() <= SHOWN {
        return (chars.iter().collect(), caret.min(chars.len()));
    }
    let caret = caret.min(chars.len());
    let from = caret.saturating_sub(BEFORE).min(chars.len() - SHOWN);
    let to = from + SHOWN;
    let mut shown = String::new();
    let mut caret_at = caret - from;
    if from > 0 {
        shown.push('…');
        caret_at += 1;
    }
    shown.extend(&chars[from..to]);
    if to < chars.len() {
        shown.push('…');
    }
    (shown, caret_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let (shown, caret) = excerpt(&line, 500);
        assert_eq!(shown.chars().nth(caret), Some('X'));
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().count(), 122);
        let (shown, caret) = excerpt(&line, 0);
        assert_eq!((caret, shown.starts_with('a')), (0, true));
        let (shown, caret) = excerpt(&line, 1001);
        assert_eq!(caret, shown.chars().count());
        assert_eq!(excerpt("\tx = 1", 1), (" x = 1".to_string(), 1));
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, text.find('=').unwrap()), (1, 3));
        let second_eq = text.rfind('=').unwrap();
        assert_eq!(line_col(text, second_eq), (2, 4));
    }
}
