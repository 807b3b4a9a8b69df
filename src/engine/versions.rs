//! Version schemas in a database (PostgreSQL): reading them, what the new application must set
//! to use one, and dropping an older version's views of a table a later plan changes.
//!
//! What is read is one JSON value from the catalog (`dialect::postgres::versions`); what to do
//! with it is decided by pure functions here, tested with tables of cases.

use serde::{Deserialize, Serialize};

use super::backend::{Backend, Limits};
use super::error::EngineError;
use super::ledger::{PlanLedger, StepState};
use super::ErrorKind;
use crate::dialect::planned::{Capture, Lock, LockPolicy, Statement, TableEffect};
use crate::dialect::DialectKind;
use crate::vocab::TableName;

/// One version schema, as the catalog has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSchema {
    pub schema: String,
    /// The plan it belongs to.
    pub plan: String,
    pub views: Vec<VersionView>,
    /// The schemas of the tables its views were made over (kept when a view is dropped).
    #[serde(default, skip_serializing)]
    pub table_schemas: Vec<String>,
    /// What the new application sets: `search_path = …`.
    #[serde(default)]
    pub search_path: String,
    /// The same as a connection option: `options=-c search_path=…`.
    #[serde(default)]
    pub connection_option: String,
}

/// A view of a version schema and the table it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionView {
    pub view: String,
    /// The table, schema-qualified and quoted where needed.
    pub table: String,
    pub table_schema: String,
    /// Whether the table is one the plan being applied changes.
    #[serde(default, skip_serializing)]
    pub touched: bool,
}

#[derive(Debug, Deserialize)]
struct Catalog {
    current_schema: String,
    versions: Vec<VersionSchema>,
}

/// An identifier as PostgreSQL's `search_path` needs it: bare when it is a plain lower-case
/// word, quoted otherwise.
fn path_ident(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        crate::dialect::quote_ident(name)
    }
}

/// Fills in the `search_path` lines: the version schema, then the schemas of the tables its
/// views show or showed (the session's current schema when none is known).
fn with_search_path(mut version: VersionSchema, current_schema: &str) -> VersionSchema {
    let mut path = vec![path_ident(&version.schema)];
    let schemas = version.views.iter().map(|v| &v.table_schema);
    for schema in schemas.chain(&version.table_schemas) {
        let schema = path_ident(schema);
        if !path.contains(&schema) {
            path.push(schema);
        }
    }
    if path.len() == 1 {
        path.push(path_ident(current_schema));
    }
    version.search_path = path.join(", ");
    version.connection_option = format!("options=-c search_path={}", path.join(","));
    version
}

/// Every version schema of the database; `touched` marks the views of `tables`.
pub async fn read<B: Backend>(
    backend: &mut B,
    tables: &[TableName],
) -> Result<Vec<VersionSchema>, EngineError> {
    if B::KIND != DialectKind::Postgres {
        return Ok(Vec::new());
    }
    let capture = Capture {
        name: "versions",
        description: "the version schemas".into(),
        query: crate::dialect::postgres::versions::version_schemas_sql(tables),
        missing: None,
    };
    let text = backend
        .capture(&capture, Limits::NONE)
        .await
        .map_err(|e| {
            EngineError::refused(
                ErrorKind::Failed,
                format!("could not read the version schemas: {e}"),
            )
        })?
        .unwrap_or_default();
    let catalog: Catalog = serde_json::from_str(&text).map_err(|e| {
        EngineError::refused(
            ErrorKind::Failed,
            format!("could not read the version schemas: {e}"),
        )
    })?;
    Ok(catalog
        .versions
        .into_iter()
        .map(|v| with_search_path(v, &catalog.current_schema))
        .collect())
}

/// A DROP of a version's view or schema: ACCESS EXCLUSIVE on the views for an instant, under
/// `lock_timeout` (an application's statements through them wait that long at most).
fn drop_statement(sql: String) -> Statement {
    Statement {
        sql,
        lock: Lock::AccessExclusive,
        table: None,
        effect: TableEffect::None,
        transaction: true,
        policy: LockPolicy::Short,
        special: None,
    }
}

/// What to do about an older version's view of a table the plan being applied changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// Its plan is done, so the view is a pass-through: drop it, and the new application's
    /// `search_path` finds the table itself.
    Drop { schema: String, view: String },
    /// Its plan is not done: the view still shows another shape.
    Refuse {
        schema: String,
        view: String,
        plan: String,
    },
}

