//! Scratch databases for tests, one type per backend behind one trait: [`TestDb`] says what a
//! test may ask of any database (run SQL, read a number or rows, whether a table, column,
//! index, constraint or trigger exists, the ledger), so one test body runs on every backend.

mod postgres;
mod sqlite;

pub use bellows::dialect::DialectKind;
pub use postgres::{server_url, with_database, PostgresDb};
pub use sqlite::SqliteDb;

/// A database of one test's own, removed when the value is dropped.
pub trait TestDb {
    /// The URL `-d` takes.
    fn url(&self) -> &str;

    /// The dialect bellows picks for [`TestDb::url`].
    fn dialect(&self) -> DialectKind;

    /// Runs SQL (several statements allowed); panics with the SQL on an error.
    fn exec(&self, sql: &str);

    /// The one integer (or boolean, as 0/1) a query returns.
    fn i64(&self, sql: &str) -> i64;

    /// Every row of a query, each column as text (NULL as `NULL`), joined by `|`.
    fn rows(&self, sql: &str) -> Vec<String>;

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

    /// The ledger's table of plans.
    fn plans_table(&self) -> &'static str;

    fn ledger_exists(&self) -> bool;

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
