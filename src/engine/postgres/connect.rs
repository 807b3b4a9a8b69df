//! Connections: opening the control and work connections of a run (the [`Backend`] impl),
//! reopening one that the server closed, and closing them all.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use super::attempt::connection_lost;
use super::PgBackend;
use crate::dialect::DialectKind;
use crate::engine::backend::{AttemptError, Backend, RunLocker};
use crate::engine::error::{DbContext, EngineError};

/// How long a run keeps trying to reconnect a lost connection (server restart, failover).
const RECONNECT_FOR: Duration = Duration::from_secs(30);

impl PgBackend {
    pub(super) async fn open(options: &PgConnectOptions) -> Result<PgConnection, EngineError> {
        PgConnection::connect_with(options)
            .await
            .map_err(|error| EngineError::Connect {
                hint: connect_hint(&error),
                error,
            })
    }

    /// Opens a new connection, retrying transient failures (a restarting server refuses
    /// connections or answers 57P03 for a while) with backoff for up to [`RECONNECT_FOR`].
    pub(super) async fn reconnect(&self, what: &str) -> Result<PgConnection, EngineError> {
        let deadline = Instant::now() + RECONNECT_FOR;
        let mut attempt = 1;
        loop {
            match PgConnection::connect_with(&self.options).await {
                Ok(conn) => return Ok(conn),
                Err(error)
                    if Instant::now() < deadline
                        && crate::engine::transient::classify_error(&error).is_transient() =>
                {
                    tokio::time::sleep(crate::engine::retry_policy::backoff(attempt)).await;
                    attempt += 1;
                }
                Err(error) => {
                    return Err(EngineError::database(
                        format!("reconnecting {what} after it was closed"),
                        error,
                    ))
                }
            }
        }
    }

    /// After the control connection broke (`error`): reconnects it, then makes sure the run
    /// lock is still held (a server restart closes every session, the lock's too).
    pub(super) async fn recover_control(&mut self, error: &EngineError) -> Result<(), EngineError> {
        tracing::debug!("the ledger connection broke ({error}); reconnecting");
        self.control = Some(self.reconnect("the ledger connection").await?);
        self.ensure_lock().await
    }

    /// The control connection, opened on first use: a parallel backfill's worker never asks
    /// for it, so it holds only its work connection.
    pub(super) async fn control(&mut self) -> Result<&mut PgConnection, EngineError> {
        let control = match self.control.take() {
            Some(control) => control,
            None => Self::open(&self.options).await?,
        };
        Ok(self.control.insert(control))
    }

    /// Reopens the work connection if it was lost; first makes sure the run lock is held.
    pub(super) async fn ensure_work(&mut self) -> Result<(), AttemptError> {
        self.ensure_lock().await.map_err(AttemptError::Engine)?;
        if !self.work_lost {
            return Ok(());
        }
        let mut work = PgConnection::connect_with(&self.options)
            .await
            .map_err(AttemptError::Transient)?;
        self.work_pid = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut work)
            .await
            .map_err(AttemptError::Transient)?;
        self.work = work;
        self.work_lost = false;
        Ok(())
    }

    /// Notes a lost work connection so the next use reopens it.
    pub(super) fn note(&mut self, error: &AttemptError) {
        if let AttemptError::Transient(e) = error {
            if connection_lost(e) {
                self.work_lost = true;
            }
        }
    }
}

fn connect_hint(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Some(
            "is the server running and reachable? check the host and port of --database / DATABASE_URL"
                .into(),
        ),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            Some("the database does not exist: create it first".into())
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("28P01") => {
            Some("check the user name and password in the URL".into())
        }
        _ => None,
    }
}

impl Backend for PgBackend {
    const KIND: DialectKind = DialectKind::Postgres;

    async fn connect(url: &str, application_name: &str) -> Result<Self, EngineError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| EngineError::Connect {
                error,
                hint: Some(
                    "a PostgreSQL URL looks like postgres://user:password@host:5432/database"
                        .into(),
                ),
            })?
            .application_name(application_name);
        Self::with_options(options).await
    }

    async fn close(mut self) -> Result<(), EngineError> {
        let released = self.release_run_lock().await;
        if let Some(lock) = self.lock.take() {
            let _ = lock.close().await;
        }
        if let Some(control) = self.control.take() {
            let _ = control.close().await;
        }
        let _ = self.work.close().await;
        released
    }
}

impl PgBackend {
    /// A backend on `options`: its control and work connections (no run lock yet).
    pub(super) async fn with_options(options: PgConnectOptions) -> Result<Self, EngineError> {
        let control = Self::open(&options).await?;
        let mut backend = Self::work_only(options).await?;
        backend.control = Some(control);
        Ok(backend)
    }

    /// A backend on `options` with its work connection only: the control connection is opened
    /// when first used (see [`PgBackend::control`]).
    pub(super) async fn work_only(options: PgConnectOptions) -> Result<Self, EngineError> {
        let mut work = Self::open(&options).await?;
        let work_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut work)
            .await
            .context(|| "reading the backend pid".into())?;
        let deadlock_ms: i64 = sqlx::query_scalar(
            "SELECT setting::int8 FROM pg_settings WHERE name = 'deadlock_timeout'",
        )
        .fetch_one(&mut work)
        .await
        .context(|| "reading deadlock_timeout".into())?;
        Ok(PgBackend {
            options,
            lock: None,
            lock_held: false,
            control: None,
            work,
            work_pid,
            work_lost: false,
            lock_lost: false,
            deadlock_timeout: Duration::from_millis(deadlock_ms.max(0) as u64),
        })
    }
}
