//! Randomized fault tests through the real binary: `bellows apply` (or `rollback`) of a plan
//! that uses every kind of step, on a composite-key table under a light write load, hit at a
//! random instant by a fault, then run again until done; the database must end as a run
//! without faults leaves it.
//!
//! Fault kinds, one test each: `kill -9` of apply and of rollback (a third of them aimed at a
//! `CREATE INDEX`: the concurrent build of apply, the re-creation of a dropped index in
//! rollback); `kill -9` in the gap between an index build and its ledger write, widened by a
//! ledger row the test holds ([`aim`]); SIGTERM or SIGINT of apply (half of the instants in the
//! DDL phases); an immediate restart of a PostgreSQL cluster the test starts itself, during
//! apply and rollback; every connection cut by a TCP proxy between bellows and the server,
//! during apply and rollback; and `kill -9` of apply and rollback on SQLite ([`sqlite`]).
//! After each fault the next run must finish.
//!
//! Knobs: `BELLOWS_FAULT_TRIALS` (trials per kind, default [`DEFAULT_TRIALS`]),
//! `BELLOWS_FAULT_SEED` (replays a run: every failure prints its seed). Each trial draws from
//! its own generator, seeded from the run's seed and the trial number, so
//! `BELLOWS_FAULT_SEED=<seed> BELLOWS_FAULT_TRIALS=<n>` replays trial `n - 1` exactly (up to
//! the timing of the machine).

mod aim;
mod checks;
pub(crate) mod cluster;
pub(crate) mod db;
mod proxy;
mod rng;
mod scenario;
mod sqlite;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use db::{Db, Server};
use rng::Rng;

/// Trials per fault kind when `BELLOWS_FAULT_TRIALS` is not set.
pub const DEFAULT_TRIALS: usize = 12;

/// Runs after the faulty one before a trial counts as not recovering: the next run must finish.
const RERUNS: usize = 1;

/// How long one run may take before the trial gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `kill -9` of the bellows process.
    Kill,
    /// SIGTERM or SIGINT (drawn per trial).
    Signal,
    /// `pg_ctl restart -m immediate` of the server.
    Restart,
    /// Every connection between bellows and the server dropped.
    Cut,
    /// `kill -9` after a statement took effect and before bellows recorded it (the test holds
    /// the step's ledger row).
    Gap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Apply,
    Rollback,
}

impl Command {
    fn args(self) -> &'static [&'static str] {
        match self {
            Command::Apply => &["apply", "--yes"],
            Command::Rollback => &["rollback", "--yes"],
        }
    }
}

/// Where the trials of one test run: the server, how bellows reaches it, what a fault does.
struct Rig {
    fault: Fault,
    command: Command,
    server: Server,
    cluster: Option<cluster::Cluster>,
    proxy: Option<proxy::Proxy>,
    plans: tempfile::TempDir,
    /// The seeded database (for rollback, with the plan applied) each trial copies.
    template: Option<Db>,
    /// The schema before the plan.
    before: String,
}

impl Rig {
    fn new(fault: Fault, command: Command) -> Result<Rig, String> {
        let (server, cluster) = match fault {
            Fault::Restart => {
                let cluster = cluster::Cluster::start()?;
                (cluster.server(), Some(cluster))
            }
            _ => (Server::shared(), None),
        };
        let proxy = (fault == Fault::Cut).then(|| proxy::Proxy::start(&server.address()));
        let mut rig = Rig {
            fault,
            command,
            server,
            cluster,
            proxy,
            plans: tempfile::tempdir().map_err(|e| e.to_string())?,
            template: None,
            before: String::new(),
        };
        let template = Db::new(&rig.server);
        scenario::seed(&template);
        rig.before = template.schema_dump();
        if command == Command::Rollback {
            let run = rig.start(Command::Apply, &template.url()).finish();
            assert_eq!(
                run.code,
                Some(0),
                "applying before the rollback trials:\n{}",
                run.text()
            );
        }
        rig.template = Some(template);
        Ok(rig)
    }

    /// The plan file of this rig's command (the rollback trials use the reversible plan).
    fn plan(&self) -> PathBuf {
        let reversible = self.command == Command::Rollback;
        let path = self.plans.path().join("faults.toml");
        if !path.exists() {
            std::fs::write(&path, scenario::plan(reversible)).expect("write the plan");
        }
        path
    }

