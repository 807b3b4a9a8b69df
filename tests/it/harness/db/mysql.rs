//! A scratch MySQL/MariaDB database per test: created on the test server, dropped when the value
//! is dropped, even when the test panics. A server that cannot be reached is a failure that says
//! how to start one, never a skipped test.
//!
//! The harness's own connections run with `PIPES_AS_CONCAT,ANSI_QUOTES` added to `sql_mode`, so
//! that the SQL the shared test bodies write (`a || b`, `"name"`) means what it means elsewhere;
//! bellows' connections keep the server's mode.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{Connection, Row, ValueRef};

use super::postgres::with_database;
use super::{runtime, DialectKind, Session, TestDb};

/// The server tests run against: `TEST_MYSQL_URL`, else the local MariaDB.
pub fn mysql_server_url() -> String {
    std::env::var("TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".to_string())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test; dropped when the value is dropped.
pub struct MysqlDb {
    pub url: String,
    pub name: String,
    admin_url: String,
    rt: tokio::runtime::Runtime,
}

async fn connect_ansi(url: &str) -> Result<MySqlConnection, sqlx::Error> {
    let mut conn = MySqlConnection::connect(url).await?;
    sqlx::raw_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT,ANSI_QUOTES')")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

impl MysqlDb {
    /// A scratch database on the test server ([`mysql_server_url`]).
    pub fn new() -> MysqlDb {
        MysqlDb::on(mysql_server_url())
    }

    /// A scratch database on the server of `admin_url` (a test's own server).
    pub fn on(admin_url: String) -> MysqlDb {
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
            let mut admin = MySqlConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!(
                    "cannot reach MySQL/MariaDB at {admin_url}: {e}\n\
                     start it with: service mariadb start\n\
                     (or: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)\n\
                     or point TEST_MYSQL_URL at a server (user may create databases)"
                )
            });
            sqlx::raw_sql(&format!("CREATE DATABASE `{name}`"))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("cannot create scratch database {name}: {e}"));
            let _ = admin.close().await;
        });
        MysqlDb {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
            rt,
        }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A connection to the scratch database, with the harness's `sql_mode`.
    pub fn connect(&self) -> MySqlConnection {
        self.rt
            .block_on(connect_ansi(&self.url))
            .expect("connect to the scratch database")
    }

    pub fn bool(&self, sql: &str) -> bool {
        self.i64(sql) != 0
    }

    /// `SHOW CREATE TABLE`, the table as the server prints it.
    pub fn show_create(&self, table: &str) -> String {
        let rows = self
            .session()
            .table(&format!("SHOW CREATE TABLE `{table}`"));
        rows[0][1].clone()
    }
}

/// One connection to a [`MysqlDb`], closed when dropped.
struct MysqlSession<'a> {
    conn: Option<MySqlConnection>,
    rt: &'a tokio::runtime::Runtime,
}

impl Session for MysqlSession<'_> {
    fn try_exec(&mut self, sql: &str) -> Result<(), String> {
        let conn = self.conn.as_mut().expect("an open connection");
        self.rt
            .block_on(sqlx::raw_sql(sql).execute(conn))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn table(&mut self, sql: &str) -> Vec<Vec<String>> {
        let conn = self.conn.as_mut().expect("an open connection");
        let rows = self
            .rt
            .block_on(sqlx::query(sql).persistent(false).fetch_all(conn))
            .unwrap_or_else(|e| panic!("{sql}\n{e}"));
        rows.iter()
            .map(|row| (0..row.len()).map(|i| text(row, i)).collect())
            .collect()
    }
}

impl Drop for MysqlSession<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.rt.block_on(conn.close());
        }
    }
}

/// Column `i` of `row` as text, whatever its type; NULL as `NULL`.
fn text(row: &MySqlRow, i: usize) -> String {
    match row.try_get_raw(i) {
        Ok(raw) if raw.is_null() => return "NULL".into(),
        _ => {}
    }
    if let Ok(n) = row.try_get::<i64, _>(i) {
        return n.to_string();
    }
    if let Ok(n) = row.try_get::<u64, _>(i) {
        return n.to_string();
    }
    if let Ok(f) = row.try_get::<f64, _>(i) {
        return f.to_string();
    }
    if let Ok(text) = row.try_get::<String, _>(i) {
        return text;
    }
    let bytes = row
        .try_get_unchecked::<Vec<u8>, _>(i)
        .unwrap_or_else(|e| panic!("column {i} cannot be read as text: {e}"));
    String::from_utf8_lossy(&bytes).into_owned()
}

