//! A scratch SQLite database per test: `app.db` in a temporary directory removed with the
//! value, read back through `sqlite_master` and the table-info pragmas.

use std::path::{Path, PathBuf};

use sqlx::{Connection, Row};

use super::{runtime, DialectKind, Session, TestDb};

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

    /// The `CREATE` statement of a table, index, trigger or view; `None` when there is none.
    pub fn sql_of(&self, name: &str) -> Option<String> {
        self.rows(&format!(
            "SELECT sql FROM sqlite_master WHERE name = '{name}' AND sql IS NOT NULL"
        ))
        .pop()
    }

    /// Whether a table, index, trigger or view of this name exists.
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
}

impl TestDb for SqliteDb {
    fn url(&self) -> &str {
        &self.url
    }

    fn dialect(&self) -> DialectKind {
        DialectKind::Sqlite
    }

    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(SqliteSession {
            conn: Some(self.connect()),
            rt: &self.rt,
        })
    }

    fn table_exists(&self, table: &str) -> bool {
        self.i64(&format!(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        )) > 0
    }

    fn column_exists(&self, table: &str, column: &str) -> bool {
        self.i64(&format!(
            "SELECT count(*) FROM pragma_table_info('{table}') WHERE name = '{column}'"
        )) > 0
    }

    fn index_exists(&self, index: &str) -> bool {
        self.i64(&format!(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{index}'"
        )) > 0
    }

    /// NOTE: SQLite keeps named constraints only in the table's `CREATE` text.
    fn constraint_exists(&self, table: &str, constraint: &str) -> bool {
        self.sql_of(table).is_some_and(|sql| {
            sql.contains(&format!("\"{constraint}\""))
                || sql.contains(&format!("CONSTRAINT {constraint} "))
        })
    }

    fn trigger_exists(&self, trigger: &str) -> bool {
        self.i64(&format!(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = '{trigger}'"
        )) > 0
    }

    fn objects(&self) -> Vec<String> {
        self.rows(
            "SELECT type || ' ' || name FROM sqlite_master
              WHERE tbl_name NOT IN ('bellows_plans', 'bellows_steps') ORDER BY type, name",
        )
    }

    fn steps_table(&self) -> &'static str {
        "bellows_steps"
    }

    fn plans_table(&self) -> &'static str {
        "bellows_plans"
    }

    fn ledger_exists(&self) -> bool {
        self.exists("bellows_steps")
    }

    /// The lock file next to the database, with the holder's pid and command in it; it goes
    /// with the run.
    fn run_lock(&self) -> Option<String> {
        let mut file = self.path.clone().into_os_string();
        file.push(".bellows-lock");
        std::fs::read_to_string(file).ok()
    }
}

/// One connection to a [`SqliteDb`], closed when dropped.
struct SqliteSession<'a> {
    conn: Option<sqlx::SqliteConnection>,
    rt: &'a tokio::runtime::Runtime,
}

impl Session for SqliteSession<'_> {
    fn try_exec(&mut self, sql: &str) -> Result<(), String> {
        let conn = self.conn.as_mut().expect("an open connection");
        self.rt
            .block_on(sqlx::raw_sql(sql).execute(conn))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn table(&mut self, sql: &str) -> Vec<Vec<String>> {
        use sqlx::{TypeInfo, ValueRef};
        let conn = self.conn.as_mut().expect("an open connection");
        let rows = self
            .rt
            .block_on(sqlx::query(sql).fetch_all(conn))
            .unwrap_or_else(|e| panic!("{sql}\n{e}"));
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
                    .collect()
            })
            .collect()
    }
}

impl Drop for SqliteSession<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.rt.block_on(conn.close());
        }
    }
}
