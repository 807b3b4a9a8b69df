//! Backfill throttling, as pure decisions: how many rows the next batch takes ([`BatchSizer`])
//! and whether to wait before it, and why ([`Throttle`]). The engine runs the queries, looks at
//! the clock and sleeps; nothing here touches a database or sleeps.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::vocab::defaults::{MAX_BATCH_SIZE, MIN_BATCH_SIZE};
use crate::vocab::lag::MaxLag;

/// How much one batch may grow the size: at most ×1.5 per step, so a lucky fast batch (a cached
/// stretch of the table) cannot make the next one huge.
const MAX_GROWTH: f64 = 1.5;
/// A batch that took more than this many times the target shrinks the size at once, without
/// waiting for the smoothed estimate to catch up.
const OVERSHOOT: f64 = 2.0;
/// Weight of the newest batch in the smoothed time per row (exponentially weighted average).
const SMOOTHING: f64 = 0.3;

/// Chooses the size of each backfill batch.
///
/// Without a `target_batch_time` the size stays as configured. With one, the sizer keeps an
/// exponentially weighted average of the time per row and sizes the next batch to take about
/// the target: growth is limited to ×1.5 per batch; a batch that took more than twice the target
/// shrinks the size at once to what that batch's own speed says fits; the size always stays
/// within `min..=max`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSizer {
    size: u64,
    target: Option<Duration>,
    min: u64,
    max: u64,
    /// Smoothed seconds per row; `None` until a batch with rows was recorded.
    seconds_per_row: Option<f64>,
}

impl BatchSizer {
    /// A sizer starting at `initial` rows; adaptive when `target` is given. Bounds default to
    /// [`MIN_BATCH_SIZE`]`..=`[`MAX_BATCH_SIZE`]; a fixed size is never clamped.
    pub fn new(initial: u64, target: Option<Duration>) -> BatchSizer {
        let mut sizer = BatchSizer {
            size: initial.max(1),
            target: target.filter(|t| !t.is_zero()),
            min: MIN_BATCH_SIZE,
            max: MAX_BATCH_SIZE,
            seconds_per_row: None,
        };
        sizer.clamp();
        sizer
    }

    /// Sets the bounds of an adaptive size (`min` at least 1; a `max` below `min` is raised to
    /// `min`). The current size is brought within them.
    pub fn with_bounds(mut self, min: u64, max: u64) -> BatchSizer {
        self.min = min.max(1);
        self.max = max.max(self.min);
        self.clamp();
        self
    }

    /// Rows the next batch should take.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The time a batch should take, when adaptive.
    pub fn target(&self) -> Option<Duration> {
        self.target
    }

    /// Learns from a finished batch that walked `rows` keys in `elapsed` (the whole batch: key
    /// query, update and commit) and returns the size of the next batch.
    ///
    /// Batches with no rows teach nothing and leave the size alone.
    pub fn record(&mut self, rows: u64, elapsed: Duration) -> u64 {
        let Some(target) = self.target else {
            return self.size;
        };
        if rows == 0 {
            return self.size;
        }
        let target = target.as_secs_f64();
        let elapsed = elapsed.as_secs_f64();
        let sample = elapsed / rows as f64;
        let next = if elapsed > OVERSHOOT * target {
            // Far over target: trust this batch alone and restart the average from it, so the
            // next batch is already about the target instead of converging over several slow ones.
            self.seconds_per_row = Some(sample);
            target / sample
        } else {
            let smoothed = match self.seconds_per_row {
                Some(previous) => SMOOTHING * sample + (1.0 - SMOOTHING) * previous,
                None => sample,
            };
            self.seconds_per_row = Some(smoothed);
            // A zero time per row means "as large as allowed": ideal is infinite here.
            let ideal = target / smoothed;
            ideal.min(self.size as f64 * MAX_GROWTH)
        };
        // `as` saturates: infinity becomes u64::MAX and is clamped below.
        self.size = next.round() as u64;
        self.clamp();
        self.size
    }

    fn clamp(&mut self) {
        if self.target.is_some() {
            self.size = self.size.clamp(self.min, self.max);
        }
    }
}

