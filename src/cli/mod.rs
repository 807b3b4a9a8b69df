//! The command-line interface: clap arguments, one file per command, and the printer.

pub mod args;
pub mod new;
pub mod plan;
pub mod plan_render;
pub mod templates;

use std::process::ExitCode;

pub use args::Cli;
use args::Command;

/// Exit codes of the SPEC.
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
    match cli.command {
        Command::New(args) => new::run(args),
        Command::Check(_) => anyhow::bail!("`bellows check` is not written yet"),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(_) => anyhow::bail!("`bellows apply` is not written yet"),
        Command::Status(_) => anyhow::bail!("`bellows status` is not written yet"),
        Command::Rollback(_) => anyhow::bail!("`bellows rollback` is not written yet"),
        Command::Demo(_) => anyhow::bail!("`bellows demo` is not written yet"),
        Command::Schema => anyhow::bail!("`bellows schema` is not written yet"),
        Command::Completions { .. } => anyhow::bail!("`bellows completions` is not written yet"),
    }
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
