//! PostgreSQL backend: three connections per run (run lock, control, work; one more work
//! connection for each further worker of a parallel backfill), the ledger in
//! schema `bellows`, statements under `SET LOCAL lock_timeout`, and blockers watched from the
//! control connection while the work connection waits. One file per concern; this one holds
//! the backend's state.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Runs `$body` (an awaited expression using the control connection) and, when it fails
/// because the control connection is gone, reconnects it (re-checking the run lock) and runs it
/// again. Only for idempotent work: reads, upserts, deletes by key, `IF NOT EXISTS` DDL.
macro_rules! on_control {
    ($self:ident, $body:expr) => {{
        let mut tries = 0u32;
        loop {
            let result: Result<_, $crate::engine::error::EngineError> = $body;
            match result {
                Err(error)
                    if tries < 3 && $crate::engine::postgres::attempt::control_broke(&error) =>
                {
                    tries += 1;
                    $self.recover_control(&error).await?;
                }
                other => break other,
            }
        }
    }};
}

mod attempt;
mod autovacuum;
mod batch;
mod blockers;
mod catalog;
mod connect;
mod connection_limits;
mod index_cleanup;
mod ledger;
mod objects;
mod ranges;
mod rehearse;
mod run_lock;
mod statement;

pub use attempt::connection_lost;
pub use autovacuum::autovacuum_kind;
pub use catalog::concurrently_is_broken;

/// The PostgreSQL backend of one run.
pub struct PgBackend {
    options: PgConnectOptions,
    /// Holds the session advisory lock; does nothing else. Opened by `try_run_lock`.
    lock: Option<PgConnection>,
    lock_held: bool,
    /// Ledger reads and writes, catalog queries, watching blockers. Opened with the backend,
    /// except a parallel backfill worker's, which never uses it ([`PgBackend::control`] opens it
    /// on first use).
    control: Option<PgConnection>,
    /// Statements, guards, captures, backfill batches.
    work: PgConnection,
    work_pid: i32,
    /// The work connection broke (server restart, `pg_terminate_backend`); reopened before
    /// its next use.
    work_lost: bool,
    /// The lock connection was closed and another run took the run lock meanwhile: this run
    /// must not write the ledger again.
    lock_lost: bool,
    deadlock_timeout: Duration,
}
