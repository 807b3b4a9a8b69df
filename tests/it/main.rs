//! The integration tests: one binary, one module per area.

mod dialect_sql;
mod plan_cli;
mod sql_snapshots;
