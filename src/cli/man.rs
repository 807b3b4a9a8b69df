//! `bellows man`: the manual page, generated from the same clap definitions as `--help`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::{out, Cli, Exit, ExitError};

/// Prints `bellows(1)` (every subcommand listed) to stdout, or with `dir` writes it and one page
/// per subcommand (`bellows-apply.1`, …) there.
pub fn run(dir: Option<&Path>) -> anyhow::Result<Exit> {
    let command = Cli::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            out::print(&String::from_utf8_lossy(&page))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| {
                ExitError::new(
                    Exit::Invalid,
                    format!("cannot create {}: {error}", dir.display()),
                )
            })?;
            let written = write_pages(command, dir)?;
            for path in written {
                println!("{}", path.display());
            }
        }
    }
    Ok(Exit::Success)
}

/// `bellows.1` and one page per subcommand, named `bellows-SUB.1`.
fn write_pages(command: clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let command = command.disable_help_subcommand(true);
    let mut written = Vec::new();
    let name = command.get_name().to_string();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page)?;
    written.push(path);
    for sub in command.get_subcommands() {
        let full = format!("{name}-{}", sub.get_name());
        // NOTE: clap names commands with `&'static str`; a handful of names for one process.
        let page_name: &'static str = Box::leak(full.clone().into_boxed_str());
        let sub = sub
            .clone()
            .name(page_name)
            .bin_name(format!("{name} {}", sub.get_name()));
        let mut page = Vec::new();
        clap_mangen::Man::new(sub).render(&mut page)?;
        let path = dir.join(format!("{full}.1"));
        std::fs::write(&path, page)?;
        written.push(path);
    }
    Ok(written)
}
