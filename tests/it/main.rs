//! The one integration-test binary: each module tests one area of bellows, through the library
//! or the real `bellows` binary.

#[macro_use]
mod harness;

mod backfill_resume;
mod bench_harness;
mod check;
mod completions;
mod conveniences;
mod dialect_sql;
mod docs;
mod doctor;
mod engine_actions;
mod engine_apply;
mod engine_backfill;
mod engine_confirm;
mod engine_errors;
mod engine_examples;
mod engine_locks;
mod engine_mysql;
mod engine_ops_postgres;
mod engine_rollback;
mod engine_sqlite;
mod engine_throttle;
mod engine_transcripts;
mod examples;
mod faults;
mod fixtures;
mod logging;
mod new;
mod plan_cli;
mod progress;
mod recovery;
mod schema;
mod sql_check;
mod sql_snapshots;
mod status;
