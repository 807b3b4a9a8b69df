//! `bellows plan`: the dry run. Loads a plan and shows, phase by phase, the exact SQL each step
//! will run on the chosen dialect, the lock it takes and how it is undone. It never connects to
//! a database: a URL only chooses the dialect.

use std::path::Path;

use super::args::{Format, PlanArgs, SettingsArgs};
use super::plan_render;
use super::plan_report::{diagnostics, PlanReport};
use super::{Exit, ExitError};
use crate::dialect::DialectKind;
use crate::ops::Op;
use crate::plan::load::load_file;
use crate::plan::render::{locate, render};
use crate::plan::Plan;

/// Kept here too: the SQL snapshot tests build the report through this path.
pub use super::plan_report::report;

/// `--dialect`, else the database URL's scheme, else PostgreSQL.
pub fn resolve_dialect(
    flag: Option<DialectKind>,
    database: Option<&str>,
) -> Result<DialectKind, ExitError> {
    if let Some(kind) = flag {
        return Ok(kind);
    }
    match database.filter(|url| !url.trim().is_empty()) {
        None => Ok(DialectKind::Postgres),
        Some(url) => DialectKind::from_url(url).ok_or_else(|| {
            // NOTE: only the scheme is shown; the URL may hold a password.
            let scheme = url.split(':').next().unwrap_or_default();
            ExitError::new(
                Exit::Invalid,
                format!(
                    "bellows does not know the database URL scheme `{scheme}:`; use postgres://…, postgresql://…, sqlite:…, mysql://…, mariadb://… or pass --dialect postgres|sqlite|mysql"
                ),
            )
        }),
    }
}

