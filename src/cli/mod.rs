//! The command-line interface: clap arguments, one file per command, and the printer.

pub mod apply;
pub mod args;
pub mod check;
pub mod completions;
pub mod demo;
pub mod doctor;
pub mod fleet;
pub mod init;
pub mod man;
pub mod new;
pub mod online_check;
pub mod out;
pub mod plan;
pub mod plan_files;
pub mod plan_render;
pub mod plan_report;
pub mod printer;
pub mod prompt;
pub mod rollback;
pub mod schema;
pub mod status;
pub mod step_failure;
pub mod templates;
pub mod versions;

use std::process::ExitCode;

pub use args::Cli;
use args::Command;

/// The exit codes bellows ends with (README.md, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    StepFailed = 1,
    Invalid = 2,
    GuardFailed = 3,
    Locked = 4,
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// Runs one command; errors that reach here are printed by `main` with their cause chain.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    set_color(cli.color);
    printer::set_quiet(cli.quiet);
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::New(args) => new::run(args),
        Command::Check(args) => check::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(args),
        Command::Status(args) => status::run(args),
        Command::Versions(args) => versions::run(args),
        Command::Rollback(args) => rollback::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Schema => schema::run(),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { dir } => man::run(dir.as_deref()),
    }
}

/// Applies `--color` to every styled line (stdout and stderr) of this process.
fn set_color(choice: args::ColorChoice) {
    let on = match choice {
        args::ColorChoice::Always => true,
        args::ColorChoice::Never => false,
        args::ColorChoice::Auto if std::env::var_os("NO_COLOR").is_some() => false,
        args::ColorChoice::Auto => return,
    };
    console::set_colors_enabled(on);
    console::set_colors_enabled_stderr(on);
}

/// The exit code for an error that reached `main`: a typed engine outcome if one is in the
/// chain, otherwise 1.
pub fn exit_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if let Some(exit) = cause.downcast_ref::<ExitError>() {
            return exit.exit;
        }
    }
    Exit::StepFailed
}

/// "error: …" followed by each cause once.
pub fn render_error(error: &anyhow::Error) -> String {
    let mut out = format!("error: {error}");
    for cause in error.chain().skip(1) {
        out.push_str(&format!("\n  caused by: {cause}"));
    }
    out
}

/// An error that carries the exit code it must end the process with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    pub exit: Exit,
    pub message: String,
}

impl ExitError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        ExitError {
            exit,
            message: message.into(),
        }
    }
}

/// The exit code of an engine error.
pub fn exit_of(kind: crate::engine::ErrorKind) -> Exit {
    use crate::engine::ErrorKind;
    match kind {
        ErrorKind::Failed => Exit::StepFailed,
        ErrorKind::Invalid => Exit::Invalid,
        ErrorKind::Guard => Exit::GuardFailed,
        ErrorKind::Locked => Exit::Locked,
        ErrorKind::Interrupted => Exit::Interrupted,
    }
}

/// Turns an engine error into the error `main` prints, with its exit code; with
/// `--format json` also prints it as a final `{"event": "error", …}` line. A failed step is
/// drawn like a plan diagnostic: the plan file, the step's line (or the plan's own SQL the
/// database refused) with a caret, and the SQLSTATE.
pub fn engine_error(
    printer: &printer::Printer,
    error: crate::engine::EngineError,
) -> anyhow::Error {
    let exit = exit_of(error.kind());
    if printer.is_json() {
        printer.json(&step_failure::json(&error, exit as u8));
    }
    let message = step_failure::draw(&error, console::colors_enabled_stderr());
    ExitError::new(exit, message).into()
}

/// Ctrl-C (or SIGTERM) asks the run to stop at the next safe point (a backfill: after the
/// batch in flight commits with its checkpoint); a second Ctrl-C exits at once (the
/// database releases the run lock and rolls back the open transaction when the connection
/// drops). The handler ends when the returned guard is dropped.
pub fn stop_on_ctrl_c(stop: crate::engine::StopSignal) -> impl Drop {
    struct Abort(tokio::task::JoinHandle<()>);
    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    Abort(tokio::spawn(async move {
        if interrupt().await {
            eprintln!("\ninterrupted: stopping at the next safe point (Ctrl-C again to quit now)");
            stop.stop();
            if interrupt().await {
                std::process::exit(Exit::Interrupted as i32);
            }
        }
    }))
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `kill` and service managers send);
/// false when no handler could be installed.
async fn interrupt() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                result = tokio::signal::ctrl_c() => result.is_ok(),
                _ = terminate.recv() => true,
            },
            Err(_) => tokio::signal::ctrl_c().await.is_ok(),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
