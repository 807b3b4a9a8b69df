//! The `bellows` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

use bellows::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(error) => {
            let exit = cli::exit_for(&error);
            eprintln!("{}", cli::render_error(&error));
            exit.into()
        }
    }
}
