//! A scratch PostgreSQL database per test: created on the test server, dropped WITH (FORCE)
//! when the value is dropped, even when the test panics. A server that cannot be reached is a
//! failure that says how to start one, never a skipped test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use super::{runtime, DialectKind, Session, TestDb};

/// The server tests run against: `TEST_DATABASE_URL`, else `DATABASE_URL`, else the local one.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// `url` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
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

/// `url` with the connection option `options=-c name=value …` (`settings` as
/// `"search_path=app,public"` pairs, each sent as `-c`), made URL-safe.
pub fn with_settings(url: &str, settings: &[&str]) -> String {
    let options = settings
        .iter()
        .map(|s| format!("-c {s}"))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(' ', "%20")
        .replace('=', "%3D")
        .replace(',', "%2C")
        .replace('/', "%2F");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options={options}")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test; dropped (with FORCE) when the value is dropped.
pub struct PostgresDb {
    pub url: String,
    pub name: String,
    admin_url: String,
    rt: tokio::runtime::Runtime,
}

impl PostgresDb {
    pub fn new() -> PostgresDb {
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
        PostgresDb {
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

    pub fn bool(&self, sql: &str) -> bool {
        self.i64(sql) != 0
    }
}

/// One connection to a [`PostgresDb`], closed when dropped.
struct PgSession<'a> {
    conn: Option<PgConnection>,
    rt: &'a tokio::runtime::Runtime,
}

impl Session for PgSession<'_> {
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
            .block_on(sqlx::query(sql).fetch_all(conn))
            .unwrap_or_else(|e| panic!("{sql}\n{e}"));
        rows.iter()
            .map(|row| (0..row.len()).map(|i| text(row, i, sql)).collect())
            .collect()
    }
}

impl Drop for PgSession<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.rt.block_on(conn.close());
        }
    }
}

/// Column `i` of `row` as text: text, integers and booleans; NULL as `NULL`.
fn text(row: &sqlx::postgres::PgRow, i: usize, sql: &str) -> String {
    if let Ok(value) = row.try_get::<Option<String>, _>(i) {
        return value.unwrap_or_else(|| "NULL".into());
    }
    if let Ok(value) = row.try_get::<Option<i64>, _>(i) {
        return value.map_or_else(|| "NULL".into(), |v| v.to_string());
    }
    if let Ok(value) = row.try_get::<Option<i32>, _>(i) {
        return value.map_or_else(|| "NULL".into(), |v| v.to_string());
    }
    match row.try_get::<Option<bool>, _>(i) {
        Ok(value) => value.map_or_else(|| "NULL".into(), |v| v.to_string()),
        Err(e) => panic!("{sql}: column {i} is not text, an integer or a boolean: {e}"),
    }
}

impl TestDb for PostgresDb {
    fn url(&self) -> &str {
        &self.url
    }

    fn dialect(&self) -> DialectKind {
        DialectKind::Postgres
    }

    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(PgSession {
            conn: Some(self.connect()),
            rt: &self.rt,
        })
    }

    fn table_exists(&self, table: &str) -> bool {
        self.bool(&format!("SELECT to_regclass('{table}') IS NOT NULL"))
    }

    fn column_exists(&self, table: &str, column: &str) -> bool {
        self.bool(&format!(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                             WHERE table_name = '{table}' AND column_name = '{column}')"
        ))
    }

    fn index_exists(&self, index: &str) -> bool {
        self.bool(&format!(
            "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = '{index}')"
        ))
    }

    fn constraint_exists(&self, table: &str, constraint: &str) -> bool {
        self.bool(&format!(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint
                             WHERE conrelid = to_regclass('{table}') AND conname = '{constraint}')"
        ))
    }

    fn trigger_exists(&self, trigger: &str) -> bool {
        self.bool(&format!(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{trigger}')"
        ))
    }

    fn objects(&self) -> Vec<String> {
        self.rows(
            "SELECT c.relkind::text || ' ' || c.relname FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
             UNION ALL
             SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
             UNION ALL
             SELECT 'constraint ' || conname FROM pg_constraint c
               JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
             ORDER BY 1",
        )
    }

    fn steps_table(&self) -> &'static str {
        "bellows.steps"
    }

    fn plans_table(&self) -> &'static str {
        "bellows.plans"
    }

    fn ledger_exists(&self) -> bool {
        self.table_exists("bellows.steps")
    }

    fn run_lock(&self) -> Option<String> {
        self.rows(
            "SELECT 'pid ' || l.pid || ' (' || a.application_name || ')'
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .pop()
    }
}

impl Drop for PostgresDb {
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
