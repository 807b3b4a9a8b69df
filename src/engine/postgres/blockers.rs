//! Who blocks a waiting statement: `pg_blocking_pids` joined with `pg_stat_activity`, looked at
//! from the control connection while the work connection waits, autovacuum workers among them
//! cancelled when they may be.

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::autovacuum::{autovacuum_kind, cancel_backend};
use crate::engine::backend::{AttemptError, AutovacuumBlock, WaitNotice};
use crate::engine::reporter::{AutovacuumKind, Blocker};

pub(super) async fn blockers_of(
    control: &mut PgConnection,
    pid: i32,
) -> Result<Vec<Blocker>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.pid::int8, coalesce(a.application_name, ''), coalesce(a.state, ''),
                coalesce(a.query, ''),
                extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
                coalesce(a.backend_type, '')
           FROM pg_stat_activity a
          WHERE a.pid = ANY (pg_blocking_pids($1))
          ORDER BY a.xact_start NULLS LAST",
    )
    .bind(pid)
    .fetch_all(control)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let query: String = row.get(3);
            let backend_type: String = row.get(5);
            Blocker {
                pid: row.get(0),
                application_name: row.get(1),
                state: row.get(2),
                autovacuum: autovacuum_kind(&backend_type, &query),
                query,
                xact_age: row
                    .get::<Option<f64>, _>(4)
                    .map(|s| Duration::from_secs_f64(s.max(0.0))),
            }
        })
        .collect())
}

/// What watching a waiting statement saw: the last blockers, an autovacuum among them.
pub(super) struct Watch {
    pid: i32,
    deadlock_timeout: Duration,
    started: Instant,
    last_blockers: Vec<Blocker>,
    autovacuum: Option<AutovacuumBlock>,
    autovacuum_cancelled: bool,
}

impl Watch {
    pub(super) fn new(pid: i32, deadlock_timeout: Duration) -> Watch {
        Watch {
            pid,
            deadlock_timeout,
            started: Instant::now(),
            last_blockers: Vec::new(),
            autovacuum: None,
            autovacuum_cancelled: false,
        }
    }

    /// One look at who blocks the statement: cancels an ordinary autovacuum worker when
    /// permitted, notes one it may not cancel, and tells `notice` who is waited for.
    pub(super) async fn look(&mut self, control: &mut PgConnection, notice: &dyn Fn(WaitNotice)) {
        // NOTE: failing to look at blockers must not fail the statement.
        let Ok(blockers) = blockers_of(control, self.pid).await else {
            return;
        };
        if blockers.is_empty() {
            return;
        }
        for blocker in &blockers {
            let Some(kind) = blocker.autovacuum else {
                continue;
            };
            if kind == AutovacuumKind::Ordinary {
                if let Ok(true) = cancel_backend(control, blocker.pid).await {
                    self.autovacuum_cancelled = true;
                    notice(WaitNotice::AutovacuumCancelled {
                        pid: blocker.pid,
                        query: blocker.query.clone(),
                    });
                    continue;
                }
            }
            self.autovacuum = Some(AutovacuumBlock {
                pid: blocker.pid,
                query: blocker.query.clone(),
                kind,
                cancel_refused: kind == AutovacuumKind::Ordinary,
                deadlock_timeout: self.deadlock_timeout,
            });
        }
        notice(WaitNotice::Waiting {
            waited: self.started.elapsed(),
            blockers: blockers.clone(),
        });
        self.last_blockers = blockers;
    }

    /// A lock timeout, with what the watch saw; other errors as they are.
    pub(super) fn explain(self, error: AttemptError) -> AttemptError {
        match error {
            AttemptError::LockTimeout { .. } => AttemptError::LockTimeout {
                blockers: self.last_blockers,
                autovacuum: self.autovacuum,
                autovacuum_cancelled: self.autovacuum_cancelled,
            },
            other => other,
        }
    }
}
