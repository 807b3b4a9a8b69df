//! A scratch database on any PostgreSQL server (the machine's own, or the cluster a test starts
//! itself): created for one trial, dropped with FORCE at the end; plain queries and
//! `pg_dump --schema-only` for the checks.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use crate::harness::runtime;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `postgres://user@host:port` of a server, without a database.
#[derive(Debug, Clone)]
pub struct Server {
    pub base: String,
}

impl Server {
    /// The server of the other integration tests (`TEST_DATABASE_URL`, `DATABASE_URL`, or the
    /// local one), without its database.
    pub fn shared() -> Server {
        let url = crate::harness::db::server_url();
        let url = url.split('?').next().unwrap_or(&url).to_string();
        let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
        let base = match url[scheme_end..].find('/') {
            Some(i) => url[..scheme_end + i].to_string(),
            None => url,
        };
        Server { base }
    }

    pub fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.base)
    }

    /// `host:port` of the server.
    pub fn address(&self) -> String {
        let rest = self.base.split("://").nth(1).unwrap_or(&self.base);
        let host_port = rest.rsplit('@').next().unwrap_or(rest);
        if host_port.contains(':') {
            host_port.to_string()
        } else {
            format!("{host_port}:5432")
        }
    }
}

/// One database of its own on `server`, dropped when the value is.
pub struct Db {
    pub server: Server,
    pub name: String,
    rt: tokio::runtime::Runtime,
}

impl Db {
    pub fn new(server: &Server) -> Db {
        Db::create(server, "")
    }

    /// A copy of `template` (which must have no connections): seeding once per test and
    /// copying per trial keeps a trial short.
    pub fn copy_of(template: &Db) -> Db {
        Db::create(
            &template.server,
            &format!(" TEMPLATE \"{}\"", template.name),
        )
    }

    fn create(server: &Server, template: &str) -> Db {
        let name = format!(
            "bellows_fault_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let db = Db {
            server: server.clone(),
            name,
            rt: runtime(),
        };
        db.admin(&format!("CREATE DATABASE \"{}\"{template}", db.name));
        db
    }

    /// The URL of this database on its server.
    pub fn url(&self) -> String {
        self.server.url(&self.name)
    }

    fn admin(&self, sql: &str) {
        let url = self.server.url("postgres");
        let result: Result<(), sqlx::Error> = self.rt.block_on(async {
            let mut conn = connect_patiently(&url).await?;
            sqlx::raw_sql(sql).execute(&mut conn).await?;
            conn.close().await
        });
        if let Err(e) = result {
            panic!("{sql} on {url}: {e}");
        }
    }

    fn connect(&self) -> PgConnection {
        self.rt
            .block_on(connect_patiently(&self.url()))
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url()))
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

    /// `pg_dump --schema-only` of everything but the ledger, without comments, blank lines and
    /// the per-dump `\restrict` keys, so two dumps of the same schema are equal.
    pub fn schema_dump(&self) -> String {
        let output = std::process::Command::new("pg_dump")
            .args([
                "--schema-only",
                "--no-owner",
                "--exclude-schema=bellows",
                "-d",
            ])
            .arg(self.url())
            .output()
            .expect("run pg_dump");
        assert!(
            output.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| {
                !line.is_empty()
                    && !line.starts_with("--")
                    && !line.starts_with("\\restrict")
                    && !line.starts_with("\\unrestrict")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A transaction on its own connection holding a row lock until [`HeldLock::release`].
pub struct HeldLock {
    conn: PgConnection,
    rt: tokio::runtime::Runtime,
}

impl HeldLock {
    /// Starts a transaction with `begin` and runs `select` in it (a `SELECT … FOR UPDATE` locks
    /// the rows it returns); `None` when it returns no row.
    pub fn take(db: &Db, begin: &str, select: &str) -> Option<HeldLock> {
        let rt = runtime();
        let mut conn = rt
            .block_on(connect_patiently(&db.url()))
            .unwrap_or_else(|e| panic!("connect to {}: {e}", db.url()));
        rt.block_on(sqlx::raw_sql(begin).execute(&mut conn))
            .expect("BEGIN");
        let rows = rt
            .block_on(sqlx::query(select).fetch_all(&mut conn))
            .unwrap_or_else(|e| panic!("{select}: {e}"));
        if rows.is_empty() {
            let _ = rt.block_on(conn.close());
            return None;
        }
        Some(HeldLock { conn, rt })
    }

    /// A query's single text value, read inside the lock's transaction.
    pub fn text(&mut self, sql: &str) -> Option<String> {
        self.rt
            .block_on(sqlx::query_scalar::<_, Option<String>>(sql).fetch_one(&mut self.conn))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn release(mut self) {
        let _ = self
            .rt
            .block_on(sqlx::raw_sql("COMMIT").execute(&mut self.conn));
        let _ = self.rt.block_on(self.conn.close());
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let url = self.server.url("postgres");
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let result: Result<(), sqlx::Error> = self.rt.block_on(async {
            let mut conn = connect_patiently(&url).await?;
            sqlx::raw_sql(&sql).execute(&mut conn).await?;
            conn.close().await
        });
        if let Err(e) = result {
            eprintln!("warning: could not drop {}: {e}", self.name);
        }
    }
}

/// Connects, retrying for up to 20 s while the server is (re)starting.
pub async fn connect_patiently(url: &str) -> Result<PgConnection, sqlx::Error> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match PgConnection::connect(url).await {
            Ok(conn) => return Ok(conn),
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Lines of `a` and `b` that differ, for a failure message (at most 20).
pub fn diff(a: &str, b: &str) -> String {
    let left: Vec<&str> = a.lines().collect();
    let right: Vec<&str> = b.lines().collect();
    let mut out: Vec<String> = left
        .iter()
        .filter(|l| !right.contains(l))
        .map(|l| format!("- {l}"))
        .collect();
    out.extend(
        right
            .iter()
            .filter(|l| !left.contains(l))
            .map(|l| format!("+ {l}")),
    );
    out.truncate(20);
    out.join("\n")
}
