//! The `bellows` command builder: `Cli::apply(&db).plan(&path).code(3).stderr_has("…").run()`.
//! Every command runs from the crate root in a clean environment (see `env.rs`), and `run`
//! always checks the exit code: 0 unless the test said otherwise with `code`.

use std::ffi::OsStr;
use std::path::Path;

use super::db::TestDb;
use super::env;
use super::running::Running;

/// How long a command may run before the test fails (a hung command is a failure, not a
/// hung test run).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// One `bellows` invocation and what its output must show.
#[must_use = "a command does nothing until `run`"]
pub struct Cli {
    cmd: std::process::Command,
    stdin: Option<Vec<u8>>,
    code: i32,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_lacks: Vec<String>,
    stdout_is: Option<String>,
}

impl Cli {
    /// `bellows ARGS…` with nothing else.
    pub fn new<I, S>(args: I) -> Cli
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = bellows_std();
        cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
        Cli {
            cmd,
            stdin: None,
            code: 0,
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_lacks: Vec::new(),
            stdout_is: None,
        }
    }

    /// `bellows apply -d URL`.
    pub fn apply(db: &dyn TestDb) -> Cli {
        Cli::new(["apply", "-d", db.url()])
    }

    /// `bellows rollback -d URL`.
    pub fn rollback(db: &dyn TestDb) -> Cli {
        Cli::new(["rollback", "-d", db.url()])
    }

    /// `bellows status -d URL`.
    pub fn status(db: &dyn TestDb) -> Cli {
        Cli::new(["status", "-d", db.url()])
    }

    /// `bellows check`.
    pub fn check() -> Cli {
        Cli::new(["check"])
    }

    /// `bellows plan`.
    pub fn plan_cmd() -> Cli {
        Cli::new(["plan"])
    }

    /// `bellows demo`.
    pub fn demo() -> Cli {
        Cli::new(["demo"])
    }

    /// `bellows new`.
    pub fn new_cmd() -> Cli {
        Cli::new(["new"])
    }

    /// The plan file or directory to run (any path argument).
    pub fn plan(mut self, path: impl AsRef<OsStr>) -> Cli {
        self.cmd.arg(path);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cli {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cli
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// `--yes`: no confirmation asked.
    pub fn yes(self) -> Cli {
        self.arg("--yes")
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Cli {
        self.cmd.env(name, value);
        self
    }

    pub fn env_remove(mut self, name: &str) -> Cli {
        self.cmd.env_remove(name);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Cli {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Cli {
        self.stdin = Some(text.into());
        self
    }

    /// The exit code `run` expects (0 when not given).
    pub fn code(mut self, code: i32) -> Cli {
        self.code = code;
        self
    }

    pub fn stdout_has(mut self, text: &str) -> Cli {
        self.stdout_has.push(text.to_string());
        self
    }

    pub fn stderr_has(mut self, text: &str) -> Cli {
        self.stderr_has.push(text.to_string());
        self
    }

    pub fn stdout_lacks(mut self, text: &str) -> Cli {
        self.stdout_lacks.push(text.to_string());
        self
    }

    pub fn stderr_lacks(mut self, text: &str) -> Cli {
        self.stderr_lacks.push(text.to_string());
        self
    }

    /// stdout must be exactly `text`.
    pub fn stdout_is(mut self, text: &str) -> Cli {
        self.stdout_is = Some(text.to_string());
        self
    }

    /// Runs the command and checks the exit code and every expectation; panics with both
    /// streams when one fails.
    pub fn run(self) -> Output {
        let out = self.output();
        let code = self.code;
        assert_eq!(out.code, Some(code), "expected exit {code}\n{out}");
        if let Some(text) = &self.stdout_is {
            assert_eq!(&out.stdout, text, "stdout\n{out}");
        }
        for text in &self.stdout_has {
            assert!(out.stdout.contains(text), "stdout lacks {text:?}\n{out}");
        }
        for text in &self.stderr_has {
            assert!(out.stderr.contains(text), "stderr lacks {text:?}\n{out}");
        }
        for text in &self.stdout_lacks {
            assert!(!out.stdout.contains(text), "stdout has {text:?}\n{out}");
        }
        for text in &self.stderr_lacks {
            assert!(!out.stderr.contains(text), "stderr has {text:?}\n{out}");
        }
        out
    }

    /// Starts the command in the background (expectations are not checked): a handle to wait
    /// for its output, signal or kill it.
    pub fn spawn(self) -> Running {
        Running::command(clone(&self.cmd))
    }

    /// Runs the command without checking anything yet, for a transcript snapshot (the exit
    /// code is part of it) or a test that must clean up before it checks
    /// ([`Output::expect_code`]).
    pub fn run_unchecked(self) -> Output {
        self.output()
    }

    fn output(&self) -> Output {
        let mut cmd = assert_cmd::Command::from_std(clone(&self.cmd));
        cmd.timeout(TIMEOUT);
        if let Some(stdin) = &self.stdin {
            cmd.write_stdin(stdin.clone());
        }
        let out = cmd.output().expect("run bellows");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A copy of a std command (program, arguments, environment, directory).
fn clone(cmd: &std::process::Command) -> std::process::Command {
    let mut copy = std::process::Command::new(cmd.get_program());
    copy.args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => copy.env(name, value),
            None => copy.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        copy.current_dir(dir);
    }
    copy
}

/// What a command printed, and how it ended.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Checks the exit code; panics with both streams when it is another.
    pub fn expect_code(self, code: i32) -> Output {
        assert_eq!(self.code, Some(code), "expected exit {code}\n{self}");
        self
    }

    /// stdout as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON: {e}\n{self}"))
    }

    /// stdout as JSON lines, one event a line.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect()
    }

    /// The exit code and both streams, as a transcript snapshot shows them.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// The exit code, and both streams as text (for assertion messages).
    pub fn code_and_text(&self) -> (Option<i32>, String) {
        (self.code, self.to_string())
    }

    /// Where `text` starts in stdout; panics with the output when it is not there.
    pub fn stdout_at(&self, text: &str) -> usize {
        self.stdout
            .find(text)
            .unwrap_or_else(|| panic!("stdout lacks {text:?}\n{self}"))
    }
}

impl From<std::process::Output> for Output {
    /// The output of a process the test started itself (see `bellows_std`).
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The `bellows` binary as a std command in the clean environment, for processes a test runs
/// in the background (see `Running`).
pub fn bellows_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("bellows"));
    env::clean(&mut cmd);
    cmd
}

/// stdout and stderr of a finished process, for assertion messages.
pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
