//! The benchmark's results and the text table they are printed as.

use std::time::Duration;

use super::workload::WorkloadReport;

/// How one contender (or the workload-only reference) went.
#[derive(Debug, Clone)]
pub struct ContenderResult {
    pub name: String,
    /// Table rows when it ran.
    pub rows: u64,
    pub outcome: Outcome,
    /// The workload that ran beside it.
    pub workload: Option<WorkloadReport>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// No migration ran: the workload alone.
    Reference,
    Done {
        elapsed: Duration,
        peak_rss_kib: Option<u64>,
        /// Rows still wrong afterwards (0 = verified).
        wrong_rows: i64,
    },
    Failed(String),
}

impl ContenderResult {
    pub fn elapsed(&self) -> Option<Duration> {
        match self.outcome {
            Outcome::Done { elapsed, .. } => Some(elapsed),
            _ => None,
        }
    }

    pub fn rows_per_second(&self) -> Option<f64> {
        self.elapsed()
            .filter(|e| !e.is_zero())
            .map(|e| self.rows as f64 / e.as_secs_f64())
    }
}

/// The results table: contender, rows, seconds, rows/s, ratio to the single UPDATE (`baseline`
/// rows/s), the workload's ops/s, p50/p99/max latency and errors, and peak RSS.
pub fn render(results: &[ContenderResult], baseline_rows_per_second: Option<f64>) -> String {
    let header = [
        "contender",
        "rows",
        "seconds",
        "rows/s",
        "vs UPDATE",
        "wl ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "wl errors",
        "peak RSS MB",
    ];
    let dash = || "-".to_string();
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let (seconds, rate, ratio, rss) = match &r.outcome {
                Outcome::Done {
                    elapsed,
                    peak_rss_kib,
                    ..
                } => {
                    let rate = r.rows_per_second();
                    (
                        format!("{:.2}", elapsed.as_secs_f64()),
                        rate.map_or_else(dash, |v| thousands(v.round() as u64)),
                        match (rate, baseline_rows_per_second) {
                            (Some(rate), Some(base)) if base > 0.0 => format!("{:.2}", rate / base),
                            _ => dash(),
                        },
                        peak_rss_kib.map_or_else(dash, |kib| format!("{:.1}", kib as f64 / 1024.0)),
                    )
                }
                Outcome::Reference => (dash(), dash(), dash(), dash()),
                Outcome::Failed(_) => ("FAILED".into(), dash(), dash(), dash()),
            };
            // A contender that failed at once leaves a workload too short to mean anything.
            let workload = r.workload.as_ref().filter(|w| {
                !matches!(r.outcome, Outcome::Failed(_)) || w.elapsed >= Duration::from_secs(1)
            });
            let (ops, p50, p99, max, errors) = match workload {
                Some(w) => (
                    thousands(w.ops_per_second().round() as u64),
                    millis(w.latency.p50),
                    millis(w.latency.p99),
                    millis(w.latency.max),
                    w.errors.to_string(),
                ),
                None => (dash(), dash(), dash(), dash(), dash()),
            };
            vec![
                r.name.clone(),
                thousands(r.rows),
                seconds,
                rate,
                ratio,
                ops,
                p50,
                p99,
                max,
                errors,
                rss,
            ]
        })
        .collect();
    table(&header, &rows)
}

/// A plain text table: first column left-aligned, the others right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out.push('\n');
    out
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with two decimals below 10 ms, one below 1 s, none above.
pub fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 1000.0 {
        format!("{ms:.1}")
    } else {
        thousands(ms.round() as u64)
    }
}
