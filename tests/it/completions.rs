//! `bellows completions SHELL`.

use predicates::prelude::*;

use crate::common::bellows;

#[test]
fn completions_name_the_commands_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        bellows()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("bellows"))
            .stdout(predicate::str::contains("check"))
            .stdout(predicate::str::contains("deny-warnings"));
    }
}

#[test]
fn an_unknown_shell_is_an_invalid_invocation() {
    bellows()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'"));
}
