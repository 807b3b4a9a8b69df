//! The one integration-test binary: each module tests one area through the library or the
//! real `bellows` binary.

mod examples;
mod fixtures;
mod new;
