//! Execution: the only code that talks to a database.

pub mod retry;
pub mod throttle;
