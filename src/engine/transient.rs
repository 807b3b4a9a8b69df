//! Which database errors are worth retrying ([`classify_error`]) and how long to wait before the
//! next attempt ([`Backoff`]). Pure: the engine reconnects and sleeps.

use std::fmt;
use std::time::Duration;

/// Whether an error may go away if the same work is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retry (after a backoff, reconnecting when [`TransientKind::needs_reconnect`]).
    Transient(TransientKind),
    /// Stop: the same work would fail the same way.
    Persistent,
}

impl ErrorClass {
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorClass::Transient(_))
    }
}

/// The kinds of transient error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    /// `lock_timeout` ran out (PostgreSQL 55P03 lock_not_available).
    LockTimeout,
    /// Chosen as a deadlock victim (40P01).
    Deadlock,
    /// Serialization failure (40001).
    SerializationFailure,
    /// The server is shutting down, restarting or not yet accepting connections (57P01,
    /// 57P02, 57P03), or terminated this session (`pg_terminate_backend` is 57P01).
    ServerShutdown,
    /// The connection failed or was lost (08xxx, an I/O error, no pooled connection in time).
    ConnectionLost,
    /// The server has no connection slot free (53300 too_many_connections).
    TooManyConnections,
    /// SQLite: the database file is locked by another connection (SQLITE_BUSY, SQLITE_LOCKED).
    DatabaseBusy,
}

impl TransientKind {
    /// Whether the connection is gone and a new one is needed before retrying.
    pub fn needs_reconnect(self) -> bool {
        matches!(
            self,
            TransientKind::ServerShutdown
                | TransientKind::ConnectionLost
                | TransientKind::TooManyConnections
        )
    }
}

impl fmt::Display for TransientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransientKind::LockTimeout => "lock timeout",
            TransientKind::Deadlock => "deadlock",
            TransientKind::SerializationFailure => "serialization failure",
            TransientKind::ServerShutdown => "server shutting down or restarting",
            TransientKind::ConnectionLost => "connection lost",
            TransientKind::TooManyConnections => "too many connections",
            TransientKind::DatabaseBusy => "database busy",
        })
    }
}

/// Classifies a PostgreSQL SQLSTATE.
pub fn classify_postgres_sqlstate(sqlstate: &str) -> ErrorClass {
    let kind = match sqlstate {
        "55P03" => TransientKind::LockTimeout,
        "40P01" => TransientKind::Deadlock,
        "40001" => TransientKind::SerializationFailure,
        "57P01" | "57P02" | "57P03" => TransientKind::ServerShutdown,
        "53300" => TransientKind::TooManyConnections,
        // NOTE: 08P01 protocol_violation sits in class 08 but means client and server disagree
        // about the protocol; trying again sends the same bytes.
        "08P01" => return ErrorClass::Persistent,
        code if code.len() == 5 && code.starts_with("08") => TransientKind::ConnectionLost,
        _ => return ErrorClass::Persistent,
    };
    ErrorClass::Transient(kind)
}

/// Classifies a SQLite (extended) result code: SQLITE_BUSY (5) and SQLITE_LOCKED (6) and their
/// extended forms are transient.
pub fn classify_sqlite_code(code: i64) -> ErrorClass {
    match code & 0xff {
        5 | 6 => ErrorClass::Transient(TransientKind::DatabaseBusy),
        _ => ErrorClass::Persistent,
    }
}

/// Classifies an error from sqlx.
pub fn classify_error(error: &sqlx::Error) -> ErrorClass {
    match error {
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                return classify_postgres_sqlstate(pg.code());
            }
            let Some(code) = db.code() else {
                return ErrorClass::Persistent;
            };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                return code
                    .parse::<i64>()
                    .map_or(ErrorClass::Persistent, classify_sqlite_code);
            }
            classify_postgres_sqlstate(&code)
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => {
            ErrorClass::Transient(TransientKind::ConnectionLost)
        }
        _ => ErrorClass::Persistent,
    }
}

/// Exponential backoff with jitter, capped: attempt 1 waits about `initial`, each next attempt
/// `multiplier` times longer, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 2.0,
        }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (1 for the first retry; 0 counts as 1), with
    /// `jitter` in `[0, 1)` (see [`jitter`]).
    ///
    /// "Equal jitter": half of the exponential step is fixed and half is random, so that
    /// several waiting clients spread out while none retries at once.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.max(1) - 1;
        let step = self.initial.as_secs_f64() * self.multiplier.max(1.0).powf(exponent as f64);
        let step = step.min(self.max.as_secs_f64());
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Duration::from_secs_f64(step / 2.0 + step / 2.0 * jitter)
    }
}

