//! The online check (`check -d`, `plan -d`): every step's SQL compiled against the database
//! as the plan will have shaped it by then, without changing anything and without locking a
//! real table for writing. The statements come from [`crate::dialect::rehearsal`]; they run on
//! temporary shadows inside one transaction that is always rolled back (on MySQL, whose DDL
//! commits, in a session that cannot change a real table).

use std::collections::HashSet;

use serde::Serialize;

use super::backend::{Backend, Limits};
use super::error::{DbError, EngineError, FailedExpression};
use super::failure::failed_expression;
use crate::dialect::rehearsal::{rehearse, shadow_sql};
use crate::plan::{Plan, Step};
use crate::vocab::{Phase, TableName};

/// Short: the check reads the catalog and compiles statements on empty temporary tables.
const LIMITS: Limits = Limits {
    lock_timeout: Some(std::time::Duration::from_secs(2)),
    statement_timeout: Some(std::time::Duration::from_secs(10)),
};

/// One problem the database found in a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub phase: Phase,
    pub index: usize,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The step's table is not in the database and no earlier step creates it.
    MissingTable { table: String },
    /// The database has no online check (MySQL): nothing was compiled against it.
    NotAvailable { database: String },
    /// The database refused the step's SQL; `expression` is the plan's fragment it lies in.
    Refused {
        db: Box<DbError>,
        statement: String,
        expression: Option<FailedExpression>,
    },
}

/// Checks `plan` against the database at `url`.
pub async fn run<B: Backend>(url: &str, plan: &Plan) -> Result<Vec<Finding>, EngineError> {
    let mut backend = B::connect(url, "bellows check").await?;
    let result = check(&mut backend, plan).await;
    let _ = backend.close().await;
    result
}

/// The tables seen so far, by lower-cased name.
#[derive(Default)]
struct Tables {
    /// Shadowed (or created by the plan): statements may use them.
    shadowed: HashSet<String>,
    /// Not in the database: reported once, later steps on them are not checked.
    missing: HashSet<String>,
    /// Named by a raw `sql` step: their shape is no longer known.
    opaque: HashSet<String>,
}

fn key(table: &TableName) -> String {
    table.name.to_lowercase()
}

async fn check<B: Backend>(backend: &mut B, plan: &Plan) -> Result<Vec<Finding>, EngineError> {
    if !B::REHEARSES {
        return Ok(plan
            .steps
            .iter()
            .min_by_key(|s| (s.phase, s.index))
            .map(|step| Finding {
                phase: step.phase,
                index: step.index,
                problem: Problem::NotAvailable {
                    database: B::KIND.dialect().kind().to_string(),
                },
            })
            .into_iter()
            .collect());
    }
    // Steps the ledger records as run are in the real tables already (and so in the shadows):
    // replaying them would report their own work ("column already exists").
    let ledger = if backend.ledger_exists().await? {
        backend.read_ledger(Some(&plan.name)).await?.pop()
    } else {
        None
    };
    let done = |step: &Step| {
        ledger
            .as_ref()
            .and_then(|l| l.step(step.phase, step.index))
            .is_some_and(|record| record.is_settled())
    };
    backend.begin_rehearsal(LIMITS).await?;
    let mut steps: Vec<&Step> = plan.steps.iter().filter(|s| !done(s)).collect();
    steps.sort_by_key(|s| (s.phase, s.index));
    let mut tables = Tables::default();
    let mut findings = Vec::new();
    for (n, step) in steps.into_iter().enumerate() {
        let rehearsal = rehearse(B::KIND, &step.op, n);
        let found = |problem| Finding {
            phase: step.phase,
            index: step.index,
            problem,
        };
        let mut ready = true;
        for table in &rehearsal.tables {
            match shadow(backend, &mut tables, table).await? {
                Shadow::Ready => {}
                Shadow::Skip => ready = false,
                Shadow::Missing => {
                    ready = false;
                    findings.push(found(Problem::MissingTable {
                        table: table.to_string(),
                    }));
                }
            }
        }
        let mut failed = false;
        if ready {
            for statement in &rehearsal.statements {
                if let Err(db) = backend.rehearse(statement).await? {
                    failed = true;
                    let expression = failed_expression(&step.op, &db, Some(statement));
                    findings.push(found(Problem::Refused {
                        db: Box::new(db),
                        statement: statement.clone(),
                        expression,
                    }));
                }
            }
        }
        if let Some(created) = &rehearsal.creates {
            if ready && !failed {
                tables.shadowed.insert(key(created));
            } else {
                tables.missing.insert(key(created));
            }
        }
        tables
            .opaque
            .extend(rehearsal.opaque.iter().map(|t| t.name.clone()));
    }
    backend.end_rehearsal().await?;
    Ok(findings)
}

enum Shadow {
    Ready,
    /// Missing (already reported) or opaque: the step is not checked.
    Skip,
    /// Missing, first seen now.
    Missing,
}

/// Makes the shadow of `table` the first time a step names it.
async fn shadow<B: Backend>(
    backend: &mut B,
    tables: &mut Tables,
    table: &TableName,
) -> Result<Shadow, EngineError> {
    let name = key(table);
    if tables.opaque.contains(&name) || tables.missing.contains(&name) {
        return Ok(Shadow::Skip);
    }
    if tables.shadowed.contains(&name) {
        return Ok(Shadow::Ready);
    }
    let Some(columns) = backend.table_columns(table).await? else {
        tables.missing.insert(name);
        return Ok(Shadow::Missing);
    };
    match backend
        .rehearse(&shadow_sql(B::KIND, table, &columns))
        .await?
    {
        Ok(()) => {
            tables.shadowed.insert(name);
            Ok(Shadow::Ready)
        }
        // NOTE: a table whose shape cannot be copied (a column of a type the session cannot
        // name) is not checked rather than reported: the plan is not at fault.
        Err(_) => {
            tables.opaque.insert(name);
            Ok(Shadow::Skip)
        }
    }
}
