//! `bellows apply PLAN…`: load and plan every file, resolve settings, then let the engine run
//! the pending phases while the printer draws its events.

use crate::cli::args::{ApplyArgs, PlanArgs};
use crate::cli::plan_files;
use crate::cli::printer::Printer;
use crate::cli::prompt::TerminalConfirm;
use crate::cli::{engine_error, Exit};
use crate::engine::{self, ApplyOptions, StopSignal};

pub fn run(args: ApplyArgs) -> anyhow::Result<Exit> {
    if args.dry_run {
        return super::plan::run(&PlanArgs {
            plans: args.plans,
            database: args.db.database.first().cloned(),
            databases: args.db.databases,
            dialect: None,
            format: args.format,
            settings: args.settings,
        });
    }
    if let Some(fleet) = super::fleet::fleet(&args.db)? {
        return super::fleet::apply(fleet, args);
    }
    let (url, dialect) = plan_files::database(&args.db)?;
    let plans = plan_files::load_all(&args.plans)?;
    let runs = plan_files::prepare(plans, dialect, &args.settings)?;
    let printer = Printer::new(args.format);
    let stop = StopSignal::new();
    let options = ApplyOptions {
        to: args.to,
        yes: args.yes,
        allow_changed: args.allow_changed,
        application_name: plan_files::application_name("apply", &runs),
        stop: stop.clone(),
    };
    let runtime = plan_files::runtime()?;
    let result = runtime.block_on(async {
        let _interrupts = super::stop_on_ctrl_c(stop);
        engine::apply(&url, &runs, &options, &printer, &TerminalConfirm).await
    });
    match result {
        Ok(_summary) => Ok(Exit::Success),
        Err(error) => Err(engine_error(&printer, error)),
    }
}