/// A random number in `[0, 1)` for [`Backoff::delay`], from the standard library's randomly
/// keyed hasher (no random-number crate needed for this).
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    hasher.write_u32(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_transient_sqlstates() {
        use TransientKind::*;
        for (code, kind) in [
            ("55P03", LockTimeout),
            ("40P01", Deadlock),
            ("40001", SerializationFailure),
            ("57P01", ServerShutdown),
            ("57P02", ServerShutdown),
            ("57P03", ServerShutdown),
            ("08000", ConnectionLost),
            ("08003", ConnectionLost),
            ("08006", ConnectionLost),
            ("08001", ConnectionLost),
            ("53300", TooManyConnections),
        ] {
            assert_eq!(
                classify_postgres_sqlstate(code),
                ErrorClass::Transient(kind),
                "{code}"
            );
        }
    }

    #[test]
    fn postgres_persistent_sqlstates() {
        for code in [
            "42P01", // undefined_table
            "42703", // undefined_column
            "23505", // unique_violation
            "23502", // not_null_violation
            "22012", // division_by_zero
            "57014", // query_canceled (statement_timeout): the same batch would time out again
            "08P01", // protocol_violation
            "08",    // not a SQLSTATE
            "",
        ] {
            assert_eq!(
                classify_postgres_sqlstate(code),
                ErrorClass::Persistent,
                "{code}"
            );
        }
    }

    #[test]
    fn sqlite_busy_and_locked_are_transient() {
        assert!(classify_sqlite_code(5).is_transient());
        assert!(classify_sqlite_code(517).is_transient()); // SQLITE_BUSY_SNAPSHOT
        assert!(classify_sqlite_code(6).is_transient());
        assert!(!classify_sqlite_code(1).is_transient()); // SQLITE_ERROR
        assert!(!classify_sqlite_code(19).is_transient()); // SQLITE_CONSTRAINT
        assert!(!classify_sqlite_code(2067).is_transient()); // SQLITE_CONSTRAINT_UNIQUE
    }

    #[test]
    fn sqlx_errors_without_a_database_code() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
        assert_eq!(
            classify_error(&io),
            ErrorClass::Transient(TransientKind::ConnectionLost)
        );
        assert!(classify_error(&sqlx::Error::PoolTimedOut).is_transient());
        assert!(!classify_error(&sqlx::Error::RowNotFound).is_transient());
        assert!(!classify_error(&sqlx::Error::PoolClosed).is_transient());
        assert!(!classify_error(&sqlx::Error::Protocol("bad".into())).is_transient());
        assert!(TransientKind::ConnectionLost.needs_reconnect());
        assert!(!TransientKind::LockTimeout.needs_reconnect());
    }

    #[test]
    fn backoff_grows_exponentially_up_to_its_cap() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            multiplier: 2.0,
        };
        let top = |attempt| backoff.delay(attempt, 1.0);
        assert_eq!(top(1), Duration::from_millis(100));
        assert_eq!(top(2), Duration::from_millis(200));
        assert_eq!(top(3), Duration::from_millis(400));
        assert_eq!(top(5), Duration::from_millis(1600));
        assert_eq!(top(6), Duration::from_secs(2));
        assert_eq!(top(u32::MAX), Duration::from_secs(2), "no overflow");
        assert_eq!(top(0), top(1));
    }

    #[test]
    fn jitter_spreads_the_second_half_of_each_step() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(3, 0.0), Duration::from_millis(200));
        assert_eq!(backoff.delay(3, 0.5), Duration::from_millis(300));
        assert_eq!(backoff.delay(3, 1.0), Duration::from_millis(400));
        // Out-of-range jitter is clamped.
        assert_eq!(backoff.delay(3, 7.0), Duration::from_millis(400));
        assert_eq!(backoff.delay(3, f64::NAN), Duration::from_millis(200));
        for attempt in 1..30 {
            let d = backoff.delay(attempt, jitter());
            assert!(d >= backoff.delay(attempt, 0.0) && d <= backoff.delay(attempt, 1.0));
        }
    }

    #[test]
    fn jitter_is_in_the_unit_interval_and_varies() {
        let samples: Vec<f64> = (0..200).map(|_| jitter()).collect();
        assert!(samples.iter().all(|j| (0.0..1.0).contains(j)));
        let distinct = samples
            .iter()
            .map(|j| j.to_bits())
            .collect::<std::collections::HashSet<_>>();
        assert!(distinct.len() > 150, "{} distinct of 200", distinct.len());
    }
}
