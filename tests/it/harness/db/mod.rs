//! Scratch databases for tests, one type per backend behind one trait: [`TestDb`] says what a
//! test may ask of any database (run SQL, read a number or rows, whether a table, column,
//! index, constraint or trigger exists, the ledger), so one test body runs on every backend.
//! Every call is blocking; [`Session`] is one connection kept open for a test that needs its
//! state (a transaction, an attached database, a pragma).

mod mariadb_pair;
mod mysql;
mod postgres;
mod sqlite;

pub use bellows::dialect::DialectKind;
pub use mariadb_pair::MariadbPair;
pub use mysql::{mysql_server_url, MysqlDb};
pub use postgres::{server_url, with_database, with_settings, PostgresDb};
pub use sqlite::SqliteDb;

/// One open connection to a test database, blocking: what a test runs on it shares the
/// connection's state (an open transaction, `ATTACH`, `PRAGMA`).
pub trait Session {
    /// Runs SQL (several statements allowed); the database's error as text.
    fn try_exec(&mut self, sql: &str) -> Result<(), String>;

    /// Every row of a query, each column as text (NULL as `NULL`).
    fn table(&mut self, sql: &str) -> Vec<Vec<String>>;

    /// Runs SQL; panics with the SQL on an error.
    fn exec(&mut self, sql: &str) {
        self.try_exec(sql).unwrap_or_else(|e| panic!("{sql}\n{e}"));
    }

    /// Every row of a query, its columns joined by `|`.
    fn rows(&mut self, sql: &str) -> Vec<String> {
        self.table(sql).iter().map(|row| row.join("|")).collect()
    }

    /// The first column of the one row a query returns, as text.
    fn text(&mut self, sql: &str) -> String {
        let mut rows = self.table(sql);
        assert_eq!(rows.len(), 1, "one row from\n{sql}");
        rows.pop().unwrap().swap_remove(0)
    }

    /// The one integer (or boolean, as 0/1) a query returns.
    fn i64(&mut self, sql: &str) -> i64 {
        match self.text(sql).as_str() {
            "true" => 1,
            "false" => 0,
            text => text
                .parse()
                .unwrap_or_else(|e| panic!("{sql}: {text:?} is not an integer: {e}")),
        }
    }
}

/// A database of one test's own, removed when the value is dropped.
pub trait TestDb {
    /// The URL `-d` takes.
    fn url(&self) -> &str;

    /// The dialect bellows picks for [`TestDb::url`].
    fn dialect(&self) -> DialectKind;

    /// A connection of its own, open until the value is dropped.
    fn session(&self) -> Box<dyn Session + '_>;

    /// Runs SQL (several statements allowed) on a connection of its own; panics with the SQL
    /// on an error.
    fn exec(&self, sql: &str) {
        self.session().exec(sql)
    }

    /// The one integer (or boolean, as 0/1) a query returns.
    fn i64(&self, sql: &str) -> i64 {
        self.session().i64(sql)
    }

    /// Every row of a query, each column as text (NULL as `NULL`), joined by `|`.
    fn rows(&self, sql: &str) -> Vec<String> {
        self.session().rows(sql)
    }

    fn table_exists(&self, table: &str) -> bool;

    fn column_exists(&self, table: &str, column: &str) -> bool;

    fn index_exists(&self, index: &str) -> bool;

    /// A named constraint (CHECK, FOREIGN KEY, UNIQUE) of `table`.
    fn constraint_exists(&self, table: &str, constraint: &str) -> bool;

    fn trigger_exists(&self, trigger: &str) -> bool;

    /// `kind name` of every object of the schema outside the ledger (tables, indexes, views,
    /// triggers; constraints where the catalog lists them), sorted.
    fn objects(&self) -> Vec<String>;

    /// The ledger's table of steps, as SQL names it (`bellows.steps`, `bellows_steps`).
    fn steps_table(&self) -> &'static str;

    /// `expr` cast to text, as the database spells it (MySQL casts to CHAR).
    fn as_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }

    /// The ledger's table of plans.
    fn plans_table(&self) -> &'static str;

    fn ledger_exists(&self) -> bool;

    /// Who holds the run lock, as bellows names the holder (`pid 4242 (bellows apply x), …`);
    /// `None` when no run holds it.
    fn run_lock(&self) -> Option<String>;

    /// The pid bellows names for the run that holds the lock once `command` (`bellows apply
    /// x`) holds it; waits for that.
    fn wait_for_run_lock(&self, command: &str) -> String {
        let holder = super::wait::wait_until(&format!("{command} to hold the run lock"), || {
            self.run_lock().filter(|holder| holder.contains(command))
        });
        let pid = holder
            .strip_prefix("pid ")
            .and_then(|rest| rest.split(' ').next());
        pid.unwrap_or_else(|| panic!("no pid in {holder:?}"))
            .to_string()
    }

    /// The rows of `table` (SQL).
    fn count(&self, table: &str) -> i64 {
        self.i64(&format!("SELECT count(*) FROM {table}"))
    }

    /// `state` of every step of `plan` in the ledger: `expand/0=applied`, in order.
    fn ledger_states(&self, plan: &str) -> Vec<String> {
        self.rows(&format!(
            "SELECT phase || '/' || step_index || '=' || state FROM {}
              WHERE plan = '{plan}'
              ORDER BY CASE phase WHEN 'expand' THEN 0 WHEN 'backfill' THEN 1
                                  WHEN 'switch' THEN 2 ELSE 3 END, step_index",
            self.steps_table()
        ))
    }

    /// `(state, rows_done)` of the backfill step of `plan`, once the ledger has it.
    fn backfill_progress(&self, plan: &str) -> Option<(String, i64)> {
        if !self.ledger_exists() {
            return None;
        }
        let row = self
            .rows(&format!(
                "SELECT state, CAST(rows_done AS TEXT) FROM {} WHERE plan = '{plan}' AND phase = 'backfill'",
                self.steps_table()
            ))
            .pop()?;
        let (state, done) = row.split_once('|').expect("two columns");
        Some((state.to_string(), done.parse().expect("rows_done")))
    }

    /// One column of the ledger row of step `index` of `phase` of `plan`, as text.
    fn ledger_value(&self, plan: &str, column: &str, filter: &str) -> String {
        let mut rows = self.rows(&format!(
            "SELECT CAST({column} AS TEXT) FROM {} WHERE plan = '{plan}' AND {filter}",
            self.steps_table()
        ));
        assert_eq!(rows.len(), 1, "one ledger row of {plan} where {filter}");
        rows.pop().unwrap()
    }
}

/// A tokio runtime on the current thread, for the harness's blocking calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Whether the tests run as root (servers of a test's own then run as their system user).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A loopback port nobody listens on right now.
pub fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a spare loopback port")
}
