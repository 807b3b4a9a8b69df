//! A PostgreSQL cluster of the test's own, in a temporary directory on a spare loopback port,
//! so that it can be restarted (`pg_ctl restart -m immediate`) under a running `bellows`. The
//! machine's own server is never touched. Run as the `postgres` user when the test runs as root
//! (the server refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::db::Server;
use crate::harness::db::{is_root, spare_port};

/// A running cluster; stopped and removed when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Cluster {
    /// initdb + start; `Err` with the reason when the machine cannot run one (no binaries).
    pub fn start() -> Result<Cluster, String> {
        let bin = bin_dir().ok_or("no PostgreSQL server binaries (initdb, pg_ctl) found")?;
        let cluster = Cluster::empty()?;
        let data = cluster.data();
        cluster.run(
            &bin.join("initdb"),
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        cluster.start_server(&bin)?;
        Ok(cluster)
    }

    /// A temporary directory (owned by the postgres user when we are root) and a spare port.
    fn empty() -> Result<Cluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("bellows-cluster-")
            .tempdir()
            .map_err(|e| format!("a temporary directory: {e}"))?;
        let cluster = Cluster {
            port: spare_port(),
            dir,
        };
        if is_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(cluster.dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err("could not give the cluster directory to the postgres user".into());
            }
        }
        Ok(cluster)
    }

    /// Starts the server of the data directory (`pg_ctl start`), waiting until it accepts
    /// connections.
    fn start_server(&self, bin: &Path) -> Result<(), String> {
        let data = self.data();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
             -c max_connections=60 -c shared_buffers=32MB",
            self.port, data
        );
        self.run(
            &bin.join("pg_ctl"),
            &[
                "-D",
                &data,
                "-o",
                &options,
                "-l",
                &self.log(),
                "-w",
                "start",
            ],
        )
    }

    /// A streaming standby of this cluster (`pg_basebackup -R`: it follows this one), in a
    /// temporary directory of its own on a spare port.
    pub fn standby(&self) -> Result<Cluster, String> {
        let bin = bin_dir().ok_or("no PostgreSQL server binaries (pg_basebackup) found")?;
        let standby = Cluster::empty()?;
        standby.run(
            &bin.join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-D",
                &standby.data(),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        )?;
        standby.start_server(&bin)?;
        Ok(standby)
    }

    pub fn server(&self) -> Server {
        Server {
            base: format!("postgres://postgres@127.0.0.1:{}", self.port),
        }
    }

    /// Crashes the server (every session ends at once, no checkpoint) and starts it again;
    /// returns once it accepts connections.
    pub fn restart_immediate(&self) -> Result<(), String> {
        let bin = bin_dir().ok_or("no pg_ctl")?;
        self.run(
            &bin.join("pg_ctl"),
            &[
                "-D",
                &self.data(),
                "-l",
                &self.log(),
                "-m",
                "immediate",
                "-w",
                "restart",
            ],
        )
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> String {
        self.dir.path().join("server.log").display().to_string()
    }

    /// Runs a server binary, as the postgres user when we are root.
    fn run(&self, program: &Path, args: &[&str]) -> Result<(), String> {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        // NOTE: no pipes: the server started by `pg_ctl` inherits them and would keep them
        // open, so waiting for their end would wait for the server to stop. Its output goes to
        // the log file (`-l`).
        let status = command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        Err(format!(
            "{} {} failed ({status})\n--- server log\n{log}",
            program.display(),
            args.join(" "),
        ))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(bin) = bin_dir() {
            let _ = self.run(
                &bin.join("pg_ctl"),
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
            );
        }
    }
}

/// The directory of `initdb` and `pg_ctl`: `PG_BIN`, the newest `/usr/lib/postgresql/*/bin`,
/// or the `PATH`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().or_else(|| {
        let out = Command::new("which").arg("initdb").output().ok()?;
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Path::new(&path).parent().map(Path::to_path_buf)
    })
}