    /// The URL bellows is given for `db`: through the proxy when there is one.
    fn bellows_url(&self, db: &Db) -> String {
        match &self.proxy {
            Some(proxy) => format!("postgres://postgres@127.0.0.1:{}/{}", proxy.port, db.name),
            None => db.url(),
        }
    }

    /// A fresh, seeded database (a copy of the template); for the rollback trials, with the
    /// whole plan applied. Returns it with the schema before the plan.
    fn prepare(&self) -> (Db, String) {
        let template = self.template.as_ref().expect("the rig's template");
        (Db::copy_of(template), self.before.clone())
    }

    fn start(&self, command: Command, url: &str) -> Run {
        Run::start(command, url, &self.plan())
    }

    /// Injects the fault into `run`.
    fn strike(&self, run: &mut Run, rng: &mut Rng) -> String {
        match self.fault {
            Fault::Kill | Fault::Gap => {
                run.kill();
                "kill -9".into()
            }
            Fault::Signal => {
                let name = if rng.one_in(2) { "TERM" } else { "INT" };
                let _ = std::process::Command::new("kill")
                    .arg(format!("-{name}"))
                    .arg(run.child.id().to_string())
                    .status();
                format!("SIG{name}")
            }
            Fault::Restart => match self.cluster.as_ref().map(|c| c.restart_immediate()) {
                Some(Ok(())) => "server restart".into(),
                Some(Err(e)) => format!("server restart FAILED: {e}"),
                None => "no cluster".into(),
            },
            Fault::Cut => {
                let cut = self.proxy.as_ref().map(|p| p.cut()).unwrap_or(0);
                format!("network cut ({cut} sockets)")
            }
        }
    }
}

/// What a fault-free run looks like: how long it takes, when the backfill runs, and the schema
/// it leaves.
struct Baseline {
    duration: Duration,
    /// `[start, end)` of the backfill phase, from the phase headings of the run's output.
    backfill: (Duration, Duration),
    schema: String,
}

fn baseline(rig: &Rig, seed: u64) -> Baseline {
    let (db, before) = rig.prepare();
    let load = scenario::WriteLoad::start(db.url(), seed);
    let run = rig.start(rig.command, &rig.bellows_url(&db)).finish();
    load.stop();
    assert_eq!(
        run.code,
        Some(0),
        "the fault-free run failed:\n{}",
        run.text()
    );
    let schema = match rig.command {
        Command::Apply => db.schema_dump(),
        Command::Rollback => before,
    };
    let at = |needle: &str| {
        run.lines
            .iter()
            .find(|(_, line)| line.trim() == needle)
            .map(|(t, _)| *t)
    };
    let start = at("backfill").unwrap_or_default();
    let end = at("switch").unwrap_or(run.duration).max(start);
    Baseline {
        duration: run.duration,
        backfill: (start, end),
        schema,
    }
}

/// The instant of the fault: uniform over the run; for signals, half the time uniform over
/// its DDL phases only (before and after the backfill).
fn instant(fault: Fault, base: &Baseline, rng: &mut Rng) -> Duration {
    let whole = base.duration.max(Duration::from_millis(50));
    if fault != Fault::Signal || rng.one_in(2) {
        return rng.between(Duration::ZERO, whole);
    }
    let (start, end) = base.backfill;
    let ddl = start + whole.saturating_sub(end);
    let pick = rng.between(Duration::ZERO, ddl.max(Duration::from_millis(1)));
    if pick < start {
        pick
    } else {
        end + (pick - start)
    }
}

/// One trial's story, for the failure message.
struct Trial {
    number: usize,
    fault_at: Duration,
    what: String,
    /// The last output lines of the faulted run before the fault.
    during: String,
    runs: Vec<String>,
    problems: Vec<String>,
    /// A ledger-gap trial struck inside the gap.
    hit: bool,
}