/// Throttle settings of one backfill, resolved from the plan, `[settings]` and flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Throttle {
    /// Sleep between batches.
    pub pause: Duration,
    /// While this file exists, the backfill waits.
    pub pause_file: Option<PathBuf>,
    /// Wait while a replica replays more than this far behind, or its lag cannot be known.
    pub max_lag: Option<MaxLag>,
    /// SQL returning a boolean: wait while it returns true.
    pub throttle_query: Option<String>,
    /// How long to wait before checking a holding condition again.
    pub poll_interval: Duration,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            pause: Duration::ZERO,
            pause_file: None,
            max_lag: None,
            throttle_query: None,
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// What the engine found out before a batch; the checks a [`Throttle`] does not configure are
/// left at their defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ThrottleChecks {
    /// Whether the pause file exists now ([`Throttle::pause_file_present`]).
    pub pause_file_exists: bool,
    /// What the throttle query returned; `None` when it is not configured or returned NULL.
    pub throttle_query: Option<bool>,
    /// How far the replicas are behind ([`ReplicaState`] of [`POSTGRES_REPLICA_LAG_SQL`], with
    /// how long replay has stalled from a [`ReplayWatch`]; MySQL's replica status); `None` when
    /// lag is not checked.
    pub replica_lag: Option<ReplicaLag>,
    /// Time since the previous batch committed (`Duration::MAX` before the first batch).
    pub since_last_batch: Duration,
}

/// Why the backfill is waiting.
#[derive(Debug, Clone, PartialEq)]
pub enum ThrottleReason {
    /// The pause file exists.
    PauseFile { path: PathBuf },
    /// The throttle query returned true.
    ThrottleQuery,
    /// A replica lags more than `max_lag`.
    ReplicaLag { lag: LagSeen, max: MaxLag },
    /// A replica's lag cannot be known; why.
    ReplicaLagUnknown { why: String },
    /// The configured pause between batches.
    Pause,
}

impl ThrottleReason {
    /// Whether the condition is checked again after the wait (everything but the plain pause).
    pub fn holds(&self) -> bool {
        !matches!(self, ThrottleReason::Pause)
    }
}

impl fmt::Display for ThrottleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThrottleReason::PauseFile { path } => {
                write!(f, "pause file {} exists", path.display())
            }
            ThrottleReason::ThrottleQuery => f.write_str("throttle query returned true"),
            ThrottleReason::ReplicaLag { lag, max } => {
                let max = match max {
                    MaxLag::Time(d) => MaxLag::Time(round_to_millis(*d)),
                    bytes => *bytes,
                };
                write!(f, "{lag}, over max_lag {max}")
            }
            ThrottleReason::ReplicaLagUnknown { why } => {
                write!(f, "replica lag unknown: {why}")
            }
            ThrottleReason::Pause => f.write_str("pause between batches"),
        }
    }
}

/// What to do before the next batch.
#[derive(Debug, Clone, PartialEq)]
pub enum ThrottleDecision {
    /// Run the batch now.
    Proceed,
    /// Sleep `duration`, then gather the checks again and ask again.
    Wait {
        reason: ThrottleReason,
        duration: Duration,
    },
}

impl Throttle {
    /// Whether the pause file is configured and exists (the one check done here: a file, not a
    /// database).
    pub fn pause_file_present(&self) -> bool {
        self.pause_file.as_deref().is_some_and(|p| p.exists())
    }

    /// Whether the engine must run [`POSTGRES_REPLICA_LAG_SQL`] before batches.
    pub fn checks_replica_lag(&self) -> bool {
        self.max_lag.is_some()
    }

