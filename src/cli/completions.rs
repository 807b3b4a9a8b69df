//! `bellows completions SHELL`: print a completion script for the shell.

use clap::CommandFactory;
use clap_complete::Shell;

use super::{out, Cli, Exit};

pub fn run(shell: Shell) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    out::print(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Success)
}
