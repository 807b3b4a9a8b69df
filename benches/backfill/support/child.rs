//! Running the real `bellows` binary as a child process: wall time, peak memory (polled from
//! `/proc/<pid>/status`), exit status and the last lines it wrote.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

/// Where the `bellows` binary is: `BELLOWS_BIN`, else the one cargo built for this benchmark
/// (`cargo bench` builds the package's binaries with the bench profile, i.e. optimized).
pub fn locate_binary(from_env: Option<OsString>, built_by_cargo: &str) -> Result<PathBuf> {
    let (path, origin) = match from_env {
        Some(path) => (PathBuf::from(path), "BELLOWS_BIN"),
        None => (PathBuf::from(built_by_cargo), "cargo"),
    };
    if !path.is_file() {
        bail!(
            "the bellows binary is not at {} (from {origin}); build it with `cargo build --release --bin bellows` and set BELLOWS_BIN=target/release/bellows, or run the benchmark through `cargo bench --bench backfill`",
            path.display()
        );
    }
    Ok(path)
}

/// How one run of the binary went.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub status: ExitStatus,
    pub wall: Duration,
    /// Peak resident memory (VmHWM) in KiB, as last seen while the process ran.
    pub peak_rss_kib: Option<u64>,
    pub stdout_lines: usize,
    pub stdout_tail: Vec<String>,
    pub stderr_tail: Vec<String>,
}

impl ChildRun {
    /// What went wrong, for a report: the exit status and the last lines of stderr (or stdout).
    pub fn failure(&self) -> Option<String> {
        if self.status.success() {
            return None;
        }
        let tail = if self.stderr_tail.is_empty() {
            &self.stdout_tail
        } else {
            &self.stderr_tail
        };
        Some(format!("exited with {}: {}", self.status, tail.join(" | ")))
    }
}

/// Lines kept from the end of each output stream.
const TAIL: usize = 8;
/// How often peak memory is read while the child runs.
const RSS_POLL: Duration = Duration::from_millis(10);

/// Runs `binary args…`, writing its whole stdout and stderr to `log` (`.stdout` and `.stderr`
/// appended to the name), and kills it when it runs longer than `timeout`.
pub async fn run(
    binary: &Path,
    args: &[OsString],
    log: &Path,
    timeout: Duration,
) -> Result<ChildRun> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let pid = child.id();
    let stdout = tokio::spawn(collect(
        child.stdout.take().unwrap(),
        with_suffix(log, "stdout"),
    ));
    let stderr = tokio::spawn(collect(
        child.stderr.take().unwrap(),
        with_suffix(log, "stderr"),
    ));
    let mut peak = None;
    let deadline = tokio::time::Instant::now() + timeout;
    let status = loop {
        if let Some(kib) = pid.and_then(peak_rss_kib) {
            peak = Some(peak.map_or(kib, |p: u64| p.max(kib)));
        }
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::time::sleep(RSS_POLL) => {}
            _ = tokio::time::sleep_until(deadline) => {
                child.kill().await.ok();
                bail!("{} ran longer than {}s and was killed", binary.display(), timeout.as_secs());
            }
        }
    };
    let wall = started.elapsed();
    let (stdout_lines, stdout_tail) = stdout.await??;
    let (_, stderr_tail) = stderr.await??;
    Ok(ChildRun {
        status,
        wall,
        peak_rss_kib: peak,
        stdout_lines,
        stdout_tail,
        stderr_tail,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Copies a stream to a file, returning its line count and last lines.
async fn collect(stream: impl AsyncRead + Unpin, file: PathBuf) -> Result<(usize, Vec<String>)> {
    use tokio::io::AsyncWriteExt;
    let mut out = tokio::fs::File::create(&file)
        .await
        .with_context(|| format!("cannot write {}", file.display()))?;
    let mut lines = BufReader::new(stream).lines();
    let mut count = 0;
    let mut tail = VecDeque::with_capacity(TAIL);
    while let Some(line) = lines.next_line().await? {
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        count += 1;
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    out.flush().await?;
    Ok((count, tail.into()))
}

/// The process's peak resident memory so far, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm(&status)
}

/// The `VmHWM:` line of a `/proc/<pid>/status` text, in KiB.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut words = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value),
        _ => None,
    }
}
