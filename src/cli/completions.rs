//! `bellows completions SHELL`: print a completion script for the shell.

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, Exit};

pub fn run(shell: Shell) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
    Ok(Exit::Success)
}
