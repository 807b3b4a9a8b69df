//! The one integration-test binary: one module per area.

mod bench_harness;
