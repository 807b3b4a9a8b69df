//! The `bellows` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

use bellows::cli::{self, Cli};

fn main() -> ExitCode {
    database_url_from_dot_env();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(error) => {
            let exit = cli::exit_for(&error);
            eprintln!("{}", cli::render_error(&error));
            exit.into()
        }
    }
}

/// DATABASE_URL from a `.env` file in the current directory or above, as sqlx-cli reads it,
/// when the environment does not set it. Only that variable: `.env` files often hold others
/// meant for the application.
fn database_url_from_dot_env() {
    if std::env::var_os("DATABASE_URL").is_some() {
        return;
    }
    let Ok(entries) = dotenvy::dotenv_iter() else {
        return;
    };
    for (name, value) in entries.flatten() {
        if name == "DATABASE_URL" {
            std::env::set_var(name, value);
            return;
        }
    }
}

/// Logs go to stderr: bellows' own warnings by default and no library's (sqlx's slow-statement
/// warnings would print whole scripts), `-v` bellows' info, `-vv` debug (every statement sent)
/// and the libraries' warnings; `RUST_LOG` overrides them. Colour only on a terminal, never
/// with `NO_COLOR`.
fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    let directives = match verbose {
        0 => "bellows=warn",
        1 => "bellows=info",
        _ => "bellows=debug,warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}
