//! A MariaDB primary and a replica of it, of the test's own: `mariadb-install-db` once into a
//! temporary directory (the replica's data directory is a copy), each `mariadbd` on a spare
//! loopback port with its own socket, the primary with a row-based binary log, the replica following it
//! by GTID. Run as the `mysql` user when the test runs as root. The machine's own server is
//! never touched; both servers are killed and the directory removed when the value is dropped,
//! also when the test panics.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnection;
use sqlx::Connection;

use super::{is_root, runtime, spare_port};

/// A running primary and replica; both stopped and their directory removed when dropped.
pub struct MariadbPair {
    dir: tempfile::TempDir,
    servers: Vec<Child>,
    pub primary_port: u16,
    pub replica_port: u16,
}

impl MariadbPair {
    /// Starts both servers and replication; `Err` with the reason (and the server logs).
    pub fn start() -> Result<MariadbPair, String> {
        let dir = tempfile::Builder::new()
            .prefix("bellows-mariadb-")
            .tempdir()
            .map_err(|e| format!("a temporary directory: {e}"))?;
        let mut pair = MariadbPair {
            dir,
            servers: Vec::new(),
            primary_port: spare_port(),
            replica_port: spare_port(),
        };
        pair.install()?;
        let primary_bin = format!("--log-bin={}", pair.path("primary/bin").display());
        pair.launch(
            "primary",
            pair.primary_port,
            &["--server-id=1", &primary_bin, "--binlog-format=ROW"],
        )?;
        let report_port = format!("--report-port={}", pair.replica_port);
        pair.launch(
            "replica",
            pair.replica_port,
            &["--server-id=2", "--report-host=127.0.0.1", &report_port],
        )?;
        pair.replica_sql(&format!(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = 'root', \
             MASTER_USE_GTID = slave_pos; START SLAVE",
            pair.primary_port
        ))?;
        Ok(pair)
    }

    /// The URL of the primary's `mysql` database (to create scratch databases from).
    pub fn primary_url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/mysql", self.primary_port)
    }

    /// The URL of the replica's `mysql` database.
    pub fn replica_url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/mysql", self.replica_port)
    }

    /// Runs SQL on the replica.
    pub fn replica_sql(&self, sql: &str) -> Result<(), String> {
        runtime()
            .block_on(async {
                let mut conn = MySqlConnection::connect(&self.replica_url()).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            })
            .map_err(|e| format!("{sql}: {e}"))
    }

    /// The one integer a query on the replica returns (`None` while it fails, e.g. the table is
    /// not replicated yet).
    pub fn replica_i64(&self, sql: &str) -> Option<i64> {
        runtime()
            .block_on(async {
                let mut conn = MySqlConnection::connect(&self.replica_url()).await?;
                let value: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
                conn.close().await?;
                Ok::<_, sqlx::Error>(value)
            })
            .ok()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `mariadb-install-db` into `primary/`, copied to `replica/` (a second install takes
    /// seconds more).
    fn install(&self) -> Result<(), String> {
        if is_root() {
            run(Command::new("chown")
                .args(["mysql:mysql"])
                .arg(self.dir.path()))?;
        }
        let datadir = format!("--datadir={}", self.path("primary").display());
        run(as_mysql("mariadb-install-db").args([
            "--no-defaults",
            &datadir,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]))?;
        run(as_mysql("cp")
            .arg("-a")
            .arg(self.path("primary"))
            .arg(self.path("replica")))
    }

    /// Starts `mariadbd` on `name`'s data directory and waits until it answers.
    fn launch(&mut self, name: &str, port: u16, extra: &[&str]) -> Result<(), String> {
        let data = self.path(name);
        let log = self.path(&format!("{name}.err"));
        let child = as_mysql("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!(
                "--socket={}",
                self.path(&format!("{name}.sock")).display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.path(&format!("{name}.pid")).display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .args([
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--innodb-flush-log-at-trx-commit=0",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("mariadbd: {e}"))?;
        self.servers.push(child);
        let url = format!("mysql://root@127.0.0.1:{port}/mysql");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let up = runtime().block_on(async { MySqlConnection::connect(&url).await.is_ok() });
            if up {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        Err(format!(
            "the {name} server did not answer on port {port}\n--- log\n{log}"
        ))
    }
}

impl Drop for MariadbPair {
    fn drop(&mut self) {
        // NOTE: SIGKILL by the server's own pid (from its pid file): nothing of these servers is
        // worth keeping, and the directory is removed next. `runuser` ends with it.
        for name in ["primary", "replica"] {
            let pid =
                std::fs::read_to_string(self.path(&format!("{name}.pid"))).unwrap_or_default();
            if let Ok(pid) = pid.trim().parse::<u32>() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        for server in &mut self.servers {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

/// `program`, run as the `mysql` user when we are root.
fn as_mysql(program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "mysql", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{command:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
