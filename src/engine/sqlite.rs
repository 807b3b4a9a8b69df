//! SQLite backend: not written yet. Every method says so; the SQLite helper implements it
//! (ledger tables prefixed `bellows_`, a cross-process run lock, table rebuilds).

use super::backend::{
    AttemptError, Backend, BatchRequest, BatchResult, GuardValue, Limits, RunLock, ServerVersion,
    WaitNotice,
};
use super::error::EngineError;
use super::ledger::{PlanLedger, PlanRecord, StepKey, StepRecord};
use crate::dialect::{DialectKind, Unsupported};
use crate::ops::planned::{Capture, GuardQuery, Statement, TableRebuild};
use crate::plan::model::{Phase, TableName};

pub struct SqliteBackend;

fn not_yet() -> EngineError {
    EngineError::Unsupported(Unsupported {
        dialect: DialectKind::Sqlite,
        op: "apply",
        why: "the SQLite engine is not written yet".into(),
    })
}

impl Backend for SqliteBackend {
    const KIND: DialectKind = DialectKind::Sqlite;

    async fn connect(_url: &str, _application_name: &str) -> Result<Self, EngineError> {
        Err(not_yet())
    }

    async fn server_version(&mut self) -> Result<ServerVersion, EngineError> {
        Err(not_yet())
    }

    async fn try_run_lock(&mut self) -> Result<RunLock, EngineError> {
        Err(not_yet())
    }

    async fn release_run_lock(&mut self) -> Result<(), EngineError> {
        Err(not_yet())
    }

    async fn ledger_exists(&mut self) -> Result<bool, EngineError> {
        Err(not_yet())
    }

    async fn create_ledger(&mut self) -> Result<(), EngineError> {
        Err(not_yet())
    }

    async fn read_ledger(&mut self, _plan: Option<&str>) -> Result<Vec<PlanLedger>, EngineError> {
        Err(not_yet())
    }

    async fn save_plan(&mut self, _plan: &PlanRecord) -> Result<(), EngineError> {
        Err(not_yet())
    }

    async fn save_step(&mut self, _plan: &str, _step: &StepRecord) -> Result<(), EngineError> {
        Err(not_yet())
    }

    async fn delete_steps_except(
        &mut self,
        _plan: &str,
        _keep: &[(Phase, usize)],
    ) -> Result<(), EngineError> {
        Err(not_yet())
    }

    async fn execute(
        &mut self,
        _statement: &Statement,
        _limits: Limits,
        _mark: Option<(StepKey<'_>, usize)>,
        _notice: &dyn Fn(WaitNotice),
    ) -> Result<(), AttemptError> {
        Err(not_yet().into())
    }

    async fn guard(
        &mut self,
        _guard: &GuardQuery,
        _limits: Limits,
    ) -> Result<GuardValue, AttemptError> {
        Err(not_yet().into())
    }

    async fn capture(
        &mut self,
        _capture: &Capture,
        _limits: Limits,
    ) -> Result<Option<String>, AttemptError> {
        Err(not_yet().into())
    }

    async fn primary_key(
        &mut self,
        _table: &TableName,
    ) -> Result<Option<Vec<String>>, EngineError> {
        Err(not_yet())
    }

    async fn estimate_rows(&mut self, _table: &TableName) -> Result<Option<u64>, EngineError> {
        Err(not_yet())
    }

    async fn backfill_batch(
        &mut self,
        _request: &BatchRequest<'_>,
    ) -> Result<BatchResult, AttemptError> {
        Err(not_yet().into())
    }

    async fn drop_invalid_index(
        &mut self,
        _table: Option<&TableName>,
        _index: &str,
    ) -> Result<bool, EngineError> {
        Ok(false)
    }

    async fn rebuild(
        &mut self,
        _rebuild: &TableRebuild,
        _limits: Limits,
        _mark: Option<(StepKey<'_>, usize)>,
    ) -> Result<(), AttemptError> {
        Err(not_yet().into())
    }

    async fn close(self) -> Result<(), EngineError> {
        Ok(())
    }
}
