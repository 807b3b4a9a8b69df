//! Execution: the only code that talks to a database.
