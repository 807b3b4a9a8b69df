//! The test harness every module of the `it` binary uses: the `bellows` command builder
//! ([`Cli`]), scratch databases behind one trait ([`TestDb`]: PostgreSQL and SQLite), the one
//! seeder, the recording reporter, plan files in temporary directories, the transcript filters,
//! and [`backend_test!`], which runs one test body against every backend.

#![allow(dead_code)]

#[macro_use]
pub mod macros;
pub mod cli;
pub mod db;
pub mod env;
pub mod plans;
pub mod record;
pub mod running;
pub mod seed;
pub mod transcript;
pub mod wait;

pub use cli::{output_text, Cli, Output};
pub use db::{runtime, PostgresDb, Session, SqliteDb, TestDb};
pub use plans::{check_err, check_ok, fixtures, rendered, stem, Plans};
pub use record::Recorder;
pub use seed::{seed_users, seed_users_to_backfill};
