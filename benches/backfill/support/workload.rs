//! The application workload that runs beside each contender: several connections doing point
//! `UPDATE`s (of `payload`, a column the backfill does not write) and `SELECT`s by random
//! primary key, each recording its latency and errors.
//!
//! With a rate, each connection issues its operations on a fixed schedule and a latency is
//! counted from the moment the operation was due, not from when it was sent: an operation held
//! up behind a lock also delays the ones due after it, and those delays are counted (no
//! "coordinated omission"). Without a rate (0), each connection runs flat out and latency is
//! counted from sending.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use sqlx::postgres::PgConnection;
use tokio::task::JoinHandle;

use super::latency::{Latencies, LatencySummary};
use super::scratch;

#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// The scratch database holding `users`.
    pub url: String,
    /// 0 runs no workload at all.
    pub connections: usize,
    /// Ids are drawn from `1..=rows`.
    pub rows: u64,
    /// Operations per second per connection; 0 runs flat out.
    pub rate: f64,
}

/// A running workload; [`Workload::stop`] ends it and returns the report.
pub struct Workload {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<WorkerReport>>,
    started: Instant,
}

/// What the workload saw.
#[derive(Debug, Clone, Default)]
pub struct WorkloadReport {
    pub elapsed: Duration,
    /// Operations that succeeded.
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub latency: LatencySummary,
}

impl WorkloadReport {
    pub fn ops_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ops as f64 / secs
        } else {
            0.0
        }
    }
}

#[derive(Default)]
struct WorkerReport {
    ops: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Latencies,
}

/// A connection waiting for this long past `stop` (a lock that is never released) is given up.
const STOP_GRACE: Duration = Duration::from_secs(30);

impl Workload {
    /// Opens every connection first (so that a connection problem fails here, before any
    /// contender starts), then starts the workers.
    pub async fn start(config: &WorkloadConfig) -> Result<Workload> {
        let mut connections = Vec::with_capacity(config.connections);
        for _ in 0..config.connections {
            connections.push(scratch::connect(&config.url, "bellows-bench-workload").await?);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let workers = connections
            .into_iter()
            .enumerate()
            .map(|(index, conn)| {
                let worker = Worker {
                    conn,
                    url: config.url.clone(),
                    rows: config.rows.max(1),
                    interval: (config.rate > 0.0)
                        .then(|| Duration::from_secs_f64(1.0 / config.rate)),
                    random: XorShift::new(
                        seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    ),
                    stop: stop.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Ok(Workload {
            stop,
            workers,
            started: Instant::now(),
        })
    }

    /// Stops the workers and gathers their reports.
    pub async fn stop(self) -> WorkloadReport {
        self.stop.store(true, Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        let mut report = WorkloadReport {
            elapsed,
            ..WorkloadReport::default()
        };
        let mut latencies = Latencies::default();
        for worker in self.workers {
            let abort = worker.abort_handle();
            match tokio::time::timeout(STOP_GRACE, worker).await {
                Ok(Ok(done)) => {
                    report.ops += done.ops;
                    report.errors += done.errors;
                    if report.first_error.is_none() {
                        report.first_error = done.first_error;
                    }
                    latencies.merge(done.latencies);
                }
                Ok(Err(join)) => {
                    report.errors += 1;
                    report
                        .first_error
                        .get_or_insert(format!("workload task failed: {join}"));
                }
                Err(_) => {
                    abort.abort();
                    report.errors += 1;
                    report.first_error.get_or_insert(format!(
                        "a workload connection was still waiting {}s after the contender ended",
                        STOP_GRACE.as_secs()
                    ));
                }
            }
        }
        report.latency = latencies.summary();
        report
    }
}

/// Runs a workload for `duration` alone (the reference without any migration).
pub async fn run_for(config: &WorkloadConfig, duration: Duration) -> Result<WorkloadReport> {
    let workload = Workload::start(config).await?;
    tokio::time::sleep(duration).await;
    Ok(workload.stop().await)
}

struct Worker {
    conn: PgConnection,
    url: String,
    rows: u64,
    interval: Option<Duration>,
    random: XorShift,
    stop: Arc<AtomicBool>,
}

impl Worker {
    async fn run(mut self) -> WorkerReport {
        let mut report = WorkerReport::default();
        let mut due = Instant::now();
        let mut n: u64 = 0;
        while !self.stop.load(Ordering::Relaxed) {
            let started = match self.interval {
                Some(interval) => {
                    let this = due;
                    due += interval;
                    tokio::time::sleep_until(this.into()).await;
                    if self.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    this
                }
                None => Instant::now(),
            };
            n += 1;
            let id = (self.random.next() % self.rows + 1) as i64;
            let result = if n.is_multiple_of(2) {
                sqlx::query("UPDATE users SET payload = $2 WHERE id = $1")
                    .bind(id)
                    .bind(format!("workload {n}"))
                    .execute(&mut self.conn)
                    .await
                    .map(|_| ())
            } else {
                // The old application's read: it does not know email_verified (which the plan
                // contender adds while it runs).
                sqlx::query("SELECT id, verified_at, payload FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut self.conn)
                .await
                .map(|_| ())
            };
            match result {
                Ok(()) => {
                    report.ops += 1;
                    report.latencies.record(started.elapsed());
                }
                Err(error) => {
                    report.errors += 1;
                    report.first_error.get_or_insert_with(|| error.to_string());
                    if matches!(error, sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) {
                        // The connection is gone: get another and go on, as an application would.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if let Ok(conn) =
                            scratch::connect(&self.url, "bellows-bench-workload").await
                        {
                            self.conn = conn;
                        }
                    }
                }
            }
        }
        report
    }
}

/// xorshift64*: a small, fast generator; plenty for picking random ids.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
