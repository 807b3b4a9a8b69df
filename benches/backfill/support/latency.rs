//! Latency recording for the benchmark's workload: every sample kept, sorted once at the end
//! (a run records at most a few million samples, so a plain vector is exact and small enough).

use std::time::Duration;

/// Latency samples, in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    micros: Vec<u64>,
}

/// What a run's latencies come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencySummary {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.micros
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
    }

    pub fn summary(mut self) -> LatencySummary {
        self.micros.sort_unstable();
        let at = |p| Duration::from_micros(percentile(&self.micros, p).unwrap_or(0));
        LatencySummary {
            count: self.micros.len(),
            p50: at(50.0),
            p99: at(99.0),
            max: at(100.0),
        }
    }
}

/// The `p`-th percentile of sorted samples by the nearest-rank method: the smallest sample
/// that at least `p`% of all samples are less than or equal to. `None` when there are none.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}
