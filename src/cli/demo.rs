//! `bellows demo`: creates a SQLite database of users from the fixtures and runs the
//! email-verified example plan through all four phases, then prints its status.
//!
//! The fixtures and the plan are compiled into the binary, so the demo works from any directory
//! (an installed `bellows` has no `plans/` next to it). Running it again replaces the demo
//! database it made before; any other existing file is left alone.

use std::path::{Path, PathBuf};
use std::time::Instant;

use console::style;

use crate::cli::args::{DemoArgs, Format, SettingsArgs};
use crate::cli::printer::{duration, Printer};
use crate::cli::{engine_error, plan_files, status, Exit, ExitError};
use crate::dialect::DialectKind;
use crate::engine::sqlite::{demo, run_lock};
use crate::engine::{self, Answer, ApplyOptions, Confirmation, StopSignal};
use crate::plan::{load, render};

/// The example plan the demo applies, as shipped in `plans/`.
pub const PLAN_PATH: &str = "plans/0001_users_email_verified.toml";
const PLAN: &str = include_str!("../../plans/0001_users_email_verified.toml");
const SCHEMA: &str = include_str!("../../fixtures/sqlite/schema.sql");
const SEED: &str = include_str!("../../fixtures/sqlite/seed.sql");

pub fn run(args: DemoArgs) -> anyhow::Result<Exit> {
    let printer = Printer::new(Format::Human);
    let runtime = plan_files::runtime()?;
    let path = args.path.clone();
    let url = format!("sqlite:{}", path.display());
    let plan = example_plan()?;
    let runs = plan_files::prepare(vec![plan], DialectKind::Sqlite, &SettingsArgs::default())?;

    let replaced = runtime.block_on(make_room(&path))?;
    printer.line(format!(
        "{} adds a NOT NULL boolean {} to a table of {} users, filled from {}, in four phases",
        style("bellows demo").bold(),
        style("users.email_verified").cyan(),
        thousands(args.rows),
        style("verified_at").cyan()
    ));
    let started = Instant::now();
    let seeded = runtime
        .block_on(demo::create(&path, SCHEMA, SEED, args.rows))
        .map_err(|e| engine_error(&printer, e))?;
    printer.line(format!(
        "{} {}: {} users, {} orders  {}",
        if replaced {
            "recreated the demo database"
        } else {
            "created the demo database"
        },
        style(path.display()).bold(),
        thousands(seeded.users),
        thousands(seeded.orders),
        style(duration(started.elapsed())).dim()
    ));
    printer.line(format!(
        "plan {} (built in); the contract phase is confirmed for you, since you asked for the demo",
        style(PLAN_PATH).bold()
    ));
    printer.line("");

    let stop = StopSignal::new();
    let options = ApplyOptions {
        to: None,
        yes: true,
        allow_changed: false,
        application_name: "bellows demo".into(),
        stop: stop.clone(),
    };
    runtime
        .block_on(async {
            let _interrupts = super::stop_on_ctrl_c(stop);
            engine::apply(&url, &runs, &options, &printer, &Answer(Confirmation::Yes)).await
        })
        .map_err(|e| engine_error(&printer, e))?;

    let plans: Vec<_> = runs.iter().map(|r| r.plan.clone()).collect();
    let report = runtime
        .block_on(engine::status(
            &url,
            engine::status::Selection::Files(&plans),
        ))
        .map_err(|e| engine_error(&printer, e))?;
    printer.line("");
    printer.line(style("status").bold().to_string());
    for line in status::render(&report) {
        printer.line(line);
    }
    printer.line("");
    printer.line("look around:");
    printer.line(format!("  bellows status -d {url}"));
    printer.line(format!("  sqlite3 {} '.schema users'", path.display()));
    Ok(Exit::Success)
}

/// The built-in example plan, parsed as if read from `plans/`.
fn example_plan() -> Result<crate::plan::Plan, ExitError> {
    let loaded = load::load_str(Path::new(PLAN_PATH), PLAN);
    match loaded.plan {
        Some(plan) => Ok(plan),
        None => {
            let rendered: String = loaded
                .diagnostics
                .iter()
                .map(|d| render::render(&loaded.source, d))
                .collect();
            Err(ExitError::new(
                Exit::StepFailed,
                format!("the built-in example plan is invalid (a bug in this build):\n{rendered}"),
            ))
        }
    }
}

/// Removes the demo database a previous demo left at `path`; refuses any other existing file.
/// `Ok(true)` when something was replaced.
async fn make_room(path: &Path) -> Result<bool, ExitError> {
    if !path.exists() {
        return Ok(false);
    }
    let is_demo = path.is_file() && demo::is_demo_database(path).await.unwrap_or(false);
    if !is_demo {
        return Err(ExitError::new(
            Exit::Invalid,
            format!(
                "{} exists and was not made by `bellows demo`, so it is left alone; \
                 choose another --path, or move it away first",
                path.display()
            ),
        ));
    }
    let lock = run_lock::lock_path(path);
    match run_lock::try_lock(&lock, &run_lock::describe_holder("bellows demo")) {
        Ok(run_lock::TryLock::Acquired(held)) => {
            let removed = remove_database(path);
            let _ = held.release();
            removed?;
        }
        Ok(run_lock::TryLock::HeldBy(holder)) => {
            return Err(ExitError::new(
                Exit::Locked,
                format!(
                    "another bellows run is using the demo database {}: {holder}",
                    path.display()
                ),
            ))
        }
        Err(error) => {
            return Err(ExitError::new(
                Exit::StepFailed,
                format!("cannot use the run lock file {}: {error}", lock.display()),
            ))
        }
    }
    Ok(true)
}

/// Deletes the database file and its WAL companions.
fn remove_database(path: &Path) -> Result<(), ExitError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(ExitError::new(
                    Exit::StepFailed,
                    format!(
                        "cannot remove the old demo database file {}: {error}",
                        file.display()
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// `100000` → `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_plan_is_valid_and_runs_all_four_phases() {
        let plan = example_plan().unwrap();
        assert_eq!(plan.name, "users_email_verified");
        let runs =
            plan_files::prepare(vec![plan], DialectKind::Sqlite, &SettingsArgs::default()).unwrap();
        let phases: std::collections::BTreeSet<_> = runs[0].steps.iter().map(|s| s.phase).collect();
        assert_eq!(phases.len(), 4);
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