fn trial(rig: &Rig, base: &Baseline, number: usize, seed: u64) -> Trial {
    let mut rng = Rng::new(seed);
    let (db, _) = rig.prepare();
    let load = scenario::WriteLoad::start(db.url(), rng.next_u64());
    let url = rig.bellows_url(&db);
    let fault_at = instant(rig.fault, base, &mut rng);
    // NOTE: an old snapshot makes the index build wait before it marks the index valid, so the
    // test can hold the ledger row before the build ends.
    let snapshot = (rig.fault == Fault::Gap).then(|| aim::hold_snapshot(&db));
    let mut run = rig.start(rig.command, &url);
    let mut what = String::from("nothing: the run ended first");
    let mut during = String::new();
    let mut hit = false;
    if rig.fault == Fault::Gap {
        let snapshot = snapshot.expect("held for a gap trial");
        (what, hit) = aim::kill_in_ledger_gap(&db, &mut run, rig.command, snapshot);
    } else if rig.fault == Fault::Kill && rng.one_in(3) {
        what = aim::kill_during_index_build(&db, &mut run, &mut rng);
    } else if run.wait_until(fault_at) {
        during = run.last_lines(2);
        what = rig.strike(&mut run, &mut rng);
    }
    let fault_at = run.elapsed();
    let first = run.finish();
    let mut runs = vec![first.summary("faulted")];
    let mut done = first.code == Some(0);
    for _ in 0..RERUNS {
        if done {
            break;
        }
        let rerun = rig.start(rig.command, &url).finish();
        runs.push(rerun.summary("rerun"));
        done = rerun.code == Some(0);
    }
    load.stop();
    let mut problems = Vec::new();
    if !done {
        problems.push(format!(
            "`bellows {:?}` did not succeed in {RERUNS} reruns",
            rig.command
        ));
    }
    problems.extend(checks::leftovers(&db));
    let (state, shape) = match rig.command {
        Command::Apply => {
            problems.extend(checks::written_once(&db));
            ("applied", "a run without faults")
        }
        Command::Rollback => ("rolled_back", "the schema before the plan"),
    };
    problems.extend(checks::status_is(&db, &rig.plan(), state));
    problems.extend(checks::doctor_is_clean(&db, &rig.plan()));
    problems.extend(checks::schema_is(&db, &base.schema, shape));
    Trial {
        number,
        fault_at,
        what,
        during,
        runs,
        problems,
        hit,
    }
}

