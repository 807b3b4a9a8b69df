//! The parts of the backfill benchmark, kept apart from its `main` so that the integration
//! tests (`tests/it/bench_harness.rs`) can check them too.

pub mod child;
pub mod conn;
pub mod keyset;
pub mod latency;
pub mod machine;
pub mod report;
pub mod scratch;
pub mod table;
pub mod workload;
