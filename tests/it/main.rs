//! The one integration-test binary: each module tests one area through the library or the
//! real `bellows` binary.

mod dialect_sql;
mod docs;
mod examples;
mod fixtures;
mod new;
mod plan_cli;
mod sql_snapshots;
