//! The one integration-test binary: each module tests one area of bellows.

mod check;
mod common;
mod completions;
mod schema;
