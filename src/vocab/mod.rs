//! The vocabulary every layer shares: phases, table names, spans, diagnostics and their codes,
//! the spanned TOML reader, durations, generated names, defaults and environment variables.
//! A leaf: nothing here imports another module of the crate.

pub mod defaults;
pub mod diagnostic;
pub mod duration;
pub mod env;
pub mod lag;
pub mod naming;
pub mod phase;
pub mod reader;
pub mod span;
pub mod table_name;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use phase::Phase;
pub use span::Span;
pub use table_name::TableName;
