//! The one integration-test binary: each module tests one area through the library or the
//! real `bellows` binary.

mod docs;
mod examples;
mod fixtures;
mod new;
