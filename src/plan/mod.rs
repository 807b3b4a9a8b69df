//! Plan files: the model, loading TOML with spans, validation and diagnostics.

pub mod diagnostic;
pub mod discover;
pub mod lint;
pub mod load;
pub mod model;
pub mod reader;
pub mod render;
pub mod schema;

pub use diagnostic::{Diagnostic, Severity};
pub use model::{Phase, Plan, Settings, Step, TableName};
