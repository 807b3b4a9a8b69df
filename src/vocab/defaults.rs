//! Every default bellows applies when no flag, environment variable, plan `[settings]` or step
//! key sets a value, defined once. The resolved configuration (`crate::config`), the dry run
//! and the backfill loop all read them from here.

use std::time::Duration;

/// How long each attempt of a statement that blocks reads or writes waits for its lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts of such a statement before giving up (with backoff and jitter between them).
pub const LOCK_RETRIES: u32 = 20;
/// How long one statement may run (long statements such as `CONCURRENTLY` are exempt).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Rows per backfill batch, each batch its own transaction.
pub const BATCH_SIZE: u64 = 1000;
/// Sleep between backfill batches.
pub const PAUSE: Duration = Duration::ZERO;
/// The smallest batch `target_batch_time` may shrink a backfill batch to.
pub const MIN_BATCH_SIZE: u64 = 10;
/// The largest batch `target_batch_time` may grow a backfill batch to.
pub const MAX_BATCH_SIZE: u64 = 100_000;
