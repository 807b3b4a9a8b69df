//! `bellows rollback PLAN`: undo a plan's applied steps, last first.

use crate::cli::args::{RollbackArgs, SettingsArgs};
use crate::cli::plan_files;
use crate::cli::printer::Printer;
use crate::cli::prompt::TerminalConfirm;
use crate::cli::{engine_error, Exit, ExitError};
use crate::engine::{self, RollbackOptions, StopSignal};

pub fn run(args: RollbackArgs) -> anyhow::Result<Exit> {
    if let Some(fleet) = super::fleet::fleet(&args.db)? {
        return super::fleet::rollback(fleet, args);
    }
    let (url, dialect) = plan_files::database(&args.db)?;
    let plans = plan_files::load_all(std::slice::from_ref(&args.plan))?;
    if plans.len() != 1 {
        return Err(ExitError::new(
            Exit::Invalid,
            format!(
                "rollback takes one plan file; {} holds {}",
                args.plan.display(),
                plans.len()
            ),
        )
        .into());
    }
    let runs = plan_files::prepare(
        plans,
        dialect,
        &SettingsArgs {
            lock: args.lock.clone(),
            backfill: Default::default(),
        },
    )?;
    let printer = Printer::new(args.format);
    let stop = StopSignal::new();
    let options = RollbackOptions {
        to: args.to,
        yes: args.yes,
        allow_changed: args.allow_changed,
        application_name: plan_files::application_name("rollback", &runs),
        stop: stop.clone(),
    };
    let runtime = plan_files::runtime()?;
    let result = runtime.block_on(async {
        let _interrupts = super::stop_on_ctrl_c(stop);
        engine::rollback(&url, &runs[0], &options, &printer, &TerminalConfirm).await
    });
    match result {
        Ok(summary) if summary.declined => Ok(Exit::Success),
        Ok(_) => Ok(Exit::Success),
        Err(error) => Err(engine_error(&printer, error)),
    }
}