impl TestDb for MysqlDb {
    fn url(&self) -> &str {
        &self.url
    }

    fn dialect(&self) -> DialectKind {
        DialectKind::Mysql
    }

    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(MysqlSession {
            conn: Some(self.connect()),
            rt: &self.rt,
        })
    }

    fn table_exists(&self, table: &str) -> bool {
        self.bool(&format!(
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'"
        ))
    }

    fn column_exists(&self, table: &str, column: &str) -> bool {
        self.bool(&format!(
            "SELECT count(*) FROM information_schema.COLUMNS
              WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' AND COLUMN_NAME = '{column}'"
        ))
    }

    fn index_exists(&self, index: &str) -> bool {
        self.bool(&format!(
            "SELECT count(*) FROM information_schema.STATISTICS
              WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = '{index}'"
        ))
    }

    fn constraint_exists(&self, table: &str, constraint: &str) -> bool {
        self.bool(&format!(
            "SELECT count(*) FROM information_schema.TABLE_CONSTRAINTS
              WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' AND CONSTRAINT_NAME = '{constraint}'"
        ))
    }

    fn trigger_exists(&self, trigger: &str) -> bool {
        // NOTE: a sync on MySQL is two triggers, `<name>_ins` and `<name>_upd`.
        self.bool(&format!(
            "SELECT count(*) FROM information_schema.TRIGGERS
              WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME IN ('{trigger}', '{trigger}_ins', '{trigger}_upd')"
        ))
    }

    fn objects(&self) -> Vec<String> {
        self.rows(
            "SELECT CAST(CONCAT('table ', TABLE_NAME) AS CHAR) FROM information_schema.TABLES
              WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'bellows\\_%'
             UNION ALL
             SELECT DISTINCT CAST(CONCAT('index ', TABLE_NAME, '.', INDEX_NAME) AS CHAR) FROM information_schema.STATISTICS
              WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'bellows\\_%'
             UNION ALL
             SELECT CAST(CONCAT('trigger ', TRIGGER_NAME) AS CHAR) FROM information_schema.TRIGGERS
              WHERE TRIGGER_SCHEMA = DATABASE()
             UNION ALL
             SELECT CAST(CONCAT('constraint ', CONSTRAINT_NAME) AS CHAR) FROM information_schema.TABLE_CONSTRAINTS
              WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'bellows\\_%' AND CONSTRAINT_TYPE <> 'PRIMARY KEY'
             ORDER BY 1",
        )
    }

    fn steps_table(&self) -> &'static str {
        "bellows_steps"
    }

    fn as_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }

    fn plans_table(&self) -> &'static str {
        "bellows_plans"
    }

    fn ledger_exists(&self) -> bool {
        self.table_exists("bellows_steps")
    }

    fn run_lock(&self) -> Option<String> {
        self.rows(
            "SELECT CONCAT('connection ', IS_USED_LOCK(LEFT(CONCAT('bellows run lock: ', DATABASE()), 64)))
              FROM DUAL WHERE IS_USED_LOCK(LEFT(CONCAT('bellows run lock: ', DATABASE()), 64)) IS NOT NULL",
        )
        .pop()
    }

    fn wait_for_run_lock(&self, command: &str) -> String {
        // NOTE: MySQL shows no application name: the holder is its connection id.
        let holder =
            super::super::wait::wait_until(&format!("{command} to hold the run lock"), || {
                self.run_lock()
            });
        holder
            .strip_prefix("connection ")
            .unwrap_or_else(|| panic!("no connection id in {holder:?}"))
            .to_string()
    }

    fn backfill_progress(&self, plan: &str) -> Option<(String, i64)> {
        if !self.ledger_exists() {
            return None;
        }
        let row = self
            .rows(&format!(
                "SELECT state, rows_done FROM bellows_steps WHERE plan = '{plan}' AND phase = 'backfill'"
            ))
            .pop()?;
        let (state, done) = row.split_once('|').expect("two columns");
        Some((state.to_string(), done.parse().expect("rows_done")))
    }

    fn ledger_value(&self, plan: &str, column: &str, filter: &str) -> String {
        let mut rows = self.rows(&format!(
            "SELECT CAST({column} AS CHAR) FROM bellows_steps WHERE plan = '{plan}' AND {filter}"
        ));
        assert_eq!(rows.len(), 1, "one ledger row of {plan} where {filter}");
        rows.pop().unwrap()
    }
}

impl Drop for MysqlDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        let result = self.rt.block_on(async move {
            let mut admin = MySqlConnection::connect(&admin_url).await?;
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{name}`"))
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
