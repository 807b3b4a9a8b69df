//! Plan files: the model, loading TOML with spans, validation and rendering of diagnostics.

pub mod discover;
pub mod lint;
pub mod load;
pub mod model;
pub mod render;
pub mod schema;
pub mod sql;
mod values;

pub use model::{Plan, Settings, Step, ValueSpan};
