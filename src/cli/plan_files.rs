//! Turning the PLAN arguments of a database command into runnable plans: expand directories,
//! load and validate each file (invalid → exit 2 with the rendered diagnostics), plan its SQL for
//! the database's dialect and resolve its configuration.

use std::path::PathBuf;

use crate::cli::args::{DatabaseArgs, SettingsArgs};
use crate::cli::{Exit, ExitError};
use crate::config::{Config, Overrides};
use crate::dialect::DialectKind;
use crate::engine::PlanRun;
use crate::plan::{load, render, Plan};

/// Plan files named by `paths`: files as given, directories as every `*.toml` inside in name
/// order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ExitError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                ExitError::new(
                    Exit::Invalid,
                    format!("cannot read directory {}: {e}", path.display()),
                )
            })?;
            let mut inside: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .collect();
            inside.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Loads and validates every plan; all diagnostics of invalid files are printed to stderr.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Plan>, ExitError> {
    let mut plans: Vec<Plan> = Vec::new();
    let mut invalid = Vec::new();
    for file in expand(paths)? {
        let loaded = load::load_file(&file).map_err(|e| {
            ExitError::new(
                Exit::Invalid,
                format!("cannot read plan {}: {e}", file.display()),
            )
        })?;
        match loaded.plan {
            Some(plan) if !loaded.has_errors() => {
                if let Some(other) = plans.iter().find(|p| p.name == plan.name) {
                    return Err(ExitError::new(
                        Exit::Invalid,
                        format!(
                            "two plans are named `{}`: {} and {}; give one a different `name`",
                            plan.name,
                            other.path.display(),
                            plan.path.display()
                        ),
                    ));
                }
                plans.push(plan);
            }
            _ => {
                for diagnostic in loaded.diagnostics.iter().filter(|d| d.is_error()) {
                    eprint!("{}", render::render(&loaded.source, diagnostic));
                }
                invalid.push(file.display().to_string());
            }
        }
    }
    if !invalid.is_empty() {
        return Err(ExitError::new(
            Exit::Invalid,
            format!(
                "invalid plan{}: {}; nothing was run (see `bellows check`)",
                if invalid.len() > 1 { "s" } else { "" },
                invalid.join(", ")
            ),
        ));
    }
    if plans.is_empty() {
        return Err(ExitError::new(
            Exit::Invalid,
            format!("no plan files found in {}", display_paths(paths)),
        ));
    }
    Ok(plans)
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The database URL from `--database`/`DATABASE_URL`, and its dialect.
pub fn database(args: &DatabaseArgs) -> Result<(String, DialectKind), ExitError> {
    if args.database.len() > 1 || args.databases.is_some() {
        return Err(ExitError::new(
            Exit::Invalid,
            "this command takes one database: give -d URL once (`apply`, `status` and \
             `rollback` also take a fleet: -d repeated or --databases FILE)",
        ));
    }
    let url = args.database.first().cloned().ok_or_else(|| {
        ExitError::new(
            Exit::Invalid,
            "no database given: pass --database URL (-d) or set DATABASE_URL \
             (postgres://user@host/db or sqlite:path.db)",
        )
    })?;
    let kind = crate::engine::dialect_of(&url)
        .map_err(|e| ExitError::new(Exit::Invalid, e.to_string()))?;
    Ok((url, kind))
}

pub fn overrides(args: &SettingsArgs) -> Overrides {
    Overrides {
        lock_timeout: args.lock.lock_timeout,
        lock_retries: args.lock.lock_retries,
        statement_timeout: args.lock.statement_timeout,
        batch_size: args.backfill.batch_size,
        pause: args.backfill.pause,
        target_batch_time: args.backfill.target_batch_time,
        pause_file: args.backfill.pause_file.clone(),
        replica_urls: args.backfill.replica_urls.clone(),
        backfill_workers: args.backfill.backfill_workers,
    }
}

/// Plans each plan for `dialect` and resolves its configuration; before any connection.
pub fn prepare(
    plans: Vec<Plan>,
    dialect: DialectKind,
    settings: &SettingsArgs,
) -> Result<Vec<PlanRun>, ExitError> {
    let flags = overrides(settings);
    plans
        .into_iter()
        .map(|plan| {
            let steps = crate::dialect::plan_steps(&plan, dialect.dialect())
                .map_err(|e| ExitError::new(Exit::Invalid, format!("plan `{}`: {e}", plan.name)))?;
            let config = Config::from_process(&flags, &plan.settings)
                .map_err(|e| ExitError::new(Exit::Invalid, format!("plan `{}`: {e}", plan.name)))?;
            Ok(PlanRun {
                plan,
                steps,
                config,
            })
        })
        .collect()
}

/// `bellows apply 0001_users` — the name other sessions see (PostgreSQL: 63 bytes at most).
pub fn application_name(command: &str, plans: &[PlanRun]) -> String {
    let names: Vec<&str> = plans.iter().map(|p| p.plan.name.as_str()).collect();
    let mut name = format!("bellows {command} {}", names.join(" "));
    if name.len() > 63 {
        let mut end = 60;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
        name.push_str("...");
    }
    name
}

/// A runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