/// Reads the plan's ledger state and the backfills' row counts from the database at `url`.
fn read_database(
    url: &str,
    plan: &Plan,
    report: &PlanReport,
) -> anyhow::Result<crate::engine::preview::Preview> {
    let backfills: Vec<_> = report
        .phases
        .iter()
        .flat_map(|phase| &phase.steps)
        .flat_map(|step| &step.step.planned.actions)
        .filter_map(|action| match action {
            crate::dialect::planned::Action::Backfill(backfill) => Some(backfill.clone()),
            _ => None,
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let preview = runtime
        .block_on(crate::engine::preview(url, plan, &backfills))
        .map_err(|error| {
            anyhow::Error::new(error).context(format!(
                "while reading {} for `bellows plan` (drop --database for a dry run without a database)",
                crate::engine::redact_url(url)
            ))
        })?;
    Ok(preview)
}

/// Runs `bellows plan` on each plan file named (a folder: every plan in it, in file order);
/// exits 2 if any is invalid.
pub fn run(args: &PlanArgs) -> anyhow::Result<Exit> {
    if args.databases.is_some() {
        return super::fleet::plan(args);
    }
    let dialect = dialect(args)?;
    let mut exit = Exit::Success;
    for file in super::plan_files::expand(&args.plans)? {
        if run_one(args, dialect, &file)? != Exit::Success {
            exit = Exit::Invalid;
        }
    }
    Ok(exit)
}

/// The dialect shown: from `--database`, else `--dialect`, else DATABASE_URL, else PostgreSQL.
fn dialect(args: &PlanArgs) -> Result<DialectKind, ExitError> {
    // NOTE: only an explicit --database makes `plan` connect; DATABASE_URL (often set in a
    // shell or CI for other tools) only picks the dialect, so a dry run never surprises anyone
    // by reaching for a server.
    let environment = std::env::var("DATABASE_URL").ok();
    Ok(match &args.database {
        Some(url) => {
            let from_url = resolve_dialect(None, Some(url))?;
            if let Some(flag) = args.dialect.filter(|flag| *flag != from_url) {
                return Err(ExitError::new(
                    Exit::Invalid,
                    format!("--dialect {flag} contradicts --database, which is a {from_url} database; drop one of the two"),
                ));
            }
            from_url
        }
        None => resolve_dialect(args.dialect, environment.as_deref())?,
    })
}

/// `apply --dry-run`'s settings flags put into the plan, beating its `[settings]` and every
/// step's own as they do in `apply`, so that the dry run shows what `apply` would run.
fn with_flags(plan: &mut Plan, flags: &SettingsArgs) {
    let (lock, backfill) = (&flags.lock, &flags.backfill);
    let settings = &mut plan.settings;
    settings.lock_timeout = lock.lock_timeout.or(settings.lock_timeout);
    settings.lock_retries = lock.lock_retries.or(settings.lock_retries);
    settings.statement_timeout = lock.statement_timeout.or(settings.statement_timeout);
    for step in &mut plan.steps {
        if let Op::Backfill(op) = &mut step.op {
            op.batch_size = backfill.batch_size.or(op.batch_size);
            op.pause = backfill.pause.or(op.pause);
            op.target_batch_time = backfill.target_batch_time.or(op.target_batch_time);
            op.parallel = backfill.backfill_workers.or(op.parallel);
        }
    }
}

/// `bellows plan` for one plan file.
fn run_one(args: &PlanArgs, dialect: DialectKind, file: &Path) -> anyhow::Result<Exit> {
    let mut loaded = load_file(file).map_err(|error| {
        ExitError::new(
            Exit::Invalid,
            format!("cannot read plan file {}: {error}", file.display()),
        )
    })?;
    if let Some(plan) = &mut loaded.plan {
        with_flags(plan, &args.settings);
    }
    let mut report = report(&loaded, dialect);
    let mut online = Vec::new();
    if let (Some(url), Some(plan)) = (&args.database, &loaded.plan) {
        if report.valid {
            report.database = Some(read_database(url, plan, &report)?);
            report.connected = true;
            let runtime = super::online_check::runtime()?;
            online = super::online_check::run(&runtime, url, plan, &loaded.source)?;
            report
                .diagnostics
                .extend(online.iter().map(|d| locate(&loaded.source, d)));
            report.valid = !online.iter().any(|d| d.is_error());
        }
    }
    match args.format {
        Format::Json => {
            println!("{}", plan_render::json(&report)?);
        }
        Format::Human => {
            // Diagnostics go to stderr, rendered against the source with a caret.
            let mut diagnostics = diagnostics(&loaded, dialect);
            diagnostics.extend(online);
            for diagnostic in &diagnostics {
                eprintln!("{}", render(&loaded.source, diagnostic));
            }
            if report.valid {
                // NOTE: console lets CLICOLOR_FORCE override NO_COLOR; NO_COLOR wins here.
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let styled = console::colors_enabled() && !no_color;
                print!("{}", plan_render::human(&report, styled));
            } else {
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                eprintln!(
                    "{}: {} is invalid for {dialect}: {errors} error{}; nothing is shown until it is fixed",
                    console::style("error").red().bold(),
                    loaded.source.path.display(),
                    if errors == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(if report.valid {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_comes_from_flag_then_url_then_default() {
        assert_eq!(
            resolve_dialect(Some(DialectKind::Sqlite), Some("postgres://x/y")).unwrap(),
            DialectKind::Sqlite
        );
        assert_eq!(
            resolve_dialect(None, Some("sqlite:app.db")).unwrap(),
            DialectKind::Sqlite
        );
        assert_eq!(
            resolve_dialect(None, Some("postgresql://u@h/db")).unwrap(),
            DialectKind::Postgres
        );
        assert_eq!(resolve_dialect(None, None).unwrap(), DialectKind::Postgres);
        assert_eq!(
            resolve_dialect(None, Some("mariadb://u@h/db")).unwrap(),
            DialectKind::Mysql
        );
        let error = resolve_dialect(None, Some("oracle://root:secret@h/db")).unwrap_err();
        assert_eq!(error.exit, Exit::Invalid);
        assert!(error.message.contains("`oracle:`"), "{}", error.message);
        assert!(!error.message.contains("secret"), "{}", error.message);
    }
}
