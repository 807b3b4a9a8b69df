//! `bellows completions SHELL`.

use crate::harness::Cli;

#[test]
fn completions_name_the_commands_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        Cli::new(["completions", shell])
            .stdout_has("bellows")
            .stdout_has("check")
            .stdout_has("deny-warnings")
            .run();
    }
}

#[test]
fn an_unknown_shell_is_an_invalid_invocation() {
    Cli::new(["completions", "tcsh"])
        .code(2)
        .stderr_has("invalid value 'tcsh'")
        .run();
}
