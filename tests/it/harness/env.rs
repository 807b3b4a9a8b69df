//! The environment a test's `bellows` runs in: every variable bellows reads from the
//! environment, listed once, removed from every command the harness starts.

/// Every `BELLOWS_*` setting the configuration reads (flag > environment > plan > default).
pub const BELLOWS_VARIABLES: &[&str] = &[
    "BELLOWS_BATCH_SIZE",
    "BELLOWS_LOCK_RETRIES",
    "BELLOWS_LOCK_TIMEOUT",
    "BELLOWS_PAUSE",
    "BELLOWS_PAUSE_FILE",
    "BELLOWS_STATEMENT_TIMEOUT",
    "BELLOWS_TARGET_BATCH_TIME",
];

/// Other variables that change what bellows does or prints: the database, colour, logging.
pub const OTHER_VARIABLES: &[&str] = &["DATABASE_URL", "CLICOLOR", "CLICOLOR_FORCE", "RUST_LOG"];

/// The terminal width every command sees, so wrapped output does not depend on the machine.
pub const COLUMNS: &str = "100";

/// Removes every variable above from `cmd` and sets `NO_COLOR` and a fixed width.
pub fn clean(cmd: &mut std::process::Command) {
    for name in BELLOWS_VARIABLES.iter().chain(OTHER_VARIABLES) {
        cmd.env_remove(name);
    }
    cmd.env("NO_COLOR", "1").env("COLUMNS", COLUMNS);
}
