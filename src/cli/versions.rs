//! `bellows versions [--remove]`: the version schemas of a PostgreSQL database, and removing
//! those that nothing needs (the user's call: bellows cannot see other sessions' search_path).

use crate::cli::args::{Format, VersionsArgs};
use crate::cli::plan_files;
use crate::cli::printer::Printer;
use crate::cli::prompt::TerminalConfirm;
use crate::cli::{engine_error, Exit};
use crate::engine::status::Selection;
use crate::engine::{self, Answer, Confirm, Confirmation};

pub fn run(args: VersionsArgs) -> anyhow::Result<Exit> {
    let (url, _dialect) = plan_files::database(&args.db)?;
    let printer = Printer::new(args.format);
    let runtime = plan_files::runtime()?;
    if !args.remove {
        let report = runtime
            .block_on(engine::status(&url, Selection::Names(&[])))
            .map_err(|e| engine_error(&printer, e))?;
        if args.format == Format::Json {
            printer.json(&report.versions);
        } else if report.versions.is_empty() {
            printer.line("no version schemas");
        } else {
            for line in super::status::render_versions(&report) {
                printer.line(line);
            }
        }
        return Ok(Exit::Success);
    }
    let confirm: Box<dyn Confirm> = if args.yes {
        Box::new(Answer(Confirmation::Yes))
    } else {
        Box::new(TerminalConfirm)
    };
    let removal = runtime
        .block_on(engine::remove_versions(
            &url,
            confirm.as_ref(),
            args.lock_timeout,
        ))
        .map_err(|e| engine_error(&printer, e))?;
    if args.format == Format::Json {
        printer.json(&removal);
        return Ok(Exit::Success);
    }
    for schema in &removal.removed {
        printer.line(format!("removed version schema {schema}"));
    }
    for (schema, why) in &removal.kept {
        printer.line(format!("kept {schema}: {why}"));
    }
    if removal.removed.is_empty() && removal.kept.is_empty() {
        printer.line("no version schemas");
    }
    Ok(Exit::Success)
}
