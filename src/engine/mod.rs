//! Execution: the only code that talks to a database.

pub mod throttle;
pub mod transient;