/// Whether every step of `plan` is applied, by the ledger.
fn is_done(ledgers: &[PlanLedger], plan: &str) -> bool {
    ledgers
        .iter()
        .find(|l| l.plan.name == plan)
        .is_none_or(|l| l.steps.iter().all(|s| s.state == StepState::Applied))
}

/// The older versions' views of the tables `plan` changes, and what to do with each: drop
/// those of finished plans; refuse those of unfinished ones when `plan` makes views itself.
pub fn releases(
    versions: &[VersionSchema],
    ledgers: &[PlanLedger],
    plan: &str,
    makes_views: bool,
) -> Vec<Release> {
    let mut found = Vec::new();
    for version in versions.iter().filter(|v| v.plan != plan) {
        for view in version.views.iter().filter(|v| v.touched) {
            let (schema, name) = (version.schema.clone(), view.view.clone());
            if is_done(ledgers, &version.plan) {
                found.push(Release::Drop { schema, view: name });
            } else if makes_views {
                found.push(Release::Refuse {
                    schema,
                    view: name,
                    plan: version.plan.clone(),
                });
            }
        }
    }
    found
}

/// Drops the views of finished older versions over the tables `plan` changes, or refuses.
pub async fn release<B: Backend>(
    backend: &mut B,
    plan: &str,
    tables: &[TableName],
    makes_views: bool,
    limits: Limits,
) -> Result<(), EngineError> {
    if B::KIND != DialectKind::Postgres || tables.is_empty() {
        return Ok(());
    }
    let versions = read(backend, tables).await?;
    if versions
        .iter()
        .all(|v| v.plan == plan || v.views.iter().all(|w| !w.touched))
    {
        return Ok(());
    }
    let ledgers = backend.read_ledger(None).await?;
    for release in releases(&versions, &ledgers, plan, makes_views) {
        match release {
            Release::Drop { schema, view } => {
                let statement = drop_statement(format!(
                    "DROP VIEW IF EXISTS {}.{}",
                    crate::dialect::quote_ident(&schema),
                    crate::dialect::quote_ident(&view)
                ));
                backend
                    .execute(&statement, limits, None, &|_| {})
                    .await
                    .map_err(|e| {
                        EngineError::refused(
                            ErrorKind::Locked,
                            format!("could not drop the view {schema}.{view} of a finished plan's version schema: {e}; run apply again"),
                        )
                    })?;
            }
            Release::Refuse {
                schema,
                view,
                plan: older,
            } => {
                return Err(EngineError::refused(
                    ErrorKind::Invalid,
                    format!(
                        "plan `{plan}` changes the table that the view {schema}.{view} of plan `{older}` shows, and `{older}` is not finished: its version schema still shows the table in another shape. Apply `{older}` to the end (or roll it back) first"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The version schemas no application needs any more: those whose plan is done (its views are
/// pass-throughs, and a `search_path` naming a schema that is gone skips it) or that the ledger
/// does not know. Others still show another shape than the tables.
pub fn removable<'v>(
    versions: &'v [VersionSchema],
    ledgers: &[PlanLedger],
) -> Vec<&'v VersionSchema> {
    versions
        .iter()
        .filter(|v| is_done(ledgers, &v.plan))
        .collect()
}

/// What `bellows versions --remove` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// Schemas dropped.
    pub removed: Vec<String>,
    /// Schemas kept, each with why.
    pub kept: Vec<(String, String)>,
}

/// Drops the version schemas that nothing needs, after asking.
pub async fn remove<B: Backend>(
    url: &str,
    confirm: &dyn super::Confirm,
    limits: Limits,
) -> Result<Removal, EngineError> {
    super::session::connected(url, "bellows versions", async |backend: &mut B| {
        super::session::with_run_lock(backend, async |backend: &mut B| {
            let versions = read(backend, &[]).await?;
            let ledgers = if backend.ledger_exists().await? {
                backend.read_ledger(None).await?
            } else {
                Vec::new()
            };
            let chosen = removable(&versions, &ledgers);
            let mut removal = Removal {
                kept: versions
                    .iter()
                    .filter(|v| !chosen.contains(v))
                    .map(|v| (v.schema.clone(), format!("plan `{}` is not finished: its new application needs the views", v.plan)))
                    .collect(),
                ..Removal::default()
            };
            if chosen.is_empty() {
                return Ok(removal);
            }
            let names: Vec<&str> = chosen.iter().map(|v| v.schema.as_str()).collect();
            let question = format!(
                "These version schemas belong to finished plans; an application whose search_path names one finds the tables themselves once it is gone: {}\nDrop them?",
                names.join(", ")
            );
            match confirm.confirm(&question) {
                super::Confirmation::Yes => {}
                super::Confirmation::No => return Ok(removal),
                super::Confirmation::NoTerminal => {
                    return Err(EngineError::refused(
                        ErrorKind::Invalid,
                        "removing version schemas asks for confirmation, and there is no terminal to ask on; pass --yes",
                    ))
                }
            }
            for name in names {
                let statement = drop_statement(format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE",
                    crate::dialect::quote_ident(name)
                ));
                backend.execute(&statement, limits, None, &|_| {}).await.map_err(|e| {
                    EngineError::refused(ErrorKind::Failed, format!("could not drop the version schema {name}: {e}"))
                })?;
                removal.removed.push(name.to_string());
            }
            Ok(removal)
        })
        .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::{PlanRecord, StepRecord};
    use crate::vocab::Phase;

    fn version(plan: &str, touched: bool) -> VersionSchema {
        VersionSchema {
            schema: format!("bellows_{plan}"),
            plan: plan.into(),
            views: vec![VersionView {
                view: "users".into(),
                table: "public.users".into(),
                table_schema: "public".into(),
                touched,
            }],
            table_schemas: vec!["public".into()],
            search_path: String::new(),
            connection_option: String::new(),
        }
    }

    fn ledger(plan: &str, state: StepState) -> PlanLedger {
        let mut step = StepRecord::pending(Phase::Contract, 0, "rename_column", "users.a to b");
        step.state = state;
        PlanLedger {
            plan: PlanRecord {
                name: plan.into(),
                checksum: String::new(),
                path: String::new(),
                started_at: None,
                updated_at: None,
            },
            steps: vec![step],
        }
    }

    #[test]
    fn finished_versions_are_dropped_and_unfinished_ones_refused_only_by_plans_with_views() {
        let done = [ledger("p1", StepState::Applied)];
        let running = [ledger("p1", StepState::Pending)];
        let drop = Release::Drop {
            schema: "bellows_p1".into(),
            view: "users".into(),
        };
        assert_eq!(
            releases(&[version("p1", true)], &done, "p2", true),
            vec![drop.clone()]
        );
        assert_eq!(
            releases(&[version("p1", true)], &done, "p2", false),
            vec![drop]
        );
        assert_eq!(releases(&[version("p1", false)], &done, "p2", true), vec![]);
        assert_eq!(releases(&[version("p2", true)], &done, "p2", true), vec![]);
        assert!(matches!(
            releases(&[version("p1", true)], &running, "p2", true)[..],
            [Release::Refuse { .. }]
        ));
        assert_eq!(
            releases(&[version("p1", true)], &running, "p2", false),
            vec![]
        );
    }

    #[test]
    fn only_finished_plans_versions_are_removable() {
        let versions = [version("p1", false), version("p2", false)];
        let ledgers = [
            ledger("p1", StepState::Applied),
            ledger("p2", StepState::Pending),
        ];
        let chosen = removable(&versions, &ledgers);
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].plan, "p1");
    }

    #[test]
    fn the_search_path_names_the_version_then_the_tables_schema() {
        let v = with_search_path(version("0004_users", false), "app");
        assert_eq!(v.search_path, "bellows_0004_users, public");
        assert_eq!(
            v.connection_option,
            "options=-c search_path=bellows_0004_users,public"
        );
        let mut released = version("p", false);
        released.views.clear();
        released.table_schemas = vec!["Billing".into()];
        assert_eq!(
            with_search_path(released, "app").search_path,
            "bellows_p, \"Billing\""
        );
        let mut empty = version("p", false);
        empty.views.clear();
        empty.table_schemas.clear();
        empty.schema = "V2".into();
        assert_eq!(with_search_path(empty, "app").search_path, "\"V2\", app");
    }
}
