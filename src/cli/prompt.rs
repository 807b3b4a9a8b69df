//! Confirmations: asked with dialoguer (default No) only when stdin and stderr are terminals;
//! otherwise the engine is told nobody can be asked, and the command asks for `--yes`. Ctrl-C
//! at a prompt ends the process with 130, as everywhere else.

use std::io::IsTerminal;

use crate::cli::Exit;
use crate::engine::{Confirm, Confirmation};

pub struct TerminalConfirm;

impl Confirm for TerminalConfirm {
    fn confirm(&self, question: &str) -> Confirmation {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Confirmation::NoTerminal;
        }
        // The lines before the last are printed once; only the short last line is the prompt.
        let (details, prompt) = match question.rsplit_once('\n') {
            Some((details, prompt)) => (Some(details), prompt),
            None => (None, question),
        };
        if let Some(details) = details {
            eprintln!("{details}");
        }
        match dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(false)
            .interact_opt()
        {
            Ok(Some(true)) => Confirmation::Yes,
            Err(dialoguer::Error::IO(error)) if error.kind() == std::io::ErrorKind::Interrupted => {
                let _ = console::Term::stderr().show_cursor();
                eprintln!();
                std::process::exit(Exit::Interrupted as i32)
            }
            // Esc, `n`, Enter (default No), or a terminal that went away.
            Ok(_) | Err(_) => Confirmation::No,
        }
    }
}
