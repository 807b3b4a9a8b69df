//! When to try a failed attempt again, as a pure function: every retry loop of the engine
//! (statements, backfill batches, the backfill's throttle checks) asks [`next`] and does what
//! it answers.

use std::time::{Duration, SystemTime};

use super::backend::{AttemptError, AutovacuumBlock};
use super::reporter::AutovacuumKind;
use crate::config::Config;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long (backoff with jitter), then try again.
    RetryAfter(Duration),
    /// Try again at once; with a longer `lock_timeout` for the next attempt when set (to wait
    /// out an autovacuum we may not cancel).
    RetryNow { lock_timeout: Option<Duration> },
    /// Stop: the error is not worth retrying, or the attempts ran out.
    GiveUp,
}

impl RetryDecision {
    /// How long to wait before the next attempt (zero when retrying at once or giving up).
    pub fn wait(self) -> Duration {
        match self {
            RetryDecision::RetryAfter(wait) => wait,
            RetryDecision::RetryNow { .. } | RetryDecision::GiveUp => Duration::ZERO,
        }
    }
}

/// What to do after attempt `attempt` (1-based) failed with `error`, under `config`'s
/// `lock_retries` and `lock_timeout`. The backoff's jitter comes from the clock.
pub fn next(attempt: u32, error: &AttemptError, config: &Config) -> RetryDecision {
    next_with_jitter(attempt, error, config, jitter())
}

/// [`next`] with the jitter (a number in [0, 1)) given, for tests.
pub fn next_with_jitter(
    attempt: u32,
    error: &AttemptError,
    config: &Config,
    jitter: f64,
) -> RetryDecision {
    let retryable = matches!(
        error,
        AttemptError::LockTimeout { .. } | AttemptError::Transient(_)
    );
    if !retryable || attempt >= config.lock_retries.max(1) {
        return RetryDecision::GiveUp;
    }
    if let AttemptError::LockTimeout {
        autovacuum,
        autovacuum_cancelled,
        ..
    } = error
    {
        if *autovacuum_cancelled {
            return RetryDecision::RetryNow { lock_timeout: None };
        }
        if let Some(wait) = autovacuum
            .as_ref()
            .and_then(|av| autovacuum_wait(av, config))
        {
            return RetryDecision::RetryNow {
                lock_timeout: Some(wait),
            };
        }
    }
    RetryDecision::RetryAfter(backoff_with_jitter(attempt, jitter))
}

/// The longer lock wait to give the next attempt when an autovacuum blocks us: only for an
/// ordinary one we were not permitted to cancel. `None` for an anti-wraparound autovacuum,
/// which is never cancelled and is waited out with ordinary backoff.
///
/// NOTE: PostgreSQL cancels an autovacuum that blocks a waiting lock request only after
/// deadlock_timeout; wait just past it once.
pub fn autovacuum_wait(autovacuum: &AutovacuumBlock, config: &Config) -> Option<Duration> {
    match autovacuum.kind {
        AutovacuumKind::Ordinary if autovacuum.cancel_refused => Some(
            (autovacuum.deadlock_timeout + Duration::from_millis(250)).max(config.lock_timeout),
        ),
        _ => None,
    }
}

/// Backoff before attempt `attempt + 1`: 50ms doubling, at most 2s, with jitter (half to all
/// of it) so that retries of several runs do not fall into step.
pub fn backoff(attempt: u32) -> Duration {
    backoff_with_jitter(attempt, jitter())
}

