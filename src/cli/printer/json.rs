//! `--format json`: every engine event, and every document a command prints, as one JSON
//! object on its own line of stdout.

use crate::cli::out;
use crate::engine::reporter::{Event, Reporter};

/// The reporter of `--format json`.
pub struct JsonLines;

impl JsonLines {
    /// Prints one JSON document (or event) on its own line.
    pub fn write(&self, value: &impl serde::Serialize) {
        match to_line(value) {
            Ok(text) => out::line(&text),
            Err(e) => tracing::error!("cannot serialize output: {e}"),
        }
    }
}

impl Reporter for JsonLines {
    fn report(&self, event: Event) {
        self.write(&event);
    }
}

/// The line printed for `value`.
pub fn to_line(value: &impl serde::Serialize) -> serde_json::Result<String> {
    serde_json::to_string(value)
}
