//! The one integration-test binary: each module tests one area of bellows, through the library
//! or the real `bellows` binary.

#[macro_use]
mod harness;

mod backfill_parallel;
mod backfill_parallel_mysql;
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
mod engine_messages;
mod engine_mysql;
mod engine_ops_catalog;
mod engine_ops_postgres;
mod engine_rollback;
mod engine_sqlite;
mod engine_throttle;
mod engine_transcripts;
mod examples;
mod examples_end_to_end;
mod faults;
mod fixtures;
mod fleet;
mod logging;
mod man;
mod mysql_replica;
mod new;
mod online_check;
mod plan_cli;
mod progress;
mod recovery;
mod replica_lag;
mod schema;
mod shapes;
mod sql_check;
mod sql_snapshots;
mod sql_snapshots_catalog;
mod status;
mod sync_defaults;
mod sync_rewrite;
mod versioned_views;
mod versioned_views_faults;
