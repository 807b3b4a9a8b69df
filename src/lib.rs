//! bellows: zero-downtime schema changes for live databases.
//!
//! A plan flows one way: TOML text → [`plan::load`] (parsed, with spans, validated) →
//! [`ops`] and [`dialect`] (SQL per database, pure) → [`engine`] (execution, ledger) → report.

pub mod cli;
pub mod config;
pub mod dialect;
pub mod engine;
pub mod fleet;
pub mod ops;
pub mod plan;
pub mod vocab;