    /// Decides, from what the engine checked, whether the next batch may run.
    ///
    /// Holding conditions come first, in this order: pause file (the operator's explicit
    /// wish), throttle query, replica lag; each makes the engine wait `poll_interval` and check
    /// again. When none holds, the configured pause is what remains of it since the previous
    /// batch, so time spent held already counts towards it.
    pub fn decide(&self, checks: &ThrottleChecks) -> ThrottleDecision {
        if let Some(path) = &self.pause_file {
            if checks.pause_file_exists {
                return self.hold(ThrottleReason::PauseFile { path: path.clone() });
            }
        }
        if self.throttle_query.is_some() && checks.throttle_query == Some(true) {
            return self.hold(ThrottleReason::ThrottleQuery);
        }
        if let (Some(max), Some(lag)) = (self.max_lag, &checks.replica_lag) {
            if let Some(why) = &lag.unknown {
                return self.hold(ThrottleReason::ReplicaLagUnknown { why: why.clone() });
            }
            if let Some(seen) = lag.over(max) {
                return self.hold(ThrottleReason::ReplicaLag { lag: seen, max });
            }
        }
        match self.pause.checked_sub(checks.since_last_batch) {
            Some(rest) if !rest.is_zero() => ThrottleDecision::Wait {
                reason: ThrottleReason::Pause,
                duration: rest,
            },
            _ => ThrottleDecision::Proceed,
        }
    }

    fn hold(&self, reason: ThrottleReason) -> ThrottleDecision {
        ThrottleDecision::Wait {
            reason,
            duration: self.poll_interval,
        }
    }
}

/// PostgreSQL: how far the standbys are behind, as one text row of five fields: the largest
/// `replay_lag` in seconds, the most WAL sent to a standby and not yet replayed (bytes), the
/// smallest `replay_lsn`, the number of standbys, and whether this role may read their lag
/// (`pg_read_all_stats`, which superusers and `pg_monitor` have).
///
/// NOTE: `replay_lag` is only refreshed when the standby replays: with replay paused it keeps
/// its last value (0.07 s with 6.5 MB unreplayed, measured) — hence the unreplayed WAL and the
/// replay position too. A role without `pg_read_all_stats` sees the standbys with every lag
/// column NULL.
pub const POSTGRES_REPLICA_LAG_SQL: &str = "SELECT concat_ws(' ', \
coalesce(CAST(EXTRACT(EPOCH FROM max(replay_lag)) AS double precision), 0), \
coalesce(max(pg_wal_lsn_diff(sent_lsn, replay_lsn)), 0), \
coalesce(CAST(min(replay_lsn) AS text), '-'), \
count(*), \
pg_has_role('pg_read_all_stats', 'USAGE')) \
FROM pg_stat_replication";

/// The replicas as the engine read them: PostgreSQL's standbys as [`POSTGRES_REPLICA_LAG_SQL`]
/// shows them; MySQL's replicas from their own status ([`LagReading::into_state`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaState {
    pub replay_lag: Option<Duration>,
    pub unreplayed_bytes: u64,
    pub replay_lsn: Option<String>,
    pub standbys: u64,
    /// Whether this role may read the lag at all.
    pub readable: bool,
    /// A replica whose lag cannot be known, and why: the backfill holds, never counts it as
    /// no lag.
    pub unknown: Option<String>,
}

/// What the engine read of one MySQL replica, or the worst over several.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LagReading {
    /// No replica, or none lags.
    #[default]
    None,
    /// The largest lag over the replicas.
    Behind(Duration),
    /// A replica whose lag cannot be known (its SQL thread stopped, it cannot be reached), and
    /// why: the backfill holds, as if it lagged without bound.
    Unknown(String),
}

impl LagReading {
    /// The worst of two readings: unknown beats any lag, a larger lag beats a smaller.
    pub fn worst(self, other: LagReading) -> LagReading {
        match (self, other) {
            (LagReading::Unknown(why), _) | (_, LagReading::Unknown(why)) => {
                LagReading::Unknown(why)
            }
            (LagReading::Behind(a), LagReading::Behind(b)) => LagReading::Behind(a.max(b)),
            (LagReading::Behind(a), LagReading::None)
            | (LagReading::None, LagReading::Behind(a)) => LagReading::Behind(a),
            (LagReading::None, LagReading::None) => LagReading::None,
        }
    }

    /// As the throttle reads replicas: a lag is a replay lag, unknown is unknown; MySQL's
    /// replicas report no WAL position, and the role can always read what it was given.
    pub fn into_state(self, replicas: u64) -> ReplicaState {
        let (replay_lag, unknown) = match self {
            LagReading::None => (None, None),
            LagReading::Behind(lag) => (Some(lag), None),
            LagReading::Unknown(why) => (None, Some(why)),
        };
        ReplicaState {
            replay_lag,
            standbys: replicas,
            readable: true,
            unknown,
            ..ReplicaState::default()
        }
    }
}

