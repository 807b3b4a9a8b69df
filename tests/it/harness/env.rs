//! The environment a test's `bellows` runs in: every variable bellows reads from the
//! environment, listed once, removed from every command the harness starts.

/// Other variables that change what bellows does or prints: the database, colour, logging.
pub const OTHER_VARIABLES: &[&str] = &["DATABASE_URL", "CLICOLOR", "CLICOLOR_FORCE", "RUST_LOG"];

/// The terminal width every command sees, so wrapped output does not depend on the machine.
pub const COLUMNS: &str = "100";

/// Removes every variable above from `cmd` and sets `NO_COLOR` and a fixed width.
pub fn clean(cmd: &mut std::process::Command) {
    // The crate's own list: a variable added to the configuration is cleared here too.
    for var in bellows::vocab::env::ALL {
        cmd.env_remove(var.name);
    }
    for name in OTHER_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.env("NO_COLOR", "1").env("COLUMNS", COLUMNS);
}