fn backoff_with_jitter(attempt: u32, jitter: f64) -> Duration {
    let base = Duration::from_millis(50)
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(Duration::from_secs(2));
    let half = base / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A number in [0, 1) from the clock and the process id; good enough to spread retries.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ ((std::process::id() as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % 1_000_000) as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::error::{EngineError, ErrorKind};
    use RetryDecision::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn lock_timeout() -> AttemptError {
        AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: None,
            autovacuum_cancelled: false,
        }
    }

    fn autovacuum(kind: AutovacuumKind, cancel_refused: bool) -> AttemptError {
        AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: Some(AutovacuumBlock {
                pid: 77,
                query: "autovacuum: VACUUM public.users".into(),
                kind,
                cancel_refused,
                deadlock_timeout: Duration::from_secs(1),
            }),
            autovacuum_cancelled: false,
        }
    }

    fn cancelled() -> AttemptError {
        AttemptError::LockTimeout {
            blockers: Vec::new(),
            autovacuum: None,
            autovacuum_cancelled: true,
        }
    }

    fn transient() -> AttemptError {
        AttemptError::Transient(sqlx::Error::PoolTimedOut)
    }

    fn failed() -> AttemptError {
        AttemptError::Failed(sqlx::Error::RowNotFound)
    }

    fn engine() -> AttemptError {
        AttemptError::Engine(EngineError::refused(ErrorKind::Failed, "no"))
    }

    #[test]
    fn decisions() {
        // lock_retries 4, lock_timeout 500ms (the default), jitter 0 (half the base backoff).
        let config = Config {
            lock_retries: 4,
            ..Config::defaults()
        };
        let cases: Vec<(&str, u32, AttemptError, RetryDecision)> = vec![
            (
                "lock timeout backs off",
                1,
                lock_timeout(),
                RetryAfter(ms(25)),
            ),
            ("and doubles", 2, lock_timeout(), RetryAfter(ms(50))),
            ("until the attempts run out", 4, lock_timeout(), GiveUp),
            ("transient backs off", 1, transient(), RetryAfter(ms(25))),
            ("transient gives up at the end", 4, transient(), GiveUp),
            ("a failed statement is not retried", 1, failed(), GiveUp),
            ("nor an engine error", 1, engine(), GiveUp),
            (
                "a cancelled autovacuum: retry at once",
                1,
                cancelled(),
                RetryNow { lock_timeout: None },
            ),
            (
                "an autovacuum we may not cancel: wait past deadlock_timeout",
                1,
                autovacuum(AutovacuumKind::Ordinary, true),
                RetryNow {
                    lock_timeout: Some(ms(1250)),
                },
            ),
            (
                "an ordinary autovacuum that was not refused: backoff",
                1,
                autovacuum(AutovacuumKind::Ordinary, false),
                RetryAfter(ms(25)),
            ),
            (
                "anti-wraparound is never cancelled: backoff",
                1,
                autovacuum(AutovacuumKind::Wraparound, false),
                RetryAfter(ms(25)),
            ),
            (
                "anti-wraparound gives up at the end",
                4,
                autovacuum(AutovacuumKind::Wraparound, false),
                GiveUp,
            ),
            (
                "even an autovacuum wait ends with the attempts",
                4,
                autovacuum(AutovacuumKind::Ordinary, true),
                GiveUp,
            ),
        ];
        for (what, attempt, error, expected) in cases {
            assert_eq!(
                next_with_jitter(attempt, &error, &config, 0.0),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn one_attempt_when_lock_retries_is_zero() {
        let config = Config {
            lock_retries: 0,
            ..Config::defaults()
        };
        assert_eq!(next_with_jitter(1, &lock_timeout(), &config, 0.5), GiveUp);
    }

    #[test]
    fn the_autovacuum_wait_is_at_least_lock_timeout() {
        let config = Config {
            lock_timeout: Duration::from_secs(5),
            ..Config::defaults()
        };
        let AttemptError::LockTimeout {
            autovacuum: Some(av),
            ..
        } = autovacuum(AutovacuumKind::Ordinary, true)
        else {
            unreachable!()
        };
        assert_eq!(autovacuum_wait(&av, &config), Some(Duration::from_secs(5)));
    }

    #[test]
    fn backoff_grows_exponentially_within_jitter_and_is_capped() {
        for attempt in 1..=25 {
            let base = Duration::from_millis(50)
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(Duration::from_secs(2));
            assert_eq!(backoff_with_jitter(attempt, 0.0), base / 2);
            assert_eq!(backoff_with_jitter(attempt, 1.0), base);
            let b = backoff(attempt);
            assert!(
                b >= base / 2 && b <= base,
                "attempt {attempt}: {b:?} vs {base:?}"
            );
        }
    }
}