impl ReplicaState {
    /// Reads the text row of [`POSTGRES_REPLICA_LAG_SQL`]; `None` when it is not that shape.
    pub fn parse(text: &str) -> Option<ReplicaState> {
        let fields: Vec<&str> = text.split(' ').collect();
        let [lag, bytes, lsn, standbys, readable] = fields.as_slice() else {
            return None;
        };
        Some(ReplicaState {
            replay_lag: replica_lag(lag.parse::<f64>().ok()),
            unreplayed_bytes: bytes
                .parse::<f64>()
                .ok()
                .filter(|b| *b > 0.0)
                .map_or(0, |b| b as u64),
            replay_lsn: (*lsn != "-").then(|| lsn.to_string()),
            standbys: standbys.parse().ok()?,
            readable: matches!(*readable, "true" | "t"),
            unknown: None,
        })
    }
}

/// Watches the slowest standby's replay position between checks: while WAL waits to be
/// replayed and the position does not move, replay has stalled since the check that first saw
/// that position (a lower bound of the lag, which `replay_lag` does not show while paused).
#[derive(Debug, Clone, Default)]
pub struct ReplayWatch {
    position: Option<String>,
    since: Option<std::time::Instant>,
}

impl ReplayWatch {
    /// How long replay has not advanced as of `now`, given what the check saw.
    pub fn observe(&mut self, state: &ReplicaState, now: std::time::Instant) -> Duration {
        if state.unreplayed_bytes == 0 || state.replay_lsn.is_none() {
            *self = ReplayWatch::default();
            return Duration::ZERO;
        }
        if self.position != state.replay_lsn {
            self.position = state.replay_lsn.clone();
            self.since = Some(now);
            return Duration::ZERO;
        }
        self.since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }
}

/// What the checks found about the standbys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaLag {
    pub replay_lag: Option<Duration>,
    pub unreplayed_bytes: u64,
    /// How long replay has not advanced with WAL waiting ([`ReplayWatch`]).
    pub stalled: Duration,
    /// A replica whose lag cannot be known, and why ([`ReplicaState::unknown`]).
    pub unknown: Option<String>,
}

/// The lag that holds a backfill back, as it is reported.
#[derive(Debug, Clone, PartialEq)]
pub enum LagSeen {
    /// `replay_lag`.
    Replay(Duration),
    /// Replay has not advanced for this long, with this much WAL waiting.
    Stalled { stalled: Duration, bytes: u64 },
    /// WAL not yet replayed.
    Bytes(u64),
}

impl ReplicaLag {
    /// The lag over `max`, if any: a time limit is passed by `replay_lag` or by replay stalled
    /// that long with WAL waiting; a size limit by the WAL not yet replayed.
    pub fn over(&self, max: MaxLag) -> Option<LagSeen> {
        match max {
            MaxLag::Bytes(limit) => {
                (self.unreplayed_bytes > limit).then_some(LagSeen::Bytes(self.unreplayed_bytes))
            }
            MaxLag::Time(limit) => {
                if let Some(lag) = self.replay_lag.filter(|lag| *lag > limit) {
                    return Some(LagSeen::Replay(lag));
                }
                (self.unreplayed_bytes > 0 && self.stalled > limit).then_some(LagSeen::Stalled {
                    stalled: self.stalled,
                    bytes: self.unreplayed_bytes,
                })
            }
        }
    }
}

impl fmt::Display for LagSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = |d: &Duration| humantime::format_duration(round_to_millis(*d)).to_string();
        match self {
            LagSeen::Replay(lag) => write!(f, "replica lag {}", time(lag)),
            LagSeen::Stalled { stalled, bytes } => write!(
                f,
                "replica replay has not advanced for {} with {} of WAL not yet replayed",
                time(stalled),
                approximate_bytes(*bytes)
            ),
            LagSeen::Bytes(bytes) => write!(
                f,
                "replica has {} of WAL not yet replayed",
                approximate_bytes(*bytes)
            ),
        }
    }
}

