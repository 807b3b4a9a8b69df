//! Rendering diagnostics for people (source line with a caret) and for machines (JSON).

use console::Style;
use serde::Serialize;

use super::diagnostic::{Diagnostic, Severity};
use super::load::Source;

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
        code: diagnostic.code,
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
    let located = locate(source, diagnostic);
    let accent = match diagnostic.severity {
        Severity::Error => paint(Style::new().red().bold()),
        Severity::Warning => paint(Style::new().yellow().bold()),
    };
    let blue = paint(Style::new().blue());
    let mut out = format!(
        "{}: {}\n",
        accent.apply_to(format!(
            "{}[{}]",
            diagnostic.severity.label(),
            diagnostic.code
        )),
        paint(Style::new().bold()).apply_to(&diagnostic.message)
    );
    let gutter = located.line.to_string().len();
    let pad = " ".repeat(gutter);
    out.push_str(&format!(
        "{pad}{} {}:{}:{}\n",
        blue.apply_to("-->"),
        located.file,
        located.line,
        located.column
    ));
    if let Some(span) = &diagnostic.span {
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
        let bar = blue.apply_to("|");
        out.push_str(&format!("{pad} {bar}\n"));
        out.push_str(&format!(
            "{} {bar} {}\n",
            blue.apply_to(located.line),
            line_text.replace('\t', " ")
        ));
        out.push_str(&format!(
            "{pad} {bar} {}{}\n",
            " ".repeat(located.column - 1),
            accent.apply_to("^".repeat(width))
        ));
    }
    if let Some(help) = &diagnostic.help {
        out.push_str(&format!("{pad} {} help: {help}\n", blue.apply_to("=")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
