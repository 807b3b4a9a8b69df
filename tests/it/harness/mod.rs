//! The test harness every module of the `it` binary uses: the `bellows` command builder
//! ([`Cli`], run to the end or `spawn`ed in the background as a [`running::Running`] to signal,
//! kill or wait for), scratch databases behind one trait ([`TestDb`]: PostgreSQL and SQLite,
//! blocking, with a [`Session`] for one kept connection and waits for what a run does: the run
//! lock held, rows done), the one seeder, the recording reporter, plan files in temporary
//! directories, the transcript filters, and [`backend_test!`], which runs one test body against
//! every backend.

#![allow(dead_code)]

#[macro_use]
pub mod macros;
pub mod cli;
pub mod db;
pub mod env;
pub mod plans;
pub mod record;
pub mod running;
pub mod schema_dump;
pub mod seed;
pub mod transcript;
pub mod wait;
pub mod writer;

pub use cli::{output_text, Cli, Output};
pub use db::{runtime, with_settings, MariadbPair, MysqlDb, PostgresDb, Session, SqliteDb, TestDb};
pub use plans::{check_err, check_ok, fixtures, rendered, stem, Plans};
pub use record::Recorder;
pub use schema_dump::schema_dump;
pub use seed::{seed_users, seed_users_to_backfill};
