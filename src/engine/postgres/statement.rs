//! Statements, guards and captures on the work connection, with blockers watched from the
//! control connection while a statement waits; a statement whose connection broke is
//! recovered from the ledger mark it carried.

use std::time::Duration;

use sqlx::postgres::PgConnection;

use super::attempt::{classify, setting, with_limits};
use super::blockers::Watch;
use super::ledger::write_progress;
use super::PgBackend;
use crate::dialect::planned::{Capture, GuardQuery, Statement, TableRebuild};
use crate::dialect::{DialectKind, Unsupported};
use crate::engine::backend::{AttemptError, GuardValue, Limits, StatementRunner, WaitNotice};
use crate::engine::error::EngineError;
use crate::engine::ledger::Mark;
use crate::vocab::TableName;

impl PgBackend {
    /// Runs `statement` on the work connection, watching for blockers from the control
    /// connection while it runs; copes with the connection breaking under it.
    pub(super) async fn run_watched(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<Mark<'_>>,
        notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        self.ensure_work().await?;
        let result = self.run_watched_once(statement, limits, mark, notice).await;
        let Err(error) = result else { return Ok(()) };
        self.note(&error);
        if !self.work_lost {
            return Err(error);
        }
        // NOTE: the connection broke: the transaction either committed (the ledger mark says so)
        // or rolled back, and can be retried. A statement outside a transaction may have run in
        // part; only a concurrent index build is safe to retry (its INVALID leftover is dropped).
        match (statement.transaction, mark) {
            (true, Some(mark)) => match self.committed(mark).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(error),
                Err(e) => Err(AttemptError::Engine(e)),
            },
            (true, None) => Err(error),
            (false, _)
                if matches!(
                    statement.special,
                    Some(crate::dialect::planned::Special::CreateIndexConcurrently { .. })
                ) =>
            {
                Err(error)
            }
            (false, _) => match error {
                AttemptError::Transient(e) => Err(AttemptError::Failed(e)),
                other => Err(other),
            },
        }
    }

    async fn run_watched_once(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<Mark<'_>>,
        notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        self.control().await.map_err(AttemptError::Engine)?;
        let PgBackend {
            work,
            control: Some(control),
            work_pid,
            deadlock_timeout,
            ..
        } = self
        else {
            unreachable!("the control connection was opened above")
        };
        let first_look = match limits.lock_timeout {
            Some(t) => (t / 3).clamp(Duration::from_millis(20), Duration::from_millis(250)),
            None => Duration::from_secs(1),
        };
        let every = match limits.lock_timeout {
            Some(t) => (t / 2).clamp(Duration::from_millis(50), Duration::from_millis(500)),
            None => Duration::from_secs(2),
        };
        let mut watch = Watch::new(*work_pid, *deadlock_timeout);
        let run = run_statement(work, statement, limits, mark);
        tokio::pin!(run);
        let mut next_look = tokio::time::Instant::now() + first_look;
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                _ = tokio::time::sleep_until(next_look) => {
                    next_look = tokio::time::Instant::now() + every;
                    watch.look(control, notice).await;
                }
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(error) => Err(watch.explain(classify(error))),
        }
    }
}

/// The statement, in its own transaction (with the ledger mark) or alone.
async fn run_statement(
    work: &mut PgConnection,
    statement: &Statement,
    limits: Limits,
    mark: Option<Mark<'_>>,
) -> Result<(), sqlx::Error> {
    let limits_sql = |scope: &str| {
        format!(
            "SET {scope}lock_timeout = {}; SET {scope}statement_timeout = {}",
            setting(limits.lock_timeout),
            setting(limits.statement_timeout)
        )
    };
    if statement.transaction {
        sqlx::raw_sql("BEGIN").execute(&mut *work).await?;
        let result = async {
            sqlx::raw_sql(&limits_sql("LOCAL "))
                .execute(&mut *work)
                .await?;
            sqlx::raw_sql(&statement.sql).execute(&mut *work).await?;
            if let Some(mark) = mark {
                write_progress(work, mark).await?;
            }
            sqlx::raw_sql("COMMIT").execute(&mut *work).await?;
            Ok(())
        }
        .await;
        if result.is_err() {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
        }
        result
    } else {
        sqlx::raw_sql(&limits_sql("")).execute(&mut *work).await?;
        let result = sqlx::raw_sql(&statement.sql)
            .execute(&mut *work)
            .await
            .map(|_| ());
        // NOTE: session-level settings would otherwise apply to the next guard or capture.
        let _ = sqlx::raw_sql("RESET lock_timeout; RESET statement_timeout")
            .execute(&mut *work)
            .await;
        result
    }
}

impl StatementRunner for PgBackend {
    async fn execute(
        &mut self,
        statement: &Statement,
        limits: Limits,
        mark: Option<Mark<'_>>,
        notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        self.run_watched(statement, limits, mark, notice).await
    }

    async fn guard(
        &mut self,
        guard: &GuardQuery,
        limits: Limits,
    ) -> Result<GuardValue, AttemptError> {
        self.ensure_work().await?;
        // The query's first column, as text and with its type, whatever type it has.
        let query = guard.query.trim().trim_end_matches(';');
        let sql = format!(
            "SELECT guard_value::text, pg_typeof(guard_value)::text FROM ({query}) AS guard (guard_value) LIMIT 1"
        );
        let row: Option<(Option<String>, String)> = with_limits(&mut self.work, limits, |conn| {
            Box::pin(async move {
                sqlx::query_as(&sql)
                    .persistent(false)
                    .fetch_optional(conn)
                    .await
            })
        })
        .await
        .map_err(classify)
        .inspect_err(|e| self.note(e))?;
        Ok(match row {
            None => GuardValue::NoRow,
            Some((None, _)) => GuardValue::Null,
            Some((Some(text), type_name)) => match type_name.as_str() {
                "boolean" => GuardValue::Boolean(text == "true"),
                _ => match text.parse::<i64>() {
                    Ok(n) => GuardValue::Integer(n),
                    Err(_) => GuardValue::Other(text),
                },
            },
        })
    }

    async fn capture(
        &mut self,
        capture: &Capture,
        limits: Limits,
    ) -> Result<Option<String>, AttemptError> {
        self.ensure_work().await?;
        let query = capture.query.clone();
        let value: Option<Option<String>> = with_limits(&mut self.work, limits, |conn| {
            Box::pin(async move {
                sqlx::query_scalar(&query)
                    .persistent(false)
                    .fetch_optional(conn)
                    .await
            })
        })
        .await
        .map_err(classify)
        .inspect_err(|e| self.note(e))?;
        Ok(value.flatten())
    }

    async fn drop_invalid_index(
        &mut self,
        table: Option<&TableName>,
        index: &str,
    ) -> Result<bool, EngineError> {
        self.drop_invalid_index_named(table, index).await
    }

    async fn rebuild(
        &mut self,
        _rebuild: &TableRebuild,
        _saved_definition: Option<&str>,
        _limits: Limits,
        _mark: Option<Mark<'_>>,
    ) -> Result<(), AttemptError> {
        Err(AttemptError::Engine(EngineError::Unsupported(
            Unsupported {
                dialect: DialectKind::Postgres,
                op: "table rebuild",
                why: "PostgreSQL alters tables in place; a rebuild is only planned for SQLite"
                    .into(),
            },
        )))
    }
}