/// Runs the trials of one fault kind; panics with every failed trial and the seed to replay.
fn trials(fault: Fault, command: Command) {
    let rig = match Rig::new(fault, command) {
        Ok(rig) => rig,
        Err(why) if fault == Fault::Restart => {
            // NOTE: a machine without PostgreSQL server binaries cannot start a cluster; the
            // other fault kinds still run there.
            panic!("cannot start a PostgreSQL cluster for the restart trials: {why}");
        }
        Err(why) => panic!("{why}"),
    };
    let seed = rng::seed();
    let count = rng::trials(DEFAULT_TRIALS);
    let base = baseline(&rig, seed);
    let mut failed = Vec::new();
    let mut hits = 0;
    let started = Instant::now();
    for number in 0..count {
        let trial = trial(&rig, &base, number, trial_seed(seed, number));
        hits += usize::from(trial.hit);
        eprintln!(
            "trial {number}: {} at {:.1?}; {}",
            trial.what,
            trial.fault_at,
            trial.runs.join("; ")
        );
        if !trial.problems.is_empty() {
            failed.push(describe(&trial));
        }
    }
    eprintln!(
        "{fault:?} during {command:?}: {} of {count} trials recovered in {:.1?} (seed {seed}; \
         replay with BELLOWS_FAULT_SEED={seed} BELLOWS_FAULT_TRIALS={count})",
        count - failed.len(),
        started.elapsed()
    );
    assert!(
        fault != Fault::Gap || hits > 0,
        "no {fault:?} trial during {command:?} struck inside the gap (seed {seed})"
    );
    assert!(
        failed.is_empty(),
        "{} of {count} trials of {fault:?} during {command:?} did not recover \
         (seed {seed}; replay with BELLOWS_FAULT_SEED={seed} BELLOWS_FAULT_TRIALS={count}):\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

/// The seed of trial `number` of a run seeded `seed`.
fn trial_seed(seed: u64, number: usize) -> u64 {
    let mut rng = Rng::new(seed ^ (number as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.next_u64()
}

fn describe(trial: &Trial) -> String {
    format!(
        "trial {}: {} at {:?} (during: {})\n  runs:\n    {}\n  problems:\n    - {}",
        trial.number,
        trial.what,
        trial.fault_at,
        if trial.during.is_empty() {
            "-"
        } else {
            &trial.during
        },
        trial.runs.join("\n    "),
        trial.problems.join("\n    - ")
    )
}

// === one bellows process =========================================================================

/// A bellows process; its stdout lines are collected, each with the time it came.
struct Run {
    child: Child,
    started: Instant,
    lines: Arc<Mutex<Vec<(Duration, String)>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// A finished run.
struct Ended {
    code: Option<i32>,
    duration: Duration,
    lines: Vec<(Duration, String)>,
    stderr: String,
}

impl Run {
    pub(crate) fn start(command: Command, url: &str, plan: &Path) -> Run {
        use std::io::BufRead;
        let mut child = crate::harness::cli::bellows_std()
            .args(command.args())
            .arg("-d")
            .arg(url)
            .arg(plan)
            .env_remove("BELLOWS_PAUSE_FILE")
            .env_remove("BELLOWS_BATCH_SIZE")
            .env_remove("BELLOWS_PAUSE")
            .env_remove("BELLOWS_TARGET_BATCH_TIME")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bellows");
        let started = Instant::now();
        let out = child.stdout.take().expect("piped stdout");
        let lines: Arc<Mutex<Vec<(Duration, String)>>> = Arc::default();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push((started.elapsed(), line));
            }
        });
        Run {
            child,
            started,
            lines,
            reader: Some(reader),
        }
    }

    /// Waits until `at` after the start; `false` when the process ended first.
    fn wait_until(&mut self, at: Duration) -> bool {
        while self.started.elapsed() < at {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        matches!(self.child.try_wait(), Ok(None))
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
    }

    fn last_lines(&self, n: usize) -> String {
        let lines = self.lines.lock().expect("lines");
        let start = lines.len().saturating_sub(n);
        lines[start..]
            .iter()
            .map(|(_, l)| l.trim().to_string())
            .collect::<Vec<_>>()
            .join(" / ")
    }

    fn finish(mut self) -> Ended {
        use std::io::Read;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break Some(status);
            }
            if self.started.elapsed() > RUN_LIMIT {
                let _ = self.child.kill();
                break self.child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        let lines = std::mem::take(&mut *self.lines.lock().expect("lines"));
        Ended {
            code: status.and_then(|s| s.code()),
            duration: self.started.elapsed(),
            lines,
            stderr,
        }
    }
}

impl Ended {
    /// `faulted: exit 1 in 1.2s: error: …` (the first line of the error).
    fn summary(&self, what: &str) -> String {
        let error = self
            .stderr
            .lines()
            .find(|l| l.contains("error"))
            .or_else(|| self.stderr.lines().next())
            .unwrap_or("")
            .trim();
        format!(
            "{what}: exit {} in {:.1?}{}",
            self.code.map_or("by signal".to_string(), |c| c.to_string()),
            self.duration,
            if error.is_empty() {
                String::new()
            } else {
                format!(": {error}")
            }
        )
    }

    fn text(&self) -> String {
        let stdout: Vec<&str> = self.lines.iter().map(|(_, l)| l.as_str()).collect();
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            stdout.join("\n"),
            self.stderr
        )
    }
}

// === the tests ===================================================================================

#[test]
fn kill_9_during_apply_then_apply_again_finishes() {
    trials(Fault::Kill, Command::Apply);
}

#[test]
fn kill_9_during_rollback_then_rollback_again_finishes() {
    trials(Fault::Kill, Command::Rollback);
}

#[test]
fn sigterm_or_sigint_during_apply_then_apply_again_finishes() {
    trials(Fault::Signal, Command::Apply);
}

#[test]
fn sigterm_or_sigint_during_rollback_then_rollback_again_finishes() {
    trials(Fault::Signal, Command::Rollback);
}

#[test]
fn server_restart_during_apply_then_apply_again_finishes() {
    trials(Fault::Restart, Command::Apply);
}

#[test]
fn network_cut_during_apply_then_apply_again_finishes() {
    trials(Fault::Cut, Command::Apply);
}

#[test]
fn network_cut_during_rollback_then_rollback_again_finishes() {
    trials(Fault::Cut, Command::Rollback);
}

#[test]
fn server_restart_during_rollback_then_rollback_again_finishes() {
    trials(Fault::Restart, Command::Rollback);
}

#[test]
fn kill_9_between_an_index_build_and_its_ledger_write_during_apply() {
    trials(Fault::Gap, Command::Apply);
}

#[test]
fn kill_9_between_an_index_rebuild_and_its_ledger_write_during_rollback() {
    trials(Fault::Gap, Command::Rollback);
}
