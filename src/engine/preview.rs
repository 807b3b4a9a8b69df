//! What `bellows plan -d URL` reads from a live database: the plan's ledger state and how many
//! rows each backfill would touch. Reads only: no lock is taken and nothing is created.

use serde::Serialize;

use super::backend::{Backend, GuardValue, Limits};
use super::error::EngineError;
use super::status::{self, StatusReport};
use crate::dialect::planned::{BackfillPlan, Expect, GuardQuery};
use crate::plan::Plan;
use crate::vocab::defaults;

/// How many rows a backfill would touch, counted now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillCount {
    pub table: String,
    /// `None` when the table cannot be counted yet (it is created by the plan's expand phase).
    pub rows: Option<i64>,
    /// How the number was found, or why there is none.
    pub basis: String,
}

/// The database's view of one plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub status: StatusReport,
    pub backfills: Vec<BackfillCount>,
}

/// Reads the ledger (without creating it) and counts the rows of each backfill.
pub async fn read<B: Backend>(
    url: &str,
    plan: &Plan,
    backfills: &[BackfillPlan],
) -> Result<Preview, EngineError> {
    let status =
        status::read::<B>(url, status::Selection::Files(std::slice::from_ref(plan))).await?;
    let mut backend = B::connect(url, "bellows plan").await?;
    let mut counts = Vec::new();
    for backfill in backfills {
        counts.push(count(&mut backend, backfill).await);
    }
    let _ = backend.close().await;
    Ok(Preview {
        status,
        backfills: counts,
    })
}

/// Counts with the plan's `where`; if that cannot run yet (its columns are added by expand),
/// counts the whole table, which is what the backfill will then walk.
async fn count<B: Backend>(backend: &mut B, backfill: &BackfillPlan) -> BackfillCount {
    let table = backfill.table.to_string();
    let limits = Limits {
        lock_timeout: Some(defaults::LOCK_TIMEOUT),
        statement_timeout: Some(defaults::STATEMENT_TIMEOUT),
    };
    let query = |sql: &str| GuardQuery {
        description: format!("rows of {table}"),
        query: sql.to_string(),
        expect: Expect::Integer(0),
    };
    if let Ok(GuardValue::Integer(rows)) = backend.guard(&query(&backfill.count_sql), limits).await
    {
        let basis = if backfill.filter.is_some() {
            "rows matching the backfill's `where`, counted now"
        } else {
            "rows of the table, counted now"
        };
        return BackfillCount {
            table,
            rows: Some(rows),
            basis: basis.to_string(),
        };
    }
    let whole = format!(
        "SELECT count(*) FROM {}",
        B::KIND.dialect().table(&backfill.table)
    );
    match backend.guard(&query(&whole), limits).await {
        Ok(GuardValue::Integer(rows)) => BackfillCount {
            table,
            rows: Some(rows),
            basis: "every row of the table: the `where` uses what expand adds, so it cannot be evaluated yet".to_string(),
        },
        Ok(other) => BackfillCount {
            table,
            rows: None,
            basis: format!("the count returned {other:?}"),
        },
        Err(error) => BackfillCount {
            table,
            rows: None,
            basis: format!("cannot be counted yet: {error}"),
        },
    }
}
