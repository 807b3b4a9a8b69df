//! A `bellows` process in the background (for signals, locks held meanwhile, progress read as
//! it comes), its stdout lines collected as they arrive.

use super::cli::{bellows_std, Output};
use super::db::TestDb;

/// A `bellows` process running in the background, its stdout lines collected as they come.
pub struct Running {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stdout: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts `bellows ARGS…` with stdout and stderr piped.
    pub fn start(args: &[&str]) -> Running {
        let mut cmd = bellows_std();
        cmd.args(args);
        Running::command(cmd)
    }

    /// Starts `cmd` (a `bellows` command; see `Cli::spawn`) with stdout and stderr piped.
    pub fn command(mut cmd: std::process::Command) -> Running {
        use std::io::BufRead;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start bellows");
        let out = child.stdout.take().expect("piped stdout");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Running {
            child,
            lines,
            stdout: Some(stdout),
        }
    }

    /// The stdout lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// Waits (up to 60 s) for a stdout line containing `text`; panics with the output if the
    /// process ends or the time runs out first.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(text)) {
                return line;
            }
            let exited = self.child.try_wait().expect("poll bellows").is_some();
            if exited || std::time::Instant::now() > deadline {
                let lines = self.lines().join("\n");
                let _ = self.child.kill();
                let status = self.child.wait().ok();
                let mut stderr = String::new();
                if let Some(mut err) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = err.read_to_string(&mut stderr);
                }
                panic!("no line with {text:?} (exit {status:?}):\n{lines}\n--- stderr\n{stderr}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Whether the process has ended.
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().expect("poll bellows").is_some()
    }

    /// Waits until the backfill of `plan` is running with at least `at_least` rows done in
    /// the ledger of `db`; returns the rows done seen. Fails when the process ends first or
    /// after 30 s.
    pub fn wait_for_rows(&mut self, db: &dyn TestDb, plan: &str, at_least: i64) -> i64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some((state, done)) = db.backfill_progress(plan) {
                if state == "running" && done >= at_least {
                    return done;
                }
            }
            if self.has_exited() {
                let progress = db.backfill_progress(plan);
                panic!("bellows ended before the backfill reached {at_least} rows; ledger: {progress:?}\n{}", self.stderr());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the backfill never reached {at_least} rows; ledger: {:?}",
                db.backfill_progress(plan)
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// What the process wrote to stderr (read once it has ended).
    fn stderr(&mut self) -> String {
        use std::io::Read;
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        stderr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL) and waits for it to end.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill bellows");
        self.child.wait().expect("wait for bellows");
    }

    /// Sends a signal (`"INT"`, `"TERM"`) to the process.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (up to 120 s) for the process to end: its exit code and both streams.
    pub fn wait(self) -> Output {
        let (code, lines, stderr) = self.finish();
        let mut stdout = lines.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Output {
            code,
            stdout,
            stderr,
        }
    }

    /// Waits (up to 120 s) for the process to end: exit code, stdout lines, stderr.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        use std::io::Read;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll bellows") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "bellows did not finish in 120 s:\n{}",
                    self.lines().join("\n")
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        if let Some(handle) = self.stdout.take() {
            let _ = handle.join();
        }
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        (status.code(), self.lines(), stderr)
    }
}
