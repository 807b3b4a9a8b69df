//! Confirmations: asked with dialoguer (default No) only when stdin and stderr are terminals;
//! otherwise the engine is told nobody can be asked, and the command asks for `--yes`.

use std::io::IsTerminal;

use crate::engine::{Confirm, Confirmation};

pub struct TerminalConfirm;

impl Confirm for TerminalConfirm {
    fn confirm(&self, question: &str) -> Confirmation {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Confirmation::NoTerminal;
        }
        match dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact_opt()
        {
            Ok(Some(true)) => Confirmation::Yes,
            // Esc, `n`, Enter (default No), or a terminal that went away.
            Ok(_) | Err(_) => Confirmation::No,
        }
    }
}
