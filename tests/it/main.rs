//! The single integration-test binary: one module per area.

mod common;
mod engine_actions;
mod engine_apply;
mod engine_backfill;
mod engine_confirm;
mod engine_locks;
mod engine_rollback;
mod engine_transcripts;
