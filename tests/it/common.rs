//! Shared helpers: the `bellows` command, plan files in temporary directories, scratch
//! PostgreSQL databases that are dropped at the end of each test, even when it fails, and
//! SQLite database files in temporary directories. Helpers come in pairs (`check_ok` /
//! `check_err`) so that a test cannot pass without having checked something.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bellows::plan::load::{load_path, Loaded};
use bellows::plan::render::render_with;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

/// The server tests run against: `TEST_DATABASE_URL`, else `DATABASE_URL`, else the local one.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{database}{query}")
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test; dropped (with FORCE) when the value is dropped.
pub struct ScratchDb {
    pub url: String,
    pub name: String,
    admin_url: String,
    rt: tokio::runtime::Runtime,
}

impl ScratchDb {
    pub fn new() -> ScratchDb {
        let admin_url = server_url();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "bellows_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let rt = runtime();
        rt.block_on(async {
            let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!(
                    "cannot reach PostgreSQL at {admin_url}: {e}\n\
                     start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
                     or point TEST_DATABASE_URL at a server (trust auth, may create databases)"
                )
            });
            sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("cannot create scratch database {name}: {e}"));
            let _ = admin.close().await;
        });
        ScratchDb {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
            rt,
        }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn connect(&self) -> PgConnection {
        self.rt
            .block_on(PgConnection::connect(&self.url))
            .expect("connect to the scratch database")
    }

    /// Runs SQL (several statements allowed).
    pub fn exec(&self, sql: &str) {
        let mut conn = self.connect();
        self.rt
            .block_on(sqlx::raw_sql(sql).execute(&mut conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = self.rt.block_on(conn.close());
    }

    pub fn i64(&self, sql: &str) -> i64 {
        let mut conn = self.connect();
        let value: i64 = self
            .rt
            .block_on(sqlx::query_scalar(sql).fetch_one(&mut conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = self.rt.block_on(conn.close());
        value
    }

    pub fn bool(&self, sql: &str) -> bool {
        let mut conn = self.connect();
        let value: bool = self
            .rt
            .block_on(sqlx::query_scalar(sql).fetch_one(&mut conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = self.rt.block_on(conn.close());
        value
    }

    /// Every row of a query whose columns are all text, joined by `|`.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        let mut conn = self.connect();
        let rows = self
            .rt
            .block_on(sqlx::query(sql).fetch_all(&mut conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = self.rt.block_on(conn.close());
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<Option<String>, _>(i)
                            .unwrap_or_else(|e| panic!("{sql}: column {i} is not text: {e}"))
                            .unwrap_or_else(|| "NULL".into())
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    pub fn table_exists(&self, table: &str) -> bool {
        self.bool(&format!("SELECT to_regclass('{table}') IS NOT NULL"))
    }

    pub fn column_exists(&self, table: &str, column: &str) -> bool {
        self.bool(&format!(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                             WHERE table_name = '{table}' AND column_name = '{column}')"
        ))
    }

    /// `state` of every step of `plan` in the ledger: `expand/0=applied`, in order.
    pub fn ledger_states(&self, plan: &str) -> Vec<String> {
        self.rows(&format!(
            "SELECT phase || '/' || step_index || '=' || state FROM bellows.steps
              WHERE plan = '{plan}'
              ORDER BY array_position(ARRAY['expand','backfill','switch','contract'], phase), step_index"
        ))
    }

    pub fn ledger_exists(&self) -> bool {
        self.table_exists("bellows.steps")
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        let result = self.rt.block_on(async move {
            let mut admin = PgConnection::connect(&admin_url).await?;
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
            admin.close().await
        });
        if let Err(e) = result {
            eprintln!(
                "warning: could not drop scratch database {}: {e}",
                self.name
            );
        }
    }
}

/// The `bellows` binary with a clean environment: no `DATABASE_URL`, no colour.
pub fn bellows() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("bellows").expect("the bellows binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CLICOLOR_FORCE")
        .env_remove("DATABASE_URL")
        .env_remove("BELLOWS_LOCK_TIMEOUT")
        .env_remove("BELLOWS_LOCK_RETRIES")
        .env_remove("BELLOWS_STATEMENT_TIMEOUT")
        .env_remove("BELLOWS_BATCH_SIZE")
        .env_remove("BELLOWS_PAUSE")
        .env("NO_COLOR", "1");
    cmd
}

/// The same, as a std command (for running in the background).
pub fn bellows_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("bellows"));
    cmd.env_remove("DATABASE_URL").env("NO_COLOR", "1");
    cmd
}

/// A directory of plan files for one test.
pub struct Plans {
    pub dir: tempfile::TempDir,
}

impl Plans {
    pub fn new() -> Plans {
        Plans {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(file);
        std::fs::write(&path, text).expect("write plan");
        path
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// stdout and stderr of an assert_cmd output, for messages.
pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A SQLite database file of its own for one test, in a temporary directory removed at the end.
pub struct SqliteDb {
    pub path: PathBuf,
    /// `sqlite:<path>`, for `-d`.
    pub url: String,
    /// The temporary directory holding the file, when the helper made it.
    _dir: Option<tempfile::TempDir>,
    rt: tokio::runtime::Runtime,
}

impl SqliteDb {
    /// An empty database file `app.db` in a new temporary directory.
    pub fn new() -> SqliteDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut db = SqliteDb::at(&dir.path().join("app.db"));
        db._dir = Some(dir);
        db.exec("PRAGMA user_version = 0");
        db
    }

    /// The database file at `path` (not removed by the helper).
    pub fn at(path: &Path) -> SqliteDb {
        SqliteDb {
            url: format!("sqlite:{}", path.display()),
            path: path.to_path_buf(),
            _dir: None,
            rt: runtime(),
        }
    }

    /// The directory of the database file.
    pub fn dir(&self) -> &Path {
        self.path.parent().expect("a file in a directory")
    }

    pub fn connect(&self) -> sqlx::SqliteConnection {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&self.path)
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::from_secs(30));
        self.rt
            .block_on(sqlx::SqliteConnection::connect_with(&options))
            .expect("open the test database")
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Runs SQL (several statements allowed).
    pub fn exec(&self, sql: &str) {
        let mut conn = self.connect();
        self.rt
            .block_on(sqlx::raw_sql(sql).execute(&mut conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = self.rt.block_on(conn.close());
    }

    pub fn i64(&self, sql: &str) -> i64 {
        let mut conn = self.connect();
        let value: i64 = self
            .rt
            .block_on(sqlx::query_scalar(sql).fetch_one(&mut conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = self.rt.block_on(conn.close());
        value
    }

    /// Every row of a query, each column as text (NULL as `NULL`), joined by `|`.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        use sqlx::{TypeInfo, ValueRef};
        let mut conn = self.connect();
        let rows = self
            .rt
            .block_on(sqlx::query(sql).fetch_all(&mut conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = self.rt.block_on(conn.close());
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let raw = row.try_get_raw(i).expect("a column");
                        if raw.is_null() {
                            return "NULL".to_string();
                        }
                        match raw.type_info().name() {
                            "INTEGER" => row.get_unchecked::<i64, _>(i).to_string(),
                            "REAL" => row.get_unchecked::<f64, _>(i).to_string(),
                            _ => row.get_unchecked::<String, _>(i),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    /// The `CREATE` statement of a table, index, trigger or view; `None` when there is none.
    pub fn sql_of(&self, name: &str) -> Option<String> {
        self.rows(&format!(
            "SELECT sql FROM sqlite_master WHERE name = '{name}' AND sql IS NOT NULL"
        ))
        .pop()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.i64(&format!(
            "SELECT count(*) FROM sqlite_master WHERE name = '{name}'"
        )) > 0
    }

    /// `name|type|notnull|default|pk` of each column of `table`.
    pub fn columns(&self, table: &str) -> Vec<String> {
        self.rows(&format!(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{table}') ORDER BY cid"
        ))
    }

    /// `type name` of every object of the schema outside the ledger, sorted.
    pub fn objects(&self) -> Vec<String> {
        self.rows(
            "SELECT type || ' ' || name FROM sqlite_master
              WHERE tbl_name NOT IN ('bellows_plans', 'bellows_steps') ORDER BY type, name",
        )
    }

    /// `state` of every step of `plan` in the ledger: `expand/0=applied`, in order.
    pub fn ledger_states(&self, plan: &str) -> Vec<String> {
        self.rows(&format!(
            "SELECT phase || '/' || step_index || '=' || state FROM bellows_steps
              WHERE plan = '{plan}'
              ORDER BY instr('expand backfill switch contract', phase), step_index"
        ))
    }

    pub fn ledger_exists(&self) -> bool {
        self.exists("bellows_steps")
    }
}

/// Loads a plan by its path relative to the crate root (so paths in messages are relative).
pub fn load(path: &Path) -> Loaded {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = path.strip_prefix(root).unwrap_or(path);
    assert_eq!(
        std::env::current_dir().unwrap(),
        root,
        "integration tests run from the crate root"
    );
    load_path(relative)
}

/// Loads a plan that must have no error (warnings allowed); returns it for further checks.
pub fn check_ok(path: &Path) -> Loaded {
    let loaded = load(path);
    assert!(
        !loaded.has_errors(),
        "{} should load without errors, but:\n{}",
        path.display(),
        rendered(&loaded)
    );
    assert!(loaded.plan.is_some(), "{} gave no plan", path.display());
    loaded
}

/// Loads a plan that must have at least one error.
pub fn check_err(path: &Path) -> Loaded {
    let loaded = load(path);
    assert!(
        loaded.has_errors(),
        "{} should have errors, but:\n{}",
        path.display(),
        rendered(&loaded)
    );
    assert!(
        loaded.plan.is_none(),
        "{} has errors but gave a plan",
        path.display()
    );
    loaded
}

/// Every diagnostic of a plan as a person reads it, colour off; "clean" when there is none.
pub fn rendered(loaded: &Loaded) -> String {
    if loaded.diagnostics.is_empty() {
        return "clean\n".to_string();
    }
    loaded
        .diagnostics
        .iter()
        .map(|d| render_with(&loaded.source, d, false))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `*.toml` files of a fixture directory (relative to the crate root), in name order;
/// never empty.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// A fixture's file stem, for snapshot names.
pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// A `bellows` process running in the background, its stdout lines collected as they come.
pub struct Running {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stdout: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts `bellows ARGS…` with stdout and stderr piped.
    pub fn start(args: &[&str]) -> Running {
        use std::io::BufRead;
        let mut child = bellows_std()
            .args(args)
            .env_remove("BELLOWS_PAUSE_FILE")
            .env_remove("BELLOWS_TARGET_BATCH_TIME")
            .env_remove("BELLOWS_BATCH_SIZE")
            .env_remove("BELLOWS_PAUSE")
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

    /// Sends a signal (`"INT"`, `"TERM"`) to the process.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
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
