//! The environment variables bellows reads, listed once: the configuration reads them by these
//! names, and the documentation test and the test harness can walk [`ALL`].

/// One environment variable and what it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    /// The setting it gives, as the flag and the plan's `[settings]` name it.
    pub sets: &'static str,
}

pub const LOCK_TIMEOUT: EnvVar = EnvVar {
    name: "BELLOWS_LOCK_TIMEOUT",
    sets: "lock_timeout",
};
pub const LOCK_RETRIES: EnvVar = EnvVar {
    name: "BELLOWS_LOCK_RETRIES",
    sets: "lock_retries",
};
pub const STATEMENT_TIMEOUT: EnvVar = EnvVar {
    name: "BELLOWS_STATEMENT_TIMEOUT",
    sets: "statement_timeout",
};
pub const BATCH_SIZE: EnvVar = EnvVar {
    name: "BELLOWS_BATCH_SIZE",
    sets: "batch_size",
};
pub const PAUSE: EnvVar = EnvVar {
    name: "BELLOWS_PAUSE",
    sets: "pause",
};
pub const TARGET_BATCH_TIME: EnvVar = EnvVar {
    name: "BELLOWS_TARGET_BATCH_TIME",
    sets: "target_batch_time",
};
pub const PAUSE_FILE: EnvVar = EnvVar {
    name: "BELLOWS_PAUSE_FILE",
    sets: "pause_file",
};
pub const REPLICA_URLS: EnvVar = EnvVar {
    name: "BELLOWS_REPLICA_URLS",
    sets: "replica_urls",
};

pub const BACKFILL_WORKERS: EnvVar = EnvVar {
    name: "BELLOWS_BACKFILL_WORKERS",
    sets: "backfill_workers",
};

/// Every `BELLOWS_*` variable bellows reads.
pub const ALL: &[EnvVar] = &[
    LOCK_TIMEOUT,
    LOCK_RETRIES,
    STATEMENT_TIMEOUT,
    BATCH_SIZE,
    PAUSE,
    TARGET_BATCH_TIME,
    PAUSE_FILE,
    REPLICA_URLS,
    BACKFILL_WORKERS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_setting_in_capitals() {
        for var in ALL {
            assert_eq!(
                var.name,
                format!("BELLOWS_{}", var.sets.to_ascii_uppercase())
            );
        }
    }
}