/// A byte count for people: `6.5 MB`, `900 kB`, `12 B`.
fn approximate_bytes(bytes: u64) -> String {
    let units = [("GB", 1u64 << 30), ("MB", 1 << 20), ("kB", 1 << 10)];
    for (unit, size) in units {
        if bytes >= size {
            return format!("{:.1} {unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes} B")
}

/// A `replay_lag` in seconds: NULL, zero, negative or not a number is no lag.
pub fn replica_lag(lag_seconds: Option<f64>) -> Option<Duration> {
    lag_seconds
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX))
}

fn round_to_millis(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().min(u64::MAX as u128) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn without_target_the_size_stays_as_configured() {
        let mut sizer = BatchSizer::new(1000, None);
        assert_eq!(sizer.record(1000, ms(5000)), 1000);
        assert_eq!(sizer.record(1000, ms(1)), 1000);
        assert_eq!(sizer.size(), 1000);
        // A fixed size is not clamped to the adaptive bounds.
        assert_eq!(BatchSizer::new(250_000, None).size(), 250_000);
        assert_eq!(BatchSizer::new(3, None).size(), 3);
        // A zero target is no target.
        assert_eq!(BatchSizer::new(1000, Some(Duration::ZERO)).target(), None);
    }

    #[test]
    fn slow_batches_shrink_the_size() {
        let mut sizer = BatchSizer::new(1000, Some(ms(100)));
        let mut sizes = vec![sizer.size()];
        for _ in 0..10 {
            // 150 µs per row: 1.5× the target at 1000 rows, not far enough over to jump.
            let rows = sizer.size();
            let elapsed = Duration::from_micros(150 * rows);
            sizes.push(sizer.record(rows, elapsed));
        }
        assert!(sizes.windows(2).all(|w| w[1] <= w[0]), "{sizes:?}");
        let last = *sizes.last().unwrap();
        assert!((640..=700).contains(&last), "converges near 667: {sizes:?}");
    }

    #[test]
    fn fast_batches_grow_the_size_at_most_one_and_a_half_times_per_batch() {
        let mut sizer = BatchSizer::new(1000, Some(ms(100)));
        let mut previous = sizer.size();
        for _ in 0..5 {
            // 10 µs per row: the target fits 10,000 rows.
            let next = sizer.record(previous, Duration::from_micros(10 * previous));
            assert!(next > previous, "grows: {previous} → {next}");
            assert!(
                next as f64 <= previous as f64 * 1.5 + 0.5,
                "bounded: {previous} → {next}"
            );
            previous = next;
        }
        for _ in 0..10 {
            previous = sizer.record(previous, Duration::from_micros(10 * previous));
        }
        assert_eq!(previous, 10_000, "settles at the size that fits the target");
    }

    #[test]
    fn a_batch_far_over_target_shrinks_the_size_at_once() {
        let mut sizer = BatchSizer::new(5000, Some(ms(100)));
        // Several good batches first, so the average is settled at 20 µs per row.
        for _ in 0..5 {
            sizer.record(5000, ms(100));
        }
        assert_eq!(sizer.size(), 5000);
        // Then a batch takes 1 s (a lock wait, a checkpoint): 10× the target.
        let next = sizer.record(5000, ms(1000));
        assert_eq!(
            next, 500,
            "the next batch should take about the target at that speed"
        );
        // Just over the target (1.5×) does not jump; it only nudges.
        let mut sizer = BatchSizer::new(5000, Some(ms(100)));
        sizer.record(5000, ms(100));
        let nudged = sizer.record(5000, ms(150));
        assert!(nudged > 3333 && nudged < 5000, "{nudged}");
    }

    #[test]
    fn the_size_stays_within_its_bounds() {
        let mut sizer = BatchSizer::new(1000, Some(ms(100))).with_bounds(100, 2000);
        for _ in 0..20 {
            let rows = sizer.size();
            sizer.record(rows, Duration::from_micros(rows));
        }
        assert_eq!(sizer.size(), 2000);
        for _ in 0..5 {
            sizer.record(sizer.size(), Duration::from_secs(60));
        }
        assert_eq!(sizer.size(), 100);
        // Defaults: 10 ..= 100,000; the initial size is brought within them.
        assert_eq!(
            BatchSizer::new(1_000_000, Some(ms(100))).size(),
            MAX_BATCH_SIZE
        );
        let mut sizer = BatchSizer::new(1000, Some(ms(1)));
        sizer.record(1000, Duration::from_secs(3600));
        assert_eq!(sizer.size(), MIN_BATCH_SIZE);
        // Inverted bounds do not panic: max is raised to min.
        assert_eq!(
            BatchSizer::new(5, Some(ms(1))).with_bounds(50, 10).size(),
            50
        );
    }

    #[test]
    fn empty_and_instant_batches_do_not_break_the_sizer() {
        let mut sizer = BatchSizer::new(1000, Some(ms(100)));
        assert_eq!(
            sizer.record(0, ms(500)),
            1000,
            "an empty batch teaches nothing"
        );
        assert_eq!(
            sizer.record(1000, Duration::ZERO),
            1500,
            "instant: bounded growth"
        );
    }

    #[test]
    fn the_size_converges_when_batches_have_a_fixed_cost() {
        // Each batch costs 5 ms (round trips, commit) plus 20 µs per row: 100 ms fits 4750 rows.
        let cost = |rows: u64| ms(5) + Duration::from_micros(20 * rows);
        let mut sizer = BatchSizer::new(1000, Some(ms(100)));
        for _ in 0..40 {
            let rows = sizer.size();
            sizer.record(rows, cost(rows));
        }
        let size = sizer.size();
        let took = cost(size);
        assert!(
            took >= ms(90) && took <= ms(110),
            "{size} rows take {took:?}"
        );
    }

    fn lagging(millis: u64) -> ReplicaLag {
        ReplicaLag {
            replay_lag: Some(ms(millis)),
            ..ReplicaLag::default()
        }
    }

    fn checks() -> ThrottleChecks {
        ThrottleChecks {
            since_last_batch: Duration::MAX,
            ..ThrottleChecks::default()
        }
    }

    #[test]
    fn nothing_configured_proceeds() {
        let throttle = Throttle::default();
        assert_eq!(throttle.decide(&checks()), ThrottleDecision::Proceed);
        // Checks that are not configured are ignored even when they would hold.
        let all_bad = ThrottleChecks {
            pause_file_exists: true,
            throttle_query: Some(true),
            replica_lag: Some(lagging(3_600_000)),
            since_last_batch: Duration::ZERO,
        };
        assert_eq!(throttle.decide(&all_bad), ThrottleDecision::Proceed);
    }

    #[test]
    fn the_pause_is_what_remains_of_it_since_the_last_batch() {
        let throttle = Throttle {
            pause: ms(50),
            ..Throttle::default()
        };
        let just_done = ThrottleChecks {
            since_last_batch: ms(20),
            ..checks()
        };
        assert_eq!(
            throttle.decide(&just_done),
            ThrottleDecision::Wait {
                reason: ThrottleReason::Pause,
                duration: ms(30)
            }
        );
        let long_ago = ThrottleChecks {
            since_last_batch: ms(50),
            ..checks()
        };
        assert_eq!(throttle.decide(&long_ago), ThrottleDecision::Proceed);
        assert!(!ThrottleReason::Pause.holds());
    }

    #[test]
    fn each_holding_condition_is_reported_with_its_reason() {
        let throttle = Throttle {
            pause: ms(50),
            pause_file: Some(PathBuf::from("/tmp/bellows.pause")),
            max_lag: Some(MaxLag::Time(Duration::from_secs(1))),
            throttle_query: Some("SELECT load > 0.9 FROM stats".into()),
            poll_interval: ms(250),
        };
        let wait = |reason| ThrottleDecision::Wait {
            reason,
            duration: ms(250),
        };
        let pause_file = ThrottleChecks {
            pause_file_exists: true,
            ..checks()
        };
        assert_eq!(
            throttle.decide(&pause_file),
            wait(ThrottleReason::PauseFile {
                path: PathBuf::from("/tmp/bellows.pause")
            })
        );
        let query = ThrottleChecks {
            throttle_query: Some(true),
            ..checks()
        };
        assert_eq!(throttle.decide(&query), wait(ThrottleReason::ThrottleQuery));
        let lagging_checks = ThrottleChecks {
            replica_lag: Some(lagging(1500)),
            ..checks()
        };
        assert_eq!(
            throttle.decide(&lagging_checks),
            wait(ThrottleReason::ReplicaLag {
                lag: LagSeen::Replay(ms(1500)),
                max: MaxLag::Time(Duration::from_secs(1))
            })
        );
        // At most max_lag behind, a false query and no file: go.
        let fine = ThrottleChecks {
            replica_lag: Some(lagging(1000)),
            throttle_query: Some(false),
            ..checks()
        };
        assert_eq!(throttle.decide(&fine), ThrottleDecision::Proceed);
        // Everything at once: the pause file wins, then the query, then lag.
        let everything = ThrottleChecks {
            pause_file_exists: true,
            throttle_query: Some(true),
            replica_lag: Some(lagging(1500)),
            since_last_batch: Duration::ZERO,
        };
        assert!(matches!(
            throttle.decide(&everything),
            ThrottleDecision::Wait {
                reason: ThrottleReason::PauseFile { .. },
                ..
            }
        ));
        let no_file = ThrottleChecks {
            pause_file_exists: false,
            ..everything
        };
        assert_eq!(
            throttle.decide(&no_file),
            wait(ThrottleReason::ThrottleQuery)
        );
        assert!(ThrottleReason::ThrottleQuery.holds());
    }

    #[test]
    fn reasons_read_well() {
        let lag = ThrottleReason::ReplicaLag {
            lag: LagSeen::Replay(Duration::from_micros(2_345_678)),
            max: MaxLag::Time(Duration::from_secs(1)),
        };
        assert_eq!(lag.to_string(), "replica lag 2s 345ms, over max_lag 1s");
        let stalled = ThrottleReason::ReplicaLag {
            lag: LagSeen::Stalled {
                stalled: ms(1200),
                bytes: 6_815_744,
            },
            max: MaxLag::Time(Duration::from_secs(1)),
        };
        assert_eq!(
            stalled.to_string(),
            "replica replay has not advanced for 1s 200ms with 6.5 MB of WAL not yet replayed, over max_lag 1s"
        );
        let bytes = ThrottleReason::ReplicaLag {
            lag: LagSeen::Bytes(2 << 20),
            max: MaxLag::Bytes(1 << 20),
        };
        assert_eq!(
            bytes.to_string(),
            "replica has 2.0 MB of WAL not yet replayed, over max_lag 1MB"
        );
        let file = ThrottleReason::PauseFile {
            path: PathBuf::from("/tmp/p"),
        };
        assert_eq!(file.to_string(), "pause file /tmp/p exists");
    }

    #[test]
    fn the_pause_file_is_seen_while_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pause");
        let throttle = Throttle {
            pause_file: Some(path.clone()),
            ..Throttle::default()
        };
        assert!(!throttle.pause_file_present());
        std::fs::write(&path, "").unwrap();
        assert!(throttle.pause_file_present());
        std::fs::remove_file(&path).unwrap();
        assert!(!throttle.pause_file_present());
        assert!(!Throttle::default().pause_file_present());
    }

    #[test]
    fn replica_lag_reads_null_and_nonsense_as_no_lag() {
        assert_eq!(replica_lag(None), None);
        assert_eq!(replica_lag(Some(0.0)), None);
        assert_eq!(replica_lag(Some(-1.0)), None);
        assert_eq!(replica_lag(Some(f64::NAN)), None);
        assert_eq!(replica_lag(Some(1.5)), Some(ms(1500)));
        assert_eq!(replica_lag(Some(1e300)), Some(Duration::MAX));
        assert!(POSTGRES_REPLICA_LAG_SQL.contains("pg_stat_replication"));
    }

    #[test]
    fn unknown_lag_holds_and_is_never_zero() {
        let throttle = Throttle {
            max_lag: Some(MaxLag::Time(Duration::from_secs(5))),
            poll_interval: ms(250),
            ..Throttle::default()
        };
        let why = "replica 127.0.0.1:3307: SQL thread stopped".to_string();
        let unknown = ThrottleChecks {
            replica_lag: Some(ReplicaLag {
                unknown: Some(why.clone()),
                ..ReplicaLag::default()
            }),
            ..checks()
        };
        let held = ThrottleReason::ReplicaLagUnknown { why: why.clone() };
        assert_eq!(
            throttle.decide(&unknown),
            ThrottleDecision::Wait {
                reason: held.clone(),
                duration: ms(250)
            }
        );
        assert!(held.holds());
        assert_eq!(
            held.to_string(),
            "replica lag unknown: replica 127.0.0.1:3307: SQL thread stopped"
        );
        // Without max_lag nothing is watched.
        assert_eq!(
            Throttle::default().decide(&unknown),
            ThrottleDecision::Proceed
        );
        // The worst reading wins: unknown over any lag, then the larger lag.
        let behind = |n| LagReading::Behind(ms(n));
        assert_eq!(behind(5).worst(behind(9)), behind(9));
        assert_eq!(LagReading::None.worst(behind(9)), behind(9));
        assert_eq!(
            behind(9).worst(LagReading::Unknown(why.clone())),
            LagReading::Unknown(why.clone())
        );
        assert_eq!(LagReading::None.worst(LagReading::None), LagReading::None);
        // As the throttle reads it.
        let state = behind(9).into_state(2);
        assert_eq!((state.replay_lag, state.standbys), (Some(ms(9)), 2));
        assert!(state.readable && state.unknown.is_none());
        assert_eq!(
            LagReading::Unknown(why.clone()).into_state(1).unknown,
            Some(why)
        );
    }

    #[test]
    fn the_replica_state_reads_its_five_fields() {
        let state = ReplicaState::parse("0.07 6815744 0/3000060 1 true").unwrap();
        assert_eq!(state.replay_lag, Some(ms(70)));
        assert_eq!(state.unreplayed_bytes, 6_815_744);
        assert_eq!(state.replay_lsn.as_deref(), Some("0/3000060"));
        assert_eq!((state.standbys, state.readable), (1, true));
        let none = ReplicaState::parse("0 0 - 0 false").unwrap();
        assert_eq!((none.replay_lsn, none.readable), (None, false));
        assert_eq!(ReplicaState::parse("1.5"), None);
    }

    #[test]
    fn replay_that_does_not_advance_with_wal_waiting_is_lag_though_replay_lag_is_stale() {
        let start = std::time::Instant::now();
        let at = |millis| start + ms(millis);
        let state = |lsn: &str, bytes| ReplicaState {
            replay_lag: Some(ms(70)),
            unreplayed_bytes: bytes,
            replay_lsn: Some(lsn.into()),
            standbys: 1,
            readable: true,
            unknown: None,
        };
        let mut watch = ReplayWatch::default();
        assert_eq!(watch.observe(&state("0/10", 100), at(0)), Duration::ZERO);
        assert_eq!(watch.observe(&state("0/10", 5000), at(700)), ms(700));
        let stalled = watch.observe(&state("0/10", 9000), at(1500));
        let lag = ReplicaLag {
            replay_lag: Some(ms(70)),
            unreplayed_bytes: 9000,
            stalled,
            unknown: None,
        };
        let second = MaxLag::Time(Duration::from_secs(1));
        assert_eq!(
            lag.over(second),
            Some(LagSeen::Stalled {
                stalled: ms(1500),
                bytes: 9000
            })
        );
        assert_eq!(lag.over(MaxLag::Bytes(8000)), Some(LagSeen::Bytes(9000)));
        assert_eq!(lag.over(MaxLag::Bytes(9000)), None);
        // Replay moved on: the clock starts again; nothing waiting: no lag.
        assert_eq!(watch.observe(&state("0/20", 300), at(1600)), Duration::ZERO);
        assert_eq!(watch.observe(&state("0/20", 0), at(3000)), Duration::ZERO);
        assert_eq!(watch.observe(&state("0/20", 10), at(3100)), Duration::ZERO);
        assert_eq!(
            ReplicaLag {
                stalled: ms(1500),
                ..ReplicaLag::default()
            }
            .over(second),
            None,
            "stalled with nothing waiting is no lag"
        );
    }
}
